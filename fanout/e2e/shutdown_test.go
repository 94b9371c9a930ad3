package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// TestFanoutShutdownWithBrokerGone (issue 12): stream through two fanout
// replicas, stop the broker and blackhole its address, wait 45s (long
// enough for every client to sit in its retries and timeouts), then
// SIGTERM both. Each must exit within
// SHUTDOWN_TIMEOUT plus a little slack, whatever it was waiting for, and
// say in its last log line how it stopped. It once took minutes: goka alone
// waits up to a minute per step (in-flight messages, its producer, the
// consumer group's leave), and sarama's closes wait out network timeouts.
func TestFanoutShutdownWithBrokerGone(t *testing.T) {
	b := kafkatest.StartBroker(t, kafkatest.BrokerOptions{Nodes: 1})
	const timeout = 10 * time.Second
	// Time for the process to notice the signal, return and print its
	// last line; the runner's own steps are bounded by the timeout.
	const slack = 2 * time.Second
	s := newStack(t, stackConfig{brokers: b.Addrs(), partitions: 6, sim: simConfig(0, 500, 0),
		fanoutEnv: map[string]string{"SHUTDOWN_TIMEOUT": timeout.String()}})
	s.createRaw()
	s.startFanout("fanout-1")
	s.startFanout("fanout-2")
	s.waitAssigned(2 * time.Minute)
	s.startIngester()
	waitFor(t, "events reaching the outputs", time.Minute, func() (bool, string) {
		v := 0.0
		for _, r := range s.replicas() {
			if m, err := s.fanout(r).metrics(); err == nil {
				v += m.Sum("fanout_events_emitted_total")
			}
		}
		return v > 500, fmt.Sprintf("emitted %v", v)
	})
	b.Stop()
	// A broker that is gone on a real network does not refuse
	// connections at once as a stopped local one does: its address
	// blackholes them, and every request waits for sarama's 30s timeouts.
	// A listener that accepts and never answers does the same here.
	blackhole(t, b.Addr(1))
	time.Sleep(45 * time.Second)

	var wg sync.WaitGroup
	took := map[string]time.Duration{}
	var mu sync.Mutex
	for _, r := range s.replicas() {
		p := s.fanout(r)
		if !p.running() {
			t.Fatalf("%s exited while the broker was gone: %v (log %s)", p.name, p.waitErr, p.logPath)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(timeout + time.Minute):
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
			mu.Lock()
			took[p.name] = time.Since(t0)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, r := range s.replicas() {
		p := s.fanout(r)
		d := took[p.name]
		code := -1
		var ee *exec.ExitError
		switch {
		case p.waitErr == nil:
			code = 0
		case errors.As(p.waitErr, &ee) && ee.Exited():
			code = ee.ExitCode()
		}
		t.Logf("%s: exited %v (code %d) %s after SIGTERM, broker gone for 45s", p.name, p.waitErr, code, d.Round(10*time.Millisecond))
		if d > timeout+slack {
			t.Errorf("%s took %s to exit after SIGTERM, SHUTDOWN_TIMEOUT is %s (log %s)", p.name, d.Round(10*time.Millisecond), timeout, p.logPath)
		}
		if code != 0 && code != 1 {
			t.Errorf("%s: %v after SIGTERM, want exit 0 (clean) or 1 (shutdown incomplete) (log %s)", p.name, p.waitErr, p.logPath)
		}
		// The last line says how it stopped: "stopped", with the error
		// that made the exit non-zero.
		last := p.logLine(`"msg":"stopped"`)
		if last == "" {
			t.Errorf("%s: no \"stopped\" line in %s", p.name, p.logPath)
		} else if code == 1 && !containsAll(last, `"level":"ERROR"`, `"err":`) {
			t.Errorf("%s exited 1 but its stopped line names no error: %s", p.name, last)
		}
		s.forget(r)
	}
}

// blackhole accepts connections on addr and never answers, until the test
// ends.
func blackhole(t *testing.T, addr string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("blackhole on %s: %v", addr, err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
