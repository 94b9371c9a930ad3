package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/commit"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/route"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/topics"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/headers"
)

const (
	testGroup = "fanout-test"
	testRaw   = "raw"
	testTable = testGroup + "-table"
	testDLQ   = "dlq"
)

// testEvent is a process_exec event in namespace ns (host when ""), with
// its id and protobuf bytes.
func testEvent(i int, ns string) (string, []byte) {
	proc := &tetragon.Process{ExecId: fmt.Sprintf("exec-%d", i), Pid: nil, Binary: "/usr/bin/curl",
		StartTime: timestamppb.New(time.Unix(1700000000, int64(i)))}
	if ns != "" {
		proc.Pod = &tetragon.Pod{Namespace: ns, Name: fmt.Sprintf("pod-%d", i)}
	}
	ev := &tetragon.GetEventsResponse{
		NodeName: "node-1",
		Time:     timestamppb.New(time.Unix(1700000000, int64(i))),
		Event:    &tetragon.GetEventsResponse_ProcessExec{ProcessExec: &tetragon.ProcessExec{Process: proc}},
	}
	raw, err := proto.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return eventid.FromResponse(ev).String(), raw
}

// recordingSink acks everything at once and keeps what was sent.
type recordingSink struct {
	mu   sync.Mutex
	msgs []*sarama.ProducerMessage
	fail func(*sarama.ProducerMessage) error
}

func (s *recordingSink) Send(m *sarama.ProducerMessage, done func(error)) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	fail := s.fail
	s.mu.Unlock()
	var err error
	if fail != nil {
		err = fail(m)
	}
	done(err)
}

func (s *recordingSink) FollowUp(m *sarama.ProducerMessage, done func(error)) { s.Send(m, done) }

func (s *recordingSink) sent(topic string) []*sarama.ProducerMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*sarama.ProducerMessage
	for _, m := range s.msgs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// fakeTopics creates nothing and remembers what was asked.
type fakeTopics struct {
	mu     sync.Mutex
	seen   map[string]int
	fail   map[string]bool
	refuse map[string]bool   // topic -> ErrTopicRefused
	capped map[string]string // topic -> default returned with ErrTopicCap
}

func (f *fakeTopics) Ensure(topic, _ string, _ int) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[topic] {
		return "", errors.New("create topic: broker unreachable")
	}
	if f.refuse[topic] {
		return "", fmt.Errorf("%w: %s collides with an existing topic", topics.ErrTopicRefused, topic)
	}
	if def, ok := f.capped[topic]; ok {
		return def, fmt.Errorf("%s: %w", topic, topics.ErrTopicCap)
	}
	if f.seen == nil {
		f.seen = map[string]int{}
	}
	f.seen[topic]++
	return topic, nil
}

func header(m *sarama.ProducerMessage, k string) string {
	for _, h := range m.Headers {
		if string(h.Key) == k {
			return string(h.Value)
		}
	}
	return ""
}

type harness struct {
	// expectFail: the test makes the processor stop with an error on purpose.
	expectFail bool
	t          *testing.T
	tt         *tester.Tester
	sink       *recordingSink
	topics     *fakeTopics
	metrics    *Metrics
	now        time.Time
	offset     int64 // offset the next Consume gets
	marks      *markSpy
	stopped    chan struct{} // closed when the processor returned, procErr set
	procErr    error
}

func newHarness(t *testing.T, routes string) *harness {
	t.Helper()
	table := route.Default()
	if routes != "" {
		var err error
		if table, err = route.Parse("routes.yaml", []byte(routes)); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, tt: tester.New(t), sink: &recordingSink{}, topics: &fakeTopics{},
		metrics: NewMetrics(prometheus.NewRegistry()), now: time.Now(), marks: &markSpy{}, stopped: make(chan struct{})}
	p := &Pipeline{Window: 10 * time.Minute, DLQTopic: testDLQ, Router: table, Topics: h.topics, Sink: h.sink,
		Metrics: h.metrics, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return h.now }}
	proc, err := goka.NewProcessor(nil, Graph(testGroup, testRaw, p.Process),
		goka.WithTester(h.tt),
		// the offset-order wrapper in front of the tester's consumer group
		// (the spy sees the marks the wrapper forwards, i.e. commits)
		goka.WithConsumerGroupBuilder(commit.WrapBuilder(h.marks.builder(h.tt.ConsumerGroupBuilder()), nil)),
		goka.WithNilHandling(goka.NilProcess))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		h.procErr = proc.Run(ctx)
		close(h.stopped)
	}()
	t.Cleanup(func() {
		cancel()
		<-h.stopped
		if h.procErr != nil && !h.expectFail {
			t.Errorf("processor: %v", h.procErr)
		}
	})
	return h
}

