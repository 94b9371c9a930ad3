package topics

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// listingAdmin is a cluster whose creations succeed; it counts the full
// listings (DescribeTopics(nil)) the cap makes. Only the calls Ensure makes
// are implemented.
type listingAdmin struct {
	sarama.ClusterAdmin
	mu       sync.Mutex
	topics   map[string]bool
	listings int
}

func (a *listingAdmin) DescribeTopics(names []string) ([]*sarama.TopicMetadata, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if names == nil {
		a.listings++
		for n := range a.topics {
			names = append(names, n)
		}
	}
	out := make([]*sarama.TopicMetadata, 0, len(names))
	for _, n := range names {
		if !a.topics[n] {
			out = append(out, &sarama.TopicMetadata{Name: n, Err: sarama.ErrUnknownTopicOrPartition})
			continue
		}
		out = append(out, &sarama.TopicMetadata{Name: n, Partitions: []*sarama.PartitionMetadata{{Leader: 1}}})
	}
	return out, nil
}

func (a *listingAdmin) CreateTopic(name string, _ *sarama.TopicDetail, _ bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.topics[name] = true
	return nil
}

func (a *listingAdmin) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.listings
}

// A full template costs one listing of the cluster's topics per
// CapRecheck, however many new names arrive (one per pod, per node): not
// one per name, each holding the template's lock while every partition
// wanting a new name of it waits.
func TestOverCapListsOncePerRecheck(t *testing.T) {
	a := &listingAdmin{topics: map[string]bool{}}
	m, err := New(a, spec, "p.{type}", Options{CapRecheck: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const tmpl, max = "p.{namespace}.{type}", 2
	for i := range max {
		if got, err := m.Ensure(fmt.Sprintf("p.ns%d.process_exec", i), tmpl, max); err != nil || got != fmt.Sprintf("p.ns%d.process_exec", i) {
			t.Fatalf("under the cap: %q %v", got, err)
		}
	}
	before := a.count()
	for i := range 500 {
		got, err := m.Ensure(fmt.Sprintf("p.new%d.process_exec", i), tmpl, max)
		if !errors.Is(err, ErrTopicCap) || got != "p.process_exec" {
			t.Fatalf("over the cap: %q %v, want p.process_exec and ErrTopicCap", got, err)
		}
	}
	if n := a.count() - before; n != 1 {
		t.Fatalf("%d listings for 500 new names of a full template, want 1", n)
	}
	// Topics may have been deleted meanwhile: after CapRecheck it counts again.
	a.mu.Lock()
	delete(a.topics, "p.ns0.process_exec")
	a.mu.Unlock()
	time.Sleep(250 * time.Millisecond)
	if got, err := m.Ensure("p.later.process_exec", tmpl, max); err != nil || got != "p.later.process_exec" {
		t.Fatalf("after a deletion and the recheck: %q %v, want the topic created", got, err)
	}
	if n := a.count() - before; n != 2 {
		t.Fatalf("%d listings in all, want 2", n)
	}
}
