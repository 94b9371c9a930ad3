package kafkaclient

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/IBM/sarama"
)

// TopicSpec is how a topic is created: never left to broker defaults.
type TopicSpec struct {
	Partitions  int32
	Replication int16
	// Retention of the topic; 0 keeps the broker default.
	Retention time.Duration
	// Configs are extra topic configs (cleanup.policy, segment.ms, ...).
	Configs map[string]string
}

func (s TopicSpec) detail() *sarama.TopicDetail {
	cfg := map[string]*string{}
	for k, v := range s.Configs {
		cfg[k] = &v
	}
	if s.Retention > 0 {
		ms := strconv.FormatInt(s.Retention.Milliseconds(), 10)
		cfg["retention.ms"] = &ms
	}
	return &sarama.TopicDetail{NumPartitions: s.Partitions, ReplicationFactor: s.Replication, ConfigEntries: cfg}
}

// EnsureTopic creates name with spec unless it exists. It reports whether it
// created the topic and, for an existing one, its partition count, so the
// caller can warn about a mismatch (partitions can never be changed safely
// under a goka group).
func EnsureTopic(admin sarama.ClusterAdmin, name string, spec TopicSpec) (created bool, partitions int32, err error) {
	if p, ok, err := TopicPartitions(admin, name); err != nil {
		return false, 0, err
	} else if ok {
		return false, p, nil
	}
	err = admin.CreateTopic(name, spec.detail(), false)
	if errors.Is(err, sarama.ErrTopicAlreadyExists) {
		p, _, err := TopicPartitions(admin, name)
		return false, p, err
	}
	if err != nil {
		return false, 0, fmt.Errorf("create topic %s (%d partitions, replication %d): %w", name, spec.Partitions, spec.Replication, err)
	}
	return true, spec.Partitions, nil
}

// TopicPartitions returns the partition count of name and whether it exists.
func TopicPartitions(admin sarama.ClusterAdmin, name string) (int32, bool, error) {
	md, err := admin.DescribeTopics([]string{name})
	if err != nil {
		return 0, false, fmt.Errorf("describe topic %s: %w", name, err)
	}
	for _, t := range md {
		if t.Name != name {
			continue
		}
		switch {
		case errors.Is(t.Err, sarama.ErrUnknownTopicOrPartition):
			return 0, false, nil
		case t.Err != sarama.ErrNoError:
			return 0, false, fmt.Errorf("describe topic %s: %w", name, t.Err)
		}
		return int32(len(t.Partitions)), true, nil
	}
	return 0, false, nil
}

// TopicConfigs reads the effective values of the named configs of topic
// (its own setting or the broker default), with the broker's per-resource
// error. It needs the DescribeConfigs ACL on the topic.
func TopicConfigs(admin sarama.ClusterAdmin, topic string, names ...string) (map[string]string, error) {
	res, err := admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic, ConfigNames: names}},
		sarama.DescribeConfigsOptions{})
	if err != nil {
		return nil, fmt.Errorf("describe configs of topic %s: %w", topic, err)
	}
	out := map[string]string{}
	for _, r := range res {
		if r.Name != topic {
			continue
		}
		if r.ErrorCode != sarama.ErrNoError {
			return nil, fmt.Errorf("describe configs of topic %s: %w: %s", topic, r.ErrorCode, r.ErrorMsg)
		}
		for _, e := range r.Configs {
			out[e.Name] = e.Value
		}
	}
	return out, nil
}
