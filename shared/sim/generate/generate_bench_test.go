package generate

import (
	"fmt"
	"runtime/debug"
	"testing"

	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/internal/cputime"
)

// BenchmarkNext measures generation including encoding: the bytes it
// returns are what the server sends. events/cpu-s counts CPU time of the
// whole process (GC included), so it holds on a busy machine; run with
// GOMAXPROCS=1 for the one-core figure.
// gogc=400 is what the tetragon-sim binary runs with.
func BenchmarkNext(b *testing.B) {
	for _, gc := range []int{100, 400} {
		b.Run(fmt.Sprintf("gogc=%d", gc), func(b *testing.B) {
			defer debug.SetGCPercent(debug.SetGCPercent(gc))
			benchNext(b)
		})
	}
}

func benchNext(b *testing.B) {
	g, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var bytes int
	b.ReportAllocs()
	cpu0 := cputime.Now()
	for b.Loop() {
		ev, _ := g.Next()
		bytes += len(ev.Bytes)
	}
	cpu := cputime.Now() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	b.ReportMetric(float64(bytes)/float64(b.N), "B/event")
}
