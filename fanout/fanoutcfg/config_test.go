package fanoutcfg

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
)

func parse(t *testing.T, env map[string]string) (*Config, error) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["REPLICA_ID"]; !ok {
		env["REPLICA_ID"] = "r1"
	}
	var c Config
	return &c, envconfig.ParseEnv(&c, env)
}

func TestDefaults(t *testing.T) {
	c, err := parse(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Group != "tetragon-fanout" || c.RawTopic != "tetragon.raw" || c.DLQTopic != "tetragon.dlq" ||
		c.DedupWindow != 10*time.Minute || c.TableStorage != "memory" || c.Routes() == nil {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Start().Initial != sarama.OffsetOldest || !c.Start().Time.IsZero() {
		t.Fatalf("start offset default %+v", c.Start())
	}
	if c.TableTopic() != "tetragon-fanout-table" || c.TableDir() != "/var/lib/tetragon-fanout/tetragon-fanout/r1" {
		t.Fatalf("table topic %s dir %s", c.TableTopic(), c.TableDir())
	}
	spec := c.TableSpec(12)
	if spec.Partitions != 12 || spec.Configs["cleanup.policy"] != "compact,delete" ||
		spec.Configs["segment.ms"] != "150000" || spec.Retention != 20*time.Minute {
		t.Fatalf("table spec %+v", spec)
	}
}

func TestStartOffset(t *testing.T) {
	c, err := parse(t, map[string]string{"FANOUT_START_OFFSET": "newest"})
	if err != nil || c.Start().Initial != sarama.OffsetNewest {
		t.Fatalf("newest: %+v %v", c.Start(), err)
	}
	c, err = parse(t, map[string]string{"FANOUT_START_OFFSET": "2026-01-02T03:04:05Z"})
	if err != nil || !c.Start().Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("time: %+v %v", c.Start(), err)
	}
}

func TestInvalidNamesTheVariable(t *testing.T) {
	dir := t.TempDir()
	badRoutes := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(badRoutes, []byte("version: 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"FANOUT_GROUP": "a b"}, "FANOUT_GROUP"},
		{map[string]string{"RAW_TOPIC": "raw topic!"}, "RAW_TOPIC"},
		{map[string]string{"DLQ_TOPIC": "tetragon.raw"}, "DLQ_TOPIC"},
		{map[string]string{"DEDUP_WINDOW": "10ms"}, "DEDUP_WINDOW"},
		{map[string]string{"DEDUP_WINDOW": "ten minutes"}, "DEDUP_WINDOW"},
		{map[string]string{"FANOUT_START_OFFSET": "yesterday"}, "FANOUT_START_OFFSET"},
		{map[string]string{"TABLE_STORAGE": "redis"}, "TABLE_STORAGE"},
		{map[string]string{"TABLE_STORAGE": "leveldb", "STATE_DIR": "rel/dir"}, "STATE_DIR"},
		{map[string]string{"REPLICA_ID": "a/b"}, "REPLICA_ID"},
		{map[string]string{"TABLE_REPLICATION": "0"}, "TABLE_REPLICATION"},
		{map[string]string{"TABLE_SWEEP_INTERVAL": "0s"}, "TABLE_SWEEP_INTERVAL"},
		{map[string]string{"OUTPUT_TOPIC_PARTITIONS": "0"}, "OUTPUT_TOPIC_PARTITIONS"},
		{map[string]string{"OUTPUT_TOPIC_RETENTION": "-1h"}, "OUTPUT_TOPIC_RETENTION"},
		{map[string]string{"FANOUT_MAX_INFLIGHT": "0"}, "FANOUT_MAX_INFLIGHT"},
		{map[string]string{"ROUTES_FILE": badRoutes}, "ROUTES_FILE"},
		{map[string]string{"ROUTES_FILE": filepath.Join(dir, "missing.yaml")}, "ROUTES_FILE"},
		{map[string]string{"KAFKA_VERSION": "1.0.0"}, "KAFKA_VERSION"},
		{map[string]string{"KAFKA_LINGER": "-1s"}, "KAFKA_LINGER"},
		{map[string]string{"KAFKA_COMPRESSION_LEVEL": "0"}, "KAFKA_COMPRESSION_LEVEL"},
		{map[string]string{"KAFKA_COMPRESSION": "gzip", "KAFKA_COMPRESSION_LEVEL": "12"}, "KAFKA_COMPRESSION_LEVEL"},
		{map[string]string{"HOT_STANDBY": "maybe"}, "HOT_STANDBY"},
	}
	for _, c := range cases {
		_, err := parse(t, c.env)
		var fe *envconfig.FieldError
		if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one naming %s", c.env, err, c.want)
		}
	}
}

// Every variable set to "" (or blank) is refused by name, except the few
// whose help says what empty means. FANOUT_GROUP="" used to join the
// default group (two deployments then share it and each sees half the
// events) and ROUTES_FILE="" to turn off every drop and sample rule.
func TestEmptyVariablesAreRefusedByName(t *testing.T) {
	if err := envconfig.CheckTags(&Config{}); err != nil {
		t.Fatal(err)
	}
	allowed := 0
	for _, v := range envconfig.Vars(&Config{}) {
		for _, val := range []string{"", "  "} {
			_, err := parse(t, map[string]string{v.Name: val})
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
	if allowed != 2 { // CLUSTER_NAME, KAFKA_SASL_MECHANISM
		t.Errorf("%d variables accept empty; review the list", allowed)
	}
	for _, name := range []string{"KAFKA_BROKERS", "FANOUT_GROUP", "ROUTES_FILE"} {
		_, err := parse(t, map[string]string{name: ""})
		if err == nil || !strings.Contains(err.Error(), name+": ") {
			t.Errorf("%s=\"\": %v", name, err)
		}
	}
}

// TestValidateDoesNoIO: Validate leaves ROUTES_FILE alone (LoadFiles reads
// it), so a missing file is only LoadFiles' error.
func TestValidateDoesNoIO(t *testing.T) {
	c, err := parse(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.RoutesFile = filepath.Join(t.TempDir(), "missing.yaml")
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate read ROUTES_FILE: %v", err)
	}
	var fe *envconfig.FieldError
	if err := c.LoadFiles(); !errors.As(err, &fe) || fe.Var != "ROUTES_FILE" {
		t.Fatalf("LoadFiles = %v, want an error naming ROUTES_FILE", err)
	}
}
