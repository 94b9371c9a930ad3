package main

import (
	"bufio"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// metrics is one scrape of a Prometheus text endpoint: every series by its
// full name (name{labels}) and the sum of each family's series by name.
type metrics struct {
	series map[string]float64
	byName map[string]float64
}

func scrape(addr string) metrics {
	m := metrics{series: map[string]float64{}, byName: map[string]float64{}}
	c := http.Client{Timeout: 5 * time.Second, Transport: plain}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		var full, rest string
		if i := strings.IndexByte(line, '}'); i >= 0 && strings.IndexByte(line, '{') >= 0 {
			full, rest = line[:i+1], strings.TrimSpace(line[i+1:])
		} else {
			full, rest, _ = strings.Cut(line, " ")
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		m.series[full] = v
		name := full
		if i := strings.IndexByte(full, '{'); i >= 0 {
			name = full[:i]
		}
		m.byName[name] += v
	}
	return m
}

func (m metrics) get(name string) float64 { return m.byName[name] }

// bucket is a cumulative histogram bucket.
type bucket struct {
	le    float64
	count float64
}

// buckets of a label-free histogram family (name without _bucket).
func (m metrics) buckets(name string) []bucket {
	var out []bucket
	prefix := name + `_bucket{le="`
	for k, v := range m.series {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		s := strings.TrimSuffix(strings.TrimPrefix(k, prefix), `"}`)
		le, err := strconv.ParseFloat(s, 64)
		if err != nil {
			continue
		}
		out = append(out, bucket{le, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].le < out[j].le })
	return out
}

// bucketDelta is b1 - b0 per bucket (a histogram over an interval).
func bucketDelta(b0, b1 []bucket) []bucket {
	prev := map[float64]float64{}
	for _, b := range b0 {
		prev[b.le] = b.count
	}
	out := make([]bucket, len(b1))
	for i, b := range b1 {
		out[i] = bucket{b.le, b.count - prev[b.le]}
	}
	return out
}

// quantile is Prometheus' histogram_quantile: linear interpolation inside
// the bucket that holds the rank. NaN without observations; the highest
// finite bound when the rank falls in +Inf.
func quantile(q float64, bs []bucket) float64 {
	if len(bs) == 0 {
		return math.NaN()
	}
	total := bs[len(bs)-1].count
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, b := range bs {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				if i > 0 {
					return bs[i-1].le
				}
				return math.NaN()
			}
			in := b.count - below
			if in <= 0 {
				return b.le
			}
			return lower + (b.le-lower)*(rank-below)/in
		}
		lower, below = b.le, b.count
	}
	return bs[len(bs)-1].le
}
