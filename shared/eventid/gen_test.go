package eventid

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// Oneof field numbers of GetEventsResponse.event (tetragon.EventType values),
// for the tests.
const (
	typeExec          = 1
	typeExit          = 5
	typeKprobe        = 9
	typeTracepoint    = 10
	typeLoader        = 11
	typeUprobe        = 12
	typeThrottle      = 27
	typeLsm           = 28
	typeUsdt          = 29
	typeTest          = 40000
	typeRateLimitInfo = 40001
)

// gen makes random but realistic events of every type, with the fields the
// id ignores filled too (parents, pods, labels, args), so that the tests see
// Tetragon-sized messages with maps in them.
type gen struct {
	r *rand.Rand
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))} }

// knownTypes are the oneof field numbers of the eventtype table.
var knownTypes = func() (ns []int32) {
	for _, t := range eventtype.Table() {
		ns = append(ns, t.Number)
	}
	return ns
}()

func (g *gen) pick(ss ...string) string { return ss[g.r.IntN(len(ss))] }

func (g *gen) str(prefix string) string { return fmt.Sprintf("%s%d", prefix, g.r.IntN(1000)) }

func (g *gen) labels(n int) map[string]string {
	m := make(map[string]string, n)
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("app.kubernetes.io/l%d", i)] = g.str("v")
	}
	return m
}

func (g *gen) process(node string) *tetragon.Process {
	pid := uint32(g.r.IntN(1 << 22))
	ktime := g.r.Uint64() >> 10
	p := &tetragon.Process{
		ExecId:    base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s:%d:%d", node, ktime, pid)),
		Pid:       wrapperspb.UInt32(pid),
		Tid:       wrapperspb.UInt32(pid + uint32(g.r.IntN(3))),
		Uid:       wrapperspb.UInt32(uint32(g.r.IntN(2000))),
		Cwd:       "/",
		Binary:    g.pick("/usr/bin/curl", "/bin/sh", "/usr/sbin/nginx", "/usr/bin/python3"),
		Arguments: g.str("--arg "),
		Flags:     "execve clone",
		StartTime: timestamppb.New(timestamppb.Now().AsTime()),
		Auid:      wrapperspb.UInt32(4294967295),
		Pod: &tetragon.Pod{
			Namespace: g.pick("default", "kube-system", "tenant-a"),
			Name:      g.str("pod-"),
			Container: &tetragon.Container{Id: g.str("containerd://"), Name: "main",
				Image: &tetragon.Image{Id: "docker.io/library/nginx@sha256:abc", Name: "nginx:latest"}},
			PodLabels: g.labels(1 + g.r.IntN(8)),
			Workload:  g.str("wl-"),
		},
		ParentExecId: g.str("parent-"),
		Refcnt:       uint32(g.r.IntN(5)),
	}
	switch g.r.IntN(8) {
	case 0: // kernel threads and the like have no exec_id
		p.ExecId = ""
	case 1: // no wrappers at all
		p.Pid, p.Tid = nil, nil
	case 2:
		p.Tid = nil
	}
	return p
}

func (g *gen) args() []*tetragon.KprobeArgument {
	return []*tetragon.KprobeArgument{
		{Arg: &tetragon.KprobeArgument_StringArg{StringArg: g.str("/etc/file")}},
		{Arg: &tetragon.KprobeArgument_IntArg{IntArg: int32(g.r.IntN(100))}},
	}
}

