package kafkaclient

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
)

// ProducerConfig is batching and compression for a throughput producer.
type ProducerConfig struct {
	// zstd for both stages, by measurement (BENCHMARKS.md): at level 1 it
	// costs the node no more CPU per event than lz4 (sarama's lz4 sets up
	// a frame writer per batch) and stores half the bytes; on the fanout
	// lz4 saves ~8 µs/event for ~70% more output bytes.
	Compression  string        `env:"KAFKA_COMPRESSION" envDefault:"zstd" help:"none, gzip, snappy, lz4 or zstd"`
	BatchBytes   int           `env:"KAFKA_BATCH_BYTES" envDefault:"1048576" help:"flush a partition's batch at this many bytes"`
	Linger       time.Duration `env:"KAFKA_LINGER" envDefault:"5ms" help:"flush a batch at least this often"`
	Retries      int           `env:"KAFKA_PRODUCE_RETRIES" envDefault:"10" help:"the producer's own retries of a failed batch (after them the ingester resends retriable failures; the fanout restarts from its last commit)"`
	RetryBackoff time.Duration `env:"KAFKA_PRODUCE_RETRY_BACKOFF" envDefault:"250ms" help:"wait between delivery retries"`
}

// Validate checks the producer settings with the codec's level
// (KAFKA_COMPRESSION_LEVEL). Each error names its variable.
func (p *ProducerConfig) Validate(level int) error {
	var errs []error
	if _, err := p.Codec(); err != nil {
		errs = append(errs, envconfig.Errorf("KAFKA_COMPRESSION", "%v", err))
	}
	if level < 1 || level > 22 {
		errs = append(errs, envconfig.Errorf("KAFKA_COMPRESSION_LEVEL", "must be 1 to 22 (zstd) or 1 to 9 (gzip), got %d", level))
	} else if p.Compression == "gzip" && level > 9 {
		errs = append(errs, envconfig.Errorf("KAFKA_COMPRESSION_LEVEL", "gzip levels are 1 to 9, got %d", level))
	}
	if p.Retries < 0 {
		errs = append(errs, envconfig.Errorf("KAFKA_PRODUCE_RETRIES", "must be >= 0, got %d", p.Retries))
	}
	if p.BatchBytes < 1 {
		errs = append(errs, envconfig.Errorf("KAFKA_BATCH_BYTES", "must be > 0, got %d", p.BatchBytes))
	}
	if p.Linger < 0 {
		errs = append(errs, envconfig.Errorf("KAFKA_LINGER", "must be >= 0, got %s", p.Linger))
	}
	return errors.Join(errs...)
}

// Codec parses the compression name.
func (p ProducerConfig) Codec() (sarama.CompressionCodec, error) {
	var c sarama.CompressionCodec
	if err := c.UnmarshalText([]byte(p.Compression)); err != nil {
		return 0, fmt.Errorf("unknown compression %q (want none, gzip, snappy, lz4 or zstd)", p.Compression)
	}
	return c, nil
}

// ApplyProducer makes sc a no-loss producer: idempotent, acks from every
// in-sync replica, one request in flight per broker (idempotence needs it),
// retries, and the partitioner goka's processors use, so a key lands on the
// partition goka's Get and views look in.
func ApplyProducer(sc *sarama.Config, p ProducerConfig) error {
	codec, err := p.Codec()
	if err != nil {
		return err
	}
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Idempotent = true
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Retry.Max = p.Retries
	sc.Producer.Retry.Backoff = p.RetryBackoff
	sc.Producer.Compression = codec
	sc.Producer.Flush.Bytes = p.BatchBytes
	sc.Producer.Flush.Frequency = p.Linger
	sc.Producer.MaxMessageBytes = 10 << 20
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Partitioner = Partitioner
	return nil
}

// Partitioner hashes keys exactly as goka's default processor hasher does:
// FNV-1a 32 and abs(int32(h)) % n. Java's default (murmur2) does not.
var Partitioner sarama.PartitionerConstructor = sarama.NewHashPartitioner
