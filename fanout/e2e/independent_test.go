package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/cilium/tetragon/api/v1/tetragon/codegen/helpers"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/normalize"
)

// independent is what an output must say of its event, read from the
// protobuf through Tetragon's own generated getters and codegen helpers,
// not through normalize: comparing outputs only with normalize.Append would
// pass whatever normalize gets wrong.
type independent struct {
	id, typ, node, ns, pod string
	time                   *time.Time
	proc, parent           *indepProcess
}

type indepProcess struct {
	execID, binary, args string
	pid                  uint32
}

func indepOf(ev *tetragon.GetEventsResponse, id string) *independent {
	in := &independent{id: id, typ: "unknown", node: ev.GetNodeName()}
	if s, err := helpers.ResponseTypeString(ev); err == nil {
		in.typ = strings.ToLower(s)
	}
	if ts := ev.GetTime(); ts != nil {
		t := ts.AsTime()
		in.time = &t
	}
	p := helpers.ResponseGetProcess(ev)
	if p != nil {
		in.proc = &indepProcess{execID: p.GetExecId(), binary: p.GetBinary(), args: p.GetArguments(), pid: p.GetPid().GetValue()}
		in.ns, in.pod = p.GetPod().GetNamespace(), p.GetPod().GetName()
	}
	if pp := helpers.ResponseGetParent(ev); pp != nil {
		in.parent = &indepProcess{execID: pp.GetExecId(), binary: pp.GetBinary(), args: pp.GetArguments(), pid: pp.GetPid().GetValue()}
	}
	return in
}

// check reads out with encoding/json and compares it field by field.
func (in *independent) check(out []byte) error {
	type proc struct {
		ExecID    string `json:"exec_id"`
		Binary    string `json:"binary"`
		Arguments string `json:"arguments"`
		PID       uint32 `json:"pid"`
	}
	var j struct {
		Schema    int    `json:"schema_version"`
		EventID   string `json:"event_id"`
		Type      string `json:"type"`
		Time      string `json:"time"`
		Node      string `json:"node"`
		Namespace string `json:"namespace"`
		Pod       string `json:"pod"`
		Process   *proc  `json:"process"`
		Parent    *proc  `json:"parent"`
	}
	if err := json.Unmarshal(out, &j); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	var diffs []string
	diff := func(field string, got, want any) {
		if got != want {
			diffs = append(diffs, fmt.Sprintf("%s %v, want %v", field, got, want))
		}
	}
	diff("schema_version", j.Schema, 1)
	diff("event_id", j.EventID, in.id)
	diff("type", j.Type, in.typ)
	diff("node", j.Node, in.node)
	diff("namespace", j.Namespace, in.ns)
	diff("pod", j.Pod, in.pod)
	if in.time != nil {
		t, err := time.Parse(time.RFC3339Nano, j.Time)
		if err != nil || !t.Equal(*in.time) {
			diffs = append(diffs, fmt.Sprintf("time %q, want %s", j.Time, in.time.Format(time.RFC3339Nano)))
		}
	}
	for _, p := range []struct {
		name string
		got  *proc
		want *indepProcess
	}{{"process", j.Process, in.proc}, {"parent", j.Parent, in.parent}} {
		switch {
		case p.want == nil && p.got != nil:
			diffs = append(diffs, p.name+" present, the event has none")
		case p.want != nil && p.got == nil:
			diffs = append(diffs, p.name+" missing")
		case p.want != nil:
			diff(p.name+".exec_id", p.got.ExecID, p.want.execID)
			diff(p.name+".binary", p.got.Binary, p.want.binary)
			diff(p.name+".arguments", p.got.Arguments, p.want.args)
			diff(p.name+".pid", p.got.PID, p.want.pid)
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s", strings.Join(diffs, "; "))
	}
	return nil
}

// The independent reading agrees with normalize on a real event and
// catches an output that says something else of it.
func TestIndependentCheckCatchesAWrongField(t *testing.T) {
	ev := &tetragon.GetEventsResponse{
		NodeName: "node-1", Time: timestamppb.New(time.Unix(1700000000, 123456789)),
		Event: &tetragon.GetEventsResponse_ProcessExec{ProcessExec: &tetragon.ProcessExec{
			Process: &tetragon.Process{ExecId: "ZXhlYw==", Binary: "/bin/sh", Arguments: "-c true",
				Pid: wrapperspb.UInt32(42), Pod: &tetragon.Pod{Namespace: "ns", Name: "pod"}},
			Parent: &tetragon.Process{ExecId: "cGFyZW50", Binary: "/sbin/init", Pid: wrapperspb.UInt32(1)},
		}},
	}
	in := indepOf(ev, "id-1")
	out := normalize.Append(nil, ev, normalize.Meta{EventID: "id-1"})
	if err := in.check(out); err != nil {
		t.Fatalf("normalize's JSON of the event: %v", err)
	}
	bad := bytes.Replace(out, []byte(`"/bin/sh"`), []byte(`"/bin/bash"`), 1)
	if err := in.check(bad); err == nil || !strings.Contains(err.Error(), "process.binary") {
		t.Fatalf("a wrong binary: %v", err)
	}
}
