package publish

import (
	"bytes"
	"context"
	"hash/fnv"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

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
