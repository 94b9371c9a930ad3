package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fanout")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := build(t)

	out, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, v := range []string{"FANOUT_GROUP", "RAW_TOPIC", "ROUTES_FILE", "DEDUP_WINDOW", "DLQ_TOPIC", "STATE_DIR",
		"TABLE_STORAGE", "TABLE_REPLICATION", "OUTPUT_TOPIC_PARTITIONS", "OUTPUT_TOPIC_REPLICATION",
		"OUTPUT_TOPIC_RETENTION", "FANOUT_START_OFFSET", "HOT_STANDBY", "KAFKA_LINGER", "HTTP_ADDR", "LOG_LEVEL",
		"KAFKA_BROKERS", "KAFKA_SASL_MECHANISM", "DEBUG_PPROF", "dlq-redrive"} {
		if !strings.Contains(string(out), v) {
			t.Errorf("--help does not mention %s", v)
		}
	}
	if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "fanout ") {
		t.Errorf("version: %q %v", out, err)
	}

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "DEDUP_WINDOW=soon", "TABLE_STORAGE=redis")
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("bad settings: exit %v, want 2", err)
	}
	if !strings.Contains(string(out), "DEDUP_WINDOW") {
		t.Errorf("the error does not name the variable:\n%s", out)
	}

	// Set but empty is not unset: each is refused by name, not replaced by
	// its default (FANOUT_GROUP) or read as "no routes" (ROUTES_FILE).
	for _, name := range []string{"KAFKA_BROKERS", "FANOUT_GROUP", "ROUTES_FILE"} {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), name+"=")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), name+": ") {
			t.Errorf("%s=\"\": exit %v, want 2 naming it:\n%s", name, err, out)
		}
	}

	out, err = exec.Command(bin, "dlq-redrive", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-dry-run") || !strings.Contains(string(out), "DLQ_TOPIC") {
		t.Errorf("dlq-redrive --help: %v\n%s", err, out)
	}
	cmd = exec.Command(bin, "dlq-redrive")
	cmd.Env = append(os.Environ(), "KAFKA_VERSION=0.8")
	if err := cmd.Run(); err == nil {
		t.Error("dlq-redrive accepted KAFKA_VERSION=0.8")
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("dlq-redrive with a bad setting: %v, want exit 2", err)
	}
}

// TestDebugPprof: /debug/pprof is served on HTTP_ADDR only with
// DEBUG_PPROF=true. The HTTP server runs while the fanout waits for an
// unreachable broker, so no Kafka is needed.
func TestDebugPprof(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := build(t)
	for _, on := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "KAFKA_BROKERS=127.0.0.1:1", "HTTP_ADDR="+addr, "LOG_LEVEL=error",
			"REPLICA_ID=pprof-test", "DEBUG_PPROF="+strconv.FormatBool(on))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		code := 0
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			resp, err := http.Get("http://" + addr + "/debug/pprof/allocs")
			if err != nil {
				continue
			}
			_ = resp.Body.Close()
			code = resp.StatusCode
			break
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if want := map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[on]; code != want {
			t.Errorf("DEBUG_PPROF=%v: /debug/pprof/allocs answered %d, want %d", on, code, want)
		}
	}
}
