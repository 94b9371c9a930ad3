package eventid

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// Version is the id scheme version, the first byte of what is hashed.
const Version byte = 1

// Len is the length of an id in hex characters.
const Len = 32

// ID is an event id: Len lowercase hex characters, usable as a Kafka key as
// is (id[:]). A fixed-size array so that computing one allocates nothing.
type ID [Len]byte

// String returns the id as a string (allocates).
func (id ID) String() string { return string(id[:]) }

// IsZero reports whether id is the zero value (not a valid id).
func (id ID) IsZero() bool { return id == ID{} }

// ErrInvalidID is returned by Parse for anything but Len lowercase hex characters.
var ErrInvalidID = errors.New("eventid: not 32 lowercase hex characters")

// Parse checks that s is an id (e.g. a Kafka key read back) and returns it.
func Parse(s string) (ID, error) {
	var id ID
	if len(s) != Len {
		return id, ErrInvalidID
	}
	for i := 0; i < Len; i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ID{}, ErrInvalidID
		}
		id[i] = c
	}
	return id, nil
}

// Info is what FromBytes learned on the way that the ingester needs for
// message headers.
type Info struct {
	// Type is the number of the GetEventsResponse oneof field that holds the
	// event (equal to tetragon.EventType for known types), or of the unknown
	// field taken as the event, or 0 when there is no event.
	Type int32
	// Node is node_name. It aliases the raw bytes given to FromBytes (no
	// copy): valid as long as they are; copy it to keep it longer.
	Node []byte
}

// TypeName spells the type the way the whole project does ("process_exec",
// ..., "unknown").
func (i Info) TypeName() string { return eventtype.FromFieldNumber(i.Type) }

// Fields of GetEventsResponse, Process, Timestamp and the wrappers.
const (
	fieldNodeName    protowire.Number = 1000
	fieldTime        protowire.Number = 1001
	fieldProcess     protowire.Number = 1 // in every event message that has one
	fieldExecID      protowire.Number = 1
	fieldPid         protowire.Number = 2
	fieldTid         protowire.Number = 16
	fieldWrapValue   protowire.Number = 1 // google.protobuf.UInt32Value.value
	fieldTimeSeconds protowire.Number = 1
	fieldTimeNanos   protowire.Number = 2
)

const maxDisc = 4

// spec lists the fields of one event type that go into its id. The order of
// strs and ints is the order in canon.
type spec struct {
	process bool
	nstr    int
	strs    [maxDisc]protowire.Number // string or bytes fields
	nint    int
	ints    [maxDisc]protowire.Number // varint fields
	wide    [maxDisc]bool             // 64-bit (else 32-bit: uint32 bit pattern)
}

// The specs come from shared/eventtype's table: specLow holds field
// numbers below 64, specHigh those from 40000 (test, rate_limit_info), and
// specOther anything else the table may one day hold. Arrays, not a map:
// specFor runs for every top-level field of every event (node labels
// included).
var (
	specLow   [64]*spec
	specHigh  [8]*spec
	specOther map[protowire.Number]*spec
)

func init() {
	for _, t := range eventtype.Table() {
		s := &spec{process: t.IDProcess}
		for _, f := range t.IDFields {
			if s.nstr == maxDisc || s.nint == maxDisc {
				panic("eventid: " + t.Name + " has more id fields of one kind than maxDisc")
			}
			if f.IsString() {
				s.strs[s.nstr] = f.Number
				s.nstr++
			} else {
				s.ints[s.nint], s.wide[s.nint] = f.Number, f.Wide
				s.nint++
			}
		}
		switch num := protowire.Number(t.Number); {
		case num < protowire.Number(len(specLow)):
			specLow[num] = s
		case num >= 40000 && num < 40000+protowire.Number(len(specHigh)):
			specHigh[num-40000] = s
		default:
			if specOther == nil {
				specOther = map[protowire.Number]*spec{}
			}
			specOther[num] = s
		}
	}
}

// specFor returns the spec of a known oneof field number, or nil.
func specFor(num protowire.Number) *spec {
	if num < protowire.Number(len(specLow)) {
		return specLow[num]
	}
	if num >= 40000 && num < 40000+protowire.Number(len(specHigh)) {
		return specHigh[num-40000]
	}
	if specOther == nil {
		return nil
	}
	return specOther[num]
}

// unknownCandidate reports whether a length-delimited top-level field with
// this number, unknown to this package, is taken as a newer Tetragon's event:
// the oneof lives below 1000 and from 40000; 1000-39999 are the response's
// own fields.
func unknownCandidate(num protowire.Number) bool {
	return num < 1000 || num >= 40000
}

// fields holds what goes into canon. S is string for decoded messages and
// []byte for raw bytes, so that neither path copies.
type fields[S string | []byte] struct {
	typ     int32
	spec    *spec // nil: no event or unknown type
	seconds int64
	nanos   int32
	node    S
	execID  S
	pid     uint32
	tid     uint32
	strs    [maxDisc]S
	ints    [maxDisc]uint64
	unknown [sha256.Size]byte // hash of the unknown event's payload
}

// resetEvent forgets a previous oneof member when another one replaces it.
func (f *fields[S]) resetEvent() {
	var zero S
	f.execID = zero
	f.pid, f.tid = 0, 0
	f.strs = [maxDisc]S{}
	f.ints = [maxDisc]uint64{}
}

// norm applies the decoder's truncation of a varint to the field's width,
// so both paths feed canon the same value.
func norm(wide bool, v uint64) uint64 {
	if wide {
		return v
	}
	return uint64(uint32(v))
}

// canonBuf is large enough for nearly every event; longer ones spill to the heap.
const canonBuf = 512

func (f *fields[S]) id() ID {
	var buf [canonBuf]byte
	b := append(buf[:0], Version)
	b = protowire.AppendVarint(b, uint64(uint32(f.typ)))
	b = binary.BigEndian.AppendUint64(b, uint64(f.seconds))
	b = binary.BigEndian.AppendUint32(b, uint32(f.nanos))
	b = appendLP(b, f.node)
	switch {
	case f.spec != nil:
		if f.spec.process {
			b = appendLP(b, f.execID)
			b = binary.BigEndian.AppendUint32(b, f.pid)
			b = binary.BigEndian.AppendUint32(b, f.tid)
		}
		for i := 0; i < f.spec.nstr; i++ {
			b = appendLP(b, f.strs[i])
		}
		for i := 0; i < f.spec.nint; i++ {
			b = binary.BigEndian.AppendUint64(b, f.ints[i])
		}
	case f.typ != 0:
		b = append(b, f.unknown[:]...)
	}
	sum := sha256.Sum256(b)
	var id ID
	hex.Encode(id[:], sum[:Len/2])
	return id
}

func appendLP[S string | []byte](b []byte, s S) []byte {
	b = protowire.AppendVarint(b, uint64(len(s)))
	return append(b, s...)
}
