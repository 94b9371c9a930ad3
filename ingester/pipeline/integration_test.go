package pipeline

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/config"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/internal/simtest"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

type run struct {
	p    *Pipeline
	stop context.CancelFunc
	done chan error
}

// start runs a pipeline against sim and brokers, on a fresh raw topic.
func start(t *testing.T, sim *simtest.Sim, brokers []string, topic string, extra map[string]string) *run {
	t.Helper()
	env := map[string]string{
		"TETRAGON_ADDR":               sim.Addr(),
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
		if err != nil {
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
// the headers; injected duplicates arrive with equal keys.
func TestDeliveryExactlyOnce(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	const n = 3000
	sim := simtest.Start(t, simtest.Options{Count: n, DupRatio: 0.1})
	topic := kafkatest.TopicName(t)
	before := time.Now().UnixNano()
	r := start(t, sim, brokers, topic, nil)
	waitFor(t, "all events published", 60*time.Second, func() bool { return r.published() >= n })
	if err := r.p.TetragonReady(); err != nil {
		t.Fatalf("tetragon not ready while streaming: %v", err)
	}
	if err := r.p.KafkaReady(); err != nil {
		t.Fatalf("kafka not ready while publishing: %v", err)
	}
	r.shutdown(t)
	if got := r.published(); got != n {
		t.Fatalf("published %v, want %d", got, n)
	}
	if d := r.dropped(); len(d) > 0 {
		t.Fatalf("dropped %v", d)
	}

	sent := sim.Sent()
	wantKeys := map[string]int{}
	byKey := map[string][]byte{}
	dups := 0
	for _, ev := range sent {
		id, _, err := eventid.FromBytes(ev.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if wantKeys[id.String()]++; wantKeys[id.String()] == 2 {
			dups++
		}
		byKey[id.String()] = ev.Bytes
	}
	if dups < n/20 {
		t.Fatalf("only %d duplicates injected", dups)
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
		want, ok := byKey[k]
		if !ok {
			t.Fatalf("key %s was never sent", k)
		}
		if !bytes.Equal(m.Value, want) {
			t.Fatalf("%s: bytes differ from what the sim sent", k)
		}
		var got, orig tetragon.GetEventsResponse
		if err := proto.Unmarshal(m.Value, &got); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if err := proto.Unmarshal(want, &orig); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(&got, &orig) {
			t.Fatalf("%s: decoded event differs", k)
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
	for k, c := range wantKeys {
		if gotKeys[k] != c {
			t.Fatalf("key %s: %d messages, sent %d times", k, gotKeys[k], c)
		}
	}
	if len(types) < 8 {
		t.Fatalf("only types %v arrived", types)
	}
}

// Killing Tetragon mid-stream: the ingester notices, is not ready, retries
// with growing backoff, reconnects when it is back, and the backoff resets.
func TestTetragonRestart(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	sim := simtest.Start(t, simtest.Options{Rate: 3000})
	r := start(t, sim, brokers, kafkatest.TopicName(t), nil)
	m := r.p.m
	waitFor(t, "events flowing", 30*time.Second, func() bool { return r.published() > 500 })

	sim.Stop()
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

	sim.Start()
	got := r.received()
	waitFor(t, "reconnected", 10*time.Second, func() bool { return metrics.Value(m.TetragonConnected) == 1 && r.received() > got+300 })
	if err := r.p.TetragonReady(); err != nil {
		t.Fatalf("not ready after reconnecting: %v", err)
	}
	// The stream delivered events, so the next failure starts from the minimum again.
	sim.Stop()
	waitFor(t, "second disconnect", 10*time.Second, func() bool {
		return metrics.Value(m.TetragonReconnects) > reconnects && metrics.Value(m.TetragonConnected) == 0
	})
	if b := metrics.Value(m.TetragonBackoff); b > 0.05 {
		t.Fatalf("first wait after a healthy stream = %vs, want <= 50ms (backoff not reset)", b)
	}
	sim.Start()
	waitFor(t, "reconnected again", 10*time.Second, func() bool { return metrics.Value(m.TetragonConnected) == 1 })
	r.shutdown(t)
	if rec, pub, drop := r.received(), r.published(), r.droppedTotal(); rec != pub+drop || drop != 0 {
		t.Fatalf("received %v != published %v + dropped %v", rec, pub, drop)
	}
}

// SIGTERM under load: every event received before it is in Kafka or
// counted as undelivered.
func TestShutdownUnderLoadAccountsForEveryEvent(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	sim := simtest.Start(t, simtest.Options{})
	topic := kafkatest.TopicName(t)
	r := start(t, sim, brokers, topic, map[string]string{"QUEUE_SIZE": "50000"})
	waitFor(t, "load", 60*time.Second, func() bool { return r.received() > 30000 })
	r.shutdown(t)
	rec, pub, drop := r.received(), r.published(), r.droppedTotal()
	t.Logf("received %v published %v dropped %v", rec, pub, r.dropped())
	if rec != pub+drop {
		t.Fatalf("received %v != published %v + dropped %v", rec, pub, drop)
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
	// Endless streams at 2000 events/s, finished once Kafka is back and
	// delivering again, so both policies are seen recovering.
	blockSim := simtest.Start(t, simtest.Options{Rate: 2000, Seed: 11})
	dropSim := simtest.Start(t, simtest.Options{Rate: 2000, Seed: 12})
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
	for _, r := range []*run{block, drop} {
		p := r.published()
		waitFor(t, "delivery after the broker is back", 60*time.Second, func() bool { return r.published() > p+2000 && r.p.KafkaReady() == nil })
	}
	blockSim.Finish()
	dropSim.Finish()

	for name, c := range map[string]struct {
		r     *run
		sim   *simtest.Sim
		topic string
	}{"block": {block, blockSim, blockTopic}, "drop_newest": {drop, dropSim, dropTopic}} {
		r := c.r
		n := float64(c.sim.SentCount())
		waitFor(t, name+": every sent event received", 90*time.Second, func() bool { return r.received() == n })
		waitFor(t, name+": every received event resolved", 90*time.Second, func() bool { return r.published()+r.droppedTotal() == n })
		if err := r.p.KafkaReady(); err != nil {
			t.Fatalf("%s: kafka not ready after the broker came back: %v", name, err)
		}
		delivered := int(r.published())
		msgs := kafkatest.ConsumeAll(t, brokers, c.topic, delivered, 60*time.Second)
		distinct := map[string]bool{}
		for _, m := range msgs {
			distinct[string(m.Key)] = true
		}
		sentIDs := map[string]bool{}
		for _, ev := range c.sim.Sent() {
			id, _, _ := eventid.FromBytes(ev.Bytes)
			sentIDs[id.String()] = true
		}
		for k := range distinct {
			if !sentIDs[k] {
				t.Fatalf("%s: key %s never sent", name, k)
			}
		}
		shortfall := len(sentIDs) - len(distinct)
		t.Logf("%s: sent %d, distinct delivered %d (%d messages, resend duplicates %d), dropped %v, resent %v",
			name, len(sentIDs), len(distinct), len(msgs), len(msgs)-len(distinct), r.dropped(), metrics.Value(r.p.m.PublishRetries))
		if float64(shortfall) != r.droppedTotal() {
			t.Fatalf("%s: shortfall %d, drop counters %v", name, shortfall, r.dropped())
		}
		if name == "block" && shortfall != 0 {
			t.Fatalf("block lost %d events", shortfall)
		}
		if name == "drop_newest" && r.dropped()[metrics.ReasonQueueFullNewest] == 0 {
			t.Fatalf("drop_newest dropped nothing from the queue: %v", r.dropped())
		}
	}

	// SIGTERM while Kafka is unreachable: what cannot be delivered within
	// SHUTDOWN_TIMEOUT is counted, and the books still balance.
	sim := simtest.Start(t, simtest.Options{Seed: 13})
	last := start(t, sim, brokers, kafkatest.TopicName(t)+"-shutdown", map[string]string{"SHUTDOWN_TIMEOUT": "2s", "QUEUE_POLICY": "block"})
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
			sim := simtest.Start(t, simtest.Options{Rate: 5000})
			r := start(t, sim, []string{dead}, "tetragon.raw", map[string]string{
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
