package kafkaclient

import (
	"errors"

	"github.com/IBM/sarama"
)

// TopicRefused reports whether err, from creating or describing a topic,
// is the broker refusing that topic for good: asking again with the same
// name and spec gets the same answer, so a caller that retries it waits
// forever. Everything else (no controller, a broker restarting, a timeout,
// a throttled request) may pass and is worth a retry.
//
// The broker's error code decides, never the message text:
//   - INVALID_TOPIC_EXCEPTION: an illegal name, or one that collides with an
//     existing topic once '.' and '_' are treated alike ("a.b" vs "a_b");
//   - POLICY_VIOLATION: a create.topic.policy refused it;
//   - TOPIC/CLUSTER_AUTHORIZATION_FAILED: no CREATE (or DESCRIBE) ACL;
//   - INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
//     INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG: the spec does not fit this
//     cluster (more replicas than brokers, a partition limit, a config the
//     broker does not accept);
//   - INVALID_REQUEST, UNSUPPORTED_VERSION: this client cannot ask at all.
//
// An operator can change some of these (add an ACL, a broker), but not on
// the time scale of one event: the caller must not hold its input for them.
func TopicRefused(err error) bool {
	var kerr sarama.KError
	if !errors.As(err, &kerr) {
		return false
	}
	switch kerr {
	case sarama.ErrInvalidTopic,
		sarama.ErrPolicyViolation,
		sarama.ErrTopicAuthorizationFailed, sarama.ErrClusterAuthorizationFailed,
		sarama.ErrInvalidPartitions, sarama.ErrInvalidReplicationFactor,
		sarama.ErrInvalidReplicaAssignment, sarama.ErrInvalidConfig,
		sarama.ErrInvalidRequest, sarama.ErrUnsupportedVersion:
		return true
	}
	return false
}
