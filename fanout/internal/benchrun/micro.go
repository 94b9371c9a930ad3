package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Micro is the summary of `go test -bench` output run with -count.
type Micro struct {
	Benchmarks []*Bench
	Ratios     []*Ratio
	Load       string
}

// Bench is one benchmark over its runs.
type Bench struct {
	Pkg, Name string
	// Runs holds each run's value per unit (ns/op, cpu-ns/op, B/op,
	// allocs/op, custom units), in run order.
	Runs []map[string]float64
	// Median per unit over the runs.
	Median map[string]float64
}

// Ratio compares two benchmarks of one package run by run (the i-th run of
// each are neighbours in time), then takes the median of the run ratios.
type Ratio struct {
	What       string
	Slow, Fast string
	Unit       string
	Median     float64
	Min, Max   float64
	Runs       int
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// parseBench reads `go test -bench` output.
func parseBench(r io.Reader) []*Bench {
	var out []*Bench
	index := map[string]*Bench{}
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		run := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			run[f[i+1]] = v
		}
		key := pkg + " " + name
		b := index[key]
		if b == nil {
			b = &Bench{Pkg: pkg, Name: name}
			index[key] = b
			out = append(out, b)
		}
		b.Runs = append(b.Runs, run)
	}
	for _, b := range out {
		b.Median = map[string]float64{}
		units := map[string]bool{}
		for _, r := range b.Runs {
			for u := range r {
				units[u] = true
			}
		}
		for u := range units {
			var vs []float64
			for _, r := range b.Runs {
				if v, ok := r[u]; ok {
					vs = append(vs, v)
				}
			}
			b.Median[u] = median(vs)
		}
	}
	return out
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func findBench(bs []*Bench, pkgSuffix, name string) *Bench {
	for _, b := range bs {
		if strings.HasSuffix(b.Pkg, pkgSuffix) && b.Name == name {
			return b
		}
	}
	return nil
}

// ratio of slow to fast, run by run, on cpu-ns/op when both have it (the
// process's CPU time: steadier than wall time on a shared machine).
func ratio(bs []*Bench, what, pkg, slow, fast string) *Ratio {
	s, f := findBench(bs, pkg, slow), findBench(bs, pkg, fast)
	if s == nil || f == nil {
		return nil
	}
	unit := "ns/op"
	if _, ok := s.Median["cpu-ns/op"]; ok {
		if _, ok := f.Median["cpu-ns/op"]; ok {
			unit = "cpu-ns/op"
		}
	}
	var rs []float64
	for i := 0; i < len(s.Runs) && i < len(f.Runs); i++ {
		if f.Runs[i][unit] > 0 {
			rs = append(rs, s.Runs[i][unit]/f.Runs[i][unit])
		}
	}
	if len(rs) == 0 {
		return nil
	}
	sorted := append([]float64(nil), rs...)
	sort.Float64s(sorted)
	return &Ratio{What: what, Slow: slow, Fast: fast, Unit: unit, Median: median(rs), Min: sorted[0], Max: sorted[len(sorted)-1], Runs: len(rs)}
}

func runMicro(args []string) error {
	fs := flag.NewFlagSet("micro", flag.ExitOnError)
	in := fs.String("in", "", "go test -bench output")
	out := fs.String("out", ".local/bench", "output directory (micro.json)")
	_ = fs.Parse(args)
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	m := &Micro{Benchmarks: parseBench(f), Load: loadAvg()}
	if len(m.Benchmarks) == 0 {
		return fmt.Errorf("no benchmark results in %s", *in)
	}
	for _, r := range []*Ratio{
		ratio(m.Benchmarks, "normalize alone: protojson.Marshal / Append, same decoded events", "fanout/normalize", "Encode/protojson", "Encode/append"),
		ratio(m.Benchmarks, "bytes to JSON: proto.Unmarshal+protojson.Marshal / Decoder+Append (the processor's path)", "fanout/normalize", "DecodeNormalize/protojson", "DecodeNormalize/decoder"),
		ratio(m.Benchmarks, "bytes to JSON: proto.Unmarshal+protojson.Marshal / Decode+Append (fresh message per event)", "fanout/normalize", "DecodeNormalize/protojson", "DecodeNormalize/normalize"),
		ratio(m.Benchmarks, "dedup Get+Set: LevelDB / memory", "fanout/dedup", "StoreGetSet/leveldb", "StoreGetSet/memory"),
	} {
		if r != nil {
			m.Ratios = append(m.Ratios, r)
		}
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return os.WriteFile(filepath.Join(*out, "micro.json"), b, 0o644)
}
