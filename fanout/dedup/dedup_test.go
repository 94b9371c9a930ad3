package dedup

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka/storage"
)

const window = 10 * time.Minute

func TestCodecRoundTrip(t *testing.T) {
	for _, e := range []Entry{
		{},
		{Partition: 11, Offset: 123456789, SeenNS: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano()},
		{Partition: math.MaxInt32, Offset: math.MaxInt64, SeenNS: math.MinInt64},
	} {
		b, err := Codec{}.Encode(&e)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Codec{}.Decode(b)
		if err != nil || v == nil || *v.(*Entry) != e {
			t.Fatalf("round trip of %+v: %v, %v", e, v, err)
		}
	}
	b, _ := Codec{}.Encode(Entry{Partition: 3, Offset: 1 << 40, SeenNS: time.Now().UnixNano()})
	if len(b) > 20 {
		t.Errorf("entry encodes to %d bytes, want a compact encoding", len(b))
	}
	if _, err := (Codec{}).Encode("x"); err == nil {
		t.Error("encoding a string did not fail")
	}
}

func TestCodecCorruptReadsAsAbsent(t *testing.T) {
	before := CorruptValues()
	for _, b := range [][]byte{nil, {}, {2, 1, 1, 1}, {1}, {1, 0x80}, {1, 1, 1, 1, 9}} {
		v, err := Codec{}.Decode(b)
		if err != nil || v != nil {
			t.Errorf("Decode(%v) = %v, %v; want nil, nil", b, v, err)
		}
	}
	if got := CorruptValues() - before; got != 6 {
		t.Errorf("corrupt count grew by %d, want 6", got)
	}
}

