package kafkatest

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// Message is one consumed record with everything tests assert on.
type Message struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []*sarama.RecordHeader
	Timestamp time.Time
}

// Header returns the value of the first header named key.
func (m Message) Header(key string) (string, bool) {
	for _, h := range m.Headers {
		if h != nil && string(h.Key) == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// ConsumeAll reads every partition of topic from the oldest offset until at least n
// messages have arrived, then on to the high-water marks of that moment, so the
// result is everything on the topic once n are there: more than n means extra
// messages (duplicates, for instance), which callers can assert on. Messages come
// back sorted by partition and offset. The test fails if n messages do not arrive
// within timeout.
func ConsumeAll(t testing.TB, brokers []string, topic string, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	client, err := sarama.NewClient(brokers, Config())
	if err != nil {
		t.Fatalf("kafka client for %v: %v", brokers, err)
	}
	defer func() { _ = client.Close() }()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatalf("kafka consumer: %v", err)
	}
	defer func() { _ = consumer.Close() }()
	partitions, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}

	in := make(chan *sarama.ConsumerMessage)
	done := make(chan struct{})
	var wg sync.WaitGroup
	// Stop the forwarders before the consumer closes under them.
	defer func() { close(done); wg.Wait() }()
	for _, p := range partitions {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("consume %s/%d: %v", topic, p, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pc.AsyncClose()
			for {
				select {
				case m, ok := <-pc.Messages():
					if !ok {
						return
					}
					select {
					case in <- m:
					case <-done:
						return
					}
				case <-done:
					return
				}
			}
		}()
	}

	var out []Message
	next := map[int32]int64{} // per partition: offset after the last message read
	var hwm map[int32]int64   // high-water marks, taken once n messages are in
	caughtUp := func() bool {
		for p, h := range hwm {
			if next[p] < h {
				return false
			}
		}
		return true
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		if len(out) >= n {
			if hwm == nil {
				hwm = map[int32]int64{}
				for _, p := range partitions {
					h, err := client.GetOffset(topic, p, sarama.OffsetNewest)
					if err != nil {
						t.Fatalf("high-water mark of %s/%d: %v", topic, p, err)
					}
					hwm[p] = h
				}
			}
			if caughtUp() {
				break
			}
		}
		// Once n are in, a tail that stays silent for a while is not coming: the
		// offsets left below the high-water marks are transaction markers or were
		// compacted away.
		var idle <-chan time.Time
		if hwm != nil {
			idle = time.After(time.Second)
		}
		select {
		case m := <-in:
			out = append(out, Message{
				Topic: m.Topic, Partition: m.Partition, Offset: m.Offset,
				Key: m.Key, Value: m.Value, Headers: m.Headers, Timestamp: m.Timestamp,
			})
			next[m.Partition] = m.Offset + 1
			continue
		case <-idle:
		case <-timer.C:
		}
		if hwm == nil {
			t.Fatalf("consume %s: %d of %d messages after %s (per partition: %s)",
				topic, len(out), n, timeout, perPartition(next))
		}
		break
	}
	sortMessages(out)
	return out
}

func sortMessages(ms []Message) {
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Partition != ms[j].Partition {
			return ms[i].Partition < ms[j].Partition
		}
		return ms[i].Offset < ms[j].Offset
	})
}

func perPartition(next map[int32]int64) string {
	if len(next) == 0 {
		return "none read"
	}
	ps := make([]int32, 0, len(next))
	for p := range next {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d: next offset %d", p, next[p])
	}
	return b.String()
}
