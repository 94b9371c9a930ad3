package sim

import (
	"fmt"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"

	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/internal/cputime"
)

// BenchmarkBroadcast: generation, encoding (once) and the hand-out to k
// clients' queues, without gRPC. The per-client cost is a queue push.
func BenchmarkBroadcast(b *testing.B) {
	for _, k := range []int{1, 4} {
		b.Run(fmt.Sprintf("clients=%d", k), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Logger = quietLogger()
			s, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var clients []*client
			for range k {
				c := &client{q: make(chan *frame, 4096), done: make(chan struct{}), drain: make(chan struct{})}
				go func() {
					for range c.q {
					}
				}()
				clients = append(clients, c)
			}
			s.snapshot.Store(&clients)
			s.mu.Lock()
			s.armed = true // the pump stays asleep: s.clients is empty
			s.mu.Unlock()
			b.ReportAllocs()
			cpu0 := cputime.Now()
			for b.Loop() {
				ev, _ := s.src.Next()
				s.handOut(&frame{ev: ev})
			}
			cpu := cputime.Now() - cpu0
			for _, c := range clients {
				close(c.q)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
		})
	}
}

// BenchmarkStream: end to end over loopback gRPC to one official client in
// the same process (so events/cpu-s covers server and client).
func BenchmarkStream(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Logger = quietLogger()
	cfg.Events = uint64(b.N)
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Start("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	t := &testing.T{}
	c := dial(t, s.Target())
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Now()
	st, err := c.GetEvents(b.Context(), &tetragon.GetEventsRequest{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		if _, err := st.Recv(); err != nil {
			b.Fatalf("after %d: %v", i, err)
		}
	}
	cpu := cputime.Now() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
}
