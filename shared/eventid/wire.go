package eventid

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrMalformed is wrapped by every FromBytes error.
var ErrMalformed = errors.New("eventid: malformed GetEventsResponse")

// FromBytes computes the id of raw GetEventsResponse bytes, reading only the
// fields the id needs, and returns the event type and node name on the way.
// It allocates nothing for events whose canon fits canonBuf.
//
// It follows protobuf's decoding rules where they matter for the id: a field
// with an unexpected wire type is an unknown field and is skipped; of a
// repeated scalar the last value wins; repeated message occurrences merge; a
// different oneof member replaces the previous one. So whenever
// proto.Unmarshal accepts raw, FromBytes(raw) equals FromResponse of the
// result. FromBytes is more lenient than proto.Unmarshal: it does not check
// UTF-8 nor look inside fields it skips. The error wraps ErrMalformed when
// the wire format of the parts it reads is broken.
func FromBytes(raw []byte) (ID, Info, error) {
	var f fields[[]byte]
	var unknown []byte // payload of the last unknown-type candidate
	var unknownTyp int32
	b := raw
	for len(b) > 0 {
		at := len(raw) - len(b)
		num, typ, n := next(b)
		if n < 0 {
			return ID{}, Info{}, malformed(at, 0, n)
		}
		b = b[n:]
		if typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return ID{}, Info{}, malformed(at, num, n)
			}
			b = b[n:]
			switch {
			case num == fieldNodeName:
				f.node = v
			case num == fieldTime:
				if n := parseTimestamp(&f, v); n < 0 {
					return ID{}, Info{}, malformed(at, num, n)
				}
			default:
				if s := specFor(num); s != nil {
					if f.spec != s {
						f.resetEvent()
						f.spec, f.typ = s, int32(num)
					}
					if n := parseEvent(&f, v); n < 0 {
						return ID{}, Info{}, malformed(at, num, n)
					}
				} else if unknownCandidate(num) {
					unknown, unknownTyp = v, int32(num)
				}
			}
			continue
		}
		n = skip(num, typ, b)
		if n < 0 {
			return ID{}, Info{}, malformed(at, num, n)
		}
		b = b[n:]
	}
	if f.spec == nil && unknownTyp != 0 {
		f.typ = unknownTyp
		f.unknown = sha256.Sum256(unknown)
	}
	return f.id(), Info{Type: f.typ, Node: f.node}, nil
}

// consumeTag is protowire.ConsumeTag that also rejects field numbers above
// the maximum, as proto.Unmarshal does.
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n >= 0 && !num.IsValid() {
		return 0, 0, errCodeFieldNumber
	}
	return num, typ, n
}

// errCodeFieldNumber is protowire's code for an invalid field number, which
// protowire.ParseError turns into its error.
const errCodeFieldNumber = -2

// malformed reports an error in the top-level field that starts at byte at.
func malformed(at int, num protowire.Number, n int) error {
	return fmt.Errorf("%w: field %d at byte %d: %w", ErrMalformed, num, at, protowire.ParseError(n))
}

// The parsers below merge one occurrence of a message into f and return 0 or
// a negative protowire error code. They are plain loops, not callbacks: this
// is the ingester's hot path.

// next reads a tag. One-byte tags (every field here below 16) take an
// inlined fast path.
func next(b []byte) (protowire.Number, protowire.Type, int) {
	if len(b) > 0 && b[0] < 0x80 && b[0] >= 8 {
		return protowire.Number(b[0] >> 3), protowire.Type(b[0] & 7), 1
	}
	return consumeTag(b)
}

// skip consumes the value of a field the id does not need. Short
// length-delimited values take an inlined fast path.
func skip(num protowire.Number, typ protowire.Type, b []byte) int {
	if typ == protowire.BytesType && len(b) > 0 && b[0] < 0x80 && int(b[0]) < len(b) {
		return 1 + int(b[0])
	}
	return protowire.ConsumeFieldValue(num, typ, b)
}

