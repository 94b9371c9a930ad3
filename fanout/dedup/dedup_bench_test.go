package dedup

import (
	"fmt"
	"testing"
	"time"
)

func BenchmarkCodec(b *testing.B) {
	e := &Entry{Partition: 7, Offset: 123456789, SeenNS: time.Now().UnixNano()}
	buf := make([]byte, 0, 32)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEntry(buf[:0], e)
		if _, err := ParseEntry(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemorySetGetSweep: the table's steady state, one new id per op
// with expiry keeping it at 100k entries.
func BenchmarkMemorySetGetSweep(b *testing.B) {
	c := newClock()
	s, _ := NewStore(StoreOptions{Window: 100 * time.Second, Kind: Memory, Now: c.now})
	st, _ := s.Builder()("t", 0)
	_ = st.Open()
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = fmt.Sprintf("%032x", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i&(len(keys)-1)]
		if v, _ := st.Get(k); v == nil {
			_ = st.Set(k, AppendEntry(nil, &Entry{Offset: int64(i), SeenNS: c.ns.Load()}))
		}
		c.add(time.Millisecond)
		if i%1000 == 0 {
			s.Sweep()
		}
		i++
	}
}
