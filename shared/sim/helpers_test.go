package sim

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// Tests talk to the simulator only through Tetragon's official client.

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func testConfig() Config {
	c := DefaultConfig()
	c.Logger = quietLogger()
	c.Nodes, c.Namespaces, c.Pods = 2, 4, 12
	return c
}

func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	return s
}

func dial(t *testing.T, target string, opts ...grpc.DialOption) tetragon.FineGuidanceSensorsClient {
	t.Helper()
	cc, err := grpc.NewClient(target, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return tetragon.NewFineGuidanceSensorsClient(cc)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// receive reads exactly n events from a new GetEvents stream.
func receive(t *testing.T, ctx context.Context, c tetragon.FineGuidanceSensorsClient, req *tetragon.GetEventsRequest, n int) ([]*tetragon.GetEventsResponse, grpc.ServerStreamingClient[tetragon.GetEventsResponse]) {
	t.Helper()
	st, err := c.GetEvents(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return recvN(t, st, n), st
}

func recvN(t *testing.T, st grpc.ServerStreamingClient[tetragon.GetEventsResponse], n int) []*tetragon.GetEventsResponse {
	t.Helper()
	out := make([]*tetragon.GetEventsResponse, 0, n)
	for len(out) < n {
		r, err := st.Recv()
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(out), n, err)
		}
		out = append(out, r)
	}
	return out
}

func countTypes(rs []*tetragon.GetEventsResponse) map[string]uint64 {
	m := map[string]uint64{}
	for _, r := range rs {
		m[eventtype.FromResponse(r)]++
	}
	return m
}

func waitDone(t *testing.T, s *Server) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(2 * time.Minute):
		t.Fatal("server did not finish")
	}
}

// eventually polls cond (books are updated by other goroutines); it never
// asserts on elapsed time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 6000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("never: %s", what)
}
