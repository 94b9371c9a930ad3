// Package promtext reads the Prometheus text exposition format that the
// components serve on /metrics, for the demo summary and the end-to-end
// tests: they look at the binaries from outside, as Prometheus does, so
// they read the same numbers an operator's dashboard shows.
//
// Only what those readers need: counters, gauges and histograms without
// timestamps or exemplars; # lines are skipped.
package promtext

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Sample is one line: a series and its value.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Set is every sample of one scrape.
type Set []Sample

// Parse reads the text format.
func Parse(r io.Reader) (Set, error) {
	var out Set
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", n, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

func parseLine(line string) (Sample, error) {
	s := Sample{Labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return s, fmt.Errorf("no value in %q", line)
	}
	s.Name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		end, err := parseLabels(rest, s.Labels)
		if err != nil {
			return s, fmt.Errorf("%s: %w", s.Name, err)
		}
		rest = rest[end:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return s, fmt.Errorf("%s: no value", s.Name)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("%s: value %q: %w", s.Name, fields[0], err)
	}
	s.Value = v
	return s, nil
}

// parseLabels parses {a="x",b="y"} at the start of s into m and returns the
// index after the closing brace. Values use the format's escapes (\\ \" \n).
func parseLabels(s string, m map[string]string) (int, error) {
	i := 1
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			return 0, fmt.Errorf("unterminated labels")
		}
		if s[i] == '}' {
			return i + 1, nil
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 || i+eq+1 >= len(s) || s[i+eq+1] != '"' {
			return 0, fmt.Errorf("bad label at %q", s[i:])
		}
		name := strings.TrimSpace(s[i : i+eq])
		i += eq + 2
		var b strings.Builder
		for ; i < len(s) && s[i] != '"'; i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					c = '\n'
				default:
					c = s[i]
				}
			}
			b.WriteByte(c)
		}
		if i >= len(s) {
			return 0, fmt.Errorf("unterminated value of label %s", name)
		}
		m[name] = b.String()
		i++ // closing quote
	}
}

// Scrape GETs url and parses the answer.
func Scrape(ctx context.Context, c *http.Client, url string) (Set, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return Parse(resp.Body)
}

// matches reports whether the sample has every label of want (pairs of
// name, value).
func (s *Sample) matches(want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		if s.Labels[want[i]] != want[i+1] {
			return false
		}
	}
	return true
}

// Sum adds every series of name that has the given labels (name, value
// pairs). A missing series sums to 0.
func (s Set) Sum(name string, labels ...string) float64 {
	var v float64
	for i := range s {
		if s[i].Name == name && s[i].matches(labels) {
			v += s[i].Value
		}
	}
	return v
}

// Has reports whether any series of name exists.
func (s Set) Has(name string) bool {
	for i := range s {
		if s[i].Name == name {
			return true
		}
	}
	return false
}

// By sums the series of name per value of label.
func (s Set) By(name, label string) map[string]float64 {
	out := map[string]float64{}
	for i := range s {
		if s[i].Name == name {
			out[s[i].Labels[label]] += s[i].Value
		}
	}
	return out
}

// Histogram is a Prometheus histogram summed over its series: cumulative
// bucket counts by upper bound.
type Histogram struct {
	Bounds []float64 // sorted; the last is +Inf
	Counts []float64 // cumulative
	Sum    float64
	Count  float64
}

// Histogram collects name_bucket, name_sum and name_count over every series.
func (s Set) Histogram(name string) Histogram {
	buckets := map[float64]float64{}
	var h Histogram
	for i := range s {
		switch s[i].Name {
		case name + "_bucket":
			le, err := strconv.ParseFloat(s[i].Labels["le"], 64)
			if err == nil {
				buckets[le] += s[i].Value
			}
		case name + "_sum":
			h.Sum += s[i].Value
		case name + "_count":
			h.Count += s[i].Value
		}
	}
	for b := range buckets {
		h.Bounds = append(h.Bounds, b)
	}
	sort.Float64s(h.Bounds)
	for _, b := range h.Bounds {
		h.Counts = append(h.Counts, buckets[b])
	}
	return h
}

// Add returns h plus o (two replicas' histograms of the same buckets).
func (h Histogram) Add(o Histogram) Histogram {
	return h.combine(o, 1)
}

// Sub returns h minus an earlier scrape o of the same series: the
// observations between the two. A counter reset (o larger) gives h.
func (h Histogram) Sub(o Histogram) Histogram {
	if o.Count > h.Count {
		return h
	}
	return h.combine(o, -1)
}

func (h Histogram) combine(o Histogram, sign float64) Histogram {
	m := map[float64]float64{}
	for i, b := range h.Bounds {
		m[b] += h.Counts[i]
	}
	for i, b := range o.Bounds {
		m[b] += sign * o.Counts[i]
	}
	out := Histogram{Sum: h.Sum + sign*o.Sum, Count: h.Count + sign*o.Count}
	for b := range m {
		out.Bounds = append(out.Bounds, b)
	}
	sort.Float64s(out.Bounds)
	for _, b := range out.Bounds {
		out.Counts = append(out.Counts, m[b])
	}
	return out
}

// Quantile estimates the q-quantile as Prometheus's histogram_quantile
// does: linear interpolation inside the bucket that holds it. NaN without
// observations; +Inf when it falls beyond the last finite bound (Prometheus
// answers that bound; callers show "more than MaxFinite").
func (h Histogram) Quantile(q float64) float64 {
	if len(h.Counts) == 0 {
		return math.NaN()
	}
	total := h.Counts[len(h.Counts)-1]
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, b := range h.Bounds {
		if h.Counts[i] >= rank {
			if math.IsInf(b, 1) {
				return b
			}
			in := h.Counts[i] - below
			if in <= 0 {
				return b
			}
			return lower + (b-lower)*(rank-below)/in
		}
		lower, below = b, h.Counts[i]
	}
	return lower
}

// MaxFinite is the largest finite bucket bound (NaN without buckets).
func (h Histogram) MaxFinite() float64 {
	for i := len(h.Bounds) - 1; i >= 0; i-- {
		if !math.IsInf(h.Bounds[i], 1) {
			return h.Bounds[i]
		}
	}
	return math.NaN()
}

// UpperBound is the smallest bucket bound holding every observation: "all
// of them took at most this". NaN without observations, +Inf if some fell
// beyond the last finite bound.
func (h Histogram) UpperBound() float64 {
	if len(h.Counts) == 0 || h.Counts[len(h.Counts)-1] <= 0 {
		return math.NaN()
	}
	total := h.Counts[len(h.Counts)-1]
	for i, b := range h.Bounds {
		if h.Counts[i] >= total {
			return b
		}
	}
	return math.Inf(1)
}
