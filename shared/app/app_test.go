package app

import (
	"strings"
	"testing"

	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
)

type testConfig struct {
	Level int `env:"LEVEL" envDefault:"1"`
	Common
}

func (c *testConfig) Validate() error    { return c.ValidateCommon(c.Level) }
func (c *testConfig) Warnings() []string { return c.Kafka.Warnings() }

var _ Settings = (*testConfig)(nil)

// TestCommon: the shared settings parse, default and are checked the same
// way in every binary that embeds Common.
func TestCommon(t *testing.T) {
	var c testConfig
	if err := envconfig.ParseEnv(&c, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if c.Shared() != &c.Common || c.HTTP.Addr != ":8080" || c.HTTP.Pprof || c.Producer.Compression != "zstd" {
		t.Fatalf("defaults: %+v", c.Common)
	}
	err := envconfig.ParseEnv(&testConfig{}, map[string]string{"HTTP_ADDR": "8080", "LOG_FORMAT": "xml", "KAFKA_LINGER": "-1s", "KAFKA_BROKERS": "a"})
	for _, v := range []string{"HTTP_ADDR", "LOG_FORMAT", "KAFKA_LINGER", "KAFKA_BROKERS"} {
		if err == nil || !strings.Contains(err.Error(), v+": ") {
			t.Errorf("error %v does not name %s", err, v)
		}
	}
}
