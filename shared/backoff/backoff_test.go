package backoff

import (
	"testing"
	"time"
)

func TestGrowsCapsAndResets(t *testing.T) {
	b := New(100*time.Millisecond, 2*time.Second)
	var last time.Duration
	for i := range 200 {
		d := b.Next()
		if d < 50*time.Millisecond || d > 2*time.Second {
			t.Fatalf("attempt %d: %v out of [Min/2, Max]", i, d)
		}
		last = d
	}
	if last < time.Second {
		t.Fatalf("after 200 attempts the delay should sit near Max, got %v", last)
	}
	b.Reset()
	if d := b.Next(); d > 100*time.Millisecond {
		t.Fatalf("after Reset: %v, want <= Min", d)
	}
}
