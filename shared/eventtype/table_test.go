package eventtype

import (
	"slices"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/cilium/tetragon/api/v1/tetragon/codegen/helpers"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// withEvent returns a response holding a fresh event of row t, filled with
// every field the table's accessors read.
func withEvent(t *Type) *R {
	r := &R{}
	m := r.ProtoReflect()
	fd := m.Descriptor().Fields().ByNumber(protoreflect.FieldNumber(t.Number))
	ev := m.NewField(fd)
	m.Set(fd, ev)
	em := ev.Message()
	proc := func(bin string) protoreflect.Value {
		return protoreflect.ValueOfMessage((&tetragon.Process{Binary: bin, Pid: wrapperspb.UInt32(7)}).ProtoReflect())
	}
	fields := em.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		switch f.Name() {
		case "process":
			em.Set(f, proc("/p"))
		case "parent":
			em.Set(f, proc("/parent"))
		case "ancestors":
			l := em.Mutable(f).List()
			l.Append(proc("/a"))
		case "policy_name":
			em.Set(f, protoreflect.ValueOfString("pol"))
		case "action":
			em.Set(f, protoreflect.ValueOfEnum(protoreflect.EnumNumber(tetragon.KprobeAction_KPROBE_ACTION_SIGKILL)))
		case "return_action":
			em.Set(f, protoreflect.ValueOfEnum(protoreflect.EnumNumber(tetragon.KprobeAction_KPROBE_ACTION_OVERRIDE)))
		}
	}
	return r
}

// The table covers exactly the oneof members (= the EventType values) of
// the Tetragon API this builds with: an API upgrade with a new type fails
// here until the type has its row.
func TestTableCoversTheAPI(t *testing.T) {
	var want []int32
	oneof := (&R{}).ProtoReflect().Descriptor().Oneofs().ByName("event")
	for i := 0; i < oneof.Fields().Len(); i++ {
		want = append(want, int32(oneof.Fields().Get(i).Number()))
	}
	slices.Sort(want)
	var got, enum []int32
	var names []string
	for _, row := range Table() {
		got = append(got, row.Number)
		names = append(names, row.Name)
		if row.Name != FromFieldNumber(row.Number) {
			t.Errorf("%d: table says %q, FromFieldNumber %q", row.Number, row.Name, FromFieldNumber(row.Number))
		}
		if ByNumber(row.Number) != row {
			t.Errorf("ByNumber(%d) is not its row", row.Number)
		}
	}
	for n := range tetragon.EventType_name {
		if n != int32(tetragon.EventType_UNDEF) {
			enum = append(enum, n)
		}
	}
	slices.Sort(enum)
	if !slices.Equal(got, want) || !slices.Equal(got, enum) {
		t.Fatalf("table numbers %v, oneof members %v, EventType values %v", got, want, enum)
	}
	if !slices.Equal(names, All()) {
		t.Fatalf("table names %v, All() %v", names, All())
	}
	if ByNumber(77) != nil || ByNumber(0) != nil {
		t.Fatal("ByNumber of an unknown number")
	}
}

func TestOfAndParts(t *testing.T) {
	if Of(&R{}) != nil || Of(nil) != nil {
		t.Fatal("Of of no event")
	}
	for _, row := range Table() {
		r := withEvent(row)
		if Of(r) != row {
			t.Fatalf("%s: Of = %v", row.Name, Of(r))
		}
		if got, _ := helpers.ResponseTypeString(r); FromResponse(r) != row.Name {
			t.Fatalf("%s: helpers say %q", row.Name, got)
		}
		p := row.Parts(r)
		if p.Process != helpers.ResponseGetProcess(r) || p.Parent != helpers.ResponseGetParent(r) ||
			!slices.Equal(p.Ancestors, helpers.ResponseGetAncestors(r)) {
			t.Errorf("%s: processes differ from Tetragon's helpers", row.Name)
		}
		for _, other := range Table() {
			if op := other.Parts(r); other != row && (op.Process != nil || op.Parent != nil || op.Ancestors != nil || op.PolicyName != "" || op.Action != 0 || op.ReturnAction != 0) {
				t.Errorf("%s: Parts of row %s is not zero", row.Name, other.Name)
			}
		}
		if n := testing.AllocsPerRun(100, func() { _ = Of(r).Parts(r) }); n != 0 {
			t.Errorf("%s: Of+Parts allocates %v", row.Name, n)
		}
	}
}

