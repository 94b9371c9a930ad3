package eventid

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

var update = flag.Bool("update", false, "rewrite testdata/fixture-ids.golden")

type fixture struct {
	name string // file:line
	ev   *tetragon.GetEventsResponse
}

// loadFixtures decodes every line of testdata/*.jsonl: strictly, or with
// DiscardUnknown for the legacy types Tetragon no longer has.
func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var out []fixture
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for line := 1; sc.Scan(); line++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			ev := &tetragon.GetEventsResponse{}
			if err := protojson.Unmarshal(sc.Bytes(), ev); err != nil {
				ev.Reset()
				if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(sc.Bytes(), ev); err != nil {
					t.Fatalf("%s:%d: %v", file, line, err)
				}
			}
			out = append(out, fixture{fmt.Sprintf("%s:%d", filepath.Base(file), line), ev})
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func mustMarshal(t testing.TB, m proto.Message, det bool) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: det}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// agree checks the central contract on one event and returns its id.
func agree(t testing.TB, name string, ev *tetragon.GetEventsResponse, raw []byte) ID {
	t.Helper()
	want := FromResponse(ev)
	got, info, err := FromBytes(raw)
	if err != nil {
		t.Fatalf("%s: FromBytes: %v", name, err)
	}
	if got != want {
		t.Fatalf("%s: FromBytes %s != FromResponse %s", name, got, want)
	}
	if string(info.Node) != ev.GetNodeName() {
		t.Fatalf("%s: node %q, want %q", name, info.Node, ev.GetNodeName())
	}
	if ev.GetEvent() != nil && info.TypeName() != eventtype.FromResponse(ev) {
		t.Fatalf("%s: type %d %q, want %q", name, info.Type, info.TypeName(), eventtype.FromResponse(ev))
	}
	return got
}

func TestFixturesAgreeAndAreStable(t *testing.T) {
	fx := loadFixtures(t)
	var golden strings.Builder
	seen := map[ID]fixture{}
	for _, f := range fx {
		id := agree(t, f.name, f.ev, mustMarshal(t, f.ev, true))
		for i := 0; i < 5; i++ {
			agree(t, f.name, f.ev, mustMarshal(t, f.ev, false))
		}
		// The docs repeat some events verbatim: those are true duplicates.
		if prev, dup := seen[id]; dup && !proto.Equal(prev.ev, f.ev) {
			t.Errorf("%s and %s differ but share id %s", prev.name, f.name, id)
		}
		seen[id] = f
		fmt.Fprintf(&golden, "%s %s %s\n", f.name, id, Info{Type: typeOf(f.ev)}.TypeName())
	}
	// The golden file pins the ids across versions, processes and machines:
	// if it changes, every deployed dedup table and consumer key changes too.
	path := filepath.Join("testdata", "fixture-ids.golden")
	if *update {
		if err := os.WriteFile(path, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if golden.String() != string(want) {
		t.Fatalf("ids changed; the id scheme is a contract. got:\n%s", golden.String())
	}
}

// typeOf is the oneof field number of a decoded event, via the descriptor.
func typeOf(ev *tetragon.GetEventsResponse) int32 {
	m := ev.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("event"))
	if fd == nil {
		return 0
	}
	return int32(fd.Number())
}

func TestGeneratedEventsAgree(t *testing.T) {
	g := newGen(1)
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := 0; i < n; i++ {
		ev := g.any()
		agree(t, fmt.Sprintf("event %d", i), ev, mustMarshal(t, ev, i%2 == 0))
	}
}

// TestMapOrder: one event written with its map entries in other orders
// keeps its id.
func TestMapOrder(t *testing.T) {
	g := newGen(2)
	for _, typ := range knownTypes {
		ev := g.event(typ)
		ev.NodeLabels = g.labels(12)
		if p := processOf(ev); p != nil {
			p.Pod.PodLabels = g.labels(12)
		}
		want := FromResponse(ev)
		encodings := map[string]bool{}
		for i := 0; i < 30; i++ {
			raw := mustMarshal(t, ev, false)
			encodings[string(raw)] = true
			if got := agree(t, "reordered", ev, raw); got != want {
				t.Fatalf("type %d: id changed with map order", typ)
			}
			// Also move node_labels entries (top-level field 1004) around by hand.
			raw = shuffleTopLevel(t, raw, 1004, i)
			encodings[string(raw)] = true
			if got, _, err := FromBytes(raw); err != nil || got != want {
				t.Fatalf("type %d: hand-reordered node_labels: %s %v", typ, got, err)
			}
		}
		if len(encodings) < 2 {
			t.Fatalf("type %d: map order never changed the bytes; the test proves nothing", typ)
		}
	}
}

func processOf(ev *tetragon.GetEventsResponse) *tetragon.Process {
	type hasProcess interface{ GetProcess() *tetragon.Process }
	m := ev.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("event"))
	if fd == nil {
		return nil
	}
	if hp, ok := m.Get(fd).Message().Interface().(hasProcess); ok {
		return hp.GetProcess()
	}
	return nil
}

