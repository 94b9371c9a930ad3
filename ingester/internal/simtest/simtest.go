// Package simtest runs a Tetragon event source in-process for the
// ingester's integration tests: a real gRPC FineGuidanceSensors.GetEvents
// server on a unix socket that streams the simulator's generated events
// (shared/sim/generate) and can be stopped and restarted like a Tetragon
// agent. It records every event it handed to a stream, so tests can compare
// what Kafka holds with what was sent.
package simtest

import (
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"

	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/generate"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/source"
)

// Options shape the stream.
type Options struct {
	// Count stops sending after this many events in total (duplicates
	// included); 0 sends forever.
	Count int
	// Rate is events per second; 0 sends as fast as the client reads.
	Rate int
	// DupRatio sends this share of events twice (same bytes).
	DupRatio float64
	Seed     int64
	// CountOnly keeps no copy of sent events (load runs): Sent is empty,
	// SentCount still counts.
	CountOnly bool
}

// Sim is a running simulator.
type Sim struct {
	fatalf func(format string, args ...any)
	opts   Options
	sock   string

	mu    sync.Mutex
	srv   *grpc.Server
	gen   *generate.Generator
	rng   *rand.Rand
	sent  []source.Event
	nsent int
	// pending is a duplicate still to send.
	pending *source.Event
	reqs    []*tetragon.GetEventsRequest
}

// Start starts a simulator; it stops at test cleanup.
func Start(t testing.TB, o Options) *Sim {
	t.Helper()
	dir, err := os.MkdirTemp("", "sim")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s, err := Serve(filepath.Join(dir, "tetragon.sock"), o, t.Fatalf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Serve starts a simulator on the unix socket sock outside a test (a load
// run's separate process); fatalf reports errors of later calls.
func Serve(sock string, o Options, fatalf func(string, ...any)) (*Sim, error) {
	cfg := generate.DefaultConfig()
	if o.Seed != 0 {
		cfg.Seed = o.Seed
	}
	gen, err := generate.New(cfg)
	if err != nil {
		return nil, err
	}
	s := &Sim{fatalf: fatalf, opts: o, sock: sock, gen: gen, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 7))}
	s.Start()
	return s, nil
}

// Addr is the TETRAGON_ADDR of the simulator.
func (s *Sim) Addr() string { return "unix://" + s.sock }

// Start serves again (after Stop) on the same socket, continuing the stream.
func (s *Sim) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return
	}
	_ = os.Remove(s.sock)
	ln, err := net.Listen("unix", s.sock)
	if err != nil {
		s.fatalf("sim listen: %v", err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{encoding.GetCodecV2(proto.Name)}))
	srv.RegisterService(&serviceDesc, s)
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
}

// Stop kills the server as a crashing agent would: streams end at once.
func (s *Sim) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}

// Sent returns every event handed to a stream so far, duplicates included.
func (s *Sim) Sent() []source.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]source.Event(nil), s.sent...)
}

// SentCount is the number of events sent.
func (s *Sim) SentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nsent
}

// Finish stops sending new events (streams stay open); Sent is final after it.
func (s *Sim) Finish() {
	s.mu.Lock()
	s.opts.Count = s.nsent
	if s.pending != nil {
		s.pending = nil
	}
	s.mu.Unlock()
}

// Requests returns the GetEventsRequests received.
func (s *Sim) Requests() []*tetragon.GetEventsRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*tetragon.GetEventsRequest(nil), s.reqs...)
}

// WaitSent waits until n events were sent.
func (s *Sim) WaitSent(n int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for s.SentCount() < n {
		if time.Now().After(deadline) {
			s.fatalf("sim sent %d of %d events in %s", s.SentCount(), n, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// next picks the next event, or false when Count is reached.
func (s *Sim) next() (source.Event, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Count > 0 && s.nsent >= s.opts.Count {
		return source.Event{}, false, nil
	}
	if s.pending != nil {
		ev := *s.pending
		s.pending = nil
		return ev, true, nil
	}
	ev, err := s.gen.Next()
	if err != nil {
		return source.Event{}, false, err
	}
	if s.opts.DupRatio > 0 && s.rng.Float64() < s.opts.DupRatio {
		s.pending = &ev
	}
	return ev, true, nil
}

func (s *Sim) record(ev source.Event) {
	s.mu.Lock()
	s.nsent++
	if !s.opts.CountOnly {
		s.sent = append(s.sent, ev)
	}
	s.mu.Unlock()
}

// unsend puts back an event whose Send failed, so the sequence continues
// after a restart and Sent stays exact.
func (s *Sim) unsend(ev source.Event) {
	s.mu.Lock()
	if s.pending == nil {
		s.pending = &ev
	}
	s.mu.Unlock()
}

func (s *Sim) getEvents(req *tetragon.GetEventsRequest, stream grpc.ServerStream) error {
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	var tick *time.Ticker
	begin := time.Now()
	streamSent := 0
	if s.opts.Rate > 0 {
		// Every millisecond, send what the rate says is due since the
		// stream began: late ticks catch up, so the average rate holds.
		tick = time.NewTicker(time.Millisecond)
		defer tick.Stop()
	}
	for {
		n := 1 << 30
		if tick != nil {
			select {
			case <-tick.C:
			case <-stream.Context().Done():
				return nil
			}
			n = int(time.Since(begin).Seconds()*float64(s.opts.Rate)) - streamSent
		}
		for range n {
			streamSent++
			ev, ok, err := s.next()
			if err != nil {
				return err
			}
			if !ok {
				<-stream.Context().Done() // hold the stream open, like an idle agent
				return nil
			}
			raw := rawMsg(ev.Bytes)
			if err := stream.SendMsg(&raw); err != nil {
				s.unsend(ev)
				return err
			}
			s.record(ev)
		}
	}
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: "tetragon.FineGuidanceSensors",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "GetEvents",
		ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			req := &tetragon.GetEventsRequest{}
			if err := stream.RecvMsg(req); err != nil {
				return err
			}
			return srv.(*Sim).getEvents(req, stream)
		},
	}},
	Metadata: "tetragon/sensors.proto",
}

// rawMsg is an already-encoded GetEventsResponse.
type rawMsg []byte

type rawCodec struct{ proto encoding.CodecV2 }

func (c rawCodec) Name() string { return proto.Name }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(*rawMsg); ok {
		return mem.BufferSlice{mem.SliceBuffer(*r)}, nil
	}
	return c.proto.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }
