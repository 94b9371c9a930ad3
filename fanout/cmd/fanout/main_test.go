package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
		"KAFKA_BROKERS", "KAFKA_SASL_MECHANISM", "dlq-redrive"} {
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
