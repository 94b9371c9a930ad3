package tetragon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
)

// fakeServer is a minimal FineGuidanceSensors for unit tests (the
// integration tests use tetragon-sim): it sends events, then either ends
// the stream or holds it open.
type fakeServer struct {
	tetragon.UnimplementedFineGuidanceSensorsServer
	events []*tetragon.GetEventsResponse
	hold   bool
	mu     sync.Mutex
	reqs   []*tetragon.GetEventsRequest
}

func (s *fakeServer) GetEvents(req *tetragon.GetEventsRequest, stream grpc.ServerStreamingServer[tetragon.GetEventsResponse]) error {
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	for _, ev := range s.events {
		if err := stream.Send(ev); err != nil {
			return err
		}
	}
	if s.hold {
		<-stream.Context().Done()
	}
	return nil
}

func serve(t *testing.T, sock string, s *fakeServer) *grpc.Server {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	tetragon.RegisterFineGuidanceSensorsServer(g, s)
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)
	return g
}

func sampleEvents(n int) []*tetragon.GetEventsResponse {
	out := make([]*tetragon.GetEventsResponse, n)
	for i := range out {
		out[i] = &tetragon.GetEventsResponse{
			NodeName: "node-1",
			Time:     timestamppb.New(time.Unix(1700000000, int64(i))),
			Event: &tetragon.GetEventsResponse_ProcessExec{ProcessExec: &tetragon.ProcessExec{
				Process: &tetragon.Process{ExecId: "abc", Pid: wrapperspb.UInt32(uint32(100 + i)), Binary: "/bin/true"},
			}},
		}
	}
	return out
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestReceiverDeliversRawBytesAndSendsFilters(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "t.sock")
	srv := &fakeServer{events: sampleEvents(50), hold: true}
	serve(t, sock, srv)
	req := Request([]*tetragon.Filter{{EventSet: []tetragon.EventType{tetragon.EventType_PROCESS_EXEC}}}, nil, nil)
	m := metrics.New(prometheus.NewRegistry())
	r, err := NewReceiver(Options{Addr: mustAddr(t, "unix://"+sock), ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond, HealthyAfter: time.Second, Request: req}, m, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan []byte, 100)
	done := make(chan error)
	go func() { done <- r.Run(ctx, func(b []byte) { got <- b }) }()
	for i, want := range srv.events {
		var b []byte
		select {
		case b = <-got:
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d not received", i)
		}
		var ev tetragon.GetEventsResponse
		if err := proto.Unmarshal(b, &ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !proto.Equal(&ev, want) {
			t.Fatalf("event %d = %v, want %v", i, &ev, want)
		}
	}
	if !r.Connected() || metrics.Value(m.TetragonConnected) != 1 {
		t.Fatal("not connected while the stream is open")
	}
	srv.mu.Lock()
	if len(srv.reqs) != 1 || !proto.Equal(srv.reqs[0], req) {
		t.Fatalf("server got requests %v, want %v", srv.reqs, req)
	}
	srv.mu.Unlock()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.Connected() || metrics.Value(m.TetragonConnected) != 0 {
		t.Fatal("connected after Run returned")
	}
}

func TestReceiverReconnectsWithBackoffThatResets(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "t.sock")
	m := metrics.New(prometheus.NewRegistry())
	min, max := 20*time.Millisecond, 160*time.Millisecond
	r, err := NewReceiver(Options{Addr: mustAddr(t, "unix://"+sock), ReconnectMin: min, ReconnectMax: max, HealthyAfter: time.Hour}, m, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan []byte, 100)
	go func() { _ = r.Run(ctx, func(b []byte) { got <- b }) }()

	// No server: attempts fail and the wait grows to the maximum.
	waitFor(t, func() bool { return metrics.Value(m.TetragonBackoff) > (max / 2).Seconds() })
	if r.Connected() {
		t.Fatal("connected without a server")
	}
	// A server that sends 3 events and ends the stream each time: every
	// stream delivered events, so the backoff resets to the minimum.
	serve(t, sock, &fakeServer{events: sampleEvents(3)})
	for range 6 {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("no events after the server came up")
		}
	}
	before := metrics.Value(m.TetragonReconnects)
	waitFor(t, func() bool { return metrics.Value(m.TetragonReconnects) > before })
	if b := metrics.Value(m.TetragonBackoff); b > min.Seconds() {
		t.Fatalf("backoff after a healthy stream = %gs, want <= %s", b, min)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in       string
		target   string
		unix     bool
		loopback bool
	}{
		{"unix:///var/run/tetragon/tetragon.sock", "unix:///var/run/tetragon/tetragon.sock", true, true},
		{"/run/t.sock", "unix:///run/t.sock", true, true},
		{"localhost:54321", "dns:///localhost:54321", false, true},
		{"127.0.0.1:54321", "dns:///127.0.0.1:54321", false, true},
		{"[::1]:54321", "dns:///[::1]:54321", false, true},
		{"10.1.2.3:54321", "dns:///10.1.2.3:54321", false, false},
		{"tetragon.kube-system:54321", "dns:///tetragon.kube-system:54321", false, false},
	} {
		a, err := ParseAddr(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if a.Target != tc.target || a.Unix != tc.unix || a.Loopback() != tc.loopback {
			t.Errorf("%s = %+v loopback=%v", tc.in, a, a.Loopback())
		}
	}
	for _, bad := range []string{"", "localhost", "unix://relative", "unix:", "host:"} {
		if _, err := ParseAddr(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func mustAddr(tb testing.TB, s string) Addr {
	tb.Helper()
	a, err := ParseAddr(s)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}