// shuffleTopLevel rotates the occurrences of one top-level field by k.
func shuffleTopLevel(t *testing.T, raw []byte, num protowire.Number, k int) []byte {
	t.Helper()
	var others, picked [][]byte
	for b := raw; len(b) > 0; {
		n, _, l := protowire.ConsumeField(b)
		if l < 0 {
			t.Fatal(protowire.ParseError(l))
		}
		if n == num {
			picked = append(picked, b[:l])
		} else {
			others = append(others, b[:l])
		}
		b = b[l:]
	}
	var out []byte
	for _, o := range others {
		out = append(out, o...)
	}
	for i := range picked {
		out = append(out, picked[(i+k)%len(picked)]...)
	}
	return out
}

// TestIdentifyingFieldsMatter changes each field that identifies an event,
// one at a time, and expects a new id; and changes fields that do not, and
// expects the same id. This is what guards the discriminator lists.
func TestIdentifyingFieldsMatter(t *testing.T) {
	g := newGen(3)
	type mut struct {
		name string
		f    func(ev *tetragon.GetEventsResponse)
	}
	common := []mut{
		{"node", func(ev *tetragon.GetEventsResponse) { ev.NodeName += "x" }},
		{"seconds", func(ev *tetragon.GetEventsResponse) {
			ev.Time = &timestamppb.Timestamp{Seconds: ev.GetTime().GetSeconds() + 1, Nanos: ev.GetTime().GetNanos()}
		}},
		{"nanos", func(ev *tetragon.GetEventsResponse) {
			ev.Time = &timestamppb.Timestamp{Seconds: ev.GetTime().GetSeconds(), Nanos: ev.GetTime().GetNanos() + 1}
		}},
	}
	proc := []mut{
		{"exec_id", func(ev *tetragon.GetEventsResponse) { processOf(ev).ExecId += "x" }},
		{"pid", func(ev *tetragon.GetEventsResponse) {
			processOf(ev).Pid = wrapperspb.UInt32(processOf(ev).GetPid().GetValue() + 1)
		}},
		{"tid", func(ev *tetragon.GetEventsResponse) {
			processOf(ev).Tid = wrapperspb.UInt32(processOf(ev).GetTid().GetValue() + 1)
		}},
	}
	disc := map[int32][]mut{
		typeExit: {
			{"signal", func(ev *tetragon.GetEventsResponse) { ev.GetProcessExit().Signal += "x" }},
			{"status", func(ev *tetragon.GetEventsResponse) { ev.GetProcessExit().Status++ }},
		},
		typeKprobe: {
			{"function_name", func(ev *tetragon.GetEventsResponse) { ev.GetProcessKprobe().FunctionName += "x" }},
			{"policy_name", func(ev *tetragon.GetEventsResponse) { ev.GetProcessKprobe().PolicyName += "x" }},
		},
		typeTracepoint: {
			{"subsys", func(ev *tetragon.GetEventsResponse) { ev.GetProcessTracepoint().Subsys += "x" }},
			{"event", func(ev *tetragon.GetEventsResponse) { ev.GetProcessTracepoint().Event += "x" }},
			{"policy_name", func(ev *tetragon.GetEventsResponse) { ev.GetProcessTracepoint().PolicyName += "x" }},
		},
		typeLoader: {
			{"path", func(ev *tetragon.GetEventsResponse) { ev.GetProcessLoader().Path += "x" }},
			{"buildid", func(ev *tetragon.GetEventsResponse) {
				ev.GetProcessLoader().Buildid = append(ev.GetProcessLoader().Buildid, 1)
			}},
		},
		typeUprobe: {
			{"path", func(ev *tetragon.GetEventsResponse) { ev.GetProcessUprobe().Path += "x" }},
			{"symbol", func(ev *tetragon.GetEventsResponse) { ev.GetProcessUprobe().Symbol += "x" }},
			{"policy_name", func(ev *tetragon.GetEventsResponse) { ev.GetProcessUprobe().PolicyName += "x" }},
		},
		typeThrottle: {
			{"type", func(ev *tetragon.GetEventsResponse) {
				ev.GetProcessThrottle().Type = 1 + ev.GetProcessThrottle().Type%2
			}},
			{"cgroup", func(ev *tetragon.GetEventsResponse) { ev.GetProcessThrottle().Cgroup += "x" }},
		},
		typeLsm: {
			{"function_name", func(ev *tetragon.GetEventsResponse) { ev.GetProcessLsm().FunctionName += "x" }},
			{"policy_name", func(ev *tetragon.GetEventsResponse) { ev.GetProcessLsm().PolicyName += "x" }},
		},
		typeUsdt: {
			{"path", func(ev *tetragon.GetEventsResponse) { ev.GetProcessUsdt().Path += "x" }},
			{"provider", func(ev *tetragon.GetEventsResponse) { ev.GetProcessUsdt().Provider += "x" }},
			{"name", func(ev *tetragon.GetEventsResponse) { ev.GetProcessUsdt().Name += "x" }},
			{"policy_name", func(ev *tetragon.GetEventsResponse) { ev.GetProcessUsdt().PolicyName += "x" }},
		},
		typeTest: {
			{"arg0", func(ev *tetragon.GetEventsResponse) { ev.GetTest().Arg0++ }},
			{"arg1", func(ev *tetragon.GetEventsResponse) { ev.GetTest().Arg1++ }},
			{"arg2", func(ev *tetragon.GetEventsResponse) { ev.GetTest().Arg2++ }},
			{"arg3", func(ev *tetragon.GetEventsResponse) { ev.GetTest().Arg3++ }},
		},
		typeRateLimitInfo: {
			{"number_of_dropped_process_events", func(ev *tetragon.GetEventsResponse) { ev.GetRateLimitInfo().NumberOfDroppedProcessEvents++ }},
		},
	}
	ignored := []mut{
		{"cluster_name", func(ev *tetragon.GetEventsResponse) { ev.ClusterName += "x" }},
		{"node_labels", func(ev *tetragon.GetEventsResponse) { ev.NodeLabels = map[string]string{"new": "label"} }},
		{"aggregation_info", func(ev *tetragon.GetEventsResponse) { ev.AggregationInfo = &tetragon.AggregationInfo{Count: 7} }},
	}
	procIgnored := []mut{
		{"binary", func(ev *tetragon.GetEventsResponse) { processOf(ev).Binary += "x" }},
		{"pod_labels", func(ev *tetragon.GetEventsResponse) { processOf(ev).Pod.PodLabels["x"] = "y" }},
		{"uid", func(ev *tetragon.GetEventsResponse) { processOf(ev).Uid = wrapperspb.UInt32(12345) }},
		{"start_time", func(ev *tetragon.GetEventsResponse) { processOf(ev).StartTime = timestamppb.Now() }},
	}
	for _, typ := range knownTypes {
		ev := g.event(typ)
		for processOf(ev) == nil && specFor(protowire.Number(typ)).process {
			ev = g.event(typ)
		}
		if ev.Time == nil {
			ev.Time = timestamppb.Now()
		}
		base := agree(t, "base", ev, mustMarshal(t, ev, true))
		if _, ok := disc[typ]; !ok {
			// A type added to the eventtype table after this test was
			// written: mutate its id fields as the table names them.
			for _, f := range eventtype.ByNumber(typ).IDFields {
				disc[typ] = append(disc[typ], mut{f.Name, func(ev *tetragon.GetEventsResponse) {
					m := eventtype.ByNumber(typ).Message(ev).ProtoReflect()
					mutate(m, m.Descriptor().Fields().ByNumber(f.Number))
				}})
			}
		}
		changes, same := append(append([]mut{}, common...), disc[typ]...), append([]mut{}, ignored...)
		if specFor(protowire.Number(typ)).process {
			changes = append(changes, proc...)
			same = append(same, procIgnored...)
		}
		if specFor(protowire.Number(typ)).nstr+specFor(protowire.Number(typ)).nint != len(disc[typ]) {
			t.Fatalf("type %d: test covers %d discriminators, spec has more", typ, len(disc[typ]))
		}
		for _, m := range changes {
			c := proto.Clone(ev).(*tetragon.GetEventsResponse)
			m.f(c)
			if id := agree(t, m.name, c, mustMarshal(t, c, true)); id == base {
				t.Errorf("type %d: changing %s kept the id", typ, m.name)
			}
		}
		for _, m := range same {
			c := proto.Clone(ev).(*tetragon.GetEventsResponse)
			m.f(c)
			if id := agree(t, m.name, c, mustMarshal(t, c, true)); id != base {
				t.Errorf("type %d: changing %s changed the id", typ, m.name)
			}
		}
	}
}

