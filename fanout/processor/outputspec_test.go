package processor

import (
	"io"
	"log/slog"
	"strconv"
	"testing"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/fanoutcfg"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
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