// event returns a random event of oneof field number typ.
func (g *gen) event(typ int32) *tetragon.GetEventsResponse {
	node := g.pick("node-a", "gke-cluster-default-pool-43730fab-l8zr", "ip-10-0-1-17.ec2.internal")
	r := &tetragon.GetEventsResponse{
		NodeName:    node,
		ClusterName: "prod",
		Time:        &timestamppb.Timestamp{Seconds: 1_700_000_000 + g.r.Int64N(1e6), Nanos: g.r.Int32N(1e9)},
		NodeLabels:  g.labels(g.r.IntN(6)),
	}
	if g.r.IntN(20) == 0 {
		r.Time = nil
	}
	p, parent := g.process(node), g.process(node)
	if g.r.IntN(30) == 0 {
		p = nil
	}
	switch typ {
	case typeExec:
		r.Event = &tetragon.GetEventsResponse_ProcessExec{ProcessExec: &tetragon.ProcessExec{
			Process: p, Parent: parent, Ancestors: []*tetragon.Process{g.process(node)}}}
	case typeExit:
		r.Event = &tetragon.GetEventsResponse_ProcessExit{ProcessExit: &tetragon.ProcessExit{
			Process: p, Parent: parent, Signal: g.pick("", "SIGKILL", "SIGSEGV"),
			Status: uint32(g.r.IntN(256)), Time: r.Time}}
	case typeKprobe:
		r.Event = &tetragon.GetEventsResponse_ProcessKprobe{ProcessKprobe: &tetragon.ProcessKprobe{
			Process: p, Parent: parent, FunctionName: g.pick("security_file_permission", "tcp_connect", "fd_install"),
			Args: g.args(), Return: &tetragon.KprobeArgument{Arg: &tetragon.KprobeArgument_IntArg{IntArg: 0}},
			Action: tetragon.KprobeAction_KPROBE_ACTION_POST, PolicyName: g.str("policy-"),
			Tags: []string{"observability.filesystem"}}}
	case typeTracepoint:
		r.Event = &tetragon.GetEventsResponse_ProcessTracepoint{ProcessTracepoint: &tetragon.ProcessTracepoint{
			Process: p, Parent: parent, Subsys: g.pick("syscalls", "sched"), Event: g.pick("sys_enter_openat", "sched_switch"),
			Args: g.args(), PolicyName: g.str("policy-")}}
	case typeLoader:
		r.Event = &tetragon.GetEventsResponse_ProcessLoader{ProcessLoader: &tetragon.ProcessLoader{
			Process: p, Parent: parent, Path: g.str("/usr/lib/libc.so."), Buildid: []byte{byte(g.r.IntN(256)), 0xfe, 0x00, 0x80}}}
	case typeUprobe:
		r.Event = &tetragon.GetEventsResponse_ProcessUprobe{ProcessUprobe: &tetragon.ProcessUprobe{
			Process: p, Parent: parent, Path: g.str("/usr/bin/bash"), Symbol: g.pick("readline", "main"),
			PolicyName: g.str("policy-"), Args: g.args(), Offset: g.r.Uint64()}}
	case typeThrottle:
		r.Event = &tetragon.GetEventsResponse_ProcessThrottle{ProcessThrottle: &tetragon.ProcessThrottle{
			Type: tetragon.ThrottleType(g.r.IntN(3)), Cgroup: g.str("/kubepods/burstable/pod")}}
	case typeLsm:
		r.Event = &tetragon.GetEventsResponse_ProcessLsm{ProcessLsm: &tetragon.ProcessLsm{
			Process: p, Parent: parent, FunctionName: g.pick("bprm_check_security", "file_open"),
			PolicyName: g.str("policy-"), Args: g.args(), ImaHash: g.str("sha256:")}}
	case typeUsdt:
		r.Event = &tetragon.GetEventsResponse_ProcessUsdt{ProcessUsdt: &tetragon.ProcessUsdt{
			Process: p, Parent: parent, Path: g.str("/usr/bin/python3."), Provider: g.pick("python", "libc"),
			Name: g.pick("function__entry", "setjmp"), PolicyName: g.str("policy-"), Args: g.args()}}
	case typeTest:
		r.Event = &tetragon.GetEventsResponse_Test{Test: &tetragon.Test{
			Arg0: g.r.Uint64(), Arg1: g.r.Uint64N(10), Arg2: g.r.Uint64N(3), Arg3: 0}}
	case typeRateLimitInfo:
		r.Event = &tetragon.GetEventsResponse_RateLimitInfo{RateLimitInfo: &tetragon.RateLimitInfo{
			NumberOfDroppedProcessEvents: g.r.Uint64N(1 << 40)}}
	default:
		g.generic(r, typ, p, parent)
	}
	return r
}

