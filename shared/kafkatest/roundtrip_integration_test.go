package kafkatest_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// producerConfig is the delivery setup the architecture asks of every producer:
// idempotent, acks=all, zstd.
func producerConfig() *sarama.Config {
	c := kafkatest.Config()
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Compression = sarama.CompressionZSTD
	c.Producer.Return.Successes = true
	c.Producer.Retry.Max = 10
	c.Producer.Retry.Backoff = 250 * time.Millisecond // rides out a leader move
	c.Net.MaxOpenRequests = 1
	return c
}

type sent struct {
	partition int32
	offset    int64
	value     string
	headers   map[string]string
}

// produce sends n keyed messages with headers and returns what the broker acked,
// by key.
func produce(t *testing.T, brokers []string, topic string, from, n int) map[string]sent {
	t.Helper()
	p, err := sarama.NewSyncProducer(brokers, producerConfig())
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer func() {
		if err := p.Close(); err != nil {
			t.Errorf("close producer: %v", err)
		}
	}()
	out := make(map[string]sent, n)
	for i := from; i < from+n; i++ {
		key := fmt.Sprintf("key-%04d", i)
		s := sent{
			value:   fmt.Sprintf(`{"i":%d,"pad":"%0100d"}`, i, i),
			headers: map[string]string{"tf-type": "process_exec", "tf-seq": strconv.Itoa(i)},
		}
		msg := &sarama.ProducerMessage{
			Topic: topic,
			Key:   sarama.StringEncoder(key),
			Value: sarama.StringEncoder(s.value),
			Headers: []sarama.RecordHeader{
				{Key: []byte("tf-type"), Value: []byte(s.headers["tf-type"])},
				{Key: []byte("tf-seq"), Value: []byte(s.headers["tf-seq"])},
			},
		}
		if s.partition, s.offset, err = p.SendMessage(msg); err != nil {
			t.Fatalf("send %s: %v", key, err)
		}
		out[key] = s
	}
	return out
}

// checkConsumed asserts that exactly the acked messages came back, each at the
// partition and offset the broker acked, with its value and headers intact.
func checkConsumed(t *testing.T, want map[string]sent, got []kafkatest.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("consumed %d messages, produced %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for _, m := range got {
		key := string(m.Key)
		w, ok := want[key]
		if !ok {
			t.Errorf("unexpected key %q at %d/%d", key, m.Partition, m.Offset)
			continue
		}
		if seen[key] {
			t.Errorf("key %q consumed twice", key)
		}
		seen[key] = true
		if m.Partition != w.partition || m.Offset != w.offset {
			t.Errorf("%s at %d/%d, acked at %d/%d", key, m.Partition, m.Offset, w.partition, w.offset)
		}
		if string(m.Value) != w.value {
			t.Errorf("%s value %q, want %q", key, m.Value, w.value)
		}
		if len(m.Headers) != len(w.headers) {
			t.Errorf("%s has %d headers, want %d", key, len(m.Headers), len(w.headers))
		}
		for hk, hv := range w.headers {
			if v, ok := m.Header(hk); !ok || v != hv {
				t.Errorf("%s header %s = %q (present %v), want %q", key, hk, v, ok, hv)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, 3, nil)
	want := produce(t, brokers, topic, 0, 200)

	parts := map[int32]bool{}
	for _, s := range want {
		parts[s.partition] = true
	}
	if len(parts) != 3 {
		t.Errorf("200 keys landed on %d of 3 partitions", len(parts))
	}
	checkConsumed(t, want, kafkatest.ConsumeAll(t, brokers, topic, len(want), 30*time.Second))
}

func TestCreateTopicConfigs(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	retention := "3600000"
	topic := kafkatest.CreateTopic(t, brokers, 2, map[string]*string{"retention.ms": &retention})
	admin := kafkatest.Admin(t, brokers)
	topics, err := admin.DescribeTopics([]string{topic})
	if err != nil || len(topics) != 1 {
		t.Fatalf("describe %s: %v", topic, err)
	}
	if n := len(topics[0].Partitions); n != 2 {
		t.Errorf("%s has %d partitions, want 2", topic, n)
	}
	got, ok := kafkatest.TopicConfigs(t, brokers, topic)["retention.ms"]
	if !ok || got != retention {
		t.Errorf("retention.ms = %q (present %v), want %s", got, ok, retention)
	}
}

// A private broker keeps its data and address across a restart.
func TestBrokerRestart(t *testing.T) {
	t.Parallel() // mostly waiting on JVM start-up; overlaps with the three-node test
	b := kafkatest.StartBroker(t, kafkatest.BrokerOptions{})
	brokers := b.Addrs()
	topic := kafkatest.CreateTopic(t, brokers, 2, nil)
	want := produce(t, brokers, topic, 0, 20)

	b.Stop()
	b.Start()
	kafkatest.WaitForTopic(t, brokers, topic, 2, 30*time.Second)
	for k, v := range produce(t, brokers, topic, 20, 20) {
		want[k] = v
	}
	checkConsumed(t, want, kafkatest.ConsumeAll(t, brokers, topic, len(want), 30*time.Second))
}

// On three nodes, a topic with replication 3 and min.insync.replicas 2 takes acks=all
// writes with one node killed, and the node catches up when it comes back.
func TestThreeNodesSurviveOneKill(t *testing.T) {
	t.Parallel()
	b := kafkatest.StartBroker(t, kafkatest.BrokerOptions{Nodes: 3})
	brokers := b.Addrs()
	minISR := "2"
	topic := kafkatest.CreateTopic(t, brokers, 3, map[string]*string{"min.insync.replicas": &minISR})
	admin := kafkatest.Admin(t, brokers)
	topics, err := admin.DescribeTopics([]string{topic})
	if err != nil || len(topics) != 1 {
		t.Fatalf("describe %s: %v", topic, err)
	}
	for _, p := range topics[0].Partitions {
		if len(p.Replicas) != 3 {
			t.Fatalf("partition %d has replicas %v, want 3 (broker default replication)", p.ID, p.Replicas)
		}
	}

	want := produce(t, brokers, topic, 0, 30)
	b.Kill(2)
	b.WaitNodeGone(2, time.Minute, topic)
	// Bootstrap through the live nodes only; the client learns the rest from metadata.
	live := []string{b.Addr(1), b.Addr(3)}
	for k, v := range produce(t, live, topic, 30, 30) {
		want[k] = v
	}
	checkConsumed(t, want, kafkatest.ConsumeAll(t, live, topic, len(want), 30*time.Second))

	b.StartNode(2)
	for k, v := range produce(t, brokers, topic, 60, 30) {
		want[k] = v
	}
	checkConsumed(t, want, kafkatest.ConsumeAll(t, []string{b.Addr(2)}, topic, len(want), 30*time.Second))
}
