package topics

import (
	"errors"
	"sync"
	"testing"

	"github.com/IBM/sarama"
)

// refusingAdmin is a cluster that answers every creation with createErr
// (nil: success, the topic then has one partition with a leader). Only the calls Ensure makes are
// implemented; the embedded nil interface panics on any other.
type refusingAdmin struct {
	sarama.ClusterAdmin
	mu        sync.Mutex
	createErr error
	created   map[string]bool
	creates   int
	describes int
}

func (a *refusingAdmin) DescribeTopics(names []string) ([]*sarama.TopicMetadata, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.describes++
	out := make([]*sarama.TopicMetadata, 0, len(names))
	for _, n := range names {
		if a.created[n] {
			out = append(out, &sarama.TopicMetadata{Name: n, Partitions: []*sarama.PartitionMetadata{{Leader: 1}}})
			continue
		}
		out = append(out, &sarama.TopicMetadata{Name: n, Err: sarama.ErrUnknownTopicOrPartition})
	}
	return out, nil
}

func (a *refusingAdmin) CreateTopic(name string, _ *sarama.TopicDetail, _ bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.creates++
	if a.createErr == nil {
		if a.created == nil {
			a.created = map[string]bool{}
		}
		a.created[name] = true
	}
	return a.createErr
}

// TestRefusalIsPermanent: the broker's refusal codes become ErrTopicRefused
// at once (no retry of the event can help), and the verdict is remembered
// instead of asking Kafka again for every event.
func TestRefusalIsPermanent(t *testing.T) {
	for _, code := range []sarama.KError{sarama.ErrInvalidTopic, sarama.ErrPolicyViolation, sarama.ErrTopicAuthorizationFailed,
		sarama.ErrClusterAuthorizationFailed, sarama.ErrInvalidPartitions, sarama.ErrInvalidReplicationFactor, sarama.ErrInvalidConfig} {
		t.Run(code.Error(), func(t *testing.T) {
			msg := "refused"
			a := &refusingAdmin{createErr: &sarama.TopicError{Err: code, ErrMsg: &msg}}
			m, err := New(a, spec, "p.{type}", Options{})
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				_, err := m.Ensure("p.team-a.process_exec", "p.{namespace}.{type}", 0)
				if !errors.Is(err, ErrTopicRefused) || !Permanent(err) || Reason(err) != ReasonTopicRefused {
					t.Fatalf("Ensure: %v, want a permanent ErrTopicRefused", err)
				}
			}
			if a.creates != 1 {
				t.Errorf("%d creations asked, want 1 (the refusal is remembered)", a.creates)
			}
		})
	}
}

// TestPassingErrorsHaveABudget: an error that may pass (the controller
// moving) is not permanent at first, so the event is retried; after the
// budget and minAttempts it is ErrRetriesExhausted, permanent.
func TestPassingErrorsHaveABudget(t *testing.T) {
	a := &refusingAdmin{createErr: &sarama.TopicError{Err: sarama.ErrNotController}}
	m, err := New(a, spec, "p.{type}", Options{RetryBudget: 1}) // 1ns: only minAttempts counts
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < minAttempts; i++ {
		if _, err := m.Ensure("p.a.process_exec", "p.{namespace}.{type}", 0); err == nil || Permanent(err) {
			t.Fatalf("attempt %d: %v, want a passing error", i, err)
		}
	}
	_, err = m.Ensure("p.a.process_exec", "p.{namespace}.{type}", 0)
	if !errors.Is(err, ErrRetriesExhausted) || !Permanent(err) || Reason(err) != ReasonTopicRetries {
		t.Fatalf("attempt %d: %v, want ErrRetriesExhausted", minAttempts, err)
	}
	if !errors.Is(err, sarama.ErrNotController) {
		t.Errorf("the cause is lost: %v", err)
	}

	// a success ends the streak: the next failure starts a new budget
	a.createErr = nil
	if _, err := m.Ensure("p.b.process_exec", "p.{namespace}.{type}", 0); err != nil {
		t.Fatal(err)
	}
	a.createErr = &sarama.TopicError{Err: sarama.ErrNotController}
	if _, err := m.Ensure("p.c.process_exec", "p.{namespace}.{type}", 0); err == nil || Permanent(err) {
		t.Fatalf("a new topic's first failure: %v, want a passing error", err)
	}
}