// TestEmptyExecID: kernel threads and the like have no exec_id; pid, tid
// and time still tell their events apart.
func TestEmptyExecID(t *testing.T) {
	seen := map[ID]bool{}
	for pid := uint32(0); pid < 50; pid++ {
		for tid := pid; tid < pid+4; tid++ {
			for ns := int32(0); ns < 25; ns++ {
				ev := &tetragon.GetEventsResponse{
					NodeName: "node-a",
					Time:     &timestamppb.Timestamp{Seconds: 1_700_000_000, Nanos: ns},
					Event: &tetragon.GetEventsResponse_ProcessKprobe{ProcessKprobe: &tetragon.ProcessKprobe{
						Process:      &tetragon.Process{Pid: wrapperspb.UInt32(pid), Tid: wrapperspb.UInt32(tid)},
						FunctionName: "tcp_connect", PolicyName: "net",
					}},
				}
				id := agree(t, "empty exec_id", ev, mustMarshal(t, ev, true))
				if seen[id] {
					t.Fatalf("pid %d tid %d ns %d: id %s seen before", pid, tid, ns, id)
				}
				seen[id] = true
			}
		}
	}
	if len(seen) != 50*4*25 {
		t.Fatalf("%d ids", len(seen))
	}
}

// TestNoCollisions derives ids for a million distinct events shaped like a
// busy node: groups of 16 events share one ns and differ in type, process or
// discriminator; times run in 1 ns steps over a few nodes.
func TestNoCollisions(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	seen := make(map[ID]int32, n)
	ev := &tetragon.GetEventsResponse{Time: &timestamppb.Timestamp{}}
	proc := &tetragon.Process{Pid: &wrapperspb.UInt32Value{}, Tid: &wrapperspb.UInt32Value{}}
	kp := &tetragon.ProcessKprobe{Process: proc, PolicyName: "file-monitoring"}
	ex := &tetragon.ProcessExec{Process: proc}
	xt := &tetragon.ProcessExit{Process: proc}
	th := &tetragon.ProcessThrottle{Cgroup: "/kubepods"}
	rl := &tetragon.RateLimitInfo{}
	tst := &tetragon.Test{}
	nodes := []string{"node-a", "node-b", "node-c"}
	execIDs := []string{"", "bm9kZS1hOjEwMDA6NDI=", "bm9kZS1hOjIwMDA6NDM="}
	for i := 0; i < n; i++ {
		grp, j := i/16, i%16
		ev.NodeName = nodes[grp%len(nodes)]
		ev.Time.Seconds, ev.Time.Nanos = 1_700_000_000+int64(grp/1e9), int32(grp%1e9)
		// j picks one of 16 distinct shapes within the same node and ns.
		proc.ExecId = execIDs[j%3]
		proc.Pid.Value, proc.Tid.Value = 42, 42+uint32(j/3)
		switch j % 5 {
		case 0, 1:
			kp.FunctionName = [...]string{"fd_install", "security_file_permission"}[j%2]
			ev.Event = &tetragon.GetEventsResponse_ProcessKprobe{ProcessKprobe: kp}
		case 2:
			ev.Event = &tetragon.GetEventsResponse_ProcessExec{ProcessExec: ex}
		case 3:
			xt.Status = uint32(j)
			ev.Event = &tetragon.GetEventsResponse_ProcessExit{ProcessExit: xt}
		case 4:
			switch j {
			case 4:
				th.Type = tetragon.ThrottleType_THROTTLE_START
				ev.Event = &tetragon.GetEventsResponse_ProcessThrottle{ProcessThrottle: th}
			case 9:
				rl.NumberOfDroppedProcessEvents = uint64(grp)
				ev.Event = &tetragon.GetEventsResponse_RateLimitInfo{RateLimitInfo: rl}
			case 14:
				tst.Arg0 = uint64(grp)
				ev.Event = &tetragon.GetEventsResponse_Test{Test: tst}
			}
		}
		id := FromResponse(ev)
		if prev, dup := seen[id]; dup {
			t.Fatalf("event %d collides with event %d: %s", i, prev, id)
		}
		seen[id] = int32(i)
		if i%1000 == 0 { // spot-check the byte path too
			agree(t, "collision set", ev, mustMarshal(t, ev, true))
		}
	}
	if len(seen) != n {
		t.Fatalf("%d ids for %d events", len(seen), n)
	}
}

