package sim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// tetragonGRPCTypes are the event types Tetragon's gRPC server sends: the
// GetEventsResponse oneofs built under its pkg/grpc (exec/exec.go: exec,
// exit; tracing/tracing.go: kprobe, tracepoint, uprobe, usdt, lsm, loader,
// throttle; test/test.go: test), read in cilium/tetragon main. The one
// type missing, rate_limit_info, is built only by pkg/ratelimit for the
// JSON exporter, and Tetragon's compact encoder (tetra getevents -o
// compact) fails on it. The github.com/cilium/tetragon module does not
// build through the proxy here, so this list stands in for running the
// stream through Tetragon's encoders.
var tetragonGRPCTypes = map[tetragon.EventType]bool{
	tetragon.EventType_PROCESS_EXEC: true, tetragon.EventType_PROCESS_EXIT: true,
	tetragon.EventType_PROCESS_KPROBE: true, tetragon.EventType_PROCESS_TRACEPOINT: true,
	tetragon.EventType_PROCESS_UPROBE: true, tetragon.EventType_PROCESS_USDT: true,
	tetragon.EventType_PROCESS_LSM: true, tetragon.EventType_PROCESS_LOADER: true,
	tetragon.EventType_PROCESS_THROTTLE: true, tetragon.EventType_TEST: true,
}

func isTetragonGRPCType(typ string) bool {
	k, ok := eventtype.FilterName(typ)
	return ok && tetragonGRPCTypes[k]
}

// The generated stream carries only what Tetragon's gRPC server sends, and
// every such type but test (which Tetragon sends only on request).
func TestGeneratedStreamHasOnlyTetragonGRPCTypes(t *testing.T) {
	cfg := testConfig()
	cfg.Events = 2000
	s := startServer(t, cfg)
	got, _ := receive(t, testCtx(t), dial(t, s.Target()), &tetragon.GetEventsRequest{}, 2000)
	types := countTypes(got)
	for typ, n := range types {
		if !isTetragonGRPCType(typ) {
			t.Errorf("sent %d %s events: Tetragon's gRPC server never sends that type", n, typ)
		}
	}
	for k := range tetragonGRPCTypes {
		if typ := eventtype.FromFieldNumber(int32(k)); k != tetragon.EventType_TEST && types[typ] == 0 {
			t.Errorf("no %s in 2000 events: %v", typ, types)
		}
	}
}

// --rate-limit-info is the opt-in: the generator then makes some.
func TestRateLimitInfoOnRequest(t *testing.T) {
	cfg := testConfig()
	cfg.Events, cfg.RateLimitInfo = 1000, true
	s := startServer(t, cfg)
	got, _ := receive(t, testCtx(t), dial(t, s.Target()), &tetragon.GetEventsRequest{}, 1000)
	if n := countTypes(got)[rateLimitInfoType]; n == 0 {
		t.Fatalf("no rate_limit_info with RateLimitInfo set: %v", countTypes(got))
	}
}

// Replay: an export file holds rate_limit_info (Tetragon writes it there);
// the stream drops it unless asked, and a file of nothing else is an error
// naming --replay.
func TestReplayKeepsRateLimitInfoOffTheStream(t *testing.T) {
	dir := t.TempDir()
	exec, err := os.ReadFile("replay/testdata/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(exec), "\n")
	rli := `{"rate_limit_info":{"number_of_dropped_process_events":"1523"},"node_name":"node-f","time":"2024-05-06T00:00:10Z"}`
	mixed := filepath.Join(dir, "mixed.jsonl")
	only := filepath.Join(dir, "only.jsonl")
	if err := os.WriteFile(mixed, []byte(first+"\n"+rli+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(only, []byte(rli+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{false, true} {
		cfg := testConfig()
		cfg.Replay, cfg.Events, cfg.RateLimitInfo = []string{mixed}, 20, keep
		s := startServer(t, cfg)
		got, _ := receive(t, testCtx(t), dial(t, s.Target()), &tetragon.GetEventsRequest{}, 20)
		types := countTypes(got)
		if keep != (types[rateLimitInfoType] > 0) || types["process_exec"] == 0 {
			t.Errorf("RateLimitInfo %v: replay sent %v", keep, types)
		}
		s.Close()
	}
	cfg := testConfig()
	cfg.Replay = []string{only}
	_, err = New(cfg)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Flag != "replay" || !strings.Contains(err.Error(), "rate_limit_info") {
		t.Fatalf("replay of rate_limit_info only: %v", err)
	}
	cfg.RateLimitInfo = true
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("with RateLimitInfo: %v", err)
	}
	s.Close()
}
