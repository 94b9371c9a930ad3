package dedup

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
)

// Kinds of local table storage (TABLE_STORAGE).
const (
	Memory  = "memory"
	LevelDB = "leveldb"
)

// StoreOptions configure the local table storage.
type StoreOptions struct {
	Window time.Duration
	// Kind is Memory or LevelDB.
	Kind string
	// Dir holds the LevelDB files (one directory per partition); it must
	// belong to this replica alone.
	Dir string
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
	// OnRecovered is called when a partition's storage finished recovering
	// from the changelog, with the time since it was opened.
	OnRecovered func(topic string, partition int32, took time.Duration)
}

// Store builds the per-partition storages of the group table (goka calls
// Builder for every partition it takes, active or hot standby), hides
// expired entries from reads, and sweeps them away. goka's storages have no
// TTL of their own.
type Store struct {
	opts StoreOptions

	mu   sync.Mutex
	open map[*ttlStorage]struct{}

	updates atomic.Int64
}

// NewStore returns a store; Run sweeps it.
func NewStore(o StoreOptions) (*Store, error) {
	if o.Window <= 0 {
		return nil, fmt.Errorf("dedup window must be positive, got %v", o.Window)
	}
	if o.Kind != Memory && o.Kind != LevelDB {
		return nil, fmt.Errorf("table storage %q: want %s or %s", o.Kind, Memory, LevelDB)
	}
	if o.Kind == LevelDB && o.Dir == "" {
		return nil, fmt.Errorf("table storage %s needs a directory", LevelDB)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{opts: o, open: map[*ttlStorage]struct{}{}}, nil
}

// Builder is the storage builder for goka.WithStorageBuilder.
func (s *Store) Builder() storage.Builder {
	var inner storage.Builder
	if s.opts.Kind == LevelDB {
		inner = storage.BuilderWithOptions(s.opts.Dir, nil)
	}
	return func(topic string, partition int32) (storage.Storage, error) {
		var st storage.Storage
		var mem *memStore
		if inner == nil {
			mem = newMemStore()
			st = mem
		} else {
			var err error
			if st, err = inner(topic, partition); err != nil {
				return nil, fmt.Errorf("table storage %s/%d: %w", topic, partition, err)
			}
		}
		return &ttlStorage{Storage: st, mem: mem, store: s, topic: topic, partition: partition}, nil
	}
}

// Update is the goka update callback (goka.WithUpdateCallback) for table
// recovery and hot standby: expired entries are not loaded, so a recovered
// table holds only the window, whatever the changelog's retention.
func (s *Store) Update(_ goka.UpdateContext, st storage.Storage, key string, value []byte) error {
	s.updates.Add(1)
	if value != nil {
		if seen, ok := seenNS(value); !ok || s.opts.Now().UnixNano()-seen <= int64(s.opts.Window) {
			// value aliases sarama's decompressed record batch: the memory
			// table keeping it would pin the whole batch (keys, framing)
			// for the window. LevelDB copies. (st is goka's proxy around
			// our storage, so the kind comes from the store.)
			if s.opts.Kind == Memory {
				value = bytes.Clone(value)
			}
			return st.Set(key, value)
		}
	}
	if has, err := st.Has(key); err != nil || !has {
		return err
	}
	return st.Delete(key)
}

// Updates counts the changelog records recovery and hot standby have read:
// a recovery that takes long still shows it is moving.
func (s *Store) Updates() int64 { return s.updates.Load() }

// Entries is the number of live entries over all open partitions: exact for
// memory, as of the last sweep for LevelDB.
func (s *Store) Entries() int64 {
	var n int64
	for _, st := range s.storages() {
		n += st.entries()
	}
	return n
}

// Partitions is the number of open partition storages.
func (s *Store) Partitions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

func (s *Store) storages() []*ttlStorage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*ttlStorage, 0, len(s.open))
	for st := range s.open {
		out = append(out, st)
	}
	return out
}

// Sweep deletes expired entries from every open partition and returns how
// many it deleted.
func (s *Store) Sweep() int {
	cutoff := s.opts.Now().UnixNano() - int64(s.opts.Window)
	n := 0
	for _, st := range s.storages() {
		n += st.sweep(cutoff)
	}
	return n
}

// Run sweeps every interval until ctx ends, reporting each sweep's deletions.
func (s *Store) Run(ctx context.Context, interval time.Duration, report func(deleted int)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n := s.Sweep(); report != nil {
				report(n)
			}
		}
	}
}

// sweepBatch bounds how long a sweep holds a partition's write lock.
const sweepBatch = 1000

// ttlStorage wraps a partition's storage: expired entries read as absent,
// writes and the sweep's deletes are serialized so a sweep never deletes a
// value the partition goroutine has just re-recorded.
type ttlStorage struct {
	storage.Storage
	mem   *memStore // nil for LevelDB
	store *Store

	topic     string
	partition int32
	openedAt  time.Time

	// write serializes Set/Delete with the sweep's check-and-delete.
	write sync.Mutex
	// life keeps Close from closing the database under a running sweep.
	life   sync.RWMutex
	closed bool

	countMu   sync.Mutex
	lastCount int64 // LevelDB: live entries at the last sweep
}

