package main

import (
	"math"
	"strings"
	"testing"
)

func TestQuantileInterpolatesLikePrometheus(t *testing.T) {
	// 100 observations: 50 <= 10ms, 40 in (10ms, 20ms], 9 in (20ms, 50ms], 1 above 1s.
	bs := []bucket{{.01, 50}, {.02, 90}, {.05, 99}, {1, 99}, {math.Inf(1), 100}}
	for _, c := range []struct{ q, want float64 }{
		{.5, .01},                    // rank 50: the top of the first bucket
		{.7, .01 + .01*(70-50)/40.0}, // inside (10ms, 20ms]
		{.99, .05},                   // rank 99: top of (20ms, 50ms]
		{.999, 1},                    // in +Inf: the highest finite bound
		{.25, .01 * 25 / 50},         // first bucket from 0
	} {
		if got := quantile(c.q, bs); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("q%.3f = %g, want %g", c.q, got, c.want)
		}
	}
	if !math.IsNaN(quantile(.5, []bucket{{.01, 0}, {math.Inf(1), 0}})) {
		t.Error("no observations: want NaN")
	}
	d := bucketDelta([]bucket{{.01, 5}, {math.Inf(1), 7}}, []bucket{{.01, 8}, {math.Inf(1), 17}})
	if d[0].count != 3 || d[1].count != 10 {
		t.Errorf("delta %v", d)
	}
}

func TestScrapeLineParsing(t *testing.T) {
	bs := metrics{series: map[string]float64{
		`fanout_end_to_end_latency_seconds_bucket{le="0.005"}`: 3,
		`fanout_end_to_end_latency_seconds_bucket{le="+Inf"}`:  9,
		`fanout_end_to_end_latency_seconds_bucket{le="0.001"}`: 1,
	}}.buckets("fanout_end_to_end_latency_seconds")
	if len(bs) != 3 || bs[0].le != .001 || bs[1].le != .005 || !math.IsInf(bs[2].le, 1) {
		t.Errorf("buckets %v: want sorted by le with +Inf last", bs)
	}
}

const benchOut = `goos: linux
pkg: github.com/tetragon-fanout/tetragon-fanout/fanout/normalize
BenchmarkEncode/append-2         	  100	      2000 ns/op	      1000 cpu-ns/op	       0 B/op	       0 allocs/op
BenchmarkEncode/protojson-2      	  100	     30000 ns/op	     20000 cpu-ns/op	    7605 B/op	      70 allocs/op
BenchmarkEncode/append-2         	  100	      2000 ns/op	      2000 cpu-ns/op	       0 B/op	       0 allocs/op
BenchmarkEncode/protojson-2      	  100	     30000 ns/op	     30000 cpu-ns/op	    7605 B/op	      70 allocs/op
BenchmarkEncode/append-2         	  100	      2000 ns/op	      4000 cpu-ns/op	       0 B/op	       0 allocs/op
BenchmarkEncode/protojson-2      	  100	     30000 ns/op	     40000 cpu-ns/op	    7605 B/op	      70 allocs/op
PASS
`

func TestParseBenchAndRatio(t *testing.T) {
	bs := parseBench(strings.NewReader(benchOut))
	if len(bs) != 2 || bs[0].Name != "Encode/append" || len(bs[0].Runs) != 3 {
		t.Fatalf("parsed %+v", bs)
	}
	if got := bs[0].Median["cpu-ns/op"]; got != 2000 {
		t.Errorf("median cpu-ns/op %g, want 2000", got)
	}
	r := ratio(bs, "x", "fanout/normalize", "Encode/protojson", "Encode/append")
	// run by run: 20, 15, 10 -> median 15, on cpu-ns/op
	if r == nil || r.Unit != "cpu-ns/op" || r.Median != 15 || r.Min != 10 || r.Max != 20 || r.Runs != 3 {
		t.Errorf("ratio %+v", r)
	}
}

func TestSummarizeTopAreas(t *testing.T) {
	out := `Type: cpu
Showing nodes accounting for 1s, 100% of 1s total
      flat  flat%   sum%        cum   cum%
     0.50s 50.00% 50.00%      0.50s 50.00%  github.com/klauspost/compress/zstd.(*fastEncoder).Encode
     0.30s 30.00% 80.00%      0.30s 30.00%  github.com/tetragon-fanout/tetragon-fanout/fanout/normalize.appendString
     0.20s 20.00%   100%      0.20s 20.00%  runtime.memmove
`
	top, areas := summarizeTop(out, 2)
	if strings.Contains(top, "memmove") || !strings.Contains(top, "appendString") {
		t.Errorf("top keeps the first 2 rows:\n%s", top)
	}
	if len(areas) != 3 || areas[0].Name != "compression, CRC" || areas[0].Share != 50 {
		t.Errorf("areas %+v", areas)
	}
	if num(1234567.891, 1) != "1,234,567.9" || num(-1500, 0) != "-1,500" || num(math.NaN(), 1) != "n/a" {
		t.Errorf("num: %s %s", num(1234567.891, 1), num(-1500, 0))
	}
}
