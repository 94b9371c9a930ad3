// Package queue is the bounded buffer between receiving events from Tetragon
// and producing them to Kafka, so that the receiver never waits on Kafka.
//
// # Policies and the default
//
// When the queue is full, QUEUE_POLICY decides:
//
//   - drop_oldest (default): the oldest queued event is discarded and the
//     new one is queued. The receiver never waits.
//   - drop_newest: the arriving event is discarded. The receiver never waits.
//   - block: the receiver waits for room. Nothing is dropped here, but while
//     it waits it does not read the gRPC stream, Tetragon's per-client buffer
//     (10000 events by default) fills, and Tetragon drops the newest events
//     for this client, counted only in Tetragon's own
//     tetragon_notify_overflowed_events_total, not in ours.
//
// Why drop_oldest is the default: Tetragon drops events for a client that
// reads slowly, so reading must not wait on Kafka, which rules out block as
// a default: its losses happen anyway, one hop upstream, where the
// ingester's metrics cannot see them. Between the two drop policies the
// number lost during an outage is the same (arrivals minus what Kafka took);
// what differs is which events survive. drop_oldest keeps the most recent
// QUEUE_SIZE events, so when Kafka comes back the first thing delivered is
// what is happening now, and the queue never holds events older than the
// outage-free window. A security pipeline alerts on current activity; a
// stale backlog delivered late is worth less than fresh events. Choose
// block when Tetragon's extra buffer matters more than seeing the losses in
// ingester metrics, and drop_newest to keep the events from the start of an
// outage (e.g. the exec events that later events refer to).
//
// The queue is a mutex-protected ring. PopBatch takes everything available
// (up to a limit) in one lock, so a busy consumer pays one lock per batch.
package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Policy is what Push does when the queue is full.
type Policy int

const (
	DropOldest Policy = iota
	DropNewest
	Block
)

// Policy names, as QUEUE_POLICY spells them.
const (
	NameDropOldest = "drop_oldest"
	NameDropNewest = "drop_newest"
	NameBlock      = "block"
)

func (p Policy) String() string {
	switch p {
	case DropOldest:
		return NameDropOldest
	case DropNewest:
		return NameDropNewest
	case Block:
		return NameBlock
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy reads a QUEUE_POLICY value.
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case NameDropOldest:
		return DropOldest, nil
	case NameDropNewest:
		return DropNewest, nil
	case NameBlock:
		return Block, nil
	}
	return 0, fmt.Errorf("must be %s, %s or %s, got %q", NameDropOldest, NameDropNewest, NameBlock, s)
}

// Dropped tells the caller of Push what, if anything, was discarded.
type Dropped int

const (
	// None: the event was queued and nothing was discarded.
	None Dropped = iota
	// Newest: the queue was full and the pushed event was discarded.
	Newest
	// Oldest: the queue was full; the oldest event was discarded and the
	// pushed one queued.
	Oldest
)

// ErrClosed is returned by Push after Close, and by PopBatch once a closed
// queue is empty.
var ErrClosed = errors.New("queue: closed")

// Queue is a bounded FIFO of T. Any number of goroutines may push and pop.
type Queue[T any] struct {
	policy Policy

	mu       sync.Mutex
	buf      []T
	head, n  int
	closed   bool
	popWait  int // consumers waiting for an item
	pushWait int // producers waiting for room (block policy)
	notEmpty chan struct{}
	notFull  chan struct{}
	closedCh chan struct{}
}

// New returns a queue of size slots (at least 1).
func New[T any](size int, policy Policy) *Queue[T] {
	if size < 1 {
		size = 1
	}
	return &Queue[T]{
		policy:   policy,
		buf:      make([]T, size),
		notEmpty: make(chan struct{}, 1),
		notFull:  make(chan struct{}, 1),
		closedCh: make(chan struct{}),
	}
}

// Cap is the number of slots.
func (q *Queue[T]) Cap() int { return len(q.buf) }

// Len is the number of queued items.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Push queues v according to the policy. With Block it waits for room and
// returns ctx's error if ctx ends first (v is then not queued). After Close
// it returns ErrClosed and does not queue v. Under DropOldest the discarded
// item is returned so the caller may release it.
func (q *Queue[T]) Push(ctx context.Context, v T) (Dropped, T, error) {
	var zero T
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return None, zero, ErrClosed
		}
		if q.n < len(q.buf) {
			break
		}
		switch q.policy {
		case DropNewest:
			q.mu.Unlock()
			return Newest, zero, nil
		case DropOldest:
			old := q.buf[q.head]
			q.buf[q.head] = v
			q.head = (q.head + 1) % len(q.buf)
			q.mu.Unlock()
			return Oldest, old, nil
		}
		// Block: wait for a consumer to make room.
		q.pushWait++
		q.mu.Unlock()
		select {
		case <-q.notFull:
		case <-q.closedCh:
		case <-ctx.Done():
			q.mu.Lock()
			q.pushWait--
			q.mu.Unlock()
			return None, zero, ctx.Err()
		}
		q.mu.Lock()
		q.pushWait--
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
	wake := q.popWait > 0
	// Another blocked producer may fit too: pass the wake-up on.
	wakePush := q.pushWait > 0 && q.n < len(q.buf)
	q.mu.Unlock()
	if wake {
		signal(q.notEmpty)
	}
	if wakePush {
		signal(q.notFull)
	}
	return None, zero, nil
}

// PopBatch appends up to max queued items to dst (in FIFO order), waiting
// until there is at least one. It returns ctx's error if ctx ends first,
// and ErrClosed once the queue is closed and empty.
func (q *Queue[T]) PopBatch(ctx context.Context, dst []T, max int) ([]T, error) {
	var zero T
	q.mu.Lock()
	for q.n == 0 {
		if q.closed {
			q.mu.Unlock()
			return dst, ErrClosed
		}
		q.popWait++
		q.mu.Unlock()
		select {
		case <-q.notEmpty:
		case <-q.closedCh:
		case <-ctx.Done():
			q.mu.Lock()
			q.popWait--
			q.mu.Unlock()
			return dst, ctx.Err()
		}
		q.mu.Lock()
		q.popWait--
	}
	k := min(q.n, max)
	for range k {
		dst = append(dst, q.buf[q.head])
		q.buf[q.head] = zero // let the GC have the event
		q.head = (q.head + 1) % len(q.buf)
	}
	q.n -= k
	wakePush := q.pushWait > 0
	wakePop := q.n > 0 && q.popWait > 0
	q.mu.Unlock()
	if wakePush {
		signal(q.notFull)
	}
	if wakePop {
		signal(q.notEmpty)
	}
	return dst, nil
}

// Close stops Push (it returns ErrClosed) and wakes every waiter. Queued
// items can still be popped.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.closedCh)
	}
}

// Drain removes and returns every queued item, for the shutdown report.
func (q *Queue[T]) Drain() []T {
	var zero T
	q.mu.Lock()
	out := make([]T, 0, q.n)
	for q.n > 0 {
		out = append(out, q.buf[q.head])
		q.buf[q.head] = zero
		q.head = (q.head + 1) % len(q.buf)
		q.n--
	}
	wake := q.pushWait > 0
	q.mu.Unlock()
	if wake {
		signal(q.notFull)
	}
	return out
}

// signal leaves a wake-up token unless one is already pending. A woken
// waiter re-checks the state under the lock, so a stale token is harmless.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
