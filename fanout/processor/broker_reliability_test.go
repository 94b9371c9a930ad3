package processor

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/topics"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/headers"
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

// bigEvent is event i with an argument string of n random letters: its
// JSON does not compress below n/2.
func bigEvent(i, n int) rawMsg {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	args := make([]byte, n)
	for j := range args {
		args[j] = letters[rand.IntN(len(letters))]
	}
	ev := &tetragon.GetEventsResponse{
		NodeName: "node-1",
		Time:     timestamppb.New(time.Unix(1700000000, int64(i))),
		Event: &tetragon.GetEventsResponse_ProcessExec{ProcessExec: &tetragon.ProcessExec{Process: &tetragon.Process{
			ExecId: fmt.Sprintf("exec-%d", i), Binary: "/usr/bin/curl", Arguments: string(args),
			StartTime: timestamppb.New(time.Unix(1700000000, int64(i)))}}},
	}
	raw, err := proto.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return rawMsg{key: eventid.FromResponse(ev).String(), value: raw}
}

// dlqReasons reads the DLQ and returns the tf-error-reason of each key.
func (e *env) dlqReasons(n int) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, m := range kafkatest.ConsumeAll(e.t, e.brokers, e.dlq, n, 30*time.Second) {
		r, _ := m.Header(headers.ErrorReason)
		out[string(m.Key)] = r
	}
	return out
}

// TestBrokerOversizedOutputSparesBatchMates is issue 12's item 2 for the
// fanout: an output topic created by someone else with a small
// max.message.bytes, and one event whose output exceeds it between small
// ones, all batched together (long linger, one partition, no compression,
// so the batch of small records alone is also over the limit). Only the
// oversized one goes to the DLQ as output_rejected; its batch-mates are
// re-sent singly and land on the output topic.
func TestBrokerOversizedOutputSparesBatchMates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	kafkatest.CreateNamedTopic(t, e.brokers, e.out, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: -1,
		ConfigEntries: map[string]*string{"max.message.bytes": ptr("3000")}})
	msgs := append(append(events(0, 5), bigEvent(5, 20000)), events(6, 5)...)
	p := e.start("r1", map[string]string{"KAFKA_COMPRESSION": "none", "KAFKA_LINGER": "300ms"}, Options{})
	p.waitReady(60 * time.Second)
	msgs = e.produce(msgs)

	waitFor(t, 60*time.Second, "everything committed", func() bool { return e.committed(0) == msgs[len(msgs)-1].offset+1 })
	if n := e.countOf(e.dlq); n != 1 {
		t.Fatalf("%d records in the DLQ, want only the oversized one: %v", n, e.dlqReasons(int(n)))
	}
	if r := e.dlqReasons(1)[msgs[5].key]; r != ReasonOutputRejected {
		t.Fatalf("the oversized event is in the DLQ as %q, want %s", r, ReasonOutputRejected)
	}
	outs := e.consumeAll(10, 30*time.Second)
	checkOutputs(t, append(append([]rawMsg{}, msgs[:5]...), msgs[6:]...), outs)
	if len(outs) != 10 {
		t.Fatalf("%d outputs, want the 10 small events", len(outs))
	}
}

// TestBrokerRefusingOutputTopicDoesNotWedge is item 2b: an output topic
// whose limit refuses every record, and few in-flight slots. Every DLQ
// record follows a refused output from the producer's completion goroutine;
// it must not wait there for a slot the partition goroutine holds. All
// events reach the DLQ, the partition is committed, and Close returns.
func TestBrokerRefusingOutputTopicDoesNotWedge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	kafkatest.CreateNamedTopic(t, e.brokers, e.out, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: -1,
		ConfigEntries: map[string]*string{"max.message.bytes": ptr("100")}})
	const n = 60
	p := e.start("r1", map[string]string{"FANOUT_MAX_INFLIGHT": "2"}, Options{})
	p.waitReady(60 * time.Second)
	msgs := e.produce(events(0, n))
	waitFor(t, 90*time.Second, "every event in the DLQ and committed", func() bool {
		return e.countOf(e.dlq) == n && e.committed(0) == msgs[n-1].offset+1
	})
	for k, r := range e.dlqReasons(n) {
		if r != ReasonOutputRejected {
			t.Fatalf("%s in the DLQ as %q, want %s", k, r, ReasonOutputRejected)
		}
	}
	if err := p.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// TestBrokerSendAfterCloseFails: a DLQ follow-up that arrives after the
// producer closed (a late completion) fails its done instead of writing to
// sarama's closed input channel, which panics.
func TestBrokerSendAfterCloseFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	p, err := NewProducer(e.brokers, producerConfig(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(10 * time.Second); err != nil {
		t.Fatalf("close: %v", err)
	}
	for _, send := range []func(*sarama.ProducerMessage, func(error)){p.FollowUp, p.Send} {
		got := make(chan error, 1)
		send(&sarama.ProducerMessage{Topic: e.dlq, Value: sarama.StringEncoder("late")}, func(err error) { got <- err })
		if err := <-got; err == nil {
			t.Fatal("a record sent after Close was acked")
		}
	}
}

// TestBrokerRawKeyAndHeadersChecked: on the real pipeline, a raw key that
// is not an event id goes to the DLQ as invalid_event_id, and an event that
// decodes as unknown carries tf-type=unknown although the raw producer said
// process_exec.
func TestBrokerRawKeyAndHeadersChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	unknownTopic := e.out[:len(e.out)-len("process_exec")] + "unknown"
	t.Cleanup(func() { _ = kafkatest.Admin(t, e.brokers).DeleteTopic(unknownTopic) })
	_, good := testEvent(1, "")
	k, unknown := unknownTypeEvent(t)
	p := e.start("r1", nil, Options{})
	p.waitReady(60 * time.Second)
	e.produce([]rawMsg{{key: "../../etc/passwd", value: good}, {key: k, value: unknown}})

	waitFor(t, 60*time.Second, "the DLQ record and the unknown output", func() bool {
		return e.countOf(e.dlq) == 1 && e.countOf(unknownTopic) == 1
	})
	if r := e.dlqReasons(1)["../../etc/passwd"]; r != ReasonInvalidID {
		t.Errorf("DLQ reason %q, want %s", r, ReasonInvalidID)
	}
	outs := kafkatest.ConsumeAll(t, e.brokers, unknownTopic, 1, 30*time.Second)
	if typ, _ := outs[0].Header(headers.Type); typ != "unknown" {
		t.Errorf("tf-type %q on an unknown output, want unknown", typ)
	}
}
