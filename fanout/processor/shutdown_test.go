package processor

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestStopClockStartsWithTheShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := newStopClock(ctx, 2*time.Second)
	time.Sleep(50 * time.Millisecond)
	if got := c.left(); got != 2*time.Second {
		t.Fatalf("before the shutdown left() = %s, want the whole timeout", got)
	}
	cancel()
	deadline := time.Now().Add(time.Second)
	for c.left() == 2*time.Second && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // AfterFunc runs in its own goroutine
	}
	time.Sleep(100 * time.Millisecond)
	if got := c.left(); got > 1950*time.Millisecond || got < time.Second {
		t.Fatalf("100ms into the shutdown left() = %s, want about 1.9s", got)
	}
	c2 := newStopClock(ctx, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	if got := c2.left(); got != 0 {
		t.Fatalf("past the deadline left() = %s, want 0", got)
	}
}

func TestWithinAbandonsAStepThatHangs(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	t0 := time.Now()
	err := within("a close", 100*time.Millisecond, func() error { <-release; return nil })
	if !errors.Is(err, ErrShutdownIncomplete) || time.Since(t0) > time.Second {
		t.Fatalf("within returned %v after %s, want ErrShutdownIncomplete after 100ms", err, time.Since(t0))
	}
	want := errors.New("closed badly")
	if err := within("a close", time.Second, func() error { return want }); !errors.Is(err, want) {
		t.Fatalf("within returned %v, want the step's own error", err)
	}
}