func (h *harness) consume(key string, raw []byte, hdrs goka.Headers) int64 {
	h.t.Helper()
	off := h.offset
	h.offset++
	if hdrs == nil {
		hdrs = goka.Headers{}
	}
	h.tt.Consume(testRaw, key, raw, tester.WithHeaders(hdrs))
	return off
}

func (h *harness) entry(key string) *dedup.Entry {
	v := h.tt.TableValue(goka.Table(testTable), key)
	if v == nil {
		return nil
	}
	return v.(*dedup.Entry)
}

func TestNewEventIsRecordedAndEmitted(t *testing.T) {
	h := newHarness(t, "")
	key, raw := testEvent(1, "prod")
	off := h.consume(key, raw, goka.Headers{headers.Type: []byte("process_exec"), headers.Node: []byte("node-1"),
		headers.Format: []byte(headers.FormatRaw), headers.IngestNS: []byte(fmt.Sprint(time.Now().UnixNano()))})

	e := h.entry(key)
	if e == nil || e.Partition != 0 || e.Offset != off || e.SeenNS != h.now.UnixNano() {
		t.Fatalf("table entry %+v, want partition 0 offset %d", e, off)
	}
	out := h.sink.sent("tetragon.process_exec")
	if len(out) != 1 {
		t.Fatalf("%d outputs, want 1", len(out))
	}
	m := out[0]
	if k, _ := m.Key.Encode(); string(k) != key {
		t.Errorf("output key %q, want the event id %q", k, key)
	}
	if header(m, headers.Format) != headers.FormatJSON || header(m, headers.Raw) != fmt.Sprintf("0/%d", off) ||
		header(m, headers.Node) != "node-1" || header(m, headers.Type) != "process_exec" {
		t.Errorf("output headers %v", m.Headers)
	}
	v, _ := m.Value.Encode()
	var doc map[string]any
	if err := json.Unmarshal(v, &doc); err != nil || doc["event_id"] != key || doc["type"] != "process_exec" {
		t.Errorf("output value %s (%v)", v, err)
	}
	if got := testutil.ToFloat64(h.metrics.Emitted.WithLabelValues("tetragon.process_exec")); got != 1 {
		t.Errorf("emitted %v", got)
	}
	if got := testutil.ToFloat64(h.metrics.Consumed.WithLabelValues("process_exec")); got != 1 {
		t.Errorf("consumed{process_exec} %v", got)
	}
	if testutil.CollectAndCount(h.metrics.EndToEnd) != 1 || testutil.CollectAndCount(h.metrics.Normalize) != 1 {
		t.Error("latency histograms not observed")
	}
}

func TestDuplicateAtAnotherOffsetIsDropped(t *testing.T) {
	h := newHarness(t, "")
	key, raw := testEvent(1, "prod")
	first := h.consume(key, raw, nil)
	h.consume(key, raw, nil) // same id, later offset: upstream duplicate
	h.consume(key, raw, nil)
	if n := len(h.sink.sent("tetragon.process_exec")); n != 1 {
		t.Fatalf("%d outputs, want 1", n)
	}
	if got := testutil.ToFloat64(h.metrics.Duplicates); got != 2 {
		t.Errorf("duplicates %v, want 2", got)
	}
	if e := h.entry(key); e.Offset != first {
		t.Errorf("entry moved to offset %d, want the first %d", e.Offset, first)
	}
}

// TestReplayAfterCrashIsEmittedAgain is the crash case: the table write of
// raw offsets N.. was acked, the outputs were not, the process died. On
// restart goka replays N..; their entries exist and name these very
// offsets, so they must be emitted again, never dropped.
func TestReplayAfterCrashIsEmittedAgain(t *testing.T) {
	h := newHarness(t, "")
	const n = 5
	keys, raws := make([]string, n), make([][]byte, n)
	for i := range n {
		keys[i], raws[i] = testEvent(i, "prod")
		h.tt.SetTableValue(goka.Table(testTable), keys[i],
			&dedup.Entry{Partition: 0, Offset: h.offset + int64(i), SeenNS: h.now.Add(-time.Minute).UnixNano()})
	}
	for i := range n {
		h.consume(keys[i], raws[i], nil)
	}
	if got := len(h.sink.sent("tetragon.process_exec")); got != n {
		t.Fatalf("%d outputs after replay, want %d", got, n)
	}
	if got := testutil.ToFloat64(h.metrics.Duplicates); got != 0 {
		t.Fatalf("%v replays dropped as duplicates", got)
	}
	if got := testutil.ToFloat64(h.metrics.Dedup.WithLabelValues("replay")); got != n {
		t.Errorf("replay verdicts %v, want %d", got, n)
	}
	// the entries keep their first-seen time: a replay is not a new sighting
	if e := h.entry(keys[0]); e.SeenNS != h.now.Add(-time.Minute).UnixNano() {
		t.Errorf("replay rewrote the entry: %+v", e)
	}
}

