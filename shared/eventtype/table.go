package eventtype

import (
	"fmt"
	"reflect"
	"strings"
	"unsafe"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// R is the response every accessor reads.
type R = tetragon.GetEventsResponse

// The event-type table: THE place a Tetragon event type is described. One
// row per GetEventsResponse oneof member, in field-number order.
// Everything else (field numbers, spelling, which messages carry a
// process, a policy, an action, the id fields' numbers and wire kinds, the
// ingester's id field paths) is derived from the row and Tetragon's own
// descriptors at init; tests check the generated artifacts against it.
//
// Adding a type (TestTableCoversTheAPI fails until it is added, once the
// Tetragon API has it) takes three hand-written files:
//
//  1. its row here;
//  2. its JSON object: a case in appendTypeObject, fanout/normalize/append.go,
//     under the row's Object key;
//  3. its schema: fanout/normalize/schema/event.v1.schema.json, the object's
//     definition plus its entries in the type enum, allOf and
//     dependentSchemas (TestSchemaAgreesWithTable checks those);
//
// then a fixture, fanout/normalize/testdata/events/<name>.json, and
// regeneration: in fanout/, go test ./normalize -update (goldens,
// docs/schema.md); in shared/, go test ./eventid -run TestDocTable -update
// (the id scheme's table) and go test ./deploycheck -run TestTopicsPerType
// -update (deployments/k8s/kafka-topics/topics.yaml). The simulator's
// synthetic generator (shared/sim/generate) makes only the types it has a
// hook for; its tests insist it covers every type Tetragon's gRPC server
// sends, so teach it there if Tetragon streams the new type.
//
//	Enum    tetragon.EventType value (= the oneof field number)
//	Object  the key of the type-specific object in the normalized JSON
//	Get     the generated getter of the oneof member (a method expression)
//	ID      the discriminator fields the event id uses, in canon order:
//	        field names of the event message, strings/bytes first, then
//	        integers (shared/eventid's scheme; changing a row's ID changes
//	        that type's ids, which are a contract: never do it)
var table = [...]Type{
	{Enum: tetragon.EventType_PROCESS_EXEC, Object: "exec", get: msg((*R).GetProcessExec)},
	{Enum: tetragon.EventType_PROCESS_EXIT, Object: "exit", get: msg((*R).GetProcessExit),
		ID: []string{"signal", "status"}},
	{Enum: tetragon.EventType_PROCESS_KPROBE, Object: "kprobe", get: msg((*R).GetProcessKprobe),
		ID: []string{"function_name", "policy_name"}},
	{Enum: tetragon.EventType_PROCESS_TRACEPOINT, Object: "tracepoint", get: msg((*R).GetProcessTracepoint),
		ID: []string{"subsys", "event", "policy_name"}},
	{Enum: tetragon.EventType_PROCESS_LOADER, Object: "loader", get: msg((*R).GetProcessLoader),
		ID: []string{"path", "buildid"}},
	{Enum: tetragon.EventType_PROCESS_UPROBE, Object: "uprobe", get: msg((*R).GetProcessUprobe),
		ID: []string{"path", "symbol", "policy_name"}},
	{Enum: tetragon.EventType_PROCESS_THROTTLE, Object: "throttle", get: msg((*R).GetProcessThrottle),
		ID: []string{"cgroup", "type"}},
	{Enum: tetragon.EventType_PROCESS_LSM, Object: "lsm", get: msg((*R).GetProcessLsm),
		ID: []string{"function_name", "policy_name"}},
	{Enum: tetragon.EventType_PROCESS_USDT, Object: "usdt", get: msg((*R).GetProcessUsdt),
		ID: []string{"path", "provider", "name", "policy_name"}},
	{Enum: tetragon.EventType_TEST, Object: "test", get: msg((*R).GetTest),
		ID: []string{"arg0", "arg1", "arg2", "arg3"}},
	{Enum: tetragon.EventType_RATE_LIMIT_INFO, Object: "rate_limit_info", get: msg((*R).GetRateLimitInfo),
		ID: []string{"number_of_dropped_process_events"}},
}

// msg turns a oneof getter into one that returns the event message as a
// protoreflect.ProtoMessage (a typed nil when the member is not set).
func msg[M protoreflect.ProtoMessage](get func(*R) M) func(*R) protoreflect.ProtoMessage {
	return func(r *R) protoreflect.ProtoMessage { return get(r) }
}

// Type is one row of the table, with what init derives from it.
type Type struct {
	Enum   tetragon.EventType
	Object string
	ID     []string
	get    func(*R) protoreflect.ProtoMessage

	// Derived at init.

	// Name is our spelling: lower-case Tetragon enum name ("process_exec").
	Name string
	// Number is the oneof field number (= int32(Enum)).
	Number int32
	// IDProcess: the id has the process part (exec_id, pid, tid), because
	// the event message has Tetragon's "process" field (number 1).
	IDProcess bool
	// IDFields are the ID fields with their numbers and wire kinds.
	IDFields []IDField
	// IDPaths are the paths inside the event message the id reads, for the
	// ingester's field-filter check: process.exec_id, process.pid,
	// process.tid (when IDProcess), then ID.
	IDPaths []string

	wrapper                                        reflect.Type // the Go type of the oneof wrapper
	hasProc, hasPolicy, hasAction, hasReturnAction bool
	shape                                          int
}

// IDField is one discriminator field of the event id.
type IDField struct {
	Name   string
	Number protoreflect.FieldNumber
	// Kind is protoreflect.StringKind or BytesKind (written length-prefixed)
	// or an integer kind (written as be64).
	Kind protoreflect.Kind
	// Wide: a 64-bit integer (else 32-bit: its uint32 bit pattern).
	Wide bool
	fd   protoreflect.FieldDescriptor
}

// IsString reports whether the field is a string or bytes field.
func (f IDField) IsString() bool {
	return f.Kind == protoreflect.StringKind || f.Kind == protoreflect.BytesKind
}

// Str reads a string or bytes ID field of m, the row's event message.
// Bytes are returned as a string that aliases m's bytes (no copy): use it
// before m changes.
func (f IDField) Str(m protoreflect.Message) string {
	v := m.Get(f.fd)
	if f.Kind == protoreflect.BytesKind {
		b := v.Bytes()
		return unsafe.String(unsafe.SliceData(b), len(b))
	}
	return v.String()
}

// Uint reads an integer ID field of m as the id writes it: 64-bit fields
// as they are, 32-bit ones (enums included) as their uint32 bit pattern.
func (f IDField) Uint(m protoreflect.Message) uint64 {
	v := m.Get(f.fd)
	var u uint64
	switch f.Kind {
	case protoreflect.EnumKind:
		u = uint64(v.Enum())
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		u = uint64(v.Int())
	default:
		u = v.Uint()
	}
	if !f.Wide {
		u = uint64(uint32(u))
	}
	return u
}

// Message returns r's event message if r holds this type, else a typed nil.
func (t *Type) Message(r *R) protoreflect.ProtoMessage { return t.get(r) }

// Parts are the parts every consumer reads from an event; zero values when
// the type has no such field.
type Parts struct {
	Process, Parent *tetragon.Process
	Ancestors       []*tetragon.Process
	PolicyName      string
	// Action and ReturnAction are the policy's actions (ReturnAction: only
	// kprobes have one).
	Action, ReturnAction tetragon.KprobeAction
}

type (
	withProcess interface {
		GetProcess() *tetragon.Process
		GetParent() *tetragon.Process
		GetAncestors() []*tetragon.Process
	}
	withPolicy       interface{ GetPolicyName() string }
	withAction       interface{ GetAction() tetragon.KprobeAction }
	withReturnAction interface {
		GetReturnAction() tetragon.KprobeAction
	}
	hook interface {
		withProcess
		withPolicy
		withAction
	}
	hookReturn interface {
		hook
		withReturnAction
	}
)

// shapes of event messages that Parts reads with one type assertion.
const (
	shapeOther = iota
	shapeHook
	shapeHookReturn
)

// Parts reads the process, parent, ancestors, policy and actions of r,
// which must hold this type (else the zero Parts). It does not allocate.
func (t *Type) Parts(r *R) Parts {
	var p Parts
	m := t.get(r)
	switch t.shape {
	case shapeHookReturn: // one type assertion, not four: this is per event
		x := m.(hookReturn)
		p.Process, p.Parent, p.Ancestors = x.GetProcess(), x.GetParent(), x.GetAncestors()
		p.PolicyName, p.Action, p.ReturnAction = x.GetPolicyName(), x.GetAction(), x.GetReturnAction()
		return p
	case shapeHook:
		x := m.(hook)
		p.Process, p.Parent, p.Ancestors = x.GetProcess(), x.GetParent(), x.GetAncestors()
		p.PolicyName, p.Action = x.GetPolicyName(), x.GetAction()
		return p
	}
	if t.hasProc {
		x := m.(withProcess)
		p.Process, p.Parent, p.Ancestors = x.GetProcess(), x.GetParent(), x.GetAncestors()
	}
	if t.hasPolicy {
		p.PolicyName = m.(withPolicy).GetPolicyName()
	}
	if t.hasAction {
		p.Action = m.(withAction).GetAction()
	}
	if t.hasReturnAction {
		p.ReturnAction = m.(withReturnAction).GetReturnAction()
	}
	return p
}

// Of returns the row of r's event, or nil for no event or a oneof member
// this table does not know. It does not allocate.
func Of(r *R) *Type {
	e := r.GetEvent()
	if e == nil {
		return nil
	}
	w := reflect.TypeOf(e)
	for i := range table {
		if table[i].wrapper == w {
			return &table[i]
		}
	}
	return nil
}

// ByNumber returns the row of a oneof field number, or nil. It does not
// allocate.
func ByNumber(n int32) *Type {
	for i := range table {
		if table[i].Number == n {
			return &table[i]
		}
	}
	return nil
}

// Table returns every row, in field-number order. Do not modify them.
func Table() []*Type {
	out := make([]*Type, len(table))
	for i := range table {
		out[i] = &table[i]
	}
	return out
}

// processIDPaths are the Process fields every event with a process puts in its id.
var processIDPaths = []string{"process.exec_id", "process.pid", "process.tid"}

func init() {
	rd := (&R{}).ProtoReflect().Descriptor()
	oneof := rd.Oneofs().ByName("event")
	last := int32(0)
	for i := range table {
		t := &table[i]
		t.Number = int32(t.Enum)
		t.Name = strings.ToLower(t.Enum.String())
		if t.Number <= last {
			panic(fmt.Sprintf("eventtype: row %s out of field-number order", t.Name))
		}
		last = t.Number
		fd := rd.Fields().ByNumber(protoreflect.FieldNumber(t.Number))
		if fd == nil || fd.ContainingOneof() != oneof || fd.Message() == nil {
			panic(fmt.Sprintf("eventtype: %s is not a GetEventsResponse.event member", t.Name))
		}
		r := &R{}
		m := r.ProtoReflect()
		m.Set(fd, m.NewField(fd))
		t.wrapper = reflect.TypeOf(r.GetEvent())
		ev := t.get(r)
		if !m.Has(fd) || ev.ProtoReflect().Descriptor() != fd.Message() {
			panic(fmt.Sprintf("eventtype: %s: get is not the getter of field %d", t.Name, t.Number))
		}
		_, t.hasProc = ev.(withProcess)
		_, t.hasPolicy = ev.(withPolicy)
		_, t.hasAction = ev.(withAction)
		_, t.hasReturnAction = ev.(withReturnAction)
		switch ev.(type) {
		case hookReturn:
			t.shape = shapeHookReturn
		case hook:
			t.shape = shapeHook
		}
		md := fd.Message()
		if p := md.Fields().ByNumber(1); p != nil && p.Name() == "process" && p.Message() != nil &&
			p.Message().FullName() == "tetragon.Process" {
			t.IDProcess = true
			t.IDPaths = append(t.IDPaths, processIDPaths...)
		}
		seenInt := false
		for _, name := range t.ID {
			f := md.Fields().ByName(protoreflect.Name(name))
			if f == nil || f.Cardinality() == protoreflect.Repeated {
				panic(fmt.Sprintf("eventtype: %s has no singular field %q", t.Name, name))
			}
			idf := IDField{Name: name, Number: f.Number(), Kind: f.Kind(), fd: f}
			switch f.Kind() {
			case protoreflect.StringKind, protoreflect.BytesKind:
				if seenInt {
					panic(fmt.Sprintf("eventtype: %s: string field %q after an integer", t.Name, name))
				}
			case protoreflect.Uint64Kind, protoreflect.Int64Kind:
				idf.Wide, seenInt = true, true
			case protoreflect.Uint32Kind, protoreflect.Int32Kind, protoreflect.EnumKind:
				seenInt = true
			default:
				panic(fmt.Sprintf("eventtype: %s: id field %q has kind %v", t.Name, name, f.Kind()))
			}
			t.IDFields = append(t.IDFields, idf)
			t.IDPaths = append(t.IDPaths, name)
		}
	}
}
