package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim"
)

// SIGTERM ends the ingester within SHUTDOWN_TIMEOUT whatever the broker's
// state, and the last log line before it exits has balanced books
// (received = published + dropped), logged before the timeout ran out:
//   - broker hung mid-stream (SIGSTOP: connections stay open, requests are
//     never answered; sarama waits 30 s per request),
//   - broker hung before the ingester connects (its first requests hang),
//   - broker stopped mid-stream (connections refused).
func TestShutdownBoundedWhateverTheBroker(t *testing.T) {
	broker := kafkatest.StartBroker(t, kafkatest.BrokerOptions{})
	bin := buildIngester(t)
	s := startSimServer(t)
	const timeout = 4 * time.Second
	run := func(t *testing.T, topic string) *ingesterProc {
		return startIngester(t, bin, map[string]string{
			"TETRAGON_ADDR": s.Target(), "KAFKA_BROKERS": strings.Join(broker.Addrs(), ","),
			"KAFKA_VERSION": kafkatest.Version().String(), "RAW_TOPIC": topic, "RAW_TOPIC_PARTITIONS": "3",
			"NODE_NAME": "shutdown-test", "SHUTDOWN_TIMEOUT": timeout.String(), "LOG_FORMAT": "json",
			"KAFKA_CONNECT_BACKOFF_MAX": "1s", "QUEUE_POLICY": "block",
		})
	}
	streaming := func(t *testing.T, p *ingesterProc) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for p.metric("ingester_events_published_total") < 500 {
			if time.Now().After(deadline) || p.exited() {
				t.Fatalf("not publishing (exited %v):\n%s", p.exited(), p.logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	pid := brokerPID(t, broker)
	paused := false
	t.Cleanup(func() {
		if paused {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	})

	t.Run("broker hung mid-stream", func(t *testing.T) {
		p := run(t, "shutdown-hung")
		streaming(t, p)
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		paused = true
		// Long enough for in-flight requests and the idle probe to hang.
		time.Sleep(7 * time.Second)
		p.terminate(t, timeout)
	})
	t.Run("broker hung at start", func(t *testing.T) {
		if !paused {
			t.Skip("needs the hung broker of the previous case")
		}
		p := run(t, "shutdown-hung-start")
		// Long enough to be inside the first connect attempt's requests.
		time.Sleep(2 * time.Second)
		p.terminate(t, timeout)
	})
	if paused {
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		paused = false
	}
	t.Run("broker stopped mid-stream", func(t *testing.T) {
		p := run(t, "shutdown-stopped")
		streaming(t, p)
		broker.Stop()
		time.Sleep(7 * time.Second)
		p.terminate(t, timeout)
	})
}

// brokerPID is the JVM of the private broker's node 1 (kafka.sh's pid file).
func brokerPID(t *testing.T, b *kafkatest.Broker) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(b.DataDir(), "node-1", "kafka.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func buildIngester(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ingester")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build ingester: %v\n%s", err, out)
	}
	return bin
}

// startSimServer runs an endless simulated Tetragon stream on a unix socket.
func startSimServer(t *testing.T) *sim.Server {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.Rate, cfg.Seed, cfg.StopTimeout = 2000, 1, 2*time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sim") // t.TempDir paths can exceed a socket path's 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); _ = os.RemoveAll(dir) })
	if err := s.Start("unix://" + filepath.Join(dir, "tetragon.sock")); err != nil {
		t.Fatal(err)
	}
	return s
}

type ingesterProc struct {
	cmd  *exec.Cmd
	addr string
	logs *lockedBuffer
	done chan struct{}
}

func startIngester(t *testing.T, bin string, env map[string]string) *ingesterProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env["HTTP_ADDR"] = addr
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &ingesterProc{cmd: cmd, addr: addr, logs: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("ingester log:\n%s", p.logs.String())
		}
	})
	return p
}

func (p *ingesterProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// terminate sends SIGTERM and checks that the ingester exits within timeout
// (plus slack for the process itself), having logged balanced books before
// timeout ran out.
func (p *ingesterProc) terminate(t *testing.T, timeout time.Duration) {
	t.Helper()
	const slack = 1500 * time.Millisecond
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(timeout + slack):
		t.Fatalf("still running %s after SIGTERM with SHUTDOWN_TIMEOUT=%s", timeout+slack, timeout)
	}
	took := time.Since(sent)
	books, at := p.books(t)
	t.Logf("exited %s after SIGTERM; books logged after %s: %v", took.Round(time.Millisecond), at.Sub(sent).Round(time.Millisecond), books)
	if at.Sub(sent) > timeout {
		t.Errorf("books logged %s after SIGTERM, after SHUTDOWN_TIMEOUT=%s", at.Sub(sent), timeout)
	}
	if books["dropped"] > 0 && p.cmd.ProcessState != nil && p.cmd.ProcessState.ExitCode() == 0 {
		t.Errorf("%v events not delivered, yet the ingester exited 0", books["dropped"])
	}
	if books["received"] != books["published"]+books["dropped"] {
		t.Errorf("received %v != published %v + dropped %v", books["received"], books["published"], books["dropped"])
	}
	if books["received"] == 0 && !strings.Contains(t.Name(), "at start") {
		t.Errorf("received nothing")
	}
}

// books reads the "shutdown complete" log line: its counts and its time.
func (p *ingesterProc) books(t *testing.T) (map[string]float64, time.Time) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["msg"] != "shutdown complete" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, line["time"].(string))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, k := range []string{"received", "published", "dropped"} {
			n, _ := line[k].(float64)
			out[k] = n
		}
		return out, at
	}
	t.Fatalf("no \"shutdown complete\" line:\n%s", p.logs.String())
	return nil, time.Time{}
}

// metric sums the samples of name on the ingester's /metrics (0 if unreachable).
func (p *ingesterProc) metric(name string) float64 {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || rest[0] != ' ' && rest[0] != '{' {
			continue
		}
		f := strings.Fields(rest)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