func TestClassify(t *testing.T) {
	now := time.Now().UnixNano()
	recent := now - int64(time.Minute)
	old := now - int64(window) - 1
	cases := []struct {
		name string
		e    *Entry
		p    int32
		off  int64
		want Verdict
	}{
		{"absent", nil, 0, 5, New},
		{"expired", &Entry{0, 5, old}, 0, 9, New},
		{"expired replay", &Entry{0, 5, old}, 0, 5, New},
		{"replay", &Entry{0, 5, recent}, 0, 5, Replay},
		{"duplicate", &Entry{0, 5, recent}, 0, 9, Duplicate},
		{"other partition", &Entry{1, 5, recent}, 0, 5, Duplicate},
		{"rewind", &Entry{0, 9, recent}, 0, 5, Rewind},
		{"clock went back", &Entry{0, 5, now + int64(time.Hour)}, 0, 9, Duplicate},
		{"exactly the window", &Entry{0, 5, now - int64(window)}, 0, 9, Duplicate},
	}
	for _, c := range cases {
		got := Classify(c.e, c.p, c.off, now, window)
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if !New.Record() || !Replay.Record() || Rewind.Record() || Duplicate.Record() {
		t.Error("Record: new entries are written, and a replay's entry again")
	}
	if Duplicate.Process() || !Replay.Process() || !Rewind.Process() || !New.Process() {
		t.Error("Process: everything but a duplicate goes on")
	}
}

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time         { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration)    { c.ns.Add(int64(d)) }
func newClock() *clock                  { c := &clock{}; c.ns.Store(time.Now().UnixNano()); return c }
func enc(p int32, o, seen int64) []byte { return AppendEntry(nil, &Entry{p, o, seen}) }

func newStore(t *testing.T, kind string, c *clock) *Store {
	t.Helper()
	s, err := NewStore(StoreOptions{Window: window, Kind: kind, Dir: t.TempDir(), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openPartition(t *testing.T, s *Store, p int32) storage.Storage {
	t.Helper()
	st, err := s.Builder()("tetragon-fanout-table", p)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestStoreExpiresAndSweeps(t *testing.T) {
	for _, kind := range []string{Memory, LevelDB} {
		t.Run(kind, func(t *testing.T) {
			c := newClock()
			s := newStore(t, kind, c)
			st := openPartition(t, s, 0)

			for i := range 10 {
				if err := st.Set(fmt.Sprintf("old%d", i), enc(0, int64(i), c.ns.Load())); err != nil {
					t.Fatal(err)
				}
			}
			c.add(window / 2)
			for i := range 5 {
				_ = st.Set(fmt.Sprintf("new%d", i), enc(0, int64(100+i), c.ns.Load()))
			}
			c.add(window/2 + time.Second) // old* expired, new* live

			if v, _ := st.Get("old3"); v != nil {
				t.Error("an expired entry reads as present")
			}
			if ok, _ := st.Has("old3"); ok {
				t.Error("Has reports an expired entry")
			}
			if v, _ := st.Get("new3"); v == nil {
				t.Error("a live entry reads as absent")
			}
			// old0 is re-recorded by a new copy after expiry: the sweep
			// must keep the new value.
			_ = st.Set("old0", enc(0, 500, c.ns.Load()))

			if n := s.Sweep(); n != 9 {
				t.Errorf("sweep deleted %d, want 9", n)
			}
			if got := s.Entries(); got != 6 {
				t.Errorf("entries %d, want 6", got)
			}
			if v, _ := st.Get("old0"); v == nil {
				t.Error("the sweep deleted a re-recorded key")
			}
			it, _ := st.Iterator()
			n := 0
			for it.Next() {
				n++
			}
			it.Release()
			if n != 6 {
				t.Errorf("iterator saw %d entries, want 6", n)
			}
		})
	}
}

// A recovered value must not alias the changelog batch it came in (sarama
// hands out sub-slices of the decompressed batch): the memory table would
// pin the whole batch for the dedup window.
func TestStoreUpdateCopiesRecoveredValue(t *testing.T) {
	for _, kind := range []string{Memory, LevelDB} {
		t.Run(kind, func(t *testing.T) {
			c := newClock()
			s := newStore(t, kind, c)
			// goka hands the update callback its own proxy around our storage.
			st := gokaProxy{openPartition(t, s, 0)}
			v := enc(1, 7, c.ns.Load())
			batch := append(append([]byte("framing"), v...), "next record"...)
			value := batch[len("framing") : len("framing")+len(v)]
			if err := s.Update(nil, st, "id", value); err != nil {
				t.Fatal(err)
			}
			for i := range batch {
				batch[i] = 0xff // the batch buffer is reused or garbage now
			}
			got, err := st.Get("id")
			if err != nil || got == nil {
				t.Fatalf("recovered value: %v %v", got, err)
			}
			if e, err := ParseEntry(got); err != nil || e.Partition != 1 || e.Offset != 7 {
				t.Errorf("recovered value changed with the batch buffer: %v %v", e, err)
			}
		})
	}
}

type gokaProxy struct{ storage.Storage }

func TestStoreUpdateSkipsExpired(t *testing.T) {
	c := newClock()
	s := newStore(t, Memory, c)
	st := openPartition(t, s, 0)
	now := c.ns.Load()
	if err := s.Update(nil, st, "live", enc(0, 1, now)); err != nil {
		t.Fatal(err)
	}
	_ = st.Set("gone", enc(0, 2, now-int64(2*window)))
	if err := s.Update(nil, st, "gone", enc(0, 3, now-int64(window)-1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(nil, st, "never", enc(0, 4, now-int64(window)-1)); err != nil {
		t.Fatal(err)
	}
	_ = st.Set("tomb", enc(0, 5, now))
	if err := s.Update(nil, st, "tomb", nil); err != nil {
		t.Fatal(err)
	}
	if got := s.Entries(); got != 2 { // live + gone (hidden, left to the sweep)
		t.Errorf("entries %d, want 2", got)
	}
	if v, _ := st.Get("live"); v == nil {
		t.Error("a live entry was not loaded")
	}
	for _, k := range []string{"gone", "never", "tomb"} {
		if v, _ := st.Get(k); v != nil {
			t.Errorf("%s reads as present", k)
		}
	}
}

func TestStoreRecoveryCallbackAndClose(t *testing.T) {
	c := newClock()
	var got []int32
	s, _ := NewStore(StoreOptions{Window: window, Kind: Memory, Now: c.now,
		OnRecovered: func(_ string, p int32, took time.Duration) {
			if took < 0 {
				t.Errorf("negative recovery time")
			}
			got = append(got, p)
		}})
	st, _ := s.Builder()("t", 7)
	_ = st.Open()
	if s.Partitions() != 1 {
		t.Fatalf("open partitions %d, want 1", s.Partitions())
	}
	_ = st.MarkRecovered()
	if len(got) != 1 || got[0] != 7 {
		t.Fatalf("recovered %v, want [7]", got)
	}
	_ = st.Close()
	_ = st.Close()
	if s.Partitions() != 0 || s.Sweep() != 0 {
		t.Fatal("a closed storage is still swept")
	}
}

func TestNewStoreValidates(t *testing.T) {
	for _, o := range []StoreOptions{
		{Window: 0, Kind: Memory},
		{Window: time.Minute, Kind: "redis"},
		{Window: time.Minute, Kind: LevelDB},
	} {
		if _, err := NewStore(o); err == nil {
			t.Errorf("NewStore(%+v) accepted", o)
		}
	}
}

// TestSweepConcurrentWithWrites runs the sweep while a writer keeps
// re-recording expired keys (run with -race): every key the writer has just
// recorded must survive.
func TestSweepConcurrentWithWrites(t *testing.T) {
	for _, kind := range []string{Memory, LevelDB} {
		t.Run(kind, func(t *testing.T) {
			c := newClock()
			s := newStore(t, kind, c)
			st := openPartition(t, s, 0)
			const n = 3000
			for i := range n {
				_ = st.Set(fmt.Sprintf("k%05d", i), enc(0, int64(i), c.ns.Load()))
			}
			c.add(window + time.Second)
			fresh := c.ns.Load()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n; i += 2 {
					_ = st.Set(fmt.Sprintf("k%05d", i), enc(0, int64(n+i), fresh))
				}
			}()
			for range 3 {
				s.Sweep()
			}
			wg.Wait()
			s.Sweep()
			for i := 0; i < n; i++ {
				v, _ := st.Get(fmt.Sprintf("k%05d", i))
				if i%2 == 0 && v == nil {
					t.Fatalf("re-recorded key k%05d was swept", i)
				}
				if i%2 == 1 && v != nil {
					t.Fatalf("expired key k%05d survived", i)
				}
			}
			if got := s.Entries(); got != n/2 {
				t.Errorf("entries %d, want %d", got, n/2)
			}
		})
	}
}

func TestMemStoreFIFOCompacts(t *testing.T) {
	m := newMemStore()
	seen := int64(1)
	for i := range 50000 {
		_ = m.Set(fmt.Sprintf("k%d", i), enc(0, int64(i), seen))
		seen++
		if i%1000 == 999 {
			m.sweep(seen-100, sweepBatch)
		}
	}
	if m.len() > 100 || cap(m.fifo) > 16384 {
		t.Fatalf("len %d, fifo cap %d: the FIFO is not compacted", m.len(), cap(m.fifo))
	}
	if o, _ := m.GetOffset(-3); o != -3 {
		t.Fatalf("offset default %d", o)
	}
	_ = m.SetOffset(42)
	if o, _ := m.GetOffset(-3); o != 42 {
		t.Fatalf("offset %d", o)
	}
}
