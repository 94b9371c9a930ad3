package normalize

import (
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Benchmarks run over every line of the fixtures (testdata/fixtures, 63
// events: exec, exit, kprobe, throttle and 11 legacy lines), one event per
// op, so ns/op and allocs/op are per event.
//
//	go test -run '^$' -bench . -benchmem ./normalize/
//
// Each benchmark also reports cpu-ns/op: process CPU time (user+system,
// GC workers included) per event. On a shared machine it is steadier than
// ns/op, which counts time the process waited for a core.
//
// BenchmarkDecodeNormalize/* compares the full path (bytes in, JSON out)
// with the protojson reference; BenchmarkEncode/* the encoders alone on
// already-decoded events.

func benchFixtures(b *testing.B) ([][]byte, []*tetragon.GetEventsResponse, []Meta) {
	b.Helper()
	var raws [][]byte
	var evs []*tetragon.GetEventsResponse
	var metas []Meta
	for _, c := range loadCases(b) {
		if c.group == "future" || c.ref == nil || c.name == c.group {
			continue // hand-built and synthetic events: not real traffic
		}
		ev := &tetragon.GetEventsResponse{}
		if err := Decode(c.raw, ev); err != nil {
			b.Fatal(err)
		}
		raws = append(raws, c.raw)
		evs = append(evs, ev)
		metas = append(metas, c.meta())
	}
	if len(raws) != 63 {
		b.Fatalf("%d fixture events, want 63", len(raws))
	}
	return raws, evs, metas
}

func BenchmarkDecodeNormalize(b *testing.B) {
	raws, _, metas := benchFixtures(b)
	var bytesIn int
	for _, r := range raws {
		bytesIn += len(r)
	}
	b.Run("normalize", func(b *testing.B) {
		// What the processor does: a fresh message per event (goka may run
		// callbacks concurrently per partition), a reused output buffer.
		buf := make([]byte, 0, 64<<10)
		b.SetBytes(int64(bytesIn / len(raws)))
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := range b.N {
			ev := &tetragon.GetEventsResponse{}
			if err := Decode(raws[i%len(raws)], ev); err != nil {
				b.Fatal(err)
			}
			buf = Append(buf[:0], ev, metas[i%len(raws)])
		}
	})
	b.Run("decoder", func(b *testing.B) {
		// The generated Decoder: recycled messages, strings alias raw.
		buf := make([]byte, 0, 64<<10)
		d := NewDecoder()
		b.SetBytes(int64(bytesIn / len(raws)))
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := range b.N {
			ev, err := d.Decode(raws[i%len(raws)])
			if err != nil {
				b.Fatal(err)
			}
			buf = Append(buf[:0], ev, metas[i%len(raws)])
		}
	})
	b.Run("normalize-reused-msg", func(b *testing.B) {
		// One message reused across events: proto.Unmarshal resets it, so
		// this saves only the top-level allocation.
		buf := make([]byte, 0, 64<<10)
		ev := &tetragon.GetEventsResponse{}
		b.SetBytes(int64(bytesIn / len(raws)))
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := range b.N {
			if err := Decode(raws[i%len(raws)], ev); err != nil {
				b.Fatal(err)
			}
			buf = Append(buf[:0], ev, metas[i%len(raws)])
		}
	})
	b.Run("unmarshal-only", func(b *testing.B) {
		// The floor the struct-based path cannot go below.
		b.SetBytes(int64(bytesIn / len(raws)))
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := range b.N {
			ev := &tetragon.GetEventsResponse{}
			if err := proto.Unmarshal(raws[i%len(raws)], ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.SetBytes(int64(bytesIn / len(raws)))
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := range b.N {
			ev := &tetragon.GetEventsResponse{}
			if err := proto.Unmarshal(raws[i%len(raws)], ev); err != nil {
				b.Fatal(err)
			}
			if _, err := protojson.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	_, evs, metas := benchFixtures(b)
	b.Run("append", func(b *testing.B) {
		buf := make([]byte, 0, 64<<10)
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := range b.N {
			buf = Append(buf[:0], evs[i%len(evs)], metas[i%len(evs)])
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := range b.N {
			if _, err := protojson.Marshal(evs[i%len(evs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkExtract(b *testing.B) {
	_, evs, _ := benchFixtures(b)
	b.ReportAllocs()
	defer reportCPU(b)()
	for i := range b.N {
		_ = Extract(evs[i%len(evs)])
	}
}
