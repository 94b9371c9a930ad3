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

// BenchmarkStoreGetSet is the table work of one new event through the
// TTL wrapper, for each storage kind: a Get that misses, then a Set of the
// first-seen entry. Keys are 32-hex like event ids; 1M distinct ones, so
// LevelDB works on a table bigger than its memtable.
func BenchmarkStoreGetSet(b *testing.B) {
	keys := make([]string, 1<<20)
	for i := range keys {
		keys[i] = fmt.Sprintf("%032x", uint64(i)*0x9e3779b97f4a7c15)
	}
	for _, kind := range []string{Memory, LevelDB} {
		b.Run(kind, func(b *testing.B) {
			s, err := NewStore(StoreOptions{Window: time.Hour, Kind: kind, Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			st, err := s.Builder()("t", 0)
			if err != nil {
				b.Fatal(err)
			}
			if err := st.Open(); err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			now := time.Now().UnixNano()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := keys[i&(len(keys)-1)]
				if _, err := st.Get(k); err != nil {
					b.Fatal(err)
				}
				if err := st.Set(k, AppendEntry(nil, &Entry{Offset: int64(i), SeenNS: now})); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
