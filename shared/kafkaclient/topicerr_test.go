package kafkaclient

import (
	"errors"
	"fmt"
	"testing"

	"github.com/IBM/sarama"
)

func TestTopicRefused(t *testing.T) {
	msg := "Topic 'a_b' collides with existing topic: a.b"
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("create topic a_b: %w", &sarama.TopicError{Err: sarama.ErrInvalidTopic, ErrMsg: &msg}), true},
		{&sarama.TopicError{Err: sarama.ErrPolicyViolation}, true},
		{fmt.Errorf("describe topic x: %w", sarama.ErrTopicAuthorizationFailed), true},
		{sarama.ErrClusterAuthorizationFailed, true},
		{sarama.ErrInvalidReplicationFactor, true},
		{sarama.ErrInvalidPartitions, true},
		{sarama.ErrInvalidConfig, true},
		{&sarama.TopicError{Err: sarama.ErrNotController}, false},
		{sarama.ErrRequestTimedOut, false},
		{sarama.ErrThrottlingQuotaExceeded, false},
		{sarama.ErrTopicAlreadyExists, false},
		{errors.New("dial tcp: connection refused"), false},
		{nil, false},
	} {
		if got := TopicRefused(tc.err); got != tc.want {
			t.Errorf("TopicRefused(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
