package pipeline

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/config"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim"
)

// startSim starts the Tetragon simulator (shared/sim) on a unix socket;
// it closes at cleanup.
func startSim(t *testing.T, cfg sim.Config) *sim.Server {
	t.Helper()
	base := sim.DefaultConfig()
	base.Events, base.Rate, base.DupRatio, base.Record, base.Seed = cfg.Events, cfg.Rate, cfg.DupRatio, cfg.Record, cfg.Seed
	base.OnSend = cfg.OnSend
	if base.Seed == 0 {
		base.Seed = 1
	}
	base.StopTimeout = 2 * time.Second
	if cfg.StopTimeout > 0 {
		base.StopTimeout = cfg.StopTimeout
	}
	base.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := sim.New(base)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sim") // t.TempDir paths can exceed a socket path's 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); _ = os.RemoveAll(dir) })
	if err := s.Start("unix://" + filepath.Join(dir, "tetragon.sock")); err != nil {
		t.Fatal(err)
	}
	return s
}

// delivered is how many events the simulator wrote to our streams.
func delivered(s *sim.Server) float64 {
	var n uint64
	for _, c := range s.Stats().Clients {
		n += c.Delivered
	}
	return float64(n)
}

type run struct {
	p    *Pipeline
	stop context.CancelFunc
	done chan error
}

// start runs a pipeline against sim and brokers, on a fresh raw topic.
func start(t *testing.T, s *sim.Server, brokers []string, topic string, extra map[string]string) *run {
	t.Helper()
	env := map[string]string{
		"TETRAGON_ADDR":               s.Target(),
		"TETRAGON_RECONNECT_MIN":      "50ms",
		"TETRAGON_RECONNECT_MAX":      "400ms",
		"KAFKA_BROKERS":               strings.Join(brokers, ","),
		"KAFKA_VERSION":               kafkatest.Version().String(),
		"KAFKA_COMPRESSION":           "lz4",
		"KAFKA_PRODUCE_RETRIES":       "3",
		"KAFKA_PRODUCE_RETRY_BACKOFF": "100ms",
		"KAFKA_CONNECT_BACKOFF_MAX":   "1s",
		"RAW_TOPIC":                   topic,
		"RAW_TOPIC_PARTITIONS":        "3",
		"NODE_NAME":                   "test-node",
		"SHUTDOWN_TIMEOUT":            "10s",
	}
	for k, v := range extra {
		env[k] = v
	}
	var cfg config.Config
	if err := envconfig.ParseEnv(&cfg, env); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	p, err := New(&cfg, prometheus.NewRegistry(), log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{p: p, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
		deleteTopic(brokers, topic)
	})
	return r
}

// deleteTopic removes a test's raw topic, if the broker is still there.
func deleteTopic(brokers []string, topic string) {
	cfg := kafkatest.Config()
	cfg.Metadata.Retry.Max = 1
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		return
	}
	defer func() { _ = admin.Close() }()
	_ = admin.DeleteTopic(topic)
}

// shutdown cancels the run (SIGTERM) and waits for Run to return.
func (r *run) shutdown(t *testing.T) {
	t.Helper()
	r.stop()
	select {
	case err := <-r.done:
		// Undelivered events are the tests' to check, in the books.
		if err != nil && !errors.Is(err, ErrUndelivered) {
			t.Fatalf("Run: %v", err)
		}
		r.done <- nil
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return 30s after cancel")
	}
}

func (r *run) received() float64 {
	var n float64
	for _, c := range r.p.m.Counters() {
		n += metrics.Value(c)
	}
	return n
}

func (r *run) published() float64 { return metrics.Value(r.p.m.Published) }

func (r *run) dropped() map[string]float64 {
	out := map[string]float64{}
	for _, reason := range metrics.Reasons {
		if v := metrics.Value(r.p.m.Dropped(reason)); v > 0 {
			out[reason] = v
		}
	}
	return out
}

