package sim

import (
	"fmt"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"

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

// BenchmarkStream: end to end over loopback gRPC to one client in the same
// process (events/cpu-s covers server and client). client=official decodes
// every event with Tetragon's API types, as tetra would; client=raw takes
// the bytes undecoded, as the ingester does, so the figure is closer to
// the simulator's own cost.
func BenchmarkStream(b *testing.B) {
	for _, raw := range []bool{false, true} {
		name := "client=official"
		if raw {
			name = "client=raw"
		}
		b.Run(name, func(b *testing.B) {
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
			cc, err := grpc.NewClient(s.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer cc.Close()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cputime.Now()
			var bytes int
			if raw {
				desc := &tetragon.FineGuidanceSensors_ServiceDesc.Streams[0]
				st, err := cc.NewStream(b.Context(), desc, tetragon.FineGuidanceSensors_GetEvents_FullMethodName,
					grpc.ForceCodecV2(rawClientCodec{newRawCodec()}))
				if err != nil {
					b.Fatal(err)
				}
				if err := st.SendMsg(&tetragon.GetEventsRequest{}); err != nil {
					b.Fatal(err)
				}
				if err := st.CloseSend(); err != nil {
					b.Fatal(err)
				}
				var m rawMsg
				for i := range b.N {
					if err := st.RecvMsg(&m); err != nil {
						b.Fatalf("after %d: %v", i, err)
					}
					bytes += int(m)
				}
			} else {
				st, err := tetragon.NewFineGuidanceSensorsClient(cc).GetEvents(b.Context(), &tetragon.GetEventsRequest{})
				if err != nil {
					b.Fatal(err)
				}
				for i := range b.N {
					if _, err := st.Recv(); err != nil {
						b.Fatalf("after %d: %v", i, err)
					}
				}
			}
			cpu := cputime.Now() - cpu0
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
		})
	}
}

// rawMsg receives an event as its length only.
type rawMsg int

type rawClientCodec struct{ rawCodec }

func (c rawClientCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*rawMsg); ok {
		*m = rawMsg(data.Len())
		return nil
	}
	return c.rawCodec.Unmarshal(data, v)
}