// parseTimestamp merges google.protobuf.Timestamp.
func parseTimestamp(f *fields[[]byte], b []byte) int {
	for len(b) > 0 {
		num, typ, n := next(b)
		if n < 0 {
			return n
		}
		b = b[n:]
		if typ == protowire.VarintType && (num == fieldTimeSeconds || num == fieldTimeNanos) {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return n
			}
			if num == fieldTimeSeconds {
				f.seconds = int64(v)
			} else {
				f.nanos = int32(v)
			}
			b = b[n:]
			continue
		}
		if n = skip(num, typ, b); n < 0 {
			return n
		}
		b = b[n:]
	}
	return 0
}

// parseEvent merges a known event message (f.spec says which fields count).
func parseEvent(f *fields[[]byte], b []byte) int {
	s := f.spec
fields:
	for len(b) > 0 {
		// next and skip, inlined by hand: this loop sees most of the fields.
		var num protowire.Number
		var typ protowire.Type
		if c := b[0]; c < 0x80 && c >= 8 {
			num, typ, b = protowire.Number(c>>3), protowire.Type(c&7), b[1:]
		} else {
			var n int
			if num, typ, n = consumeTag(b); n < 0 {
				return n
			}
			b = b[n:]
		}
		switch typ {
		case protowire.BytesType:
			wanted := num == fieldProcess && s.process
			slot := -1
			for i := 0; i < s.nstr; i++ {
				if s.strs[i] == num {
					slot = i
				}
			}
			if !wanted && slot < 0 {
				break
			}
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return n
			}
			b = b[n:]
			if wanted {
				if m := parseProcess(f, v); m < 0 {
					return m
				}
			} else {
				f.strs[slot] = v
			}
			continue fields
		case protowire.VarintType:
			for i := 0; i < s.nint; i++ {
				if s.ints[i] == num {
					v, n := protowire.ConsumeVarint(b)
					if n < 0 {
						return n
					}
					f.ints[i] = norm(s.wide[i], v)
					b = b[n:]
					continue fields
				}
			}
		}
		if typ == protowire.BytesType && len(b) > 0 && b[0] < 0x80 && int(b[0]) < len(b) {
			b = b[1+int(b[0]):]
			continue
		}
		n := protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return n
		}
		b = b[n:]
	}
	return 0
}

// parseProcess merges tetragon.Process.
func parseProcess(f *fields[[]byte], b []byte) int {
	for len(b) > 0 {
		// next and skip, inlined by hand: this loop sees most of the fields.
		var num protowire.Number
		var typ protowire.Type
		if c := b[0]; c < 0x80 && c >= 8 {
			num, typ, b = protowire.Number(c>>3), protowire.Type(c&7), b[1:]
		} else {
			var n int
			if num, typ, n = consumeTag(b); n < 0 {
				return n
			}
			b = b[n:]
		}
		if typ == protowire.BytesType && (num == fieldExecID || num == fieldPid || num == fieldTid) {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return n
			}
			b = b[n:]
			switch num {
			case fieldExecID:
				f.execID = v
			case fieldPid:
				n = uint32Value(v, &f.pid)
			default:
				n = uint32Value(v, &f.tid)
			}
			if n < 0 {
				return n
			}
			continue
		}
		if typ == protowire.BytesType && len(b) > 0 && b[0] < 0x80 && int(b[0]) < len(b) {
			b = b[1+int(b[0]):]
			continue
		}
		n := protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return n
		}
		b = b[n:]
	}
	return 0
}

// uint32Value merges google.protobuf.UInt32Value into dst.
func uint32Value(b []byte, dst *uint32) int {
	for len(b) > 0 {
		num, typ, n := next(b)
		if n < 0 {
			return n
		}
		b = b[n:]
		if num == fieldWrapValue && typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return n
			}
			*dst = uint32(v)
			b = b[n:]
			continue
		}
		if n = skip(num, typ, b); n < 0 {
			return n
		}
		b = b[n:]
	}
	return 0
}
