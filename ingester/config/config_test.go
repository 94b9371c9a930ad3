package config

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/queue"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
)

func parse(env map[string]string) (*Config, error) {
	var c Config
	err := envconfig.ParseEnv(&c, env)
	return &c, err
}

func TestDefaultsAreValid(t *testing.T) {
	c, err := parse(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy() != queue.DropOldest || c.QueueSize != 8192 || c.RawTopic != "tetragon.raw" || c.RawTopicPartitions != 12 {
		t.Fatalf("defaults: %+v", c)
	}
	if !c.Addr().Unix || c.Addr().Target != "unix:///var/run/tetragon/tetragon.sock" {
		t.Fatalf("addr = %+v", c.Addr())
	}
	if c.NodeName == "" {
		t.Fatal("NODE_NAME did not default to the hostname")
	}
	if c.ShutdownTimeout != 20*time.Second || c.Tetragon.MaxRecvBytes < 10<<20 {
		t.Fatalf("shutdown %s, max recv %d", c.ShutdownTimeout, c.Tetragon.MaxRecvBytes)
	}
	spec := c.TopicSpec()
	if spec.Partitions != 12 || spec.Replication != 1 || spec.Retention != 24*time.Hour || spec.Configs["max.message.bytes"] != "10485760" {
		t.Fatalf("topic spec = %+v", spec)
	}
}

func TestFiltersBuildTheRequest(t *testing.T) {
	c, err := parse(map[string]string{
		"TETRAGON_ALLOW_LIST":      `[{"event_set":["PROCESS_EXEC","PROCESS_KPROBE"]}]`,
		"TETRAGON_DENY_LIST":       `{"namespace":["kube-system"]}`,
		"TETRAGON_FIELD_FILTERS":   `{"event_set":["PROCESS_KPROBE"],"fields":"args","action":"EXCLUDE"}`,
		"TETRAGON_ADDR":            "10.0.0.5:54321",
		"TETRAGON_ALLOW_PLAINTEXT": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Request()
	if len(r.GetAllowList()) != 1 || len(r.GetDenyList()) != 1 || len(r.GetFieldFilters()) != 1 {
		t.Fatalf("request = %v", r)
	}
	if len(c.Warnings()) == 0 || !strings.Contains(strings.Join(c.Warnings(), "\n"), "TETRAGON_ALLOW_PLAINTEXT") {
		t.Fatalf("warnings = %v", c.Warnings())
	}
}

// Every invalid setting is refused with an error naming its variable.
func TestInvalidSettingsNameTheVariable(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{"QUEUE_POLICY": "drop"}, "QUEUE_POLICY"},
		{map[string]string{"QUEUE_SIZE": "0"}, "QUEUE_SIZE"},
		{map[string]string{"QUEUE_SIZE": "many"}, "QUEUE_SIZE"},
		// An empty variable counts as unset (caarlos0/env): blanks are what
		// an operator can get wrong.
		{map[string]string{"KAFKA_BROKERS": " "}, "KAFKA_BROKERS"},
		{map[string]string{"KAFKA_BROKERS": "kafka"}, "KAFKA_BROKERS"},
		{map[string]string{"KAFKA_COMPRESSION": "brotli"}, "KAFKA_COMPRESSION"},
		{map[string]string{"TETRAGON_ADDR": " "}, "TETRAGON_ADDR"},
		{map[string]string{"TETRAGON_ADDR": "tetragon"}, "TETRAGON_ADDR"},
		{map[string]string{"TETRAGON_ADDR": "10.0.0.5:54321"}, "TETRAGON_ADDR"},
		{map[string]string{"TETRAGON_ALLOW_LIST": `{"event_set":["EXEC"]}`}, "TETRAGON_ALLOW_LIST"},
		{map[string]string{"TETRAGON_ALLOW_LIST": `[{"binary_regex":["("]}]`}, "TETRAGON_ALLOW_LIST"},
		{map[string]string{"TETRAGON_DENY_LIST": `not json`}, "TETRAGON_DENY_LIST"},
		{map[string]string{"TETRAGON_FIELD_FILTERS": `{"fields":"process.exec_id","action":"EXCLUDE"}`}, "TETRAGON_FIELD_FILTERS"},
		{map[string]string{"TETRAGON_FIELD_FILTERS": `{"fields":"process.binary","action":"INCLUDE"}`}, "TETRAGON_FIELD_FILTERS"},
		{map[string]string{"TETRAGON_FIELD_FILTERS": `{"fields":"process.binary","action":"KEEP"}`}, "TETRAGON_FIELD_FILTERS"},
		{map[string]string{"TETRAGON_TLS_CA_FILE": filepath.Join(dir, "ca.pem")}, "TETRAGON_TLS_ENABLED"},
		{map[string]string{"TETRAGON_TLS_ENABLED": "true", "TETRAGON_ADDR": "10.0.0.5:1", "TETRAGON_TLS_CA_FILE": filepath.Join(dir, "missing.pem")}, "TETRAGON_TLS_CA_FILE"},
		{map[string]string{"TETRAGON_TLS_ENABLED": "true", "TETRAGON_ADDR": "10.0.0.5:1", "TETRAGON_TLS_CERT_FILE": "/etc/hostname"}, "TETRAGON_TLS_CERT_FILE"},
		{map[string]string{"TETRAGON_MAX_RECV_BYTES": "4194304"}, "TETRAGON_MAX_RECV_BYTES"},
		{map[string]string{"TETRAGON_KEEPALIVE_TIME": "1s"}, "TETRAGON_KEEPALIVE_TIME"},
		{map[string]string{"TETRAGON_RECONNECT_MIN": "0s"}, "TETRAGON_RECONNECT_MIN"},
		{map[string]string{"TETRAGON_RECONNECT_MAX": "1ms"}, "TETRAGON_RECONNECT_MAX"},
		{map[string]string{"TETRAGON_RECONNECT_MAX": "soon"}, "TETRAGON_RECONNECT_MAX"},
		{map[string]string{"RAW_TOPIC": " "}, "RAW_TOPIC"},
		{map[string]string{"RAW_TOPIC": "tetragon/raw"}, "RAW_TOPIC"},
		{map[string]string{"RAW_TOPIC_PARTITIONS": "0"}, "RAW_TOPIC_PARTITIONS"},
		{map[string]string{"RAW_TOPIC_REPLICATION": "0"}, "RAW_TOPIC_REPLICATION"},
		{map[string]string{"RAW_TOPIC_RETENTION": "-1h"}, "RAW_TOPIC_RETENTION"},
		{map[string]string{"RAW_TOPIC_COMPRESSION": "brotli"}, "RAW_TOPIC_COMPRESSION"},
		{map[string]string{"RAW_TOPIC_CREATE": "maybe"}, "RAW_TOPIC_CREATE"},
		{map[string]string{"KAFKA_MAX_INFLIGHT": "0"}, "KAFKA_MAX_INFLIGHT"},
		{map[string]string{"KAFKA_COMPRESSION_LEVEL": "0"}, "KAFKA_COMPRESSION_LEVEL"},
		{map[string]string{"KAFKA_COMPRESSION": "gzip", "KAFKA_COMPRESSION_LEVEL": "12"}, "KAFKA_COMPRESSION_LEVEL"},
		{map[string]string{"PUBLISH_GIVE_UP_AFTER": "-1s"}, "PUBLISH_GIVE_UP_AFTER"},
		{map[string]string{"SHUTDOWN_TIMEOUT": "10ms"}, "SHUTDOWN_TIMEOUT"},
		{map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{map[string]string{"HTTP_ADDR": "8080"}, "HTTP_ADDR"},
	} {
		_, err := parse(tc.env)
		var fe *envconfig.FieldError
		if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.name+":") {
			t.Errorf("%v: err = %v, want one naming %s", tc.env, err, tc.name)
		}
	}
}

// The binary exits 2 on a bad setting and names the variable.
func TestBinaryExitsTwoOnInvalidSetting(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "ingester")
	build := exec.Command("go", "build", "-o", bin, "github.com/tetragon-fanout/tetragon-fanout/ingester/cmd/ingester")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "QUEUE_POLICY=sometimes", `TETRAGON_FIELD_FILTERS={"fields":"process.pid","action":"EXCLUDE"}`)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit = %v, want 2\n%s", err, out)
	}
	for _, name := range []string{"QUEUE_POLICY", "TETRAGON_FIELD_FILTERS"} {
		if !strings.Contains(string(out), name) {
			t.Errorf("output does not name %s:\n%s", name, out)
		}
	}
	// Set but empty is refused by name, not replaced by localhost:9092.
	cmd = exec.Command(bin)
	cmd.Env = append(os.Environ(), "KAFKA_BROKERS=")
	out, err = cmd.CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "KAFKA_BROKERS: ") {
		t.Fatalf("KAFKA_BROKERS=\"\": exit %v, want 2 naming it\n%s", err, out)
	}
	ver, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(ver), "ingester ") {
		t.Fatalf("version = %q, %v", ver, err)
	}
	help, err := exec.Command(bin, "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"TETRAGON_ADDR", "QUEUE_POLICY", "RAW_TOPIC", "SHUTDOWN_TIMEOUT", "KAFKA_BROKERS", "NODE_NAME"} {
		if !strings.Contains(string(help), name) {
			t.Errorf("--help does not list %s", name)
		}
	}
}