func TestUnknownType(t *testing.T) {
	inner := protowire.AppendTag(nil, 1, protowire.BytesType)
	inner = protowire.AppendString(inner, "something new")
	build := func(num protowire.Number, payload []byte, extra ...[]byte) []byte {
		b := protowire.AppendTag(nil, fieldNodeName, protowire.BytesType)
		b = protowire.AppendString(b, "node-a")
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendBytes(b, payload)
		for _, e := range extra {
			b = append(b, e...)
		}
		return b
	}
	decodeAgree := func(name string, raw []byte) (ID, Info) {
		t.Helper()
		var ev tetragon.GetEventsResponse
		if err := proto.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		id := agree(t, name, &ev, raw)
		_, info, _ := FromBytes(raw)
		// Re-marshalling keeps unknown fields, so the id survives a round trip.
		agree(t, name+" re-marshalled", &ev, mustMarshal(t, &ev, true))
		return id, info
	}

	id30, info := decodeAgree("type 30", build(30, inner))
	if info.Type != 30 || info.TypeName() != eventtype.Unknown {
		t.Fatalf("info %+v %q", info, info.TypeName())
	}
	id31, _ := decodeAgree("type 31", build(31, inner))
	other, _ := decodeAgree("type 30, other payload", build(30, append(inner, 0x10, 0x01)))
	high, info := decodeAgree("type 40002", build(40002, inner))
	if id30 == id31 || id30 == other || high == id30 || info.Type != 40002 {
		t.Fatal("unknown types must be told apart by field number and payload")
	}
	// 1005 lies in the response's own range: a future plain field, not an event.
	_, info = decodeAgree("field 1005", build(1005, inner))
	if info.Type != 0 {
		t.Fatalf("field 1005 taken as event type %d", info.Type)
	}
	// A known event wins over an unknown one, before or after it.
	exec := protowire.AppendTag(nil, typeExec, protowire.BytesType)
	exec = protowire.AppendBytes(exec, nil)
	_, info = decodeAgree("exec then 30", append(build(30, inner)[:0:0], append(exec, build(30, inner)...)...))
	if info.Type != typeExec {
		t.Fatalf("known event lost to unknown: %d", info.Type)
	}
	_, info = decodeAgree("30 then exec", build(30, inner, exec))
	if info.Type != typeExec {
		t.Fatalf("known event lost to unknown: %d", info.Type)
	}
	// Of two unknown candidates the last wins.
	second := protowire.AppendTag(nil, 31, protowire.BytesType)
	second = protowire.AppendBytes(second, inner)
	if id, _ := decodeAgree("30 then 31", build(30, inner, second)); id != id31 {
		t.Fatal("last unknown candidate must win")
	}
}

