package kafkaclient

import (
	"strings"
	"testing"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
)

func TestValidTopic(t *testing.T) {
	for name, want := range map[string]bool{
		"tetragon.raw": true, "a": true, "A-b_c.9": true, strings.Repeat("x", MaxTopicLen): true,
		"": false, ".": false, "..": false, "raw topic!": false, "a/b": false, "é": false,
		strings.Repeat("x", MaxTopicLen+1): false,
	} {
		if got := ValidTopic(name); got != want {
			t.Errorf("ValidTopic(%q) = %v, want %v", name, got, want)
		}
	}
	if err := CheckTopic("RAW_TOPIC", "a b"); err == nil || !strings.HasPrefix(err.Error(), "RAW_TOPIC: ") {
		t.Errorf("CheckTopic = %v, want an error naming RAW_TOPIC", err)
	}
}

// TestTopicDefaults: the tags' defaults are the constants.
func TestTopicDefaults(t *testing.T) {
	for _, c := range []struct {
		cfg  any
		want string
	}{{&RawTopicEnv{}, DefaultRawTopic}, {&DLQTopicEnv{}, DefaultDLQTopic}} {
		vars := envconfig.Vars(c.cfg)
		if len(vars) != 1 || vars[0].Default != c.want {
			t.Errorf("%T declares %+v, want default %q", c.cfg, vars, c.want)
		}
	}
}

func TestCheckTopicSettings(t *testing.T) {
	if err := CheckTopicSettings("RAW_TOPIC", 12, 3, 0); err != nil {
		t.Fatal(err)
	}
	err := CheckTopicSettings("RAW_TOPIC", 0, 0, -time.Hour)
	for _, v := range []string{"RAW_TOPIC_PARTITIONS: ", "RAW_TOPIC_REPLICATION: ", "RAW_TOPIC_RETENTION: "} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("error %v does not name %s", err, v)
		}
	}
}
