// Package commit makes a goka processor commit input offsets only over the
// contiguous prefix of finished messages of each partition.
//
// goka marks a message as soon as its own writes (table, emits, deferred
// commits) are acked, and sarama keeps only the highest marked offset. A
// message that writes nothing (a dropped duplicate) or whose output is acked
// early therefore moves the committed offset past an earlier message whose
// output is still in flight: a crash then loses that earlier message. The
// wrapper here sits between goka and sarama (goka.WithConsumerGroupBuilder):
// it records the order in which the claim delivered messages and forwards a
// mark only when every message delivered before it is finished too.
package commit

import (
	"sort"
	"sync"
)

// Tracker follows one claimed partition: the messages delivered to the
// processor in delivery order and which of them are finished. Marks are the
// values goka passes to MarkOffset: the offset of the next message to read
// (message offset + 1). Offsets need not be contiguous (compaction,
// transaction markers): only delivery order matters. Safe for concurrent use.
type Tracker struct {
	mu sync.Mutex
	// pending[head:] are delivered messages not yet covered by a forwarded
	// mark, in delivery order (strictly increasing marks).
	pending []entry
	head    int

	committed     int64 // last mark forwarded; -1 before the first
	lastDelivered int64 // mark of the last delivered message; -1 before the first
	unknown       int64 // Done calls for marks never delivered or already covered
}

type entry struct {
	mark int64
	done bool
}

// NewTracker returns an empty tracker: a new claim starts with nothing
// delivered, whatever an earlier claim of the same partition saw.
func NewTracker() *Tracker {
	return &Tracker{committed: -1, lastDelivered: -1}
}

// Delivered records that the message with mark was handed to the processor.
// It must be called before the processor can finish the message.
func (t *Tracker) Delivered(mark int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if mark <= t.lastDelivered {
		// A claim never goes backwards; if it did, the marks before this one
		// could no longer be found by search. Dropping the old entries would
		// commit nothing wrong (only finished prefixes are forwarded), but
		// keep the invariant explicit: restart tracking from here.
		t.pending = t.pending[:0]
		t.head = 0
	}
	t.pending = append(t.pending, entry{mark: mark})
	t.lastDelivered = mark
}

// Done records that the message with mark is finished. If that extends the
// finished prefix, it returns the mark to forward (the last finished
// message's mark) and true.
func (t *Tracker) Done(mark int64) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.doneLocked(mark)
}

func (t *Tracker) doneLocked(mark int64) (int64, bool) {
	live := t.pending[t.head:]
	i := sort.Search(len(live), func(i int) bool { return live[i].mark >= mark })
	if i == len(live) || live[i].mark != mark {
		t.unknown++
		return 0, false
	}
	live[i].done = true
	if i != 0 {
		return 0, false
	}
	n := 0
	for n < len(live) && live[n].done {
		n++
	}
	t.committed = live[n-1].mark
	t.head += n
	t.compact()
	return t.committed, true
}

// DoneAndForward is Done plus forwarding under the tracker's lock, so that
// concurrent completions forward their marks in increasing order.
func (t *Tracker) DoneAndForward(mark int64, forward func(int64)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m, ok := t.doneLocked(mark); ok {
		forward(m)
	}
}

// compact drops the covered head once it is at least half the slice, so the
// slice does not grow with the life of the claim.
func (t *Tracker) compact() {
	if t.head == len(t.pending) {
		t.pending = t.pending[:0]
		t.head = 0
		return
	}
	if t.head >= 1024 && t.head*2 >= len(t.pending) {
		n := copy(t.pending, t.pending[t.head:])
		t.pending = t.pending[:n]
		t.head = 0
	}
}

// State is a snapshot of a tracker.
type State struct {
	// Committed is the last forwarded mark (-1: none yet this claim).
	Committed int64
	// LastDelivered is the mark of the last delivered message (-1: none).
	LastDelivered int64
	// OldestPending is the mark of the oldest unfinished message (-1: none).
	OldestPending int64
	// Pending is how many delivered messages are not covered by Committed.
	Pending int
	// Unknown counts Done calls for marks that were never delivered on this
	// claim or were already covered.
	Unknown int64
}

// State returns a snapshot.
func (t *Tracker) State() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := State{Committed: t.committed, LastDelivered: t.lastDelivered, OldestPending: -1,
		Pending: len(t.pending) - t.head, Unknown: t.unknown}
	if s.Pending > 0 {
		s.OldestPending = t.pending[t.head].mark
	}
	return s
}