func TestExpiredEntryIsNewAgain(t *testing.T) {
	h := newHarness(t, "")
	key, raw := testEvent(1, "")
	h.tt.SetTableValue(goka.Table(testTable), key, &dedup.Entry{Partition: 0, Offset: 999,
		SeenNS: h.now.Add(-11 * time.Minute).UnixNano()})
	off := h.consume(key, raw, nil)
	if n := len(h.sink.sent("tetragon.process_exec")); n != 1 {
		t.Fatalf("%d outputs, want 1", n)
	}
	if e := h.entry(key); e.Offset != off || e.SeenNS != h.now.UnixNano() {
		t.Errorf("entry %+v not re-recorded at offset %d", e, off)
	}
	// goka's tester storage does not hide expired entries as dedup.Store
	// does: Classify reads one as new
	if got := testutil.ToFloat64(h.metrics.Dedup.WithLabelValues("new")); got != 1 {
		t.Errorf("new verdicts %v, want 1", got)
	}
}

func TestRewindIsEmittedAndKeepsEntry(t *testing.T) {
	h := newHarness(t, "")
	key, raw := testEvent(1, "")
	later := &dedup.Entry{Partition: 0, Offset: h.offset + 100, SeenNS: h.now.UnixNano()}
	h.tt.SetTableValue(goka.Table(testTable), key, later)
	h.consume(key, raw, nil)
	if n := len(h.sink.sent("tetragon.process_exec")); n != 1 {
		t.Fatalf("%d outputs, want 1", n)
	}
	if e := h.entry(key); *e != *later {
		t.Errorf("entry %+v, want it kept as %+v", e, later)
	}
}

func TestRedrivenDuplicateIsProcessed(t *testing.T) {
	h := newHarness(t, "")
	key, raw := testEvent(1, "")
	h.consume(key, raw, nil)
	off := h.consume(key, raw, goka.Headers{RedriveHeader: []byte(ReasonTopicUnavailable)})
	if n := len(h.sink.sent("tetragon.process_exec")); n != 2 {
		t.Fatalf("%d outputs, want 2", n)
	}
	if e := h.entry(key); e.Offset != off {
		t.Errorf("redriven copy not recorded: %+v", e)
	}
	if out := h.sink.sent("tetragon.process_exec")[1]; header(out, RedriveHeader) != "" {
		t.Error("the redrive marker leaked into the output")
	}
}

func TestUndecodableGoesToDLQ(t *testing.T) {
	h := newHarness(t, "")
	garbage := []byte{0xff, 0xff, 0xff}
	h.consume("0123456789abcdef0123456789abcdef", garbage, goka.Headers{headers.Format: []byte(headers.FormatRaw), "x-custom": []byte("v")})
	h.consume("", []byte("no key"), nil)
	dlq := h.sink.sent(testDLQ)
	if len(dlq) != 2 {
		t.Fatalf("%d DLQ messages, want 2", len(dlq))
	}
	if v, _ := dlq[0].Value.Encode(); string(v) != string(garbage) {
		t.Error("DLQ value is not the original bytes")
	}
	if header(dlq[0], headers.ErrorReason) != "undecodable" || header(dlq[0], headers.Error) == "" ||
		header(dlq[0], "x-custom") != "v" || header(dlq[0], headers.Format) != headers.FormatRaw {
		t.Errorf("DLQ headers %v", dlq[0].Headers)
	}
	if header(dlq[1], headers.ErrorReason) != ReasonNoKey {
		t.Errorf("no-key DLQ reason %q", header(dlq[1], headers.ErrorReason))
	}
	if got := testutil.ToFloat64(h.metrics.DLQ.WithLabelValues("undecodable")); got != 1 {
		t.Errorf("dlq{undecodable} %v", got)
	}
	// the stream continues
	key, raw := testEvent(2, "")
	h.consume(key, raw, nil)
	if n := len(h.sink.sent("tetragon.process_exec")); n != 1 {
		t.Fatalf("%d outputs after the DLQ, want 1", n)
	}
}

func TestNilValueGoesToDLQ(t *testing.T) {
	h := newHarness(t, "")
	h.consume("0123456789abcdef0123456789abcdef", nil, nil)
	if dlq := h.sink.sent(testDLQ); len(dlq) != 1 || header(dlq[0], headers.ErrorReason) != "empty_event" {
		t.Fatalf("a nil raw value was not sent to the DLQ as empty_event: %v", dlq)
	}
}

