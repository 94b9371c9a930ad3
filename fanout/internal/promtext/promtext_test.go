package promtext

import (
	"math"
	"strings"
	"testing"
)

const sample = `# HELP fanout_events_emitted_total Normalized events acked by the output topic.
# TYPE fanout_events_emitted_total counter
fanout_events_emitted_total{topic="tetragon.process_exec"} 12
fanout_events_emitted_total{topic="tetragon.payments.process_exec"} 3
fanout_duplicates_dropped_total 7
fanout_consumer_lag{partition="0"} 5
fanout_consumer_lag{partition="1"} 0
weird_total{a="x\"y\\z",b="new\nline"} 1e3
lat_bucket{le="0.1"} 2
lat_bucket{le="0.5"} 6
lat_bucket{le="+Inf"} 8
lat_sum 3.2
lat_count 8
`

func TestParse(t *testing.T) {
	s, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sum("fanout_events_emitted_total"); got != 15 {
		t.Errorf("sum emitted = %v, want 15", got)
	}
	if got := s.Sum("fanout_events_emitted_total", "topic", "tetragon.process_exec"); got != 12 {
		t.Errorf("emitted{topic=process_exec} = %v, want 12", got)
	}
	if got := s.Sum("fanout_duplicates_dropped_total"); got != 7 {
		t.Errorf("duplicates = %v", got)
	}
	if got := s.By("fanout_consumer_lag", "partition"); got["0"] != 5 || got["1"] != 0 || len(got) != 2 {
		t.Errorf("lag by partition = %v", got)
	}
	if got := s.Sum("weird_total", "a", `x"y\z`, "b", "new\nline"); got != 1000 {
		t.Errorf("escaped labels: %v", got)
	}
	if s.Has("nope") || !s.Has("lat_sum") {
		t.Error("Has")
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"x{a=\"1\" 2", "x{a=1} 2", "x", "x{a=\"1\"} notanumber"} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func TestHistogram(t *testing.T) {
	s, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	h := s.Histogram("lat")
	if h.Count != 8 || h.Sum != 3.2 || len(h.Bounds) != 3 {
		t.Fatalf("histogram = %+v", h)
	}
	// rank 4 of 8 falls in (0.1, 0.5] holding 4: halfway.
	if q := h.Quantile(0.5); math.Abs(q-0.3) > 1e-9 {
		t.Errorf("p50 = %v, want 0.3", q)
	}
	// rank 7.92 is in +Inf: beyond the largest finite bound.
	if q := h.Quantile(0.99); !math.IsInf(q, 1) || h.MaxFinite() != 0.5 {
		t.Errorf("p99 = %v (max finite %v), want +Inf (0.5)", q, h.MaxFinite())
	}
	if ub := h.UpperBound(); !math.IsInf(ub, 1) {
		t.Errorf("upper bound = %v, want +Inf", ub)
	}
	d := h.Sub(h)
	if d.Count != 0 || !math.IsNaN(d.Quantile(0.5)) || !math.IsNaN(d.UpperBound()) {
		t.Errorf("empty difference = %+v", d)
	}
	two := h.Add(h)
	if two.Count != 16 || two.Counts[0] != 4 {
		t.Errorf("sum of two = %+v", two)
	}
	if got := two.Sub(h); got.Count != 8 || got.Counts[1] != 6 {
		t.Errorf("difference = %+v", got)
	}
	// A reset (earlier scrape larger) gives the later one.
	if got := h.Sub(two); got.Count != 8 {
		t.Errorf("after reset = %+v", got)
	}
	var empty Histogram
	if !math.IsNaN(empty.Quantile(0.5)) {
		t.Error("quantile of nothing")
	}
}
