package processor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrShutdownIncomplete: the shutdown ran out of SHUTDOWN_TIMEOUT before
// something finished (goka's processor, the output flush, a client's
// close). What was not committed is processed again on the next start; the
// fanout exits non-zero so the operator sees the shutdown was not clean.
var ErrShutdownIncomplete = errors.New("shutdown incomplete")

// stopClock is the budget of a shutdown. With Kafka gone, goka alone can
// wait a minute per step (in-flight messages, its producer, the consumer
// group's leave), and sarama's closes wait out network timeouts: the
// process outlived its SIGTERM by minutes. So every step after ctx ends gets
// what is left of one deadline, and a step that overruns it is abandoned.
type stopClock struct {
	timeout time.Duration

	mu       sync.Mutex
	deadline time.Time // zero until ctx ends
}

// newStopClock starts the clock when ctx ends.
func newStopClock(ctx context.Context, timeout time.Duration) *stopClock {
	c := &stopClock{timeout: timeout}
	context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.deadline = time.Now().Add(timeout)
		c.mu.Unlock()
	})
	return c
}

// left is the time left for a step: before the shutdown (a close after a
// failure) the whole timeout, during it what remains of the deadline
// (never negative).
func (c *stopClock) left() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deadline.IsZero() {
		return c.timeout
	}
	return max(time.Until(c.deadline), 0)
}

// within runs fn and waits at most d for it. On timeout fn keeps running
// in the background (the process is about to exit) and the error says
// which step did not finish.
func within(what string, d time.Duration, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("%w: %s did not finish within %s", ErrShutdownIncomplete, what, d.Round(time.Millisecond))
	}
}
