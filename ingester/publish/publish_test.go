package publish

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err       error
		reason    string
		retriable bool
	}{
		{sarama.ErrOutOfBrokers, metrics.ReasonKafka, true},
		{sarama.ErrNotLeaderForPartition, metrics.ReasonKafka, true},
		{sarama.ErrNotEnoughReplicas, metrics.ReasonKafka, true},
		{sarama.ErrRequestTimedOut, metrics.ReasonKafka, true},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, metrics.ReasonKafka, true},
		{fmt.Errorf("wrapped: %w", sarama.ErrUnknownTopicOrPartition), metrics.ReasonKafka, true},
		{sarama.ErrMessageSizeTooLarge, metrics.ReasonTooLarge, false},
		{sarama.ConfigurationError("Attempt to produce message larger than configured Producer.MaxMessageBytes: 11 > 10"), metrics.ReasonTooLarge, false},
		// Held and resent: an ACL may be fixed a minute later.
		{sarama.ErrTopicAuthorizationFailed, metrics.ReasonKafka, true},
		{sarama.ErrClusterAuthorizationFailed, metrics.ReasonKafka, true},
		{sarama.ErrInvalidRecord, metrics.ReasonKafka, false},
		{sarama.ErrShuttingDown, metrics.ReasonShutdown, false},
	} {
		reason, retriable := classify(tc.err)
		if reason != tc.reason || retriable != tc.retriable {
			t.Errorf("classify(%v) = %s %v, want %s %v", tc.err, reason, retriable, tc.reason, tc.retriable)
		}
	}
}

// Every event is counted once: by whoever resolves it first, or by seal.
func TestLedgerCountsEachEventOnce(t *testing.T) {
	var l ledger
	const n = 100000
	for range n {
		l.add()
	}
	var resolved sync.WaitGroup
	counts := make([]int, 4)
	start := make(chan struct{})
	for g := range 4 {
		resolved.Add(1)
		go func() {
			defer resolved.Done()
			<-start
			for range n / 4 {
				if l.resolve() {
					counts[g]++
				}
			}
		}()
	}
	close(start)
	sealed, first := l.seal()
	resolved.Wait()
	if !first {
		t.Fatal("first seal says it was sealed already")
	}
	if n, again := l.seal(); n != 0 || again {
		t.Fatalf("second seal = %d, %v: an abandoned publisher's Run would count its events twice", n, again)
	}
	if l.add() {
		t.Fatal("add succeeded after seal")
	}
	total := int64(counts[0] + counts[1] + counts[2] + counts[3])
	if total+sealed != n {
		t.Fatalf("resolved %d + sealed %d != %d", total, sealed, n)
	}
	if l.resolve() {
		t.Fatal("resolve succeeded after seal")
	}
}

func TestEnvelopeEncodesWithoutCopies(t *testing.T) {
	p := New(Options{Topic: "t"}, metrics.New(nopRegisterer{}), nil)
	ev := Event{Raw: []byte{1, 2, 3}, Type: "process_kprobe", Node: "n1", IngestNS: 1700000000123456789}
	copy(ev.ID[:], "0123456789abcdef0123456789abcdef")
	env := p.envelope(&ev)
	k, _ := env.msg.Key.Encode()
	v, _ := env.msg.Value.Encode()
	if string(k) != string(ev.ID[:]) || &v[0] != &ev.Raw[0] {
		t.Fatalf("key %q, value not the received bytes", k)
	}
	want := map[string]string{"tf-type": "process_kprobe", "tf-node": "n1", "tf-ingest-ns": "1700000000123456789", "tf-format": "pb1"}
	for _, h := range env.msg.Headers {
		if want[string(h.Key)] != string(h.Value) {
			t.Errorf("header %s = %q, want %q", h.Key, h.Value, want[string(h.Key)])
		}
		delete(want, string(h.Key))
	}
	if len(want) > 0 {
		t.Errorf("missing headers %v", want)
	}
	if got := testing.AllocsPerRun(100, func() { p.envelope(&ev) }); got > 1 {
		t.Errorf("envelope allocates %v times, want 1", got)
	}
}

// Run waits for the producers' acks and then for the clients to close under
// one deadline: once it has passed, every later wait returns at once too.
func TestWaitUntilSharesOneDeadline(t *testing.T) {
	deadline := make(chan struct{})
	close(deadline)
	block := make(chan struct{})
	defer close(block)
	for i := range 2 {
		if waitUntil(deadline, func() { <-block }) {
			t.Fatalf("wait %d: reported done for a call still running", i)
		}
	}
	if !waitUntil(make(chan struct{}), func() {}) {
		t.Fatal("a call that returned is reported as not done")
	}
}
