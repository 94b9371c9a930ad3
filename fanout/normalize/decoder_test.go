package normalize

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// checkSameAsUnmarshal is the differential check: the generated Decoder
// must accept exactly what proto.Unmarshal accepts, with the same reason,
// produce a proto.Equal event, and so the same JSON.
func checkSameAsUnmarshal(t testing.TB, d *Decoder, raw []byte) {
	t.Helper()
	var want tetragon.GetEventsResponse
	wantErr := Decode(raw, &want)
	got, gotErr := d.Decode(raw)
	if Reason(wantErr) != Reason(gotErr) {
		t.Fatalf("%x: Decoder error %v, proto.Unmarshal path %v", raw, gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if !proto.Equal(&want, got) {
		t.Fatalf("%x: Decoder result differs from proto.Unmarshal:\n got %v\nwant %v", raw, got, &want)
	}
	// proto.Equal compares unknown fields leniently; the JSON carries them raw.
	m := Meta{EventID: "x"}
	if a, b := Append(nil, &want, m), Append(nil, got, m); !bytes.Equal(a, b) {
		t.Fatalf("%x: JSON differs:\n got %s\nwant %s", raw, b, a)
	}
}

func TestDecoderMatchesUnmarshal(t *testing.T) {
	d := NewDecoder()
	cases := loadCases(t)
	// Twice, in order and reversed, so recycled objects carry state from
	// a different event each time.
	for range 2 {
		for _, c := range cases {
			checkSameAsUnmarshal(t, d, c.raw)
		}
		for i := len(cases) - 1; i >= 0; i-- {
			checkSameAsUnmarshal(t, d, cases[i].raw)
		}
	}
	// Wire-format corner cases proto.Unmarshal has rules for.
	exec := func(inner []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), inner)
	}
	str := func(num protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), s)
	}
	proc := str(1, "exec-1")
	for name, raw := range map[string][]byte{
		"singular message twice merges": append(exec(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), proc)),
			exec(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), str(5, "/bin/x")))...),
		"known field wrong wire type is unknown": append(str(1000, "n"), protowire.AppendVarint(protowire.AppendTag(nil, 1000, protowire.VarintType), 3)...),
		"non-minimal tag of unknown field":       append(str(1000, "n"), 0x90|0x80, 0x83, 0x00, 0x01), // field 50 varint, tag padded
		"two unknown fields apart":               append(append(protowire.AppendVarint(protowire.AppendTag(nil, 60, protowire.VarintType), 1), str(1000, "n")...), protowire.AppendVarint(protowire.AppendTag(nil, 61, protowire.VarintType), 2)...),
		"field number too big":                   protowire.AppendVarint(protowire.AppendTag(nil, protowire.MaxValidNumber+1, protowire.VarintType), 1),
		"end group at top level":                 protowire.AppendTag(nil, 7, protowire.EndGroupType),
		"unknown group":                          append(protowire.AppendTag(nil, 70, protowire.StartGroupType), protowire.AppendTag(nil, 70, protowire.EndGroupType)...),
		"map entry without value":                append(str(1000, "n"), protowire.AppendBytes(protowire.AppendTag(nil, 1004, protowire.BytesType), str(1, "k"))...),
		"map entry extra field":                  protowire.AppendBytes(protowire.AppendTag(nil, 1004, protowire.BytesType), append(str(1, "k"), protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), 9)...)),
		"map key invalid utf8":                   protowire.AppendBytes(protowire.AppendTag(nil, 1004, protowire.BytesType), str(1, "\xff")),
		"unpacked enum list": exec(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType),
			protowire.AppendBytes(protowire.AppendTag(nil, 14, protowire.BytesType), protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 21)))),
		"oneof switches member":         append(exec(nil), protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), nil)...),
		"invalid utf8 in nested string": exec(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), str(5, "a\xffb"))),
	} {
		t.Run(name, func(t *testing.T) { checkSameAsUnmarshal(t, d, raw) })
	}
}

// TestDecoderNoAllocs: a warmed-up Decoder plus Append allocate nothing.
func TestDecoderNoAllocs(t *testing.T) {
	d := NewDecoder()
	buf := make([]byte, 0, 64<<10)
	for _, c := range loadCases(t) {
		if c.legacy {
			continue
		}
		m := c.meta()
		run := func() {
			ev, err := d.Decode(c.raw)
			if err != nil {
				t.Fatal(err)
			}
			buf = Append(buf[:0], ev, m)
		}
		run() // warm the pools for this shape
		if n := testing.AllocsPerRun(20, run); n != 0 {
			t.Errorf("%s: Decoder.Decode+Append allocate %v times per event", c.name, n)
		}
	}
}

// FuzzDecoderMatchesUnmarshal: on any input, the generated Decoder and
// proto.Unmarshal agree (accept/reject, proto.Equal, same JSON), and one
// Decoder reused across inputs never leaks state from the previous one.
//
//	go test -run '^$' -fuzz FuzzDecoderMatchesUnmarshal -fuzztime 60s -fuzzminimizetime 200x -parallel 1 ./normalize/
func FuzzDecoderMatchesUnmarshal(f *testing.F) {
	for _, c := range loadCases(f) {
		f.Add(c.raw)
	}
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkSameAsUnmarshal(t, d, raw)
	})
}

// TestGeneratedDecoderUpToDate fails when decode_gen.go is not what the
// generator makes from the pinned API (edit by hand, or API bumped without
// go generate).
func TestGeneratedDecoderUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	out := filepath.Join(t.TempDir(), "decode_gen.go")
	cmd := exec.Command("go", "run", "./internal/gendecode", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("decode_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Error("decode_gen.go is stale: run go generate ./normalize/")
	}
}