const testRoutes = `
version: 1
rules:
  - name: drop-monitoring
    match: {namespaces: [monitoring]}
    drop: true
  - name: sample-none
    match: {namespaces: [noisy]}
    sample: 0.0000001
  - name: per-namespace
    match: {namespaces: ["team-*"]}
    topic: "tetragon.{namespace}.{type}"
`

func TestRoutingDropSampleAndTemplates(t *testing.T) {
	h := newHarness(t, testRoutes)
	k1, r1 := testEvent(1, "monitoring")
	k2, r2 := testEvent(2, "noisy")
	k3, r3 := testEvent(3, "team-a")
	k4, r4 := testEvent(4, "team-b")
	for _, e := range []struct {
		k string
		r []byte
	}{{k1, r1}, {k2, r2}, {k3, r3}, {k4, r4}} {
		h.consume(e.k, e.r, nil)
	}
	if got := testutil.ToFloat64(h.metrics.Dropped.WithLabelValues(route.ReasonDrop)); got != 1 {
		t.Errorf("dropped %v", got)
	}
	if got := testutil.ToFloat64(h.metrics.SampledOut.WithLabelValues("process_exec")); got != 1 {
		t.Errorf("sampled out %v", got)
	}
	if len(h.sink.sent("tetragon.team-a.process_exec")) != 1 || len(h.sink.sent("tetragon.team-b.process_exec")) != 1 {
		t.Errorf("per-namespace outputs missing: %v", h.topics.seen)
	}
}

