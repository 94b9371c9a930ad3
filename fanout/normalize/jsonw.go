package normalize

import (
	"encoding/base64"
	"encoding/hex"
	"github.com/cilium/tetragon/api/v1/tetragon"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Low-level JSON appenders. Every writer takes the buffer and returns it,
// like strconv.Append*, so a reused buffer means no allocation.
//
// Commas: a key or array element is preceded by ',' unless the byte before
// it opens the enclosing object or array. After any complete value the last
// byte is never '{' or '[' (an empty object ends in '}'), so this is exact.

const hexDigits = "0123456789abcdef"

// safeASCII[c] is true for bytes that go into a JSON string unchanged.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s as a JSON string: quotes and backslashes escaped,
// control characters as \n-style or \u00XX escapes, invalid UTF-8 bytes as
// U+FFFD (one per bad byte, like encoding/json), and U+2028/U+2029 escaped so
// the output is also safe to embed in JavaScript. No HTML escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip 8 plain ASCII bytes at a time: most of what Tetragon sends
		// (paths, ids, arguments) needs no escaping.
		for i+8 <= len(s) {
			w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if needsEscape(w) {
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// needsEscape reports whether any of the 8 bytes in w is a control
// character, '"', '\\' or non-ASCII (SWAR: a byte is zero in v iff
// (v-1)&^v has its top bit set).
func needsEscape(w uint64) bool {
	ctl := (w - lsb*0x20) & ^w
	quote := w ^ (lsb * '"')
	bslash := w ^ (lsb * '\\')
	return (ctl|(quote-lsb)&^quote|(bslash-lsb)&^bslash|w)&msb != 0
}

// key appends `"k":`, with a leading comma when needed. k must be a plain
// ASCII name that needs no escaping (all our keys are constants).
func key(b []byte, k string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' && b[n-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

// elem starts an array element.
func elem(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] != '[' {
		b = append(b, ',')
	}
	return b
}

func fStr(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(key(b, k), v)
}

func fU64(b []byte, k string, v uint64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendUint(key(b, k), v, 10)
}

func fBool(b []byte, k string, v bool) []byte {
	if !v {
		return b
	}
	return append(key(b, k), "true"...)
}

// Wrapper types are emitted whenever set, zero included: uid 0 is root, not
// "unset".
func fU32W(b []byte, k string, w *wrapperspb.UInt32Value) []byte {
	if w == nil {
		return b
	}
	return strconv.AppendUint(key(b, k), uint64(w.GetValue()), 10)
}

func fI32W(b []byte, k string, w *wrapperspb.Int32Value) []byte {
	if w == nil {
		return b
	}
	return strconv.AppendInt(key(b, k), int64(w.GetValue()), 10)
}

func fBoolW(b []byte, k string, w *wrapperspb.BoolValue) []byte {
	if w == nil {
		return b
	}
	b = key(b, k)
	if w.GetValue() {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// Valid RFC 3339 range, as protojson enforces: 0001-01-01 to 9999-12-31.
const (
	minTimestamp = -62135596800
	maxTimestamp = 253402300799
)

// fTime appends an RFC 3339 UTC time with as many fractional digits as
// needed (time.RFC3339Nano). A timestamp outside what RFC 3339 can spell
// (years 1..9999, nanos 0..999999999) is omitted: it is garbage from the
// sender and no consumer could parse it.
func fTime(b []byte, k string, ts *timestamppb.Timestamp) []byte {
	if ts == nil {
		return b
	}
	s, n := ts.GetSeconds(), ts.GetNanos()
	if s < minTimestamp || s > maxTimestamp || n < 0 || n > 999999999 {
		return b
	}
	b = append(key(b, k), '"')
	b = time.Unix(s, int64(n)).UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func fStrs(b []byte, k string, v []string) []byte {
	if len(v) == 0 {
		return b
	}
	b = append(key(b, k), '[')
	for _, s := range v {
		b = appendString(elem(b), s)
	}
	return append(b, ']')
}

// fBase64 appends bytes as standard padded base64, protojson's encoding of
// bytes fields.
func fBase64(b []byte, k string, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = append(key(b, k), '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

func fHex(b []byte, k string, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = append(key(b, k), '"')
	b = hex.AppendEncode(b, v)
	return append(b, '"')
}

// fHexU64 spells a 64-bit address as "0x..." so it survives consumers that
// read JSON numbers as float64 or int64.
func fHexU64(b []byte, k string, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = append(key(b, k), '"', '0', 'x')
	b = strconv.AppendUint(b, v, 16)
	return append(b, '"')
}

// enumNames spells the values of one Tetragon enum. Values below
// denseLimit are a slice index (a map lookup per capability was a sixth of
// Append's time); sparse bit values (taint flags) use the map.
type enumNames struct {
	dense  []string
	sparse map[int32]string
}

const denseLimit = 1024

func newEnumNames(m map[int32]string) *enumNames {
	e := &enumNames{sparse: map[int32]string{}}
	for v, name := range m {
		if v >= 0 && v < denseLimit {
			for int(v) >= len(e.dense) {
				e.dense = append(e.dense, "")
			}
			e.dense[v] = name
		} else {
			e.sparse[v] = name
		}
	}
	return e
}

func (e *enumNames) name(v int32) (string, bool) {
	if v >= 0 && int(v) < len(e.dense) {
		s := e.dense[v]
		return s, s != ""
	}
	s, ok := e.sparse[v]
	return s, ok
}

var (
	kprobeActionNames = newEnumNames(tetragon.KprobeAction_name)
	throttleNames     = newEnumNames(tetragon.ThrottleType_name)
	capNames          = newEnumNames(tetragon.CapabilitiesType_name)
	secureBitsNames   = newEnumNames(tetragon.SecureBitsType_name)
	privChangedNames  = newEnumNames(tetragon.ProcessPrivilegesChanged_name)
	taintNames        = newEnumNames(tetragon.TaintedBitsType_name)
	bpfCmdNames       = newEnumNames(tetragon.BpfCmd_name)
)

// fEnum appends an enum value by its Tetragon name; a number this build has
// no name for is spelled in decimal, still as a string, so the field keeps
// one JSON type. 0 is the proto3 default and means unset here.
func fEnum(b []byte, k string, v int32, names *enumNames) []byte {
	if v == 0 {
		return b
	}
	return appendEnum(key(b, k), v, names)
}

func appendEnum(b []byte, v int32, names *enumNames) []byte {
	if s, ok := names.name(v); ok {
		return appendString(b, s)
	}
	b = append(b, '"')
	b = strconv.AppendInt(b, int64(v), 10)
	return append(b, '"')
}

// smallMap is the key count up to which map keys are sorted in a stack
// array; bigger maps (rare: pod annotations) pay one allocation.
const smallMap = 32

// fMap appends a string map with keys in sorted order, so equal events give
// equal bytes whatever order Tetragon (or Go) iterated the map in.
func fMap(b []byte, k string, m map[string]string) []byte {
	if len(m) == 0 {
		return b
	}
	var arr [smallMap]string
	keys := arr[:0]
	for mk := range m {
		keys = append(keys, mk)
	}
	slices.Sort(keys)
	b = append(key(b, k), '{')
	for i, mk := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, mk)
		b = append(b, ':')
		b = appendString(b, m[mk])
	}
	return append(b, '}')
}