// TestDecodingRules hand-crafts encodings that Tetragon never writes but a
// protobuf decoder accepts, and expects FromBytes to follow proto.Unmarshal.
func TestDecodingRules(t *testing.T) {
	str := func(num protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), s)
	}
	msg := func(num protowire.Number, parts ...[]byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), bytes.Join(parts, nil))
	}
	vint := func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
	}
	fixed := func(num protowire.Number) []byte {
		return protowire.AppendFixed32(protowire.AppendTag(nil, num, protowire.Fixed32Type), 7)
	}
	group := func(num protowire.Number, inner ...[]byte) []byte {
		b := protowire.AppendTag(nil, num, protowire.StartGroupType)
		b = append(b, bytes.Join(inner, nil)...)
		return protowire.AppendTag(b, num, protowire.EndGroupType)
	}
	proc := func(execID string, pid uint64) []byte {
		return msg(fieldProcess, str(fieldExecID, execID), msg(fieldPid, vint(1, pid)))
	}
	kprobe := func(parts ...[]byte) []byte { return msg(typeKprobe, parts...) }
	cases := map[string][]byte{
		"node twice, last wins":       bytes.Join([][]byte{str(1000, "a"), str(1000, "b"), kprobe(proc("e", 1))}, nil),
		"time split in two":           bytes.Join([][]byte{msg(1001, vint(1, 5)), msg(1001, vint(2, 6)), kprobe()}, nil),
		"time seconds twice":          bytes.Join([][]byte{msg(1001, vint(1, 5), vint(2, 9)), msg(1001, vint(1, 6))}, nil),
		"negative seconds and nanos":  msg(1001, vint(1, ^uint64(0)), vint(2, ^uint64(0))),
		"nanos wider than int32":      msg(1001, vint(2, 1<<40|3)),
		"kprobe twice merges":         bytes.Join([][]byte{kprobe(str(3, "f"), proc("e", 1)), kprobe(str(8, "p"))}, nil),
		"process twice merges":        kprobe(proc("e", 1), msg(fieldProcess, msg(fieldTid, vint(1, 9)))),
		"pid twice merges":            kprobe(msg(fieldProcess, msg(fieldPid, vint(1, 3)), msg(fieldPid, vint(2, 8)))),
		"pid wider than uint32":       kprobe(msg(fieldProcess, msg(fieldPid, vint(1, 1<<33|5)))),
		"oneof switches 9,1,9":        bytes.Join([][]byte{kprobe(str(3, "f"), proc("e", 1)), msg(typeExec, proc("x", 2)), kprobe(str(8, "p"))}, nil),
		"oneof switches 9,1":          bytes.Join([][]byte{kprobe(str(3, "f"), proc("e", 1)), msg(typeExec, proc("x", 2))}, nil),
		"node as varint is unknown":   bytes.Join([][]byte{str(1000, "a"), vint(1000, 5), kprobe()}, nil),
		"event as varint is unknown":  bytes.Join([][]byte{kprobe(str(3, "f")), vint(typeExec, 1)}, nil),
		"event as group is unknown":   bytes.Join([][]byte{kprobe(str(3, "f")), group(typeExec, vint(1, 1))}, nil),
		"time as fixed32 is unknown":  bytes.Join([][]byte{msg(1001, vint(1, 5)), fixed(1001)}, nil),
		"string field as varint":      kprobe(str(3, "f"), vint(3, 1), vint(8, 2)),
		"status as bytes":             msg(typeExit, vint(4, 3), str(4, "x")),
		"exec_id as varint":           kprobe(msg(fieldProcess, str(1, "e"), vint(1, 3))),
		"pid value as fixed32":        kprobe(msg(fieldProcess, msg(fieldPid, vint(1, 3), fixed(1)))),
		"loader process and parent":   msg(typeLoader, proc("e", 1), msg(4, str(1, "parent")), str(2, "/lib"), str(3, "\x00\xff")),
		"throttle negative type":      msg(typeThrottle, vint(1, ^uint64(0)), str(2, "/cg")),
		"process in throttle ignored": msg(typeThrottle, proc("e", 1)),
		"rate limit max":              msg(typeRateLimitInfo, vint(1, ^uint64(0))),
		"test args":                   msg(typeTest, vint(1, 1), vint(2, 2), vint(3, 3), vint(4, 4), vint(5, 5)),
		"usdt all":                    msg(typeUsdt, proc("e", 1), str(3, "a"), str(4, "b"), str(5, "c"), str(6, "d")),
		"unknown group at top":        bytes.Join([][]byte{group(77, vint(1, 1), group(2)), kprobe()}, nil),
		"empty":                       nil,
		"node only":                   str(1000, "n"),
		"empty process":               kprobe(msg(fieldProcess)),
		"empty exec":                  msg(typeExec),
	}
	for name, raw := range cases {
		var ev tetragon.GetEventsResponse
		if err := proto.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: proto.Unmarshal: %v", name, err)
		}
		id := agree(t, name, &ev, raw)
		if again := agree(t, name+" re-marshalled", &ev, mustMarshal(t, &ev, true)); again != id {
			t.Errorf("%s: id changed by a decode/encode round trip", name)
		}
	}
}

