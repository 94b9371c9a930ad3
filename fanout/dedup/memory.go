package dedup

import (
	"sort"
	"sync"

	"github.com/lovoo/goka/storage"
)

// memStore is the in-memory table storage. goka's own memory storage keeps
// a sorted key slice and re-sorts it on every insert (O(n log n) per new
// key), which a table of millions of event ids cannot afford; this one is a
// map plus a FIFO of (key, first-seen) in insertion order, so the sweep
// pops expired entries from the front without scanning the table.
type memStore struct {
	mu        sync.RWMutex
	m         map[string][]byte
	fifo      []fifoEntry
	head      int
	offset    int64
	hasOffset bool
}

type fifoEntry struct {
	key  string
	seen int64
}

func newMemStore() *memStore { return &memStore{m: map[string][]byte{}} }

func (s *memStore) Open() error  { return nil }
func (s *memStore) Close() error { return nil }

func (s *memStore) Has(key string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.m[key]
	return ok, nil
}

func (s *memStore) Get(key string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[key], nil
}

func (s *memStore) Set(key string, value []byte) error {
	seen, _ := seenNS(value) // a corrupt value gets seen 0: swept first
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = value
	s.fifo = append(s.fifo, fifoEntry{key: key, seen: seen})
	return nil
}

func (s *memStore) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *memStore) GetOffset(def int64) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.hasOffset {
		return def, nil
	}
	return s.offset, nil
}

func (s *memStore) SetOffset(o int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset, s.hasOffset = o, true
	return nil
}

func (s *memStore) MarkRecovered() error { return nil }

func (s *memStore) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

// sweep deletes entries first seen at or before cutoff, at most batch FIFO
// entries per lock hold so the partition goroutine is never held up long.
// Entries are popped in insertion order; one recorded with a later seen
// time ahead of older ones (clock skew between replicas) only delays the
// older ones by that skew.
func (s *memStore) sweep(cutoff int64, batch int) (deleted int) {
	for {
		s.mu.Lock()
		n := 0
		for s.head < len(s.fifo) && n < batch {
			f := s.fifo[s.head]
			if f.seen > cutoff {
				break
			}
			s.fifo[s.head] = fifoEntry{}
			s.head++
			n++
			// Delete only if the key still holds the value this FIFO entry
			// was pushed for: a re-recorded key has a newer FIFO entry.
			if v, ok := s.m[f.key]; ok {
				if seen, _ := seenNS(v); seen == f.seen {
					delete(s.m, f.key)
					deleted++
				}
			}
		}
		more := n == batch
		s.compactFIFO()
		s.mu.Unlock()
		if !more {
			return deleted
		}
	}
}

func (s *memStore) compactFIFO() {
	if s.head == len(s.fifo) {
		s.fifo = s.fifo[:0]
		s.head = 0
		return
	}
	if s.head >= 4096 && s.head*2 >= len(s.fifo) {
		n := copy(s.fifo, s.fifo[s.head:])
		clear(s.fifo[n:])
		s.fifo = s.fifo[:n]
		s.head = 0
	}
}

// Iterator returns a sorted snapshot (for goka's visitors and tools; the
// fanout itself never iterates).
func (s *memStore) Iterator() (storage.Iterator, error) {
	return s.IteratorWithRange(nil, nil)
}

func (s *memStore) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	s.mu.RLock()
	keys := make([]string, 0, len(s.m))
	vals := make(map[string][]byte, len(s.m))
	for k, v := range s.m {
		if start != nil && k < string(start) {
			continue
		}
		if limit != nil && k >= string(limit) {
			continue
		}
		keys = append(keys, k)
		vals[k] = v
	}
	s.mu.RUnlock()
	sort.Strings(keys)
	return &memIter{keys: keys, vals: vals, i: -1}, nil
}

type memIter struct {
	keys []string
	vals map[string][]byte
	i    int
}

func (it *memIter) Next() bool { it.i++; return it.i < len(it.keys) }
func (it *memIter) Err() error { return nil }
func (it *memIter) Key() []byte {
	if it.i < 0 || it.i >= len(it.keys) {
		return nil
	}
	return []byte(it.keys[it.i])
}
func (it *memIter) Value() ([]byte, error) {
	if it.i < 0 || it.i >= len(it.keys) {
		return nil, nil
	}
	return it.vals[it.keys[it.i]], nil
}
func (it *memIter) Release() { it.i = len(it.keys) }
func (it *memIter) Seek(key []byte) bool {
	it.i = sort.SearchStrings(it.keys, string(key)) - 1
	return it.i+1 < len(it.keys)
}
