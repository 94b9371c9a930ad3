package normalize

import (
	"errors"
	"unicode/utf8"
	"unsafe"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/encoding/protowire"
)

//go:generate go run ./internal/gendecode -o decode_gen.go

// Decoder is the allocation-free alternative to Decode for the hot path.
//
// proto.Unmarshal allocates every message, wrapper, timestamp and string
// of an event (about 40 allocations for a typical exec or kprobe), which
// bounds the whole normalize path. Decoder fills the same official Go types
// from objects it recycles, and points strings and bytes into raw instead
// of copying them, so a warmed-up Decoder does not allocate.
//
// The price is lifetime: the event Decode returns, and every string, byte
// slice and map in it (Extract's Fields included), is valid only until the
// next Decode on the same Decoder, and only while raw is not modified.
// Finish with the event (Append, Extract, routing) before decoding the next
// one; copy what must outlive it. A Decoder is not safe for concurrent use:
// keep one per partition goroutine, or in a sync.Pool. It keeps the objects
// of the largest event it has decoded (bounded by the Kafka message size).
//
// The decoder is generated (decode_gen.go, from internal/gendecode) from
// the Tetragon API's descriptors; tests check that it yields exactly what
// proto.Unmarshal yields (proto.Equal, same accept/reject) on every test
// event and under fuzzing.
type Decoder struct {
	p    decoderPools
	raw  []byte // the input being decoded
	slab []byte // re-encoded unknown fields that could not alias raw
}

// inRaw reports whether b lies inside the input being decoded.
func (d *Decoder) inRaw(b []byte) bool {
	if len(b) == 0 || len(d.raw) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(d.raw)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(d.raw))
}

// NewDecoder returns a Decoder. The zero value is ready to use too.
func NewDecoder() *Decoder { return &Decoder{} }

var (
	errWire = errors.New("proto: cannot parse invalid wire-format data")
	errUTF8 = errors.New("proto: string field contains invalid UTF-8")
)

// Decode parses raw into a recycled event. Errors are the same
// *DecodeError reasons as the package-level Decode, for the same inputs.
func (d *Decoder) Decode(raw []byte) (*tetragon.GetEventsResponse, error) {
	d.p.reset()
	d.slab = d.slab[:0]
	d.raw = raw
	defer func() { d.raw = nil }()
	ev := d.new_tetragon_GetEventsResponse()
	if err := d.dec_tetragon_GetEventsResponse(ev, raw); err != nil {
		return nil, &DecodeError{Reason: ReasonUndecodable, Err: err}
	}
	if isEmpty(ev) {
		return nil, errEmpty
	}
	return ev, nil
}

// pool hands out recycled *T: next reports whether the object was used
// before (the caller zeroes it, keeping slice and map storage).
type pool[T any] struct {
	items []*T
	n     int
}

func (p *pool[T]) next() (*T, bool) {
	if p.n < len(p.items) {
		x := p.items[p.n]
		p.n++
		return x, true
	}
	x := new(T)
	p.items = append(p.items, x)
	p.n++
	return x, false
}

// str validates proto3 string bytes (proto.Unmarshal rejects invalid
// UTF-8 too) and returns a string sharing their memory.
func (d *Decoder) str(b []byte) (string, error) {
	if !utf8.Valid(b) {
		return "", errUTF8
	}
	if len(b) == 0 {
		return "", nil
	}
	return unsafe.String(&b[0], len(b)), nil
}

// bytes returns b itself, capacity clipped so no append can write into
// the rest of raw.
func (d *Decoder) bytes(b []byte) []byte { return b[:len(b):len(b)] }

// mapEntry parses a map<string,string> entry as proto.Unmarshal does:
// missing key or value is "", other fields and wrong wire types skipped.
func (d *Decoder) mapEntry(b []byte) (k, v string, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return "", "", errWire
		}
		b = b[n:]
		if (num == 1 || num == 2) && typ == protowire.BytesType {
			s, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return "", "", errWire
			}
			b = b[n:]
			str, err := d.str(s)
			if err != nil {
				return "", "", err
			}
			if num == 1 {
				k = str
			} else {
				v = str
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "", "", errWire
		}
		b = b[n:]
	}
	return k, v, nil
}

// appendUnknown adds one raw field (tag and value) to a message's unknown
// fields. proto.Unmarshal stores the tag re-encoded minimally; a field
// whose tag already is minimal, and that directly follows the previous
// unknown field in raw, is aliased; anything else is copied to the slab.
func (d *Decoder) appendUnknown(unk, field []byte) []byte {
	num, typ, n := protowire.ConsumeTag(field)
	minimal := n == protowire.SizeTag(num)
	if minimal {
		if len(unk) == 0 {
			return field[:len(field):len(field)]
		}
		// Extend in place only when both lie in raw, back to back (two
		// separate allocations can be adjacent in memory too).
		end := unsafe.Add(unsafe.Pointer(unsafe.SliceData(unk)), len(unk))
		if d.inRaw(unk) && d.inRaw(field) && end == unsafe.Pointer(&field[0]) {
			return unsafe.Slice(unsafe.SliceData(unk), len(unk)+len(field))
		}
	}
	start := len(d.slab)
	d.slab = append(d.slab, unk...)
	d.slab = protowire.AppendTag(d.slab, num, typ)
	d.slab = append(d.slab, field[n:]...)
	return d.slab[start:len(d.slab):len(d.slab)]
}
