package tetragon

import (
	"math/bits"
	"sync"
)

// dirtyPool is gRPC's default tiered buffer pool without the zeroing: the
// default pool clears every buffer it hands out (4% of the ingester's CPU
// in the load run), which protects against leaking one message's bytes into
// another's. Here every message is copied out (passthroughCodec.Unmarshal)
// before its buffer returns to the pool, and reads overwrite what they use,
// so stale bytes are never seen.
type dirtyPool struct {
	tiers [maxTier + 1]sync.Pool
}

const (
	minTier = 8  // 256 B
	maxTier = 20 // 1 MiB; larger messages get their own allocation
)

// tier returns the smallest power-of-two exponent whose size holds n.
func tier(n int) int {
	if n <= 1<<minTier {
		return minTier
	}
	return bits.Len(uint(n - 1))
}

func (p *dirtyPool) Get(n int) *[]byte {
	t := tier(n)
	if t > maxTier {
		b := make([]byte, n)
		return &b
	}
	if v, ok := p.tiers[t].Get().(*[]byte); ok {
		*v = (*v)[:n]
		return v
	}
	b := make([]byte, n, 1<<t)
	return &b
}

func (p *dirtyPool) Put(b *[]byte) {
	c := cap(*b)
	t := tier(c)
	// Only exact tier sizes come back into a tier: a buffer from a direct
	// allocation (or trimmed by gRPC) would be too small for its tier.
	if t > maxTier || c != 1<<t {
		return
	}
	*b = (*b)[:c]
	p.tiers[t].Put(b)
}
