package generate

import (
	"fmt"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/cilium/tetragon/api/v1/tetragon/codegen/helpers"
	"google.golang.org/protobuf/proto"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/source"
)

var decoded int

// decode checks that the fragment-assembled bytes are a valid response and
// that the metadata the server filters on agrees with the decoded event.
func decode(t *testing.T, ev source.Event) *tetragon.GetEventsResponse {
	t.Helper()
	if len(ev.Bytes) != cap(ev.Bytes) {
		t.Fatalf("%s: size computed as %d, encoded %d", ev.Type, cap(ev.Bytes), len(ev.Bytes))
	}
	var r tetragon.GetEventsResponse
	if err := proto.Unmarshal(ev.Bytes, &r); err != nil {
		t.Fatalf("unmarshal %s: %v", ev.Type, err)
	}
	if got := eventtype.FromResponse(&r); got != ev.Type {
		t.Fatalf("type %q, metadata says %q", got, ev.Type)
	}
	if r.NodeName != ev.Node || r.Time.AsTime().UnixNano() != ev.Time {
		t.Fatalf("node/time %s %v, metadata %s %d", r.NodeName, r.Time.AsTime(), ev.Node, ev.Time)
	}
	p := helpers.ResponseGetProcess(&r)
	if (p != nil) != ev.HasProcess {
		t.Fatalf("%s: process present %v, metadata %v", ev.Type, p != nil, ev.HasProcess)
	}
	if p != nil {
		if p.ExecId != ev.ExecID || p.Tid.GetValue() != ev.Tid || p.Binary != ev.Binary {
			t.Fatalf("process %s/%d/%s, metadata %s/%d/%s", p.ExecId, p.Tid.GetValue(), p.Binary, ev.ExecID, ev.Tid, ev.Binary)
		}
		if p.Pod.GetNamespace() != ev.Namespace || p.Pod.GetName() != ev.Pod || (p.Pod != nil) != ev.HasPod {
			t.Fatalf("pod %s/%s, metadata %s/%s", p.Pod.GetNamespace(), p.Pod.GetName(), ev.Namespace, ev.Pod)
		}
		if p.ExecId == "" || p.Pid.GetValue() == 0 || p.StartTime == nil {
			t.Fatalf("incomplete process %v", p)
		}
	}
	decoded++
	if decoded%50 != 1 {
		return &r
	}
	// Re-marshalling must not change the event (bytes may differ: maps).
	b, err := proto.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	var r2 tetragon.GetEventsResponse
	if err := proto.Unmarshal(b, &r2); err != nil || !proto.Equal(&r, &r2) {
		t.Fatalf("re-marshal changed the event: %v", err)
	}
	return &r
}

func TestEveryTypeInEveryBlock(t *testing.T) {
	for _, rli := range []bool{false, true} {
		cfg := Config{Seed: 7, Nodes: 1, Namespaces: 1, Pods: 1, RateLimitInfo: rli}
		g, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for block := range 20 {
			got := map[string]int{}
			for range BlockSize {
				ev, err := g.Next()
				if err != nil {
					t.Fatal(err)
				}
				decode(t, ev)
				got[ev.Type]++
			}
			if len(got) != len(cfg.Mix()) {
				t.Fatalf("rate_limit_info %v, block %d: types %v, mix %v", rli, block, got, cfg.Mix())
			}
			for typ, n := range cfg.Mix() {
				if got[typ] != n {
					t.Fatalf("rate_limit_info %v, block %d: %s = %d, want %d (all: %v)", rli, block, typ, got[typ], n, got)
				}
			}
		}
		// All but "test", and rate_limit_info only on request.
		want := len(eventtype.All()) - 2
		if rli {
			want++
		}
		if len(cfg.Mix()) != want {
			t.Fatalf("rate_limit_info %v: mix covers %d types, want %d", rli, len(cfg.Mix()), want)
		}
		if _, ok := cfg.Mix()["rate_limit_info"]; ok != rli {
			t.Fatalf("rate_limit_info %v: mix %v", rli, cfg.Mix())
		}
	}
}

type identity struct {
	node, typ, execID, disc string
	time                    int64
	tid                     uint32
}

