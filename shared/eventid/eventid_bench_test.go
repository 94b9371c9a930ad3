package eventid

import (
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
)

// Run: go test -run '^$' -bench . -benchmem ./eventid
// The ingester's whole per-event CPU budget is 4 µs.

func benchFixtures(b *testing.B) ([]*tetragon.GetEventsResponse, [][]byte) {
	var evs []*tetragon.GetEventsResponse
	var raws [][]byte
	for _, f := range loadFixtures(b) {
		evs = append(evs, f.ev)
		raws = append(raws, mustMarshal(b, f.ev, true))
	}
	return evs, raws
}

// BenchmarkFromBytes cycles over all fixture events (mean ~2.5 KB each).
func BenchmarkFromBytes(b *testing.B) {
	_, raws := benchFixtures(b)
	size := 0
	for _, r := range raws {
		size += len(r)
	}
	b.SetBytes(int64(size / len(raws)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := FromBytes(raws[i%len(raws)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkFromResponse(b *testing.B) {
	evs, _ := benchFixtures(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = FromResponse(evs[i%len(evs)])
		i++
	}
}

// BenchmarkFromBytesKprobe is one large kprobe event from the Tetragon docs.
func BenchmarkFromBytesKprobe(b *testing.B) {
	evs, raws := benchFixtures(b)
	var raw []byte
	for i, ev := range evs {
		if ev.GetProcessKprobe() != nil && len(raws[i]) > len(raw) {
			raw = raws[i]
		}
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = FromBytes(raw)
	}
}
