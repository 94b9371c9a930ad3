package kafkaclient

import (
	"errors"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
)

// Default topic names: the one place they are spelled.
const (
	// DefaultRawTopic is RAW_TOPIC's default (the envDefault of RawTopicEnv).
	DefaultRawTopic = "tetragon.raw"
	// DefaultDLQTopic is DLQ_TOPIC's default (the envDefault of DLQTopicEnv).
	DefaultDLQTopic = "tetragon.dlq"
)

// RawTopicEnv declares RAW_TOPIC for every binary that reads or writes the raw
// topic. Embed it: the field is promoted, so configs keep cfg.RawTopic.
// Its envDefault is DefaultRawTopic (a tag cannot name a constant; a test
// keeps them equal).
type RawTopicEnv struct {
	RawTopic string `env:"RAW_TOPIC" envDefault:"tetragon.raw" help:"the raw topic: Tetragon's protobuf events keyed by event id (the ingester writes it, the fanout consumes it and never creates it, dlq-redrive re-produces to it)"`
}

// DLQTopicEnv declares DLQ_TOPIC for the fanout and dlq-redrive. Embed it, as
// RawTopicEnv. Its envDefault is DefaultDLQTopic.
type DLQTopicEnv struct {
	DLQTopic string `env:"DLQ_TOPIC" envDefault:"tetragon.dlq" help:"raw messages the fanout cannot process go here, with tf-error-reason and tf-error headers (dlq-redrive reads it)"`
}

// MaxTopicLen is Kafka's limit on a topic name.
const MaxTopicLen = 249

// IsTopicChar reports whether c may appear in a Kafka topic name.
func IsTopicChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// ValidTopic reports whether name is a legal Kafka topic name: 1 to 249 of
// a-z A-Z 0-9 . _ -, and not "." or "..". It is the one topic-name check of
// both binaries (settings, route templates, topic creation).
func ValidTopic(name string) bool {
	if name == "" || len(name) > MaxTopicLen || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !IsTopicChar(name[i]) {
			return false
		}
	}
	return true
}

// CheckTopic is ValidTopic as a setting's error naming variable name.
func CheckTopic(name, topic string) error {
	if !ValidTopic(topic) {
		return envconfig.Errorf(name, "%q is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -, not . or ..)", topic)
	}
	return nil
}

// CheckTopicSettings checks the settings of a topic a binary creates, named
// <prefix>_PARTITIONS, <prefix>_REPLICATION and <prefix>_RETENTION.
func CheckTopicSettings(prefix string, partitions int32, replication int16, retention time.Duration) error {
	var errs []error
	if partitions < 1 {
		errs = append(errs, envconfig.Errorf(prefix+"_PARTITIONS", "must be at least 1, got %d", partitions))
	}
	if replication < 1 {
		errs = append(errs, envconfig.Errorf(prefix+"_REPLICATION", "must be at least 1, got %d", replication))
	}
	if retention < 0 {
		errs = append(errs, envconfig.Errorf(prefix+"_RETENTION", "must be >= 0, got %s", retention))
	}
	return errors.Join(errs...)
}