func discriminator(r *tetragon.GetEventsResponse) string {
	switch e := r.Event.(type) {
	case *tetragon.GetEventsResponse_ProcessKprobe:
		return e.ProcessKprobe.FunctionName + "/" + e.ProcessKprobe.PolicyName
	case *tetragon.GetEventsResponse_ProcessLsm:
		return e.ProcessLsm.FunctionName + "/" + e.ProcessLsm.PolicyName
	case *tetragon.GetEventsResponse_ProcessTracepoint:
		return e.ProcessTracepoint.Subsys + "/" + e.ProcessTracepoint.Event
	case *tetragon.GetEventsResponse_ProcessUprobe:
		return e.ProcessUprobe.Path + "/" + e.ProcessUprobe.Symbol
	case *tetragon.GetEventsResponse_ProcessExit:
		return fmt.Sprintf("%s/%d", e.ProcessExit.Signal, e.ProcessExit.Status)
	}
	return ""
}

func key(r *tetragon.GetEventsResponse) identity {
	p := helpers.ResponseGetProcess(r)
	return identity{r.NodeName, eventtype.FromResponse(r), p.GetExecId(), discriminator(r), r.Time.AsTime().UnixNano(), p.GetTid().GetValue()}
}

type shape struct{ typ, node, ns, pod, binary, policy string }

func run(t *testing.T, seed int64, n int) ([]shape, map[identity]bool) {
	g, err := New(Config{Seed: seed, Nodes: 3, Namespaces: 5, Pods: 20})
	if err != nil {
		t.Fatal(err)
	}
	var shapes []shape
	ids := map[identity]bool{}
	for range n {
		ev, _ := g.Next()
		r := decode(t, ev)
		k := key(r)
		if ids[k] {
			t.Fatalf("identity repeated within a run: %+v", k)
		}
		ids[k] = true
		shapes = append(shapes, shape{ev.Type, ev.Node, ev.Namespace, ev.Pod, ev.Binary, ev.Policy})
	}
	return shapes, ids
}

func TestSameSeedSameContentNewIdentities(t *testing.T) {
	a, ida := run(t, 42, 3000)
	b, idb := run(t, 42, 3000)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("event %d: shape %+v vs %+v", i, a[i], b[i])
		}
	}
	for k := range ida {
		if idb[k] {
			t.Fatalf("two runs share identity %+v", k)
		}
	}
	c, _ := run(t, 43, 3000)
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	if same == len(a) {
		t.Fatal("another seed gave the same content")
	}
}

func TestRealisticContent(t *testing.T) {
	g, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var host, enforce, withParent, procs int
	seen := map[string]bool{}
	for range 10000 {
		ev, _ := g.Next()
		r := decode(t, ev)
		if p := helpers.ResponseGetProcess(r); p != nil {
			procs++
			if p.Pod == nil {
				host++
			}
			if helpers.ResponseGetParent(r) != nil {
				withParent++
			}
		}
		switch e := r.Event.(type) {
		case *tetragon.GetEventsResponse_ProcessKprobe:
			seen["kprobe:"+e.ProcessKprobe.FunctionName] = true
			if a := e.ProcessKprobe.Action; a == tetragon.KprobeAction_KPROBE_ACTION_SIGKILL || a == tetragon.KprobeAction_KPROBE_ACTION_OVERRIDE {
				enforce++
			}
		case *tetragon.GetEventsResponse_ProcessLsm:
			if e.ProcessLsm.ImaHash != "" {
				seen["ima"] = true
			}
		case *tetragon.GetEventsResponse_ProcessThrottle:
			seen["throttle:"+e.ProcessThrottle.Type.String()] = true
		case *tetragon.GetEventsResponse_ProcessLoader:
			if len(e.ProcessLoader.Buildid) == 20 {
				seen["buildid"] = true
			}
		}
	}
	for _, want := range []string{"kprobe:security_file_permission", "kprobe:tcp_connect", "kprobe:__x64_sys_write",
		"ima", "throttle:THROTTLE_START", "throttle:THROTTLE_STOP", "buildid"} {
		if !seen[want] {
			t.Errorf("no %s in 10000 events", want)
		}
	}
	if host == 0 || host > procs/3 {
		t.Errorf("host processes %d of %d", host, procs)
	}
	if enforce == 0 || enforce > procs/20 {
		t.Errorf("enforcement events %d of %d", enforce, procs)
	}
	if withParent < procs*9/10 {
		t.Errorf("only %d of %d process events have a parent", withParent, procs)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{{Nodes: 0, Namespaces: 1, Pods: 1}, {Nodes: 1, Namespaces: 2, Pods: 1}, {Nodes: 1, Namespaces: 1, Pods: 0}} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