func (r *run) droppedTotal() float64 {
	var n float64
	for _, v := range r.dropped() {
		n += v
	}
	return n
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Every event the sim sends arrives once, unchanged, keyed by its id, with
// the headers; the sim's duplicates (--dup-ratio 0.1, re-marshalled as a
// second stream would send them) arrive with equal keys.
func TestDeliveryExactlyOnce(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	const distinct = 3000
	s := startSim(t, sim.Config{Events: distinct, DupRatio: 0.1, Record: true})
	n := distinct + int(sim.ExpectedDuplicates(distinct, 0.1))
	topic := kafkatest.TopicName(t)
	before := time.Now().UnixNano()
	r := start(t, s, brokers, topic, nil)
	waitFor(t, "all events published", 60*time.Second, func() bool { return r.published() >= float64(n) })
	if err := r.p.TetragonReady(); err != nil {
		t.Fatalf("tetragon not ready while streaming: %v", err)
	}
	if err := r.p.KafkaReady(); err != nil {
		t.Fatalf("kafka not ready while publishing: %v", err)
	}
	r.shutdown(t)
	if got := r.published(); got != float64(n) {
		t.Fatalf("published %v, want %d", got, n)
	}
	if d := r.dropped(); len(d) > 0 {
		t.Fatalf("dropped %v", d)
	}

	// What the sim sent, by key: the decoded events (a duplicate's bytes
	// may differ from the original's, its content may not).
	sent := map[string][]*tetragon.GetEventsResponse{}
	dups := 0
	for _, rec := range s.Records() {
		ev, err := rec.Decode()
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := eventid.FromBytes(rec.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		sent[id.String()] = append(sent[id.String()], ev)
		if rec.Dup {
			dups++
		}
	}
	if len(sent) != distinct || dups != n-distinct || dups < distinct/20 {
		t.Fatalf("sim sent %d distinct ids and %d duplicates", len(sent), dups)
	}
	msgs := kafkatest.ConsumeAll(t, brokers, topic, n, 30*time.Second)
	if len(msgs) != n {
		t.Fatalf("%d messages on the raw topic, want %d", len(msgs), n)
	}
	gotKeys := map[string]int{}
	types := map[string]bool{}
	for _, m := range msgs {
		k := string(m.Key)
		gotKeys[k]++
		want, ok := sent[k]
		if !ok {
			t.Fatalf("key %s was never sent", k)
		}
		var got tetragon.GetEventsResponse
		if err := proto.Unmarshal(m.Value, &got); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if !proto.Equal(&got, want[0]) {
			t.Fatalf("%s: decoded event differs from what the sim sent", k)
		}
		if id := eventid.FromResponse(&got); id.String() != k {
			t.Fatalf("key %s, but the event's id is %s", k, id)
		}
		typ, _ := m.Header("tf-type")
		types[typ] = true
		node, _ := m.Header("tf-node")
		wantNode := got.GetNodeName()
		if wantNode == "" {
			wantNode = "test-node"
		}
		format, _ := m.Header("tf-format")
		ns, _ := m.Header("tf-ingest-ns")
		ingest, err := strconv.ParseInt(ns, 10, 64)
		if typ == "" || typ == "unknown" || node != wantNode || format != "pb1" || err != nil || ingest < before || ingest > time.Now().UnixNano() {
			t.Fatalf("%s: headers type=%q node=%q (want %q) format=%q ingest-ns=%q", k, typ, node, wantNode, format, ns)
		}
	}
	for k, evs := range sent {
		if gotKeys[k] != len(evs) {
			t.Fatalf("key %s: %d messages, sent %d times", k, gotKeys[k], len(evs))
		}
	}
	// Byte-for-byte: every message is exactly the bytes of a send.
	sentBytes := map[string]int{}
	for _, rec := range s.Records() {
		sentBytes[string(rec.Bytes)]++
	}
	for _, m := range msgs {
		if sentBytes[string(m.Value)] == 0 {
			t.Fatalf("%s: value is not the bytes the sim sent", m.Key)
		}
		sentBytes[string(m.Value)]--
	}
	if len(types) < 8 {
		t.Fatalf("only types %v arrived", types)
	}
}

// Killing Tetragon mid-stream: the ingester notices, is not ready, retries
// with growing backoff, reconnects when it is back, and the backoff resets.
func TestTetragonRestart(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	s := startSim(t, sim.Config{Rate: 3000})
	addr := s.Target()
	r := start(t, s, brokers, kafkatest.TopicName(t), nil)
	m := r.p.m
	waitFor(t, "events flowing", 30*time.Second, func() bool { return r.published() > 500 })

	s.Stop()
	waitFor(t, "disconnect noticed", 10*time.Second, func() bool { return metrics.Value(m.TetragonConnected) == 0 })
	if r.p.TetragonReady() == nil {
		t.Fatal("ready while Tetragon is down")
	}
	// Several failed attempts: the wait grows past its minimum (50ms).
	waitFor(t, "backoff growing", 10*time.Second, func() bool { return metrics.Value(m.TetragonBackoff) > 0.1 })
	reconnects := metrics.Value(m.TetragonReconnects)
	if reconnects < 3 {
		t.Fatalf("reconnects = %v", reconnects)
	}

	if err := s.Start(addr); err != nil {
		t.Fatal(err)
	}
	got := r.received()
	waitFor(t, "reconnected", 10*time.Second, func() bool { return metrics.Value(m.TetragonConnected) == 1 && r.received() > got+300 })
	if err := r.p.TetragonReady(); err != nil {
		t.Fatalf("not ready after reconnecting: %v", err)
	}
	// The stream delivered events, so the next failure starts from the minimum again.
	s.Stop()
	waitFor(t, "second disconnect", 10*time.Second, func() bool {
		return metrics.Value(m.TetragonReconnects) > reconnects && metrics.Value(m.TetragonConnected) == 0
	})
	if b := metrics.Value(m.TetragonBackoff); b > 0.05 {
		t.Fatalf("first wait after a healthy stream = %vs, want <= 50ms (backoff not reset)", b)
	}
	if err := s.Start(addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reconnected again", 10*time.Second, func() bool { return metrics.Value(m.TetragonConnected) == 1 && r.received() > got+600 })
	// A graceful stop ends the stream after everything written: we received
	// exactly what the sim delivered across all four streams.
	s.Stop()
	waitFor(t, "streams ended", 10*time.Second, func() bool { return metrics.Value(m.TetragonConnected) == 0 })
	waitFor(t, "everything delivered received", 10*time.Second, func() bool { return r.received() == delivered(s) })
	r.shutdown(t)
	if rec, pub, drop := r.received(), r.published(), r.droppedTotal(); rec != pub+drop || drop != 0 {
		t.Fatalf("received %v != published %v + dropped %v", rec, pub, drop)
	}
}

// SIGTERM under load with Kafka healthy: the queue is flushed, not dropped.
// Every event received before the signal is in Kafka; nothing is counted as
// undelivered (block policy: no queue-full drops either, so any drop at all
// is shutdown failing to flush).
func TestShutdownUnderLoadAccountsForEveryEvent(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	s := startSim(t, sim.Config{})
	topic := kafkatest.TopicName(t)
	// The publisher is held to a few thousand events/s (256 in flight,
	// 50 ms batches) so that a backlog builds behind it whatever the
	// machine: a backlog at the signal, or a shutdown that drops the queue
	// would pass. It stays small enough to flush well within the timeout.
	r := start(t, s, brokers, topic, map[string]string{"QUEUE_SIZE": "50000", "QUEUE_POLICY": "block",
		"KAFKA_MAX_INFLIGHT": "256", "KAFKA_LINGER": "50ms"})
	waitFor(t, "load and a backlog", 60*time.Second, func() bool { return r.received() > 2000 && r.p.q.Len() >= 1000 })
	r.shutdown(t)
	rec, pub, drop := r.received(), r.published(), r.droppedTotal()
	t.Logf("received %v published %v dropped %v", rec, pub, r.dropped())
	if rec != pub+drop {
		t.Fatalf("received %v != published %v + dropped %v", rec, pub, drop)
	}
	if drop != 0 {
		t.Fatalf("dropped %v with Kafka healthy and SHUTDOWN_TIMEOUT=10s: the queue was not flushed", r.dropped())
	}
	msgs := kafkatest.ConsumeAll(t, brokers, topic, int(pub), 30*time.Second)
	if float64(len(msgs)) != pub {
		t.Fatalf("%d messages on the topic, published_total says %v", len(msgs), pub)
	}
}

// Kafka down at start and mid-stream, on a private broker: with block
// nothing received is lost; with drop_newest the drop counter equals the
// shortfall exactly.
func TestBrokerOutage(t *testing.T) {
	broker := kafkatest.StartBroker(t, kafkatest.BrokerOptions{})
	brokers := broker.Addrs()
	small := map[string]string{"QUEUE_SIZE": "500", "KAFKA_MAX_INFLIGHT": "200"}
	with := func(policy string) map[string]string {
		m := map[string]string{"QUEUE_POLICY": policy}
		for k, v := range small {
			m[k] = v
		}
		return m
	}
	// Endless streams at 2500 events/s, stopped (gracefully: everything
	// written reaches us) once both pipelines deliver again after the
	// outage. The sim is a Tetragon: when the block policy stops reading,
	// its queue for us fills and it drops for us (its books, not ours).
	const rate = 2500
	ids := func() (*sync.Mutex, map[string]bool, func(sim.Sent)) {
		var mu sync.Mutex
		m := map[string]bool{}
		return &mu, m, func(s sim.Sent) {
			id, _, _ := eventid.FromBytes(s.Bytes)
			mu.Lock()
			m[id.String()] = true
			mu.Unlock()
		}
	}
	blockMu, blockIDs, blockOnSend := ids()
	dropMu, dropIDs, dropOnSend := ids()
	// A long StopTimeout: Stop must let us drain the sim's queue for us, or
	// what it wrote to the cut connection would not all reach us.
	blockSim := startSim(t, sim.Config{Rate: rate, Seed: 11, OnSend: blockOnSend, StopTimeout: time.Minute})
	dropSim := startSim(t, sim.Config{Rate: rate, Seed: 12, OnSend: dropOnSend, StopTimeout: time.Minute})
	blockTopic, dropTopic := kafkatest.TopicName(t)+"-block", kafkatest.TopicName(t)+"-drop"
	block := start(t, blockSim, brokers, blockTopic, with("block"))
	drop := start(t, dropSim, brokers, dropTopic, with("drop_newest"))
	waitFor(t, "publishing", 60*time.Second, func() bool { return block.published() > 500 && drop.published() > 500 })

	broker.Stop()
	waitFor(t, "kafka failure noticed", 60*time.Second, func() bool { return block.p.KafkaReady() != nil && drop.p.KafkaReady() != nil })
	if metrics.Value(block.p.m.KafkaConnected) != 0 {
		t.Fatal("ingester_kafka_connected = 1 while the broker is down")
	}
	waitFor(t, "drops while Kafka is down", 60*time.Second, func() bool { return drop.droppedTotal() > 0 })
	time.Sleep(2 * time.Second)
	broker.Start()
	for name, r := range map[string]*run{"block": block, "drop_newest": drop} {
		p := r.published()
		deadline := time.Now().Add(60 * time.Second)
		for !(r.published() > p+2000 && r.p.KafkaReady() == nil) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no delivery after the broker is back: published %v (was %v), received %v, dropped %v, inflight %d, queued %d, kafka: %v",
					name, r.published(), p, r.received(), r.dropped(), r.p.pub.Inflight(), r.p.q.Len(), r.p.KafkaReady())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	blockSim.Stop()
	dropSim.Stop()

	for name, c := range map[string]struct {
		r     *run
		sim   *sim.Server
		topic string
		mu    *sync.Mutex
		ids   map[string]bool
	}{"block": {block, blockSim, blockTopic, blockMu, blockIDs}, "drop_newest": {drop, dropSim, dropTopic, dropMu, dropIDs}} {
		r := c.r
		waitFor(t, name+": everything the sim wrote received", 60*time.Second, func() bool { return r.received() == delivered(c.sim) })
		n := r.received()
		waitFor(t, name+": every received event resolved", 90*time.Second, func() bool { return r.published()+r.droppedTotal() == n })
		if err := r.p.KafkaReady(); err != nil {
			t.Fatalf("%s: kafka not ready after the broker came back: %v", name, err)
		}
		msgs := kafkatest.ConsumeAll(t, brokers, c.topic, int(r.published()), 60*time.Second)
		distinct := map[string]bool{}
		c.mu.Lock()
		for _, m := range msgs {
			if !c.ids[string(m.Key)] {
				t.Fatalf("%s: key %s never sent", name, m.Key)
			}
			distinct[string(m.Key)] = true
		}
		c.mu.Unlock()
		// Every event received was distinct (no dup-ratio): what Kafka lacks
		// of them must be exactly what the drop counters say.
		shortfall := int(n) - len(distinct)
		t.Logf("%s: sim generated %d, wrote to us %v (its drops for us %v); distinct in Kafka %d (%d messages, %d resend duplicates); our drops %v; resent %v",
			name, len(c.ids), n, c.sim.Stats().Dropped, len(distinct), len(msgs), len(msgs)-len(distinct), r.dropped(), metrics.Value(r.p.m.PublishRetries))
		if float64(shortfall) != r.droppedTotal() {
			t.Fatalf("%s: shortfall %d, drop counters %v", name, shortfall, r.dropped())
		}
		if name == "block" && shortfall != 0 {
			t.Fatalf("block lost %d received events", shortfall)
		}
		if name == "drop_newest" && r.dropped()[metrics.ReasonQueueFullNewest] == 0 {
			t.Fatalf("drop_newest dropped nothing from the queue: %v", r.dropped())
		}
	}

	// SIGTERM while Kafka is unreachable: what cannot be delivered within
	// SHUTDOWN_TIMEOUT is counted, and the books still balance.
	s := startSim(t, sim.Config{Seed: 13})
	last := start(t, s, brokers, kafkatest.TopicName(t)+"-shutdown", map[string]string{"SHUTDOWN_TIMEOUT": "2s", "QUEUE_POLICY": "block"})
	waitFor(t, "publishing", 60*time.Second, func() bool { return last.published() > 1000 })
	broker.Kill(1)
	waitFor(t, "a backlog", 30*time.Second, func() bool { return last.received() > last.published()+2000 })
	began := time.Now()
	last.shutdown(t)
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("shutdown took %s with SHUTDOWN_TIMEOUT=2s", took)
	}
	rec, pub, dropped := last.received(), last.published(), last.dropped()
	t.Logf("shutdown with Kafka down: received %v, published %v, dropped %v", rec, pub, dropped)
	if dropped[metrics.ReasonShutdown] == 0 || rec != pub+last.droppedTotal() {
		t.Fatalf("received %v != published %v + dropped %v", rec, pub, dropped)
	}
}

// Kafka unreachable at start: the ingester keeps retrying (not a crash
// loop), is not ready, counts the attempts, and under a drop policy counts
// every event it cannot keep; under block it stops reading. Needs no broker.
func TestKafkaUnreachableAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	for _, policy := range []string{"drop_oldest", "block"} {
		t.Run(policy, func(t *testing.T) {
			s := startSim(t, sim.Config{Rate: 5000})
			r := start(t, s, []string{dead}, "tetragon.raw", map[string]string{
				"QUEUE_POLICY": policy, "QUEUE_SIZE": "1000", "SHUTDOWN_TIMEOUT": "1s",
			})
			waitFor(t, "connect attempts", 20*time.Second, func() bool { return metrics.Value(r.p.m.KafkaConnectErrors) >= 2 })
			if r.p.KafkaReady() == nil || metrics.Value(r.p.m.KafkaConnected) != 0 {
				t.Fatal("kafka ready without a broker")
			}
			if err := r.p.TetragonReady(); err != nil {
				t.Fatalf("the stream should stay open while Kafka is away: %v", err)
			}
			if policy == "block" {
				waitFor(t, "queue full", 20*time.Second, func() bool { return r.p.q.Len() == 1000 })
				got := r.received()
				time.Sleep(300 * time.Millisecond)
				if r.received() != got {
					t.Fatalf("block policy kept receiving into a full queue: %v -> %v", got, r.received())
				}
			} else {
				waitFor(t, "drops", 20*time.Second, func() bool { return metrics.Value(r.p.m.Dropped(metrics.ReasonQueueFullOldest)) > 1000 })
			}
			r.shutdown(t)
			rec, drop := r.received(), r.droppedTotal()
			t.Logf("%s: received %v, dropped %v", policy, rec, r.dropped())
			// Nothing was published, so everything received is a drop; the
			// queue's 1000 and anything read after the signal count as shutdown.
			if r.published() != 0 || rec != drop || r.dropped()[metrics.ReasonShutdown] < 1000 {
				t.Fatalf("received %v, published %v, dropped %v", rec, r.published(), r.dropped())
			}
		})
	}
}
