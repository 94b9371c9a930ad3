package normalize

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// testCase is one raw event the tests feed through Decode and Append.
type testCase struct {
	group string // golden file the output belongs to
	name  string // for messages: group:line
	raw   []byte // protobuf bytes, as the ingester would have written them
	// ref is the protojson-decoded reference (nil for synthetic events
	// that protojson cannot express); for legacy lines it is the lenient
	// decode that keeps only node and time.
	ref    *tetragon.GetEventsResponse
	legacy bool // a fixture line of a type Tetragon removed
}

// testEventID is the deterministic stand-in for shared/eventid in goldens.
func (c testCase) meta() Meta {
	return Meta{EventID: "test-" + c.name, Cluster: "fallback-cluster"}
}

// loadCases reads every fixture line (testdata/fixtures/*.jsonl, copies of
// ../shared/fixtures/tetragon), every hand-built event
// (testdata/events/*.json, one per type) and the synthetic future events.
func loadCases(t testing.TB) []testCase {
	t.Helper()
	var cases []testCase
	files, err := filepath.Glob("testdata/fixtures/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		group := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		line := 0
		for sc.Scan() {
			line++
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			cases = append(cases, fromJSON(t, group, lineName(group, line), sc.Bytes()))
		}
	}
	events, err := filepath.Glob("testdata/events/*.json")
	if err != nil || len(events) == 0 {
		t.Fatalf("no hand-built events: %v", err)
	}
	for _, f := range events {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		c := fromJSON(t, name, name, data)
		if c.legacy {
			t.Fatalf("%s: hand-built event does not decode strictly", f)
		}
		cases = append(cases, c)
	}
	return append(cases, futureCases(t)...)
}

func lineName(group string, line int) string { return fmt.Sprintf("%s:%03d", group, line) }

// fromJSON turns one protojson line into raw bytes. Lines that strict
// decoding rejects with an unknown field are legacy types Tetragon
// removed: they are decoded leniently (only node and time survive, as
// PROVENANCE.md describes) and marked legacy.
func fromJSON(t testing.TB, group, name string, js []byte) testCase {
	t.Helper()
	ev := &tetragon.GetEventsResponse{}
	legacy := false
	if err := protojson.Unmarshal(js, ev); err != nil {
		if !strings.Contains(err.Error(), "unknown field") {
			t.Fatalf("%s: %v", name, err)
		}
		legacy = true
		ev = &tetragon.GetEventsResponse{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(js, ev); err != nil {
			t.Fatalf("%s: lenient decode: %v", name, err)
		}
	}
	raw, err := proto.Marshal(ev)
	if err != nil {
		t.Fatalf("%s: marshal: %v", name, err)
	}
	return testCase{group: group, name: name, raw: raw, ref: ev, legacy: legacy}
}

// futureCases are events a newer Tetragon could send: a top-level event
// type this build does not know, and a kprobe argument of an unknown kind.
// protojson cannot express them, so they are built on the wire.
func futureCases(t testing.TB) []testCase {
	t.Helper()
	base := &tetragon.GetEventsResponse{
		NodeName:    "node-future",
		Time:        timestamppb.New(mustTime(t, "2030-01-02T03:04:05.678Z")),
		ClusterName: "future-cluster",
		NodeLabels:  map[string]string{"b": "2", "a": "1"},
	}
	raw, err := proto.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	// Field 50 (not in api v1.7.1): a message whose field 1 looks like a
	// Process with an exec_id, and a varint field 51 after it.
	inner := protowire.AppendTag(nil, 1, protowire.BytesType)
	proc := protowire.AppendTag(nil, 1, protowire.BytesType)
	proc = protowire.AppendString(proc, "ZnV0dXJlOjE6Mg==")
	inner = protowire.AppendBytes(inner, proc)
	future := protowire.AppendTag(raw, 50, protowire.BytesType)
	future = protowire.AppendBytes(future, inner)
	future = protowire.AppendTag(future, 51, protowire.VarintType)
	future = protowire.AppendVarint(future, 7)

	arg := &tetragon.KprobeArgument{Label: "from-the-future"}
	// Field 99 of KprobeArgument: a kind this build does not know.
	arg.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 12345))
	kp := &tetragon.GetEventsResponse{
		NodeName: "node-future",
		Time:     timestamppb.New(mustTime(t, "2030-01-02T03:04:06Z")),
		Event: &tetragon.GetEventsResponse_ProcessKprobe{ProcessKprobe: &tetragon.ProcessKprobe{
			FunctionName: "security_future_hook",
			PolicyName:   "future-policy",
			Action:       tetragon.KprobeAction(99), // an action this build has no name for
			Args:         []*tetragon.KprobeArgument{{Arg: &tetragon.KprobeArgument_IntArg{IntArg: 1}}, arg},
		}},
	}
	kpRaw, err := proto.Marshal(kp)
	if err != nil {
		t.Fatal(err)
	}
	return []testCase{
		{group: "future", name: "future:type", raw: future},
		{group: "future", name: "future:arg", raw: kpRaw},
	}
}

// goldenPath names the golden file of a group.
func goldenPath(group string) string {
	return filepath.Join("testdata", "golden", group+".golden.jsonl")
}

// groups returns the cases' groups in first-seen order.
func groups(cases []testCase) []string {
	var gs []string
	for _, c := range cases {
		if !slices.Contains(gs, c.group) {
			gs = append(gs, c.group)
		}
	}
	return gs
}
