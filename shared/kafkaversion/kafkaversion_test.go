package kafkaversion

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/IBM/sarama"
)

func TestDefaultIsSupported(t *testing.T) {
	v := Sarama()
	if !v.IsAtLeast(sarama.V2_1_0_0) {
		t.Fatalf("Default %s is below 2.1.0, which zstd needs", v)
	}
	if v.String() != Default {
		t.Fatalf("Default %q parses to %s: use sarama's spelling", Default, v)
	}
}

// The default must name the broker the local script runs, or every client speaks a
// protocol version the test broker never saw.
func TestDefaultMatchesLocalScript(t *testing.T) {
	script := filepath.Join("..", "..", "deployments", "local", "kafka.sh")
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatalf("read %s: %v", script, err)
	}
	m := regexp.MustCompile(`(?m)^readonly KAFKA_VERSION=(\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no 'readonly KAFKA_VERSION=' line", script)
	}
	if got := string(m[1]); got != Default {
		t.Fatalf("kafka.sh runs Kafka %s but kafkaversion.Default is %s", got, Default)
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"", "4.1", "banana", "9.9.9"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q): want error", s)
		}
	}
}
