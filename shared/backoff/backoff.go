// Package backoff is exponential backoff with full jitter and an explicit
// reset, for every "retry forever" loop (Tetragon reconnects, Kafka at start,
// waiting for the raw topic). The reset matters: a stream that was healthy
// for a while starts again from the minimum delay, and the exponent is
// capped so it can never overflow however long the outage lasts.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff hands out delays; not safe for concurrent use.
type Backoff struct {
	Min, Max time.Duration
	attempt  int
}

// New returns a backoff between min and max.
func New(min, max time.Duration) *Backoff { return &Backoff{Min: min, Max: max} }

// Next returns the next delay: a random duration in [d/2, d] where d doubles
// from Min up to Max.
func (b *Backoff) Next() time.Duration {
	d := b.Min
	for i := 0; i < b.attempt && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max || d <= 0 {
		d = b.Max
	}
	if b.attempt < 64 {
		b.attempt++
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// Attempts is how many delays were handed out since the last Reset.
func (b *Backoff) Attempts() int { return b.attempt }

// Reset starts again from Min.
func (b *Backoff) Reset() { b.attempt = 0 }

// Sleep waits for the next delay or until ctx ends; false means ctx ended.
func (b *Backoff) Sleep(ctx context.Context) bool {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