// generic fills an event of a type this generator has no case for (one
// added to the eventtype table since): process and parent when the message
// has them, and random values in its id fields.
func (g *gen) generic(r *tetragon.GetEventsResponse, typ int32, p, parent *tetragon.Process) {
	t := eventtype.ByNumber(typ)
	if t == nil {
		panic(fmt.Sprintf("gen: type %d", typ))
	}
	m := r.ProtoReflect()
	fd := m.Descriptor().Fields().ByNumber(protoreflect.FieldNumber(typ))
	ev := m.NewField(fd)
	m.Set(fd, ev)
	em := ev.Message()
	for name, proc := range map[protoreflect.Name]*tetragon.Process{"process": p, "parent": parent} {
		if f := em.Descriptor().Fields().ByName(name); f != nil && proc != nil && f.Message() != nil &&
			f.Message().FullName() == "tetragon.Process" {
			em.Set(f, protoreflect.ValueOfMessage(proc.ProtoReflect()))
		}
	}
	for _, idf := range t.IDFields {
		f := em.Descriptor().Fields().ByNumber(idf.Number)
		em.Set(f, g.value(f))
	}
}

// value is a random value of a scalar field.
func (g *gen) value(f protoreflect.FieldDescriptor) protoreflect.Value {
	switch f.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(g.str("s"))
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(g.str("b")))
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(g.r.IntN(3)))
	case protoreflect.Uint32Kind:
		return protoreflect.ValueOfUint32(g.r.Uint32())
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32(g.r.Int32())
	case protoreflect.Uint64Kind:
		return protoreflect.ValueOfUint64(g.r.Uint64())
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(g.r.Int64())
	}
	panic(fmt.Sprintf("gen: field %s has kind %v", f.FullName(), f.Kind()))
}

// mutate changes a scalar field of m so that its value differs.
func mutate(m protoreflect.Message, f protoreflect.FieldDescriptor) {
	v := m.Get(f)
	switch f.Kind() {
	case protoreflect.StringKind:
		m.Set(f, protoreflect.ValueOfString(v.String()+"x"))
	case protoreflect.BytesKind:
		m.Set(f, protoreflect.ValueOfBytes(append(append([]byte{}, v.Bytes()...), 1)))
	case protoreflect.EnumKind:
		m.Set(f, protoreflect.ValueOfEnum(v.Enum()+1))
	case protoreflect.Uint32Kind:
		m.Set(f, protoreflect.ValueOfUint32(uint32(v.Uint())+1))
	case protoreflect.Int32Kind:
		m.Set(f, protoreflect.ValueOfInt32(int32(v.Int())+1))
	case protoreflect.Uint64Kind:
		m.Set(f, protoreflect.ValueOfUint64(v.Uint()+1))
	case protoreflect.Int64Kind:
		m.Set(f, protoreflect.ValueOfInt64(v.Int()+1))
	default:
		panic(fmt.Sprintf("mutate: field %s has kind %v", f.FullName(), f.Kind()))
	}
}

// any returns a random event of a random known type.
func (g *gen) any() *tetragon.GetEventsResponse {
	return g.event(knownTypes[g.r.IntN(len(knownTypes))])
}

// TestGenericEvents runs the generator's fallback (what a type added to the
// eventtype table gets before anyone writes it a case) on every type, so it
// is known to work: both paths agree, and each id field changes the id.
func TestGenericEvents(t *testing.T) {
	g := newGen(9)
	for _, typ := range knownTypes {
		for i := 0; i < 50; i++ {
			ev := g.event(typ)
			ev.Event = nil
			g.generic(ev, typ, g.process(ev.GetNodeName()), g.process(ev.GetNodeName()))
			base := agree(t, fmt.Sprintf("type %d", typ), ev, mustMarshal(t, ev, i%2 == 0))
			for _, f := range eventtype.ByNumber(typ).IDFields {
				c := proto.Clone(ev).(*tetragon.GetEventsResponse)
				m := eventtype.ByNumber(typ).Message(c).ProtoReflect()
				mutate(m, m.Descriptor().Fields().ByNumber(f.Number))
				if agree(t, f.Name, c, mustMarshal(t, c, true)) == base {
					t.Fatalf("type %d: changing %s kept the id", typ, f.Name)
				}
			}
		}
	}
}
