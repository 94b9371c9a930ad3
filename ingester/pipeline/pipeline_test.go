package pipeline

import (
	"context"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/publish"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
)

func pop(t *testing.T, p *Pipeline) publish.Event {
	t.Helper()
	evs, err := p.q.PopBatch(context.Background(), nil, 1)
	if err != nil || len(evs) != 1 {
		t.Fatalf("pop = %v %v", evs, err)
	}
	return evs[0]
}

func TestOnEventIDTypeAndNode(t *testing.T) {
	p := benchPipeline(t, map[string]string{"NODE_NAME": "fallback-node"})
	ctx := context.Background()

	withNode := &tetragon.GetEventsResponse{NodeName: "n1", Event: &tetragon.GetEventsResponse_ProcessExit{
		ProcessExit: &tetragon.ProcessExit{Process: &tetragon.Process{ExecId: "x", Pid: wrapperspb.UInt32(3)}, Signal: "SIGKILL"}}}
	raw, _ := proto.Marshal(withNode)
	p.onEvent(ctx, raw)
	ev := pop(t, p)
	if ev.ID != eventid.FromResponse(withNode) || ev.Type != "process_exit" || ev.Node != "n1" || &ev.Raw[0] != &raw[0] || ev.IngestNS == 0 {
		t.Fatalf("event = %+v", ev)
	}

	// No node_name: tf-node falls back to NODE_NAME.
	noNode := proto.Clone(withNode).(*tetragon.GetEventsResponse)
	noNode.NodeName = ""
	raw, _ = proto.Marshal(noNode)
	p.onEvent(ctx, raw)
	if ev := pop(t, p); ev.Node != "fallback-node" {
		t.Fatalf("node = %q, want NODE_NAME", ev.Node)
	}

	// Bytes the id parser rejects are still published, keyed by their hash,
	// as unknown, and counted.
	junk := []byte{0x0a, 0xff, 0xff}
	p.onEvent(ctx, junk)
	ev = pop(t, p)
	if ev.ID != fallbackID(junk) || ev.Type != "unknown" || string(ev.Raw) != string(junk) {
		t.Fatalf("undecodable event = %+v", ev)
	}
	if _, err := eventid.Parse(ev.ID.String()); err != nil {
		t.Fatalf("fallback key %q is not in the id format: %v", ev.ID, err)
	}
	if metrics.Value(p.m.Undecodable) != 1 || metrics.Value(p.m.Received("unknown")) != 1 || metrics.Value(p.m.Received("process_exit")) != 2 {
		t.Fatal("received/undecodable counters wrong")
	}
}

func TestOnEventCountsQueueDrops(t *testing.T) {
	for policy, reason := range map[string]string{"drop_newest": metrics.ReasonQueueFullNewest, "drop_oldest": metrics.ReasonQueueFullOldest} {
		p := benchPipeline(t, map[string]string{"QUEUE_POLICY": policy, "QUEUE_SIZE": "2"})
		evs := simEvents(t, 5)
		for _, raw := range evs {
			p.onEvent(context.Background(), raw)
		}
		if got := metrics.Value(p.m.Dropped(reason)); got != 3 {
			t.Fatalf("%s: %s drops = %v, want 3", policy, reason, got)
		}
		got, _ := p.q.PopBatch(context.Background(), nil, 10)
		want := evs[:2]
		if policy == "drop_oldest" {
			want = evs[3:]
		}
		for i := range got {
			if &got[i].Raw[0] != &want[i][0] {
				t.Fatalf("%s: queue kept the wrong events", policy)
			}
		}
	}
}

func TestBooks(t *testing.T) {
	p := benchPipeline(t, map[string]string{"QUEUE_POLICY": "drop_newest", "QUEUE_SIZE": "2"})
	for _, raw := range simEvents(t, 5) {
		p.onEvent(context.Background(), raw)
	}
	b := p.Books()
	if b.Received != 5 || b.Published != 0 || b.DroppedTotal() != 3 || b.Dropped[metrics.ReasonQueueFullNewest] != 3 {
		t.Fatalf("books = %+v", b)
	}
	if len(b.Dropped) != len(metrics.Reasons) {
		t.Fatalf("books list %d drop reasons, metrics %d", len(b.Dropped), len(metrics.Reasons))
	}
}