func TestMalformed(t *testing.T) {
	bad := map[string][]byte{
		"truncated tag":        {0x80},
		"truncated length":     {0xc2, 0x3e}, // field 1000, bytes, no length
		"length past end":      {0xc2, 0x3e, 0x05, 'a'},
		"field number 0":       {0x02, 0x00},
		"reserved wire type":   {0x0e},
		"stray end group":      {0x0c},
		"bad inside kprobe":    {0x4a, 0x01, 0x80},
		"bad inside process":   {0x4a, 0x03, 0x0a, 0x01, 0x80},
		"bad inside time":      {0xca, 0x3e, 0x02, 0x08, 0x80},
		"field number too big": protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber+1)<<3),
	}
	for name, raw := range bad {
		if _, _, err := FromBytes(raw); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
		if err := proto.Unmarshal(raw, &tetragon.GetEventsResponse{}); err == nil {
			t.Errorf("%s: proto.Unmarshal accepts it; the case is not malformed", name)
		}
	}
	// Every prefix of a real event: an error, or agreement when protobuf
	// itself accepts the prefix.
	fx := loadFixtures(t)
	raw := mustMarshal(t, fx[0].ev, true)
	for i := range raw {
		checkInvariant(t, raw[:i])
	}
}

// TestSchema checks the field numbers this package reads against the
// descriptors of the Tetragon API it is built with, and that every event
// type of that API is known here: an API upgrade that adds a type fails
// this test until the package learns it.
func TestSchema(t *testing.T) {
	want := map[int32][]string{ // strings then integers, canon order
		typeExec:          {},
		typeExit:          {"signal", "status"},
		typeKprobe:        {"function_name", "policy_name"},
		typeTracepoint:    {"subsys", "event", "policy_name"},
		typeLoader:        {"path", "buildid"},
		typeUprobe:        {"path", "symbol", "policy_name"},
		typeThrottle:      {"cgroup", "type"},
		typeLsm:           {"function_name", "policy_name"},
		typeUsdt:          {"path", "provider", "name", "policy_name"},
		typeTest:          {"arg0", "arg1", "arg2", "arg3"},
		typeRateLimitInfo: {"number_of_dropped_process_events"},
	}
	rd := (&tetragon.GetEventsResponse{}).ProtoReflect().Descriptor()
	if f := rd.Fields().ByName("node_name"); f == nil || f.Number() != fieldNodeName {
		t.Fatal("node_name")
	}
	if f := rd.Fields().ByName("time"); f == nil || f.Number() != fieldTime || f.Message().FullName() != "google.protobuf.Timestamp" {
		t.Fatal("time")
	}
	pd := (&tetragon.Process{}).ProtoReflect().Descriptor()
	for name, num := range map[string]protowire.Number{"exec_id": fieldExecID, "pid": fieldPid, "tid": fieldTid} {
		if f := pd.Fields().ByName(protoreflectName(name)); f == nil || f.Number() != num {
			t.Fatalf("Process.%s", name)
		}
	}
	for i := 0; i < rd.Fields().Len(); i++ {
		f := rd.Fields().Get(i)
		n := int32(f.Number())
		if f.ContainingOneof() == nil {
			if unknownCandidate(f.Number()) {
				t.Errorf("plain field %s (%d) lies in the range taken for unknown events", f.Name(), n)
			}
			continue
		}
		s := specFor(f.Number())
		names, ok := want[n]
		if et := eventtype.ByNumber(n); !ok && et != nil {
			// Added to the eventtype table after this test was written:
			// check the table's own field list.
			t.Logf("%s: not in this test's list, checking the table's id fields %v", f.Name(), et.ID)
			names, ok = et.ID, true
		}
		if s == nil || !ok {
			t.Errorf("event type %s (%d) is not known to eventid", f.Name(), n)
			continue
		}
		delete(want, n)
		if eventtype.FromFieldNumber(n) == eventtype.Unknown {
			t.Errorf("%s: eventtype does not know %d", f.Name(), n)
		}
		ed := f.Message()
		if pf := ed.Fields().ByNumber(fieldProcess); s.process != (pf != nil && pf.Name() == "process") {
			t.Errorf("%s: process field mismatch", ed.Name())
		}
		if s.nstr+s.nint != len(names) {
			t.Fatalf("%s: %d discriminators, want %v", ed.Name(), s.nstr+s.nint, names)
		}
		for j, name := range names {
			fd := ed.Fields().ByName(protoreflectName(name))
			if fd == nil {
				t.Fatalf("%s has no field %s", ed.Name(), name)
			}
			if j < s.nstr {
				if fd.Number() != s.strs[j] || (fd.Kind().String() != "string" && fd.Kind().String() != "bytes") {
					t.Errorf("%s.%s: number %d kind %s, spec has %d", ed.Name(), name, fd.Number(), fd.Kind(), s.strs[j])
				}
				continue
			}
			k, wide := j-s.nstr, map[string]bool{"uint64": true, "int64": true}[fd.Kind().String()]
			if fd.Number() != s.ints[k] || s.wide[k] != wide || fd.Cardinality().String() == "repeated" {
				t.Errorf("%s.%s: number %d kind %s, spec has %d wide=%v", ed.Name(), name, fd.Number(), fd.Kind(), s.ints[k], s.wide[k])
			}
		}
	}
	if len(want) != 0 {
		t.Errorf("types no longer in the API: %v", want)
	}
}

