package commit

import (
	"context"
	"sort"
	"sync"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// claimBuffer is how many messages may wait between the claim and goka.
// Buffered messages are already recorded as delivered, so they hold the
// commit back until processed: the buffer changes latency, not correctness.
const claimBuffer = 64

// Registry knows the partitions of the current session and their trackers,
// for metrics (lag, in-flight) and readiness. One per processor.
type Registry struct {
	mu     sync.Mutex
	claims map[tp]*claimState
	joined bool
	// OnSession, if set, is called with the session's claims at Setup and
	// with nil at Cleanup.
	OnSession func(claims map[string][]int32)
}

type tp struct {
	topic     string
	partition int32
}

type claimState struct {
	tracker *Tracker
	claim   sarama.ConsumerGroupClaim
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{claims: map[tp]*claimState{}} }

// PartitionState is a snapshot of one claimed partition.
type PartitionState struct {
	Topic     string
	Partition int32
	State
	// HighWaterMark is the claim's high-water mark (offset of the next
	// message to be produced).
	HighWaterMark int64
	// InitialOffset is where the claim started.
	InitialOffset int64
}

// Lag is how many messages of the partition are not finished: from the
// oldest unfinished delivered message (or the next one to be delivered) up
// to the high-water mark.
func (p PartitionState) Lag() int64 {
	from := p.OldestPending - 1 // marks are offset+1
	switch {
	case p.OldestPending >= 0:
	case p.LastDelivered >= 0:
		from = p.LastDelivered
	case p.InitialOffset >= 0:
		from = p.InitialOffset
	default:
		return 0 // nothing delivered and the start is a sentinel: unknown
	}
	if lag := p.HighWaterMark - from; lag > 0 {
		return lag
	}
	return 0
}

// Snapshot returns the claimed partitions, sorted.
func (r *Registry) Snapshot() []PartitionState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]PartitionState, 0, len(r.claims))
	for k, c := range r.claims {
		out = append(out, PartitionState{Topic: k.topic, Partition: k.partition, State: c.tracker.State(),
			HighWaterMark: c.claim.HighWaterMarkOffset(), InitialOffset: c.claim.InitialOffset()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// Joined reports whether a session is set up (between Setup and Cleanup).
func (r *Registry) Joined() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.joined
}

func (r *Registry) setJoined(claims map[string][]int32, joined bool) {
	r.mu.Lock()
	r.joined = joined
	if !joined {
		r.claims = map[tp]*claimState{}
	}
	cb := r.OnSession
	r.mu.Unlock()
	if cb != nil {
		cb(claims)
	}
}

func (r *Registry) add(k tp, c *claimState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.claims[k] = c
}

func (r *Registry) remove(k tp, c *claimState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.claims[k] == c {
		delete(r.claims, k)
	}
}

// WrapBuilder returns a consumer group builder whose sessions forward marks
// in delivery order. reg may be nil.
func WrapBuilder(inner goka.ConsumerGroupBuilder, reg *Registry) goka.ConsumerGroupBuilder {
	return wrapBuilder(inner, reg, false)
}

// WrapBuilderUnordered is the control for tests that must show what the
// ordering prevents: it tracks claims for reg exactly as WrapBuilder does
// (partitions, lag and readiness keep working), but forwards every mark as
// goka makes it, which is what goka does on its own. Never for production:
// a crash then loses events (fanout/e2e's fault suite proves it).
func WrapBuilderUnordered(inner goka.ConsumerGroupBuilder, reg *Registry) goka.ConsumerGroupBuilder {
	return wrapBuilder(inner, reg, true)
}

func wrapBuilder(inner goka.ConsumerGroupBuilder, reg *Registry, unordered bool) goka.ConsumerGroupBuilder {
	if reg == nil {
		reg = NewRegistry()
	}
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cg, err := inner(brokers, group, clientID)
		if err != nil {
			return nil, err
		}
		return &consumerGroup{ConsumerGroup: cg, reg: reg, unordered: unordered}, nil
	}
}

type consumerGroup struct {
	sarama.ConsumerGroup
	reg       *Registry
	unordered bool
}

func (g *consumerGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	return g.ConsumerGroup.Consume(ctx, topics, &handler{inner: h, reg: g.reg, unordered: g.unordered})
}

// handler wraps goka's handler for one Consume call. goka's copartitioning
// strategy is eager, so one Consume call is one session: Setup, the claims,
// Cleanup.
type handler struct {
	inner     sarama.ConsumerGroupHandler
	reg       *Registry
	unordered bool

	mu   sync.Mutex
	sess *session
}

func (h *handler) wrap(s sarama.ConsumerGroupSession) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sess == nil || h.sess.ConsumerGroupSession != s {
		h.sess = &session{ConsumerGroupSession: s, trackers: map[tp]*Tracker{}, unordered: h.unordered}
	}
	return h.sess
}

