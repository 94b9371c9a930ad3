package publish

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"hash/fnv"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/queue"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

func testOptions(brokers []string, topic string, partitions int32) Options {
	kc := kafkaclient.Config{Brokers: brokers, Version: kafkatest.Version().String()}
	return Options{
		Kafka:    kc,
		Producer: kafkaclient.ProducerConfig{Compression: "lz4", BatchBytes: 1 << 20, Linger: 5 * time.Millisecond, Retries: 3, RetryBackoff: 100 * time.Millisecond},
		Topic:    topic, Create: true,
		Spec:        kafkaclient.TopicSpec{Partitions: partitions, Replication: 1, Configs: map[string]string{"max.message.bytes": "10485760"}},
		MaxInflight: 1000, ConnectMin: 50 * time.Millisecond, ConnectMax: time.Second,
		RetryMin: 50 * time.Millisecond, RetryMax: time.Second, CloseTimeout: 5 * time.Second,
	}
}

func testEvent(i int, size int) Event {
	r := &tetragon.GetEventsResponse{
		NodeName: "node-" + strconv.Itoa(i%3),
		Time:     timestamppb.New(time.Unix(1700000000, int64(i))),
		Event: &tetragon.GetEventsResponse_ProcessKprobe{ProcessKprobe: &tetragon.ProcessKprobe{
			Process:      &tetragon.Process{ExecId: "exec-" + strconv.Itoa(i%7), Pid: wrapperspb.UInt32(uint32(i)), Tid: wrapperspb.UInt32(uint32(i)), Binary: string(bytes.Repeat([]byte("b"), size))},
			FunctionName: "security_file_open", PolicyName: "files",
		}},
	}
	raw, err := proto.Marshal(r)
	if err != nil {
		panic(err)
	}
	return Event{Raw: raw, ID: eventid.FromResponse(r), Type: "process_kprobe", Node: r.NodeName, IngestNS: time.Now().UnixNano()}
}

// gokaPartition is goka's default hasher: FNV-1a 32, abs(int32(h)) % n.
func gokaPartition(key []byte, n int32) int32 {
	h := fnv.New32a()
	h.Write(key)
	p := int32(h.Sum32()) % n
	if p < 0 {
		p = -p
	}
	return p
}

func deleteAtCleanup(t *testing.T, brokers []string, topic string) {
	admin := kafkatest.Admin(t, brokers)
	t.Cleanup(func() { _ = admin.DeleteTopic(topic) })
}

