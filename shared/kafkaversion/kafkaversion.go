// Package kafkaversion names the Kafka protocol version the binaries assume by default.
//
// sarama and goka negotiate nothing on their own: they speak the version they are
// configured with, and goka's default (2.0.0) is older than Kafka 4 accepts and too old
// for zstd. The default therefore tracks the broker the project runs and tests against.
package kafkaversion

import (
	"fmt"

	"github.com/IBM/sarama"
)

// Default is the KAFKA_VERSION default, in sarama's spelling. It must match
// KAFKA_VERSION in deployments/local/kafka.sh (a test checks that).
const Default = "4.1.1"

// Parse parses a KAFKA_VERSION value and rejects versions sarama does not know, so a
// typo fails at start instead of silently speaking an old protocol.
func Parse(s string) (sarama.KafkaVersion, error) {
	v, err := sarama.ParseKafkaVersion(s)
	if err != nil {
		return sarama.KafkaVersion{}, fmt.Errorf("kafka version %q: %w", s, err)
	}
	for _, known := range sarama.SupportedVersions {
		if v == known {
			return v, nil
		}
	}
	return sarama.KafkaVersion{}, fmt.Errorf("kafka version %q: not among sarama's supported versions (%s..%s)",
		s, sarama.MinVersion, sarama.MaxVersion)
}

// Sarama returns Default as a sarama.KafkaVersion.
func Sarama() sarama.KafkaVersion {
	v, err := Parse(Default)
	if err != nil {
		// Default is a constant checked by the package tests; this cannot happen
		// unless someone edits it to garbage.
		panic(err)
	}
	return v
}
