package normalize

import (
	"encoding/base64"
	"encoding/hex"
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

func fI64(b []byte, k string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(key(b, k), v, 10)
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

// fEnum appends an enum value by its Tetragon name; a number this build has
// no name for is spelled in decimal, still as a string, so the field keeps
// one JSON type.
func fEnum(b []byte, k string, v int32, names map[int32]string) []byte {
	if v == 0 {
		return b
	}
	return appendEnum(key(b, k), v, names)
}

func appendEnum(b []byte, v int32, names map[int32]string) []byte {
	if s, ok := names[v]; ok {
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
