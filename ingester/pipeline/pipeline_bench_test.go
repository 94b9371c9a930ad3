package pipeline

import (
	"context"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/config"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/publish"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/generate"
)

// simEvents returns n events from the simulator's realistic mix, as bytes.
func simEvents(tb testing.TB, n int) [][]byte {
	tb.Helper()
	g, err := generate.New(generate.DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	out := make([][]byte, n)
	for i := range out {
		ev, err := g.Next()
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = ev.Bytes
	}
	return out
}

func benchPipeline(tb testing.TB, env map[string]string) *Pipeline {
	tb.Helper()
	var cfg config.Config
	if err := envconfig.ParseEnv(&cfg, env); err != nil {
		tb.Fatal(err)
	}
	p, err := New(&cfg, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkReceivePath is the receiving goroutine's work per event: event id
// from the raw bytes, counters, queue push; a consumer drains the queue as
// the publisher would.
func BenchmarkReceivePath(b *testing.B) {
	evs := simEvents(b, 4096)
	var size int
	for _, e := range evs {
		size += len(e)
	}
	p := benchPipeline(b, map[string]string{"QUEUE_POLICY": "block"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]publish.Event, 0, 256)
		for {
			var err error
			if buf, err = p.q.PopBatch(ctx, buf[:0], 256); err != nil {
				return
			}
		}
	}()
	b.SetBytes(int64(size / len(evs)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		p.onEvent(ctx, evs[i%len(evs)])
	}
	p.q.Close()
	<-done
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/event")
}

// cpuTime is this process's user+system CPU time: on a shared machine it is
// a steadier measure of work than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