func TestPublishToRealBroker(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.TopicName(t)
	deleteAtCleanup(t, brokers, topic)
	m := metrics.New(prometheus.NewRegistry())
	p := New(testOptions(brokers, topic, 4), m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	q := queue.New[Event](10000, queue.Block)

	const n = 2000
	want := map[string]Event{}
	for i := range n {
		ev := testEvent(i, 40)
		want[ev.ID.String()] = ev
		if _, _, err := q.Push(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	// One event over the producer's 10 MiB limit: dropped as too_large, the rest delivered.
	big := testEvent(n, 11<<20)
	if _, _, err := q.Push(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.Run(ctx, q); err != nil {
		t.Fatal(err)
	}
	if got := metrics.Value(m.Published); got != n {
		t.Fatalf("published %v, want %d", got, n)
	}
	if got := metrics.Value(m.Dropped(metrics.ReasonTooLarge)); got != 1 {
		t.Fatalf("too_large drops = %v, want 1", got)
	}

	msgs := kafkatest.ConsumeAll(t, brokers, topic, n, 30*time.Second)
	if len(msgs) != n {
		t.Fatalf("%d messages on the topic, want %d", len(msgs), n)
	}
	seen := map[string]bool{}
	for _, msg := range msgs {
		ev, ok := want[string(msg.Key)]
		if !ok || seen[string(msg.Key)] {
			t.Fatalf("unexpected or repeated key %q", msg.Key)
		}
		seen[string(msg.Key)] = true
		if !bytes.Equal(msg.Value, ev.Raw) {
			t.Fatalf("value of %s differs from the bytes received", msg.Key)
		}
		if p := gokaPartition(msg.Key, 4); p != msg.Partition {
			t.Fatalf("key %s on partition %d, goka expects %d", msg.Key, msg.Partition, p)
		}
		for k, v := range map[string]string{"tf-type": "process_kprobe", "tf-node": ev.Node, "tf-ingest-ns": strconv.FormatInt(ev.IngestNS, 10), "tf-format": "pb1"} {
			if got, _ := msg.Header(k); got != v {
				t.Fatalf("%s: header %s = %q, want %q", msg.Key, k, got, v)
			}
		}
	}
}

// The raw topic is created with its spec, never by the broker; with
// RAW_TOPIC_CREATE=false the publisher waits (not ready, counted) until
// someone creates it, and an existing topic with another partition count is
// used as it is, with a warning.
func TestRawTopicCreation(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	log := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(log, nil))

	// Created with partitions, retention, compression and max message size.
	topic := kafkatest.TopicName(t)
	deleteAtCleanup(t, brokers, topic)
	o := testOptions(brokers, topic, 5)
	o.Spec.Retention = 6 * time.Hour
	o.Spec.Configs["compression.type"] = "lz4"
	m := metrics.New(prometheus.NewRegistry())
	q := queue.New[Event](10, queue.Block)
	q.Close()
	if err := New(o, m, logger).Run(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	// Created on the controller; wait until the brokers serve it.
	kafkatest.WaitForTopic(t, brokers, topic, 5, 30*time.Second)
	cfgs := kafkatest.TopicConfigs(t, brokers, topic)
	if cfgs["retention.ms"] != "21600000" || cfgs["compression.type"] != "lz4" || cfgs["max.message.bytes"] != "10485760" {
		t.Fatalf("topic configs: retention.ms=%s compression.type=%s max.message.bytes=%s", cfgs["retention.ms"], cfgs["compression.type"], cfgs["max.message.bytes"])
	}
	admin := kafkatest.Admin(t, brokers)
	if md, err := admin.DescribeTopics([]string{topic}); err != nil || len(md[0].Partitions) != 5 {
		t.Fatalf("describe %s: %v", topic, err)
	}

	// Existing topic, other partition count: warned about, used.
	o.Spec.Partitions = 7
	q = queue.New[Event](10, queue.Block)
	ev := testEvent(1, 10)
	_, _, _ = q.Push(context.Background(), ev)
	q.Close()
	m = metrics.New(prometheus.NewRegistry())
	if err := New(o, m, logger).Run(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "different partition count") || metrics.Value(m.Published) != 1 {
		t.Fatalf("no partition warning or not published:\n%s", log.String())
	}

	// RAW_TOPIC_CREATE=false and no topic: not ready, retrying, until it exists.
	missing := kafkatest.TopicName(t)
	deleteAtCleanup(t, brokers, missing)
	o = testOptions(brokers, missing, 3)
	o.Create = false
	m = metrics.New(prometheus.NewRegistry())
	p := New(o, m, logger)
	q = queue.New[Event](10, queue.Block)
	_, _, _ = q.Push(context.Background(), ev)
	q.Close()
	done := make(chan error)
	go func() { done <- p.Run(context.Background(), q) }()
	deadline := time.Now().Add(20 * time.Second)
	for metrics.Value(m.KafkaConnectErrors) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no connect retries while the topic is missing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.Healthy(); err == nil || !strings.Contains(err.Error(), "RAW_TOPIC_CREATE=false") {
		t.Fatalf("healthy = %v while the topic is missing", err)
	}
	if _, ok, _ := kafkaclient.TopicPartitions(admin, missing); ok {
		t.Fatal("the publisher created the topic with RAW_TOPIC_CREATE=false (or the broker auto-created it)")
	}
	kafkatest.CreateNamedTopic(t, brokers, missing, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1})
	select {
	case err := <-done:
		if err != nil || metrics.Value(m.Published) != 1 {
			t.Fatalf("run = %v, published %v", err, metrics.Value(m.Published))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("publisher did not proceed once the topic existed")
	}
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// bigEvent is an event of size incompressible bytes (the publisher does not
// parse Raw): no codec shrinks it under a 1 MB limit.
func bigEvent(t *testing.T, size int) Event {
	t.Helper()
	raw := make([]byte, size)
	if _, err := crand.Read(raw); err != nil {
		t.Fatal(err)
	}
	var id eventid.ID
	copy(id[:], strings.Repeat("b1", eventid.Len/2))
	return Event{Raw: raw, ID: id, Type: "process_exec", Node: "node-big", IngestNS: time.Now().UnixNano()}
}

// sendAround queues 5 small events, big, 5 small, back to back, closes the
// queue and runs p until every event is resolved. It returns the small ones.
func sendAround(t *testing.T, p *Publisher, q *queue.Queue[Event], big Event) []Event {
	t.Helper()
	var small []Event
	for i := range 10 {
		if i == 5 {
			if _, _, err := q.Push(context.Background(), big); err != nil {
				t.Fatal(err)
			}
		}
		ev := testEvent(i, 40)
		small = append(small, ev)
		if _, _, err := q.Push(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	return small
}

func checkOnlyBigDropped(t *testing.T, brokers []string, topic string, m *metrics.Metrics, small []Event, big Event, log *logBuffer) {
	t.Helper()
	if pub, tl, all := metrics.Value(m.Published), metrics.Value(m.Dropped(metrics.ReasonTooLarge)), dropsTotal(m); pub != 10 || tl != 1 || all != 1 {
		t.Fatalf("published %v, too_large %v, all drops %v; want 10 published and only the big event dropped (too_large)\n%s", pub, tl, all, log.String())
	}
	if !strings.Contains(log.String(), "id="+big.ID.String()) {
		t.Fatalf("the dropped event's id %s is not in the log:\n%s", big.ID, log.String())
	}
	msgs := kafkatest.ConsumeAll(t, brokers, topic, 10, 30*time.Second)
	got := map[string]bool{}
	for _, msg := range msgs {
		got[string(msg.Key)] = true
	}
	for _, ev := range small {
		if !got[ev.ID.String()] {
			t.Fatalf("small event %s not on the topic (%d messages)", ev.ID, len(msgs))
		}
	}
}

func dropsTotal(m *metrics.Metrics) float64 {
	var n float64
	for _, r := range metrics.Reasons {
		n += metrics.Value(m.Dropped(r))
	}
	return n
}

// A raw topic someone else created with Kafka's default 1 MB
// max.message.bytes (RAW_TOPIC_CREATE=false): the publisher reads the limit,
// warns that it is below its own, and a 2 MB incompressible event sent
// between small ones is dropped alone (too_large, logged with its id); its
// neighbours are delivered.
func TestOversizedEventDropsAlone(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.TopicName(t)
	deleteAtCleanup(t, brokers, topic)
	// One partition: every event shares a batch with the big one.
	kafkatest.CreateNamedTopic(t, brokers, topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1})
	if got := kafkatest.TopicConfigs(t, brokers, topic)["max.message.bytes"]; got != "1048588" {
		t.Fatalf("broker default max.message.bytes = %s, this test assumes Kafka's 1048588", got)
	}
	log := &logBuffer{}
	o := testOptions(brokers, topic, 1)
	o.Create = false
	// A linger long enough that the queued events meet in one batch.
	o.Producer.Linger = 200 * time.Millisecond
	m := metrics.New(prometheus.NewRegistry())
	p := New(o, m, slog.New(slog.NewTextHandler(log, nil)))
	q := queue.New[Event](100, queue.Block)
	big := bigEvent(t, 2<<20)
	small := sendAround(t, p, q, big)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.Run(ctx, q); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "max.message.bytes=1048588") || !strings.Contains(log.String(), "below the ingester's limit") {
		t.Fatalf("no warning about the raw topic's max.message.bytes:\n%s", log.String())
	}
	checkOnlyBigDropped(t, brokers, topic, m, small, big, log)
}

// The raw topic's limit lowered while the publisher runs (it has not read
// the new value yet): the broker refuses the whole batch holding the big
// event with MESSAGE_TOO_LARGE; its records are re-sent one by one, so only
// the big one is dropped.
func TestBatchRefusedAsTooLargeIsResentSingly(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.TopicName(t)
	deleteAtCleanup(t, brokers, topic)
	log := &logBuffer{}
	o := testOptions(brokers, topic, 1)
	o.Producer.Linger = 200 * time.Millisecond
	o.TopicConfigRefresh = time.Hour
	m := metrics.New(prometheus.NewRegistry())
	p := New(o, m, slog.New(slog.NewTextHandler(log, nil)))
	q := queue.New[Event](100, queue.Block)
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	go func() { done <- p.Run(ctx, q) }()
	waitHealthy(t, p)

	admin := kafkatest.Admin(t, brokers)
	limit := "1048576"
	if err := admin.AlterConfig(sarama.TopicResource, topic, map[string]*string{"max.message.bytes": &limit}, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for kafkatest.TopicConfigs(t, brokers, topic)["max.message.bytes"] != limit {
		if time.Now().After(deadline) {
			t.Fatal("the broker did not apply max.message.bytes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	big := bigEvent(t, 2<<20)
	small := sendAround(t, p, q, big)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if metrics.Value(m.SentAlone) < 6 {
		t.Fatalf("sent alone %v, want the 6 records of the refused batch", metrics.Value(m.SentAlone))
	}
	checkOnlyBigDropped(t, brokers, topic, m, small, big, log)
}

func waitHealthy(t *testing.T, p *Publisher) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for p.Healthy() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("publisher not healthy: %v", p.Healthy())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The raw topic's limit is read again while the publisher runs: lowered
// below the ingester's, it is warned about and exported.
func TestTopicLimitIsReadAgain(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.TopicName(t)
	deleteAtCleanup(t, brokers, topic)
	log := &logBuffer{}
	o := testOptions(brokers, topic, 1)
	o.TopicConfigRefresh = 100 * time.Millisecond
	m := metrics.New(prometheus.NewRegistry())
	p := New(o, m, slog.New(slog.NewTextHandler(log, nil)))
	q := queue.New[Event](10, queue.Block)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, q) }()
	defer func() { cancel(); <-done }()
	waitHealthy(t, p)
	if got := metrics.Value(m.RawTopicMaxMessage); got != 10485760 {
		t.Fatalf("ingester_raw_topic_max_message_bytes = %v, want the created topic's 10485760", got)
	}
	limit := "1048576"
	if err := kafkatest.Admin(t, brokers).AlterConfig(sarama.TopicResource, topic, map[string]*string{"max.message.bytes": &limit}, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for metrics.Value(m.RawTopicMaxMessage) != 1048576 || !strings.Contains(log.String(), "was=10485760") {
		if time.Now().After(deadline) {
			t.Fatalf("limit not read again: gauge %v, log:\n%s", metrics.Value(m.RawTopicMaxMessage), log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "below the ingester's limit") {
		t.Fatalf("no warning:\n%s", log.String())
	}
}