func (h *handler) Setup(s sarama.ConsumerGroupSession) error {
	ws := h.wrap(s)
	if err := h.inner.Setup(ws); err != nil {
		return err
	}
	h.reg.setJoined(s.Claims(), true)
	return nil
}

func (h *handler) Cleanup(s sarama.ConsumerGroupSession) error {
	// goka's Cleanup waits for in-flight messages, whose marks still go
	// through the trackers; only then is the session forgotten.
	err := h.inner.Cleanup(h.wrap(s))
	h.reg.setJoined(nil, false)
	return err
}

func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	ws := h.wrap(s)
	k := tp{c.Topic(), c.Partition()}
	t := NewTracker()
	ws.setTracker(k, t)
	cs := &claimState{tracker: t, claim: c}
	h.reg.add(k, cs)
	defer h.reg.remove(k, cs)

	out := make(chan *sarama.ConsumerMessage, claimBuffer)
	stop := make(chan struct{})
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		defer close(out)
		in := c.Messages()
		for {
			select {
			case m, ok := <-in:
				if !ok {
					return
				}
				// Record before handing over: goka may finish the message
				// before this goroutine runs again.
				t.Delivered(m.Offset + 1)
				select {
				case out <- m:
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()
	err := h.inner.ConsumeClaim(ws, &claim{ConsumerGroupClaim: c, out: out})
	close(stop)
	<-forwarded
	return err
}

type claim struct {
	sarama.ConsumerGroupClaim
	out chan *sarama.ConsumerMessage
}

func (c *claim) Messages() <-chan *sarama.ConsumerMessage { return c.out }

// session is what goka sees: marks go through the partition's tracker.
type session struct {
	sarama.ConsumerGroupSession
	unordered bool // WrapBuilderUnordered: forward marks as they come

	mu       sync.RWMutex
	trackers map[tp]*Tracker
}

func (s *session) setTracker(k tp, t *Tracker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trackers[k] = t
}

func (s *session) tracker(k tp) *Tracker {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.trackers[k]
}

// MarkOffset forwards the mark only when it extends the finished prefix of
// the partition (then it forwards the end of that prefix).
func (s *session) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	t := s.tracker(tp{topic, partition})
	if t == nil {
		// Nothing of this partition went through a tracked claim, so there is
		// no earlier unfinished message to protect.
		s.ConsumerGroupSession.MarkOffset(topic, partition, offset, metadata)
		return
	}
	if s.unordered {
		// The tracker still learns the message is finished (lag, in-flight
		// metrics), but sarama gets goka's mark at once, whatever is still
		// in flight before it.
		t.Done(offset)
		s.ConsumerGroupSession.MarkOffset(topic, partition, offset, metadata)
		return
	}
	t.DoneAndForward(offset, func(m int64) {
		s.ConsumerGroupSession.MarkOffset(topic, partition, m, metadata)
	})
}

// MarkMessage is MarkOffset of the message's successor, as in sarama.
func (s *session) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(msg.Topic, msg.Partition, msg.Offset+1, metadata)
}
