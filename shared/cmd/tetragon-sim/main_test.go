package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim"
)

func TestBadFlagsExit2NamingTheFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--rate", "abc"}, "rate"},
		{[]string{"--rate", "-5"}, "rate"},
		{[]string{"--events", "-1"}, "events"},
		{[]string{"--dup-ratio", "2"}, "dup-ratio"},
		{[]string{"--dup-delay", "soon"}, "dup-delay"},
		{[]string{"--nodes", "0"}, "nodes"},
		{[]string{"--namespaces", "9", "--pods", "3"}, "namespaces"},
		{[]string{"--pods", "0"}, "pods"},
		{[]string{"--wait-clients", "0"}, "wait-clients"},
		{[]string{"--queue", "0"}, "queue"},
		{[]string{"--log-level", "loud"}, "log-level"},
		{[]string{"--listen", "nowhere"}, "listen"},
		{[]string{"--replay", "/nonexistent.jsonl"}, "replay"},
		{[]string{"--replay", t.TempDir()}, "replay"}, // a directory
		{[]string{"--listen", "127.0.0.1:99999"}, "listen"},
		{[]string{"--listen", "127.0.0.1:nosuchservice"}, "listen"},
		{[]string{"--metrics-addr", "bad:addr:x"}, "metrics-addr"},
		{[]string{"--metrics-addr", "127.0.0.1:65536"}, "metrics-addr"},
		{[]string{"--metrics-addr", "nocolon"}, "metrics-addr"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"stray"}, "stray"},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.flag) {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, errb.String())
		}
		if seg, ok := repeatedSegment(errb.String()); ok {
			t.Errorf("%v: %q says %q twice", c.args, errb.String(), seg)
		}
	}
}

// repeatedSegment finds a context prefix that an error message carries
// twice ("--replay: replay: ...", "read x: read x: ..."), the sign of two
// layers wrapping the same context.
func repeatedSegment(msg string) (string, bool) {
	line, _, _ := strings.Cut(msg, "\n")
	seen := map[string]bool{}
	for _, seg := range strings.Split(line, ": ") {
		seg = strings.TrimPrefix(strings.TrimSpace(seg), "--")
		if seen[seg] {
			return seg, true
		}
		seen[seg] = true
	}
	return "", false
}

func TestRepeatedSegmentDetectsDoubledContext(t *testing.T) {
	for msg, want := range map[string]bool{
		"tetragon-sim: --replay: replay: open /x: no such file or directory": true,
		"tetragon-sim: --replay: read adir: read adir: is a directory":       true,
		"tetragon-sim: --replay: read adir: is a directory":                  false,
	} {
		if _, got := repeatedSegment(msg); got != want {
			t.Errorf("%q: repeated = %v, want %v", msg, got, want)
		}
	}
}

// A metrics address that parses but cannot be bound (taken) is a failed
// start, not a simulator running silently without its metrics.
func TestMetricsAddrInUseFailsTheStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out, errb bytes.Buffer
	code := run([]string{"--listen", "127.0.0.1:0", "--metrics-addr", l.Addr().String()}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "--metrics-addr") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestHelpAndVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, f := range []string{"--listen", "--events", "--rate", "--dup-ratio", "--dup-delay", "--replay", "--seed",
		"--nodes", "--namespaces", "--pods", "--wait-clients", "--queue", "--log-level"} {
		if !strings.Contains(out.String(), f+" ") {
			t.Errorf("--help does not list %s", f)
		}
	}
	out.Reset()
	if code := run([]string{"version"}, &out, &errb); code != 0 || strings.TrimSpace(out.String()) != sim.VersionString() {
		t.Fatalf("version: %d %q", code, out.String())
	}
}

// TestBinaryDeliversExactly is the done check: the built binary, an
// independent client on Tetragon's official API, exact counts.
func TestBinaryDeliversExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "tetragon-sim")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	const n, ratio = 20000, 0.05
	var logs syncBuffer
	cmd := exec.Command(bin, "--listen", addr, "--events", "20000", "--rate", "0", "--dup-ratio", "0.05", "--dup-delay", "2ms")
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := tetragon.NewFineGuidanceSensorsClient(cc).GetEvents(ctx, &tetragon.GetEventsRequest{}, grpc.WaitForReady(true))
	if err != nil {
		t.Fatal(err)
	}
	want := n + int(sim.ExpectedDuplicates(n, ratio))
	types := map[string]int{}
	for i := range want {
		r, err := st.Recv()
		if err != nil {
			t.Fatalf("after %d of %d: %v\n%s", i, want, err, logs.String())
		}
		types[eventtype.FromResponse(r)]++
	}
	// Nine: every type Tetragon sends on gRPC but test; no rate_limit_info
	// unless --rate-limit-info (Tetragon never sends it on gRPC).
	if len(types) != 9 || types[eventtype.Unknown] != 0 || types["rate_limit_info"] != 0 {
		t.Fatalf("types: %v", types)
	}
	// Wait for the summary log line, then stop it as an operator would.
	for !strings.Contains(logs.String(), "all events sent") {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "distinct=20000 duplicates=1000") {
		t.Fatalf("summary does not match:\n%s", logs.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, logs.String())
	}
	_, err = st.Recv() // stream was open until the server stopped
	if err == nil || err == io.EOF {
		t.Fatalf("stream after stop: %v", err)
	}
}

// syncBuffer is written by exec's copying goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
