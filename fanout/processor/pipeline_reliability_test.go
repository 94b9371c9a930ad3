package processor

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/topics"
	"github.com/tetragon-fanout/tetragon-fanout/shared/headers"
)

// TestRefusedTopicGoesToDefault: a topic Kafka refuses for good sends the
// event to its default topic (counted by reason); if the default is refused
// too, to the DLQ. Either way it is committed and the partition goes on.
func TestRefusedTopicGoesToDefault(t *testing.T) {
	h := newHarness(t, testRoutes)
	h.topics.refuse = map[string]bool{"tetragon.team-a.process_exec": true}
	k, r := testEvent(1, "team-a")
	h.consume(k, r, nil)
	if n := len(h.sink.sent("tetragon.process_exec")); n != 1 {
		t.Fatalf("%d outputs on the default topic, want 1", n)
	}
	if got := testutil.ToFloat64(h.metrics.Rerouted.WithLabelValues(topics.ReasonTopicRefused)); got != 1 {
		t.Errorf("rerouted{topic_refused} %v, want 1", got)
	}

	h.topics.refuse["tetragon.process_exec"] = true
	k, r = testEvent(2, "team-a")
	h.consume(k, r, nil)
	dlq := h.sink.sent(testDLQ)
	if len(dlq) != 1 || header(dlq[0], headers.ErrorReason) != ReasonTopicUnavailable {
		t.Fatalf("DLQ %v, want the event as topic_unavailable", dlq)
	}
	// the stream goes on
	k, r = testEvent(3, "team-b")
	h.consume(k, r, nil)
	if n := len(h.sink.sent("tetragon.team-b.process_exec")); n != 1 {
		t.Fatalf("%d outputs after the refusals, want 1", n)
	}
}