// TestVector recomputes one id from the scheme as written in the package
// doc, independently of the implementation: other producers can check
// themselves against it.
func TestVector(t *testing.T) {
	ev := &tetragon.GetEventsResponse{
		NodeName: "node-a",
		Time:     &timestamppb.Timestamp{Seconds: 1700000000, Nanos: 123456789},
		Event: &tetragon.GetEventsResponse_ProcessKprobe{ProcessKprobe: &tetragon.ProcessKprobe{
			Process:      &tetragon.Process{ExecId: "bm9kZS1hOjEwMDA6NDI=", Pid: wrapperspb.UInt32(42), Tid: wrapperspb.UInt32(43)},
			FunctionName: "tcp_connect",
			PolicyName:   "net",
		}},
	}
	canon := "01" + "09" + // version, type
		"000000006553f100" + "075bcd15" + // seconds, nanos
		"06" + hex.EncodeToString([]byte("node-a")) +
		"14" + hex.EncodeToString([]byte("bm9kZS1hOjEwMDA6NDI=")) + "0000002a" + "0000002b" +
		"0b" + hex.EncodeToString([]byte("tcp_connect")) + "03" + hex.EncodeToString([]byte("net"))
	b, err := hex.DecodeString(canon)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	want := hex.EncodeToString(sum[:16])
	if got := agree(t, "vector", ev, mustMarshal(t, ev, true)); got.String() != want {
		t.Fatalf("id %s, scheme says %s", got, want)
	}
	t.Logf("test vector id: %s", want)
}