// What the accessors read, per type, written out: the behaviour normalize's
// Extract and the simulator had before the table (frozen: a type added
// later is checked by normalize's reflection oracle instead).
func TestPartsPerType(t *testing.T) {
	type want struct{ proc, policy, action, ret bool }
	wants := map[string]want{
		"process_exec":       {proc: true},
		"process_exit":       {proc: true},
		"process_kprobe":     {proc: true, policy: true, action: true, ret: true},
		"process_tracepoint": {proc: true, policy: true, action: true},
		"process_loader":     {proc: true},
		"process_uprobe":     {proc: true, policy: true, action: true},
		"process_throttle":   {},
		"process_lsm":        {proc: true, policy: true, action: true},
		"process_usdt":       {proc: true, policy: true, action: true},
		"test":               {},
		"rate_limit_info":    {},
	}
	for _, row := range Table() {
		w, ok := wants[row.Name]
		if !ok {
			t.Logf("%s: added after this test was written, not checked here", row.Name)
			continue
		}
		p := row.Parts(withEvent(row))
		got := want{proc: p.Process != nil && p.Parent != nil && len(p.Ancestors) == 1,
			policy: p.PolicyName == "pol", action: p.Action == tetragon.KprobeAction_KPROBE_ACTION_SIGKILL,
			ret: p.ReturnAction == tetragon.KprobeAction_KPROBE_ACTION_OVERRIDE}
		if got != w {
			t.Errorf("%s: parts %+v, want %+v", row.Name, got, w)
		}
	}
}

// The id field paths, written out as shared/eventid's doc table had them
// before the table (frozen: ids of these types never change).
func TestIDPaths(t *testing.T) {
	proc := []string{"process.exec_id", "process.pid", "process.tid"}
	wants := map[string][]string{
		"process_exec":       proc,
		"process_exit":       append(slices.Clone(proc), "signal", "status"),
		"process_kprobe":     append(slices.Clone(proc), "function_name", "policy_name"),
		"process_tracepoint": append(slices.Clone(proc), "subsys", "event", "policy_name"),
		"process_loader":     append(slices.Clone(proc), "path", "buildid"),
		"process_uprobe":     append(slices.Clone(proc), "path", "symbol", "policy_name"),
		"process_throttle":   {"cgroup", "type"},
		"process_lsm":        append(slices.Clone(proc), "function_name", "policy_name"),
		"process_usdt":       append(slices.Clone(proc), "path", "provider", "name", "policy_name"),
		"test":               {"arg0", "arg1", "arg2", "arg3"},
		"rate_limit_info":    {"number_of_dropped_process_events"},
	}
	for _, row := range Table() {
		if _, ok := wants[row.Name]; !ok {
			t.Logf("%s: added after this test was written, not checked here", row.Name)
			continue
		}
		if !slices.Equal(row.IDPaths, wants[row.Name]) {
			t.Errorf("%s: IDPaths %v, want %v", row.Name, row.IDPaths, wants[row.Name])
		}
	}
}

func TestIDFieldValues(t *testing.T) {
	ev := &tetragon.ProcessThrottle{Type: tetragon.ThrottleType(-2), Cgroup: "cg"}
	row := ByNumber(int32(tetragon.EventType_PROCESS_THROTTLE))
	m := ev.ProtoReflect()
	if s := row.IDFields[0].Str(m); s != "cg" || !row.IDFields[0].IsString() {
		t.Fatalf("cgroup = %q", s)
	}
	if u := row.IDFields[1].Uint(m); u != uint64(uint32(0xfffffffe)) || row.IDFields[1].Wide {
		t.Fatalf("type = %#x", u)
	}
	ld := &tetragon.ProcessLoader{Buildid: []byte{0, 0xff}}
	if s := ByNumber(int32(tetragon.EventType_PROCESS_LOADER)).IDFields[1].Str(ld.ProtoReflect()); s != "\x00\xff" {
		t.Fatalf("buildid = %q", s)
	}
	rl := &tetragon.RateLimitInfo{NumberOfDroppedProcessEvents: 1 << 40}
	f := ByNumber(int32(tetragon.EventType_RATE_LIMIT_INFO)).IDFields[0]
	if u := f.Uint(rl.ProtoReflect()); u != 1<<40 || !f.Wide {
		t.Fatalf("dropped = %d", u)
	}
}
