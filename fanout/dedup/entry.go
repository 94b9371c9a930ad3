// Package dedup decides, from the group table, whether a raw message is a new
// event, a replay of a message already processed, or a duplicate from
// upstream; and keeps that table bounded in time.
//
// The rule (see the design, "Dedup: correct under crashes"): the table value
// of an event id records where the event was first seen (raw partition and
// offset) and when. A message whose id is absent, or whose entry is older
// than the window, is new. A message at the SAME partition and offset as the
// entry is a replay after a crash or rebalance: it is processed again, never
// dropped, because its earlier output may never have been acked. A message
// at a LATER offset than the entry is a duplicate and dropped.
//
// One refinement: an entry at a LATER offset than the message (a "rewind")
// means the table saw a later copy first, which happens only when the group
// re-reads older offsets (an offset reset, or a replay spanning an entry
// that expired and was re-recorded). Whether the earlier copy was ever
// delivered is unknown, so it is processed again and the entry kept: at
// worst one repeat with the same key, never a loss.
package dedup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Entry is the table value: where and when an event id was first seen.
type Entry struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
	// SeenNS is the unix time in ns when the fanout first processed it.
	SeenNS int64 `json:"seen_ns"`
}

// Expired reports whether e is older than window at now.
func (e *Entry) Expired(nowNS int64, window time.Duration) bool {
	return nowNS-e.SeenNS > int64(window)
}

// Verdict is what to do with a message.
type Verdict int

// There is no "expired" verdict: the table storage (Store) hides entries
// older than the window, so the callback never sees one; Classify still
// reads an expired entry as New for storages without that wrapper (goka's
// tester).
const (
	// New: no live entry. Record it, then process.
	New Verdict = iota
	// Replay: the entry is this very message. Process again, and write the
	// same entry again (Record).
	Replay
	// Duplicate: the entry is an earlier copy. Drop.
	Duplicate
	// Rewind: the entry is a later copy. Process again, keep the entry.
	Rewind
)

var verdictNames = [...]string{"new", "replay", "duplicate", "rewind"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// Record reports whether the table entry must be written: the message's
// position for New; the existing entry, unchanged, for Replay. goka writes
// local storage before the changelog, so a replay after a failed changelog
// write (the processor stopped on it) finds the entry locally, in LevelDB
// that survived the restart, while the changelog never got it: without the
// rewrite, a replica that later rebuilds the partition from the changelog
// would let a duplicate of this event through.
func (v Verdict) Record() bool { return v == New || v == Replay }

// Process reports whether the message goes on to normalize and route.
func (v Verdict) Process() bool { return v != Duplicate }

// Classify applies the rule to the message at partition/offset, given the
// table's entry for its id (nil: none).
func Classify(e *Entry, partition int32, offset, nowNS int64, window time.Duration) Verdict {
	switch {
	case e == nil, e.Expired(nowNS, window):
		return New
	case e.Partition == partition && e.Offset == offset:
		return Replay
	case e.Partition != partition || e.Offset < offset:
		// Another partition cannot happen while the table is co-partitioned
		// with the raw topic; if it does, the id was processed elsewhere.
		return Duplicate
	default:
		return Rewind
	}
}

// Encoding: a version byte, then uvarint partition, uvarint offset, varint
// seen ns. About 15 bytes for a realistic entry; the key (the event id) is
// the bigger part of a table record.
const codecV1 = 1

// AppendEntry appends e's encoding to b.
func AppendEntry(b []byte, e *Entry) []byte {
	b = append(b, codecV1)
	b = binary.AppendUvarint(b, uint64(uint32(e.Partition)))
	b = binary.AppendUvarint(b, uint64(e.Offset))
	return binary.AppendVarint(b, e.SeenNS)
}

var errCorrupt = errors.New("dedup: corrupt table value")

// ParseEntry decodes an encoded entry.
func ParseEntry(b []byte) (Entry, error) {
	if len(b) == 0 || b[0] != codecV1 {
		return Entry{}, errCorrupt
	}
	b = b[1:]
	p, n := binary.Uvarint(b)
	if n <= 0 || p > 1<<31-1 {
		return Entry{}, errCorrupt
	}
	b = b[n:]
	o, n := binary.Uvarint(b)
	if n <= 0 || o > 1<<63-1 {
		return Entry{}, errCorrupt
	}
	b = b[n:]
	s, n := binary.Varint(b)
	if n <= 0 || n != len(b) {
		return Entry{}, errCorrupt
	}
	return Entry{Partition: int32(p), Offset: int64(o), SeenNS: s}, nil
}

// seenNS extracts the first-seen time of an encoded entry.
func seenNS(b []byte) (int64, bool) {
	e, err := ParseEntry(b)
	return e.SeenNS, err == nil
}

var corrupt atomic.Int64

// CorruptValues counts table values that did not decode. They read as
// absent (the message is processed as new and the value overwritten):
// stopping the processor on them would stop the pipeline for good.
func CorruptValues() int64 { return corrupt.Load() }

// Codec is the goka codec of the group table: *Entry values.
type Codec struct{}

// Encode encodes an *Entry or Entry.
func (Codec) Encode(v any) ([]byte, error) {
	switch e := v.(type) {
	case *Entry:
		return AppendEntry(make([]byte, 0, 24), e), nil
	case Entry:
		return AppendEntry(make([]byte, 0, 24), &e), nil
	default:
		return nil, fmt.Errorf("dedup codec: cannot encode %T", v)
	}
}

// Decode returns an *Entry, or nil for bytes that are not an entry (counted
// in CorruptValues).
func (Codec) Decode(b []byte) (any, error) {
	e, err := ParseEntry(b)
	if err != nil {
		corrupt.Add(1)
		return nil, nil
	}
	return &e, nil
}
