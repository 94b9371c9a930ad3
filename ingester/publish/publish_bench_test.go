package publish

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/queue"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/generate"
)

// simEvents returns n events of the simulator's realistic mix.
func simEvents(tb testing.TB, n int) []Event {
	g, err := generate.New(generate.DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]Event, n)
	for i := range out {
		ev, err := g.Next()
		if err != nil {
			tb.Fatal(err)
		}
		id, _, err := eventid.FromBytes(ev.Bytes)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = Event{Raw: ev.Bytes, ID: id, Type: ev.Type, Node: ev.Node, IngestNS: time.Now().UnixNano()}
	}
	return out
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PUBLISH_BENCH_CODECS (comma-separated) and PUBLISH_BENCH_LINGER vary the
// producer settings.
//
// BenchmarkPublish is the producing half per event against the real broker
// (KAFKA_BROKERS): envelope, sarama batching, compression, acks. It reports
// process CPU per event (cpu-µs/event), which is what the node pays; ns/op
// is wall time and includes waiting for the broker.
func BenchmarkPublish(b *testing.B) {
	if os.Getenv("KAFKA_BROKERS") == "" {
		b.Skip("KAFKA_BROKERS not set: this benchmark produces to a real broker")
	}
	brokers := kafkatest.Brokers(b)
	codecs := []string{"zstd", "lz4", "none"}
	if v := os.Getenv("PUBLISH_BENCH_CODECS"); v != "" {
		codecs = strings.Split(v, ",")
	}
	linger := 5 * time.Millisecond
	if v, err := time.ParseDuration(os.Getenv("PUBLISH_BENCH_LINGER")); err == nil {
		linger = v
	}
	for _, codec := range codecs {
		b.Run(codec, func(b *testing.B) {
			topic := kafkatest.TopicName(b)
			admin := kafkatest.Admin(b, brokers)
			b.Cleanup(func() { _ = admin.DeleteTopic(topic) })
			evs := simEvents(b, 4096)
			var size int
			for i := range evs {
				size += len(evs[i].Raw)
			}
			o := testOptions(brokers, topic, 12)
			o.Producer.Compression = codec
			o.Producer.Linger = linger
			o.CompressionLevel = 1
			o.MaxInflight = 8192
			m := metrics.New(prometheus.NewRegistry())
			p := New(o, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
			q := queue.New[Event](16384, queue.Block)
			done := make(chan struct{})
			go func() { defer close(done); _ = p.Run(context.Background(), q) }()
			// Warm up: connect and create the topic outside the measurement.
			for p.Healthy() != nil {
				time.Sleep(10 * time.Millisecond)
			}
			b.SetBytes(int64(size / len(evs)))
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := range b.N {
				ev := evs[i%len(evs)]
				if _, _, err := q.Push(context.Background(), ev); err != nil {
					b.Fatal(err)
				}
			}
			q.Close()
			<-done
			b.StopTimer()
			if got := metrics.Value(m.Published); got != float64(b.N) {
				b.Fatalf("published %v of %d", got, b.N)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
		})
	}
}
