package processor

import (
	"bytes"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/fanoutcfg"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// Output and DLQ topics the fanout creates must take any batch its
// producer builds: else a raw message too large to emit cannot go to the
// DLQ either and stalls its partition.
func TestOutputSpecHoldsProducerBatches(t *testing.T) {
	var cfg fanoutcfg.Config
	if err := envconfig.ParseEnv(&cfg, map[string]string{"REPLICA_ID": "r1", "OUTPUT_TOPIC_PARTITIONS": "3",
		"OUTPUT_TOPIC_RETENTION": "1h"}); err != nil {
		t.Fatal(err)
	}
	r, err := New(&cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := r.outputSpec()
	n, err := strconv.Atoi(s.Configs[maxMessageBytes])
	if err != nil {
		t.Fatalf("max.message.bytes = %q", s.Configs[maxMessageBytes])
	}
	if limit := r.configs.Producer.Producer.MaxMessageBytes; n < limit+1024 {
		t.Errorf("max.message.bytes = %d, producer batches up to %d", n, limit)
	}
	base := cfg.OutputSpec()
	if s.Partitions != base.Partitions || s.Replication != base.Replication || s.Retention != base.Retention {
		t.Errorf("spec %+v lost the configured %+v", s, base)
	}
}

// A DLQ someone created with Kafka's default limit is reported at start.
func TestBrokerWarnsAboutSmallDLQ(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	small := "1048576"
	for _, c := range []struct {
		limit string
		warn  bool
	}{{small, true}, {strconv.Itoa(11 << 20), false}} {
		dlq := kafkatest.CreateTopic(t, brokers, 1, map[string]*string{"max.message.bytes": &c.limit})
		var cfg fanoutcfg.Config
		if err := envconfig.ParseEnv(&cfg, map[string]string{"REPLICA_ID": "r1", "DLQ_TOPIC": dlq,
			"KAFKA_BROKERS": strings.Join(brokers, ",")}); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		r, err := New(&cfg, nil, slog.New(slog.NewTextHandler(&logs, nil)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		a, err := r.connect()
		if err != nil {
			t.Fatal(err)
		}
		r.checkDLQSize(a)
		a.Close()
		if got := strings.Contains(logs.String(), "below the largest raw message"); got != c.warn {
			t.Errorf("DLQ with max.message.bytes %s: warned %v, want %v; log:\n%s", c.limit, got, c.warn, logs.String())
		}
	}
}