func (t *ttlStorage) now() int64 { return t.store.opts.Now().UnixNano() }

func (t *ttlStorage) live(v []byte) bool {
	if v == nil {
		return false
	}
	seen, ok := seenNS(v)
	// A corrupt value is left to the codec (which counts it and reads it as
	// absent) so it is overwritten rather than silently hidden here.
	return !ok || t.now()-seen <= int64(t.store.opts.Window)
}

func (t *ttlStorage) Open() error {
	t.openedAt = time.Now()
	if err := t.Storage.Open(); err != nil {
		return err
	}
	t.store.mu.Lock()
	t.store.open[t] = struct{}{}
	t.store.mu.Unlock()
	return nil
}

func (t *ttlStorage) Close() error {
	t.store.mu.Lock()
	delete(t.store.open, t)
	t.store.mu.Unlock()
	t.life.Lock()
	defer t.life.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	return t.Storage.Close()
}

func (t *ttlStorage) MarkRecovered() error {
	err := t.Storage.MarkRecovered()
	if err == nil && t.store.opts.OnRecovered != nil {
		t.store.opts.OnRecovered(t.topic, t.partition, time.Since(t.openedAt))
	}
	return err
}

func (t *ttlStorage) Get(key string) ([]byte, error) {
	v, err := t.Storage.Get(key)
	if err != nil || !t.live(v) {
		return nil, err
	}
	return v, nil
}

func (t *ttlStorage) Has(key string) (bool, error) {
	v, err := t.Get(key)
	return v != nil, err
}

func (t *ttlStorage) Set(key string, value []byte) error {
	t.write.Lock()
	defer t.write.Unlock()
	return t.Storage.Set(key, value)
}

func (t *ttlStorage) Delete(key string) error {
	t.write.Lock()
	defer t.write.Unlock()
	return t.Storage.Delete(key)
}

// Iterator skips expired entries.
func (t *ttlStorage) Iterator() (storage.Iterator, error) {
	it, err := t.Storage.Iterator()
	if err != nil {
		return nil, err
	}
	return &liveIter{Iterator: it, t: t}, nil
}

func (t *ttlStorage) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	it, err := t.Storage.IteratorWithRange(start, limit)
	if err != nil {
		return nil, err
	}
	return &liveIter{Iterator: it, t: t}, nil
}

type liveIter struct {
	storage.Iterator
	t *ttlStorage
}

func (it *liveIter) Next() bool {
	for it.Iterator.Next() {
		if v, err := it.Iterator.Value(); err != nil || it.t.live(v) {
			return true
		}
	}
	return false
}

func (t *ttlStorage) entries() int64 {
	if t.mem != nil {
		return int64(t.mem.len())
	}
	t.countMu.Lock()
	defer t.countMu.Unlock()
	return t.lastCount
}

func (t *ttlStorage) sweep(cutoff int64) int {
	t.life.RLock()
	defer t.life.RUnlock()
	if t.closed {
		return 0
	}
	if t.mem != nil {
		return t.mem.sweep(cutoff, sweepBatch)
	}
	return t.sweepScan(cutoff)
}

// sweepScan walks a LevelDB snapshot and deletes what is expired, checking
// each key again under the write lock: the partition goroutine may have
// re-recorded it since the snapshot.
func (t *ttlStorage) sweepScan(cutoff int64) int {
	it, err := t.Storage.Iterator()
	if err != nil {
		return 0
	}
	defer it.Release()
	var (
		live    int64
		deleted int
		batch   []string
	)
	expired := func(v []byte) bool {
		seen, ok := seenNS(v)
		return ok && seen <= cutoff
	}
	flush := func() {
		t.write.Lock()
		for _, k := range batch {
			if v, err := t.Storage.Get(k); err == nil && v != nil && expired(v) {
				if t.Storage.Delete(k) == nil {
					deleted++
				}
			}
		}
		t.write.Unlock()
		batch = batch[:0]
	}
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			continue
		}
		if expired(v) {
			batch = append(batch, string(it.Key()))
			if len(batch) == sweepBatch {
				flush()
			}
			continue
		}
		live++
	}
	if len(batch) > 0 {
		flush()
	}
	t.countMu.Lock()
	t.lastCount = live
	t.countMu.Unlock()
	return deleted
}

// Lookup finds key's live entry in whichever open partition holds it (for
// the query UI: it does not rely on the key hashing to its partition).
func (s *Store) Lookup(key string) (any, error) {
	for _, st := range s.storages() {
		v, err := st.Get(key)
		if err != nil {
			return nil, err
		}
		if v != nil {
			return Codec{}.Decode(v)
		}
	}
	return nil, nil
}