// A topic Kafka cannot create or confirm right now (a broker restart) is a
// passing fault: the event is neither put in another topic nor in the DLQ,
// and it is not committed: the commit stays before it and the processor
// stops with the error, so the runner restarts it from that commit and the
// event is routed again. (A silent return instead would commit it: lost.)
func TestTopicUnavailableIsNotCommitted(t *testing.T) {
	h := newHarness(t, testRoutes)
	h.expectFail = true
	h.topics.fail = map[string]bool{"tetragon.team-a.process_exec": true}
	k0, r0 := testEvent(0, "team-b")
	h.consume(k0, r0, nil) // offset 0: emitted and committed (mark 1)
	k, r := testEvent(1, "team-a")
	h.consume(k, r, nil) // offset 1: its topic is unavailable
	select {
	case <-h.stopped:
		if h.procErr == nil || !strings.Contains(h.procErr.Error(), "broker unreachable") {
			t.Fatalf("processor ended with %v, want the topic error", h.procErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the processor keeps running past an event it could not route")
	}
	if got := h.marks.last(testRaw, 0); got != 1 {
		t.Fatalf("committed mark %d, want 1: before the unroutable event at offset 1", got)
	}
	if n := len(h.sink.sent("tetragon.process_exec")); n != 0 {
		t.Fatalf("%d outputs on the default topic, want 0", n)
	}
	if dlq := h.sink.sent(testDLQ); len(dlq) != 0 {
		t.Fatalf("DLQ %v", dlq)
	}
	if got := testutil.ToFloat64(h.metrics.OutputErrors.WithLabelValues(ReasonTopicUnavailable)); got != 1 {
		t.Fatalf("output_errors{topic_unavailable} %v, want 1", got)
	}
}

// markSpy records the offsets marked on the consumer group sessions it
// wraps: what sarama would commit.
type markSpy struct {
	mu    sync.Mutex
	marks map[string]int64
}

func (s *markSpy) last(topic string, p int32) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.marks[fmt.Sprintf("%s/%d", topic, p)]; ok {
		return v
	}
	return -1
}

func (s *markSpy) mark(topic string, p int32, off int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.marks == nil {
		s.marks = map[string]int64{}
	}
	k := fmt.Sprintf("%s/%d", topic, p)
	if v, ok := s.marks[k]; !ok || off > v {
		s.marks[k] = off
	}
}

func (s *markSpy) builder(inner goka.ConsumerGroupBuilder) goka.ConsumerGroupBuilder {
	return func(brokers []string, group, id string) (sarama.ConsumerGroup, error) {
		cg, err := inner(brokers, group, id)
		if err != nil {
			return nil, err
		}
		return &spyGroup{ConsumerGroup: cg, s: s}, nil
	}
}

type spyGroup struct {
	sarama.ConsumerGroup
	s *markSpy
}

func (g *spyGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	return g.ConsumerGroup.Consume(ctx, topics, &spyHandler{ConsumerGroupHandler: h, s: g.s})
}

type spyHandler struct {
	sarama.ConsumerGroupHandler
	s *markSpy
}

func (h *spyHandler) Setup(sess sarama.ConsumerGroupSession) error {
	return h.ConsumerGroupHandler.Setup(&spySession{ConsumerGroupSession: sess, s: h.s})
}

func (h *spyHandler) Cleanup(sess sarama.ConsumerGroupSession) error {
	return h.ConsumerGroupHandler.Cleanup(&spySession{ConsumerGroupSession: sess, s: h.s})
}

func (h *spyHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	return h.ConsumerGroupHandler.ConsumeClaim(&spySession{ConsumerGroupSession: sess, s: h.s}, c)
}

type spySession struct {
	sarama.ConsumerGroupSession
	s *markSpy
}

func (s *spySession) MarkOffset(topic string, p int32, off int64, md string) {
	s.s.mark(topic, p, off)
	s.ConsumerGroupSession.MarkOffset(topic, p, off, md)
}

func (s *spySession) MarkMessage(m *sarama.ConsumerMessage, md string) {
	s.s.mark(m.Topic, m.Partition, m.Offset+1)
	s.ConsumerGroupSession.MarkMessage(m, md)
}

func TestTopicCapReroutesToDefault(t *testing.T) {
	h := newHarness(t, testRoutes)
	h.topics.capped = map[string]string{"tetragon.team-a.process_exec": "tetragon.process_exec"}
	k, r := testEvent(1, "team-a")
	h.consume(k, r, nil)
	if n := len(h.sink.sent("tetragon.process_exec")); n != 1 {
		t.Fatalf("%d outputs on the default topic, want 1", n)
	}
	if got := testutil.ToFloat64(h.metrics.Rerouted.WithLabelValues(topics.ReasonTopicCap)); got != 1 {
		t.Errorf("rerouted{topic_cap} %v", got)
	}
	if len(h.sink.sent(testDLQ)) != 0 {
		t.Error("a capped topic sent the event to the DLQ")
	}
}

func TestRejectedOutputGoesToDLQ(t *testing.T) {
	h := newHarness(t, "")
	h.sink.fail = func(m *sarama.ProducerMessage) error {
		if m.Topic == "tetragon.process_exec" {
			return sarama.ErrMessageSizeTooLarge
		}
		return nil
	}
	k, r := testEvent(1, "")
	h.consume(k, r, nil)
	if dlq := h.sink.sent(testDLQ); len(dlq) != 1 || header(dlq[0], headers.ErrorReason) != ReasonOutputRejected {
		t.Fatalf("DLQ %v", dlq)
	}
	if got := testutil.ToFloat64(h.metrics.OutputErrors.WithLabelValues(ReasonOutputRejected)); got != 1 {
		t.Errorf("output errors %v", got)
	}
}

func TestGokaPartitionMatchesSarama(t *testing.T) {
	p := sarama.NewHashPartitioner("t")
	for i := range 2000 {
		key := fmt.Sprintf("%032x", i*7919)
		want, _ := p.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, 12)
		if got := gokaPartition(key, 12); got != want {
			t.Fatalf("key %s: goka hash %d, sarama %d", key, got, want)
		}
	}
}

// TestFailedOutputStopsProcessor: an output that fails after the producer's
// retries is not committed: goka stops the processor (the runner restarts
// it from the last commit) instead of moving on.
func TestFailedOutputStopsProcessor(t *testing.T) {
	tt := tester.New(t)
	sink := &recordingSink{fail: func(*sarama.ProducerMessage) error { return sarama.ErrNotEnoughReplicas }}
	m := NewMetrics(prometheus.NewRegistry())
	p := &Pipeline{Window: time.Minute, DLQTopic: testDLQ, Router: route.Default(), Topics: &fakeTopics{}, Sink: sink,
		Metrics: m, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	proc, err := goka.NewProcessor(nil, Graph(testGroup, testRaw, p.Process), goka.WithTester(tt),
		goka.WithConsumerGroupBuilder(commit.WrapBuilder(tt.ConsumerGroupBuilder(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(context.Background()) }()
	k, r := testEvent(1, "")
	tt.Consume(testRaw, k, r)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "fewer in-sync replicas") {
			t.Fatalf("processor ended with %v, want the output error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the processor kept running after an output failed")
	}
	if got := testutil.ToFloat64(m.OutputErrors.WithLabelValues(ReasonOutputFailed)); got != 1 {
		t.Errorf("output_failed %v", got)
	}
	if len(sink.sent(testDLQ)) != 0 {
		t.Error("a transient failure went to the DLQ")
	}
}