func TestParse(t *testing.T) {
	id := FromResponse(&tetragon.GetEventsResponse{NodeName: "n"})
	if got, err := Parse(id.String()); err != nil || got != id {
		t.Fatalf("Parse(%s) = %s, %v", id, got, err)
	}
	for _, s := range []string{"", strings.ToUpper(id.String()), id.String()[1:], id.String() + "0", strings.Repeat("g", Len)} {
		if _, err := Parse(s); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
	if id.IsZero() || !(ID{}).IsZero() {
		t.Fatal("IsZero")
	}
}

// TestFromBytesAllocatesNothing: the ingester's hot path.
func TestFromBytesAllocatesNothing(t *testing.T) {
	for _, f := range loadFixtures(t) {
		raw := mustMarshal(t, f.ev, true)
		if n := testing.AllocsPerRun(20, func() { _, _, _ = FromBytes(raw) }); n != 0 {
			t.Errorf("%s: %v allocs", f.name, n)
		}
	}
}

func TestNilResponse(t *testing.T) {
	id, _, err := FromBytes(nil)
	if err != nil || FromResponse(nil) != id || FromResponse(&tetragon.GetEventsResponse{}) != id {
		t.Fatal("nil and empty responses must share the id of empty bytes")
	}
}

// TestFieldBoundaries: moving bytes from one field to the next must change
// the id (the length prefixes), which random events almost never exercise.
func TestFieldBoundaries(t *testing.T) {
	kp := func(node, execID, fn, policy string) *tetragon.GetEventsResponse {
		return &tetragon.GetEventsResponse{NodeName: node, Event: &tetragon.GetEventsResponse_ProcessKprobe{
			ProcessKprobe: &tetragon.ProcessKprobe{Process: &tetragon.Process{ExecId: execID}, FunctionName: fn, PolicyName: policy}}}
	}
	usdt := func(path, provider, name, policy string) *tetragon.GetEventsResponse {
		return &tetragon.GetEventsResponse{Event: &tetragon.GetEventsResponse_ProcessUsdt{
			ProcessUsdt: &tetragon.ProcessUsdt{Path: path, Provider: provider, Name: name, PolicyName: policy}}}
	}
	evs := []*tetragon.GetEventsResponse{
		kp("ab", "c", "", ""), kp("a", "bc", "", ""), kp("", "abc", "", ""), kp("abc", "", "", ""),
		kp("", "", "ab", "c"), kp("", "", "a", "bc"), kp("", "", "", "abc"), kp("", "", "abc", ""),
		kp("", "ab", "c", ""), kp("", "a", "bc", ""),
		usdt("ab", "c", "", ""), usdt("a", "bc", "", ""), usdt("", "", "ab", "c"), usdt("", "", "a", "bc"),
		usdt("", "", "", ""), kp("", "", "", ""),
		{Event: &tetragon.GetEventsResponse_ProcessExec{ProcessExec: &tetragon.ProcessExec{}}},
		{Event: &tetragon.GetEventsResponse_ProcessLsm{ProcessLsm: &tetragon.ProcessLsm{}}},
		{},
		// Without a length prefix on exec_id these two would be the same canon.
		kp("", strings.Repeat("\x00", 8), "", ""), kp("", "", strings.Repeat("\x00", 8), ""),
	}
	evs[len(evs)-2].GetProcessKprobe().Process.Pid = wrapperspb.UInt32(0x08000000)
	seen := map[ID]int{}
	for i, ev := range evs {
		id := agree(t, fmt.Sprint(i), ev, mustMarshal(t, ev, true))
		if j, dup := seen[id]; dup {
			t.Errorf("events %d and %d share id %s", j, i, id)
		}
		seen[id] = i
	}
}