// Every variable set to "" (or blank) is refused by name, except the few
// whose help says what empty means; caarlos0/env alone would take the
// default and hide a template whose value was missing.
func TestEmptyVariablesAreRefusedByName(t *testing.T) {
	if err := envconfig.CheckTags(&Config{}); err != nil {
		t.Fatal(err)
	}
	allowed := 0
	for _, v := range envconfig.Vars(&Config{}) {
		for _, val := range []string{"", "  "} {
			_, err := parse(map[string]string{v.Name: val})
			var fe *envconfig.FieldError
			named := errors.As(err, &fe) && strings.Contains(err.Error(), v.Name+": ")
			switch {
			case v.AllowEmpty && err != nil && val == "":
				t.Errorf("%s=%q is documented as meaningful, but: %v", v.Name, val, err)
			case !v.AllowEmpty && !named:
				t.Errorf("%s=%q: err = %v, want one naming %s", v.Name, val, err, v.Name)
			}
		}
		if v.AllowEmpty {
			allowed++
		}
	}
	if allowed != 4 { // TETRAGON_ALLOW_LIST, _DENY_LIST, _FIELD_FILTERS, KAFKA_SASL_MECHANISM
		t.Errorf("%d variables accept empty; review the list", allowed)
	}
	_, err := parse(map[string]string{"KAFKA_BROKERS": ""})
	if err == nil || !strings.Contains(err.Error(), "KAFKA_BROKERS: ") {
		t.Fatalf("KAFKA_BROKERS=\"\": %v", err)
	}
}
