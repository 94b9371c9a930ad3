package processor

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/topics"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// eventOn is event i of node in namespace ns, as a raw message.
func eventOn(i int, node, ns string) rawMsg {
	ev := &tetragon.GetEventsResponse{
		NodeName: node,
		Time:     timestamppb.New(time.Unix(1700000000, int64(i))),
		Event: &tetragon.GetEventsResponse_ProcessExec{ProcessExec: &tetragon.ProcessExec{Process: &tetragon.Process{
			ExecId: fmt.Sprintf("exec-%d", i), Binary: "/usr/bin/curl", StartTime: timestamppb.New(time.Unix(1700000000, int64(i))),
			Pod: &tetragon.Pod{Namespace: ns, Name: fmt.Sprintf("pod-%d", i)}}}},
	}
	raw, err := proto.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return rawMsg{key: eventid.FromResponse(ev).String(), value: raw}
}

// withRoutes replaces the env's routes file; the default topic stays e.out's
// template. Topics the test's templates create are deleted at cleanup.
func (e *env) withRoutes(rules string, created ...string) {
	e.t.Helper()
	base := e.out[:len(e.out)-len(".process_exec")]
	doc := "version: 1\ndefaults:\n  topic: \"" + base + ".{type}\"\nrules:\n" + rules
	if err := os.WriteFile(e.routes, []byte(doc), 0o600); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		a := kafkatest.Admin(e.t, e.brokers)
		for _, t := range created {
			_ = a.DeleteTopic(t)
		}
	})
}

// TestBrokerCollidingTopicIsRerouted is issue 12's first defect. Kafka
// refuses a topic whose name equals an existing one once '.' and '_' are
// treated alike: with routes "<p>.n.{node}.{type}" for namespace edge-node
// and "<p>.{namespace}.{type}" for the rest, node ok.example and namespace
// n_ok_example render colliding names. The refusal is permanent: the event
// goes to its default topic (counted), the processor does not restart and
// the partition goes on to the events after it.
func TestBrokerCollidingTopicIsRerouted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	base := e.out[:len(e.out)-len(".process_exec")]
	byNode, byNS := base+".n.ok.example.process_exec", base+".n_ok_example.process_exec"
	e.withRoutes(`  - name: edge
    match: {namespaces: [edge-node]}
    topic: "`+base+`.n.{node}.{type}"
  - name: per-namespace
    match: {namespaces: ["*"]}
    topic: "`+base+`.{namespace}.{type}"
`, byNode, byNS)

	first, colliding, after := eventOn(1, "ok.example", "edge-node"), eventOn(2, "ok.example", "n_ok_example"), eventOn(3, "ok.example", "edge-node")
	p := e.start("r1", nil, Options{})
	p.waitReady(60 * time.Second)
	e.produce([]rawMsg{first})
	waitFor(t, 60*time.Second, "the first event on "+byNode, func() bool { return e.countOf(byNode) == 1 })
	msgs := e.produce([]rawMsg{colliding, after})

	waitFor(t, 60*time.Second, "the colliding event on the default topic, the next one on its rule's topic", func() bool {
		return e.outputCount() == 1 && e.countOf(byNode) == 2
	})
	waitFor(t, 30*time.Second, "commit past both", func() bool { return e.committed(0) == msgs[1].offset+1 })
	if got := testutil.ToFloat64(p.r.Metrics().Rerouted.WithLabelValues(topics.ReasonTopicRefused)); got != 1 {
		t.Errorf("fanout_events_rerouted_total{reason=%q} %v, want 1", topics.ReasonTopicRefused, got)
	}
	for _, reason := range []string{"error", "stopped"} {
		if got := testutil.ToFloat64(p.r.Metrics().Restarts.WithLabelValues(reason)); got != 0 {
			t.Errorf("%v processor restarts (%s), want 0", got, reason)
		}
	}
	if err := p.r.ProcessorReady(); err != nil {
		t.Errorf("not ready after a refused topic: %v", err)
	}
	if n := e.countOf(byNS); n != 0 {
		t.Errorf("%d records on the colliding topic %s", n, byNS)
	}
}

// TestBrokerWedgedReplicaIsNotLive: a replica whose outputs are never
// acknowledged (every in-flight slot stuck) makes no progress although
// Kafka is reachable: its liveness check fails, so Kubernetes restarts it.
// Idle, or moving again, it is live.
func TestBrokerWedgedReplicaIsNotLive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	evs := events(0, 5)
	gate := &gateSink{keys: map[string]bool{}, open: make(chan struct{})}
	for _, m := range evs {
		gate.keys[m.key] = true
	}
	opened := false
	open := func() {
		if !opened {
			opened = true
			close(gate.open)
		}
	}
	t.Cleanup(open)
	p := e.start("r1", map[string]string{"LIVENESS_STALL_TIMEOUT": "3s"}, Options{WrapSink: func(s Sink) Sink { gate.Sink = s; return gate }})
	p.waitReady(60 * time.Second)
	time.Sleep(5 * time.Second) // longer than the stall timeout, idle
	if err := p.r.Live(); err != nil {
		t.Fatalf("an idle replica is not live: %v", err)
	}

	e.produce(evs)
	waitFor(t, 60*time.Second, "the outputs produced (their acks held)", func() bool { return e.outputCount() == int64(len(evs)) })
	waitFor(t, 60*time.Second, "the liveness check to fail", func() bool { return p.r.Live() != nil })
	t.Logf("liveness: %v", p.r.Live())
	if err := p.r.ProcessorReady(); err != nil {
		t.Logf("readiness: %v", err)
	}

	open()
	waitFor(t, 30*time.Second, "the commit after the acks", func() bool { return e.committed(0) == int64(len(evs)) })
	waitFor(t, 30*time.Second, "live again", func() bool { return p.r.Live() == nil })
}
