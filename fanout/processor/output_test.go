package processor

import (
	"errors"
	"fmt"
	"testing"

	"github.com/IBM/sarama"
)

// Errors the same record meets again send it to the DLQ; the others stop
// the processor until Kafka is back.
func TestPermanent(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{sarama.ErrMessageSizeTooLarge, true},
		{fmt.Errorf("produce: %w", sarama.ErrInvalidRecord), true},
		// sarama's own check, before the record is sent (async_producer.go).
		{sarama.ConfigurationError("Attempt to produce message larger than configured Producer.MaxMessageBytes: 12583438 > 10485760"), true},
		{sarama.ErrNotEnoughReplicas, false},
		{sarama.ErrOutOfBrokers, false},
		{sarama.ConfigurationError("some other setting"), false},
		{errors.New("network down"), false},
	} {
		if got := permanent(c.err); got != c.want {
			t.Errorf("permanent(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
