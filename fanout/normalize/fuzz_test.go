package normalize

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
)

// FuzzDecodeNormalize feeds arbitrary bytes through Decode, Extract and
// Append: nothing may panic, a Decode error must carry a reason, and
// whatever Decode accepts must come out as valid JSON that the schema
// accepts, byte-identical on a second run. Seeded with every test event.
//
//	go test -run '^$' -fuzz FuzzDecodeNormalize -fuzztime 60s -fuzzminimizetime 200x -parallel 1 ./normalize/
//
// (-fuzzminimizetime: the default spends up to 60 s minimizing each new
// input, most of them new paths in the schema validator, and fuzzes little.)
func FuzzDecodeNormalize(f *testing.F) {
	for _, c := range loadCases(f) {
		f.Add(c.raw)
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev tetragon.GetEventsResponse
		if err := Decode(raw, &ev); err != nil {
			if Reason(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		_ = Extract(&ev)
		m := Meta{EventID: "fuzz", Cluster: "c"}
		out := Append(nil, &ev, m)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON for %x:\n%s", raw, out)
		}
		validateSchema(t, "fuzz", out)
		if again := Append(nil, &ev, m); !bytes.Equal(out, again) {
			t.Fatalf("output not deterministic:\n%s\n%s", out, again)
		}
	})
}
