package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func runReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	dir := fs.String("dir", ".local/bench", "directory holding system.json and micro.json")
	command := fs.String("command", "make bench", "the command that produced the run")
	out := fs.String("out", "", "output file (default DIR/results.md)")
	_ = fs.Parse(args)
	if *out == "" {
		*out = filepath.Join(*dir, "results.md")
	}
	var sys *Results
	var micro *Micro
	if b, err := os.ReadFile(filepath.Join(*dir, "system.json")); err == nil {
		sys = &Results{}
		if err := json.Unmarshal(b, sys); err != nil {
			return fmt.Errorf("system.json: %w", err)
		}
		// Profiles are re-read: report's summaries may be newer than the run.
		analyzeProfiles(sys.Profiles)
	}
	if b, err := os.ReadFile(filepath.Join(*dir, "micro.json")); err == nil {
		micro = &Micro{}
		if err := json.Unmarshal(b, micro); err != nil {
			return fmt.Errorf("micro.json: %w", err)
		}
	}
	if sys == nil && micro == nil {
		return fmt.Errorf("neither system.json nor micro.json in %s", *dir)
	}
	md := render(sys, micro, *command, *dir)
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	return nil
}

type w struct{ strings.Builder }

func (b *w) p(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }

// num formats with thousands separators and d decimals.
func num(v float64, d int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	s := fmt.Sprintf("%.*f", d, math.Abs(v))
	intPart, frac, _ := strings.Cut(s, ".")
	var out []byte
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, byte(c))
	}
	res := string(out)
	if frac != "" {
		res += "." + frac
	}
	if v < 0 {
		res = "-" + res
	}
	return res
}

func mib(b float64) string { return num(b/(1<<20), 1) + " MiB" }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func machine() string {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				_, _ = fmt.Sscanf(strings.TrimPrefix(l, "MemTotal:"), "%f", &kb)
			}
		}
		mem = num(kb/(1<<20), 1) + " GiB"
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("nproc %d, CPU %q, memory %s, Linux %s, %s", runtime.NumCPU(), model, mem,
		strings.TrimSpace(string(kernel)), runtime.Version())
}

func gitDescribe() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func microBench(m *Micro, pkg, name string) *Bench {
	if m == nil {
		return nil
	}
	return findBench(m.Benchmarks, pkg, name)
}

func microRatio(m *Micro, slow, fast string) *Ratio {
	if m == nil {
		return nil
	}
	for _, r := range m.Ratios {
		if r.Slow == slow && r.Fast == fast {
			return r
		}
	}
	return nil
}

// cpuNs is a benchmark's CPU time per op when it reports it, else wall.
func cpuNs(b *Bench) (float64, string) {
	if v, ok := b.Median["cpu-ns/op"]; ok {
		return v, "CPU"
	}
	return b.Median["ns/op"], "wall"
}

func render(s *Results, m *Micro, command, dir string) string {
	var b w
	b.p("# tetragon-fanout benchmark results")
	b.p("")
	b.p("- Command: `%s` (commit %s)", command, gitDescribe())
	b.p("- Machine: %s", machine())
	if s != nil {
		b.p("- Run: %s to %s (%s); Kafka %s, one local KRaft broker on the same machine",
			s.Started.Format(time.RFC3339), s.Finished.Format("15:04:05"), s.Finished.Sub(s.Started).Round(time.Second), s.KafkaVersion)
		b.p("- Load average (1/5/15 min) at the start of the system runs: %s; at the end: %s", s.LoadStart, s.LoadEnd)
		b.p("- Raw topic: %s distinct simulated events + %s%% duplicates (tetragon-sim's realistic mix), 12 partitions, zstd",
			num(float64(s.Events), 0), num(s.DupRatio*100, 1))
	}
	if m != nil {
		b.p("- Load average when the micro-benchmarks ended: %s", m.Load)
	}
	b.p("")
	b.p("Every process (broker, simulator, ingester, fanout replicas) shares the machine's cores with")
	b.p("each other and with anything else running: events/s are what this machine gave, CPU µs per event")
	b.p("(the process's own utime+stime from /proc) is the figure that carries to other machines.")
	b.p("")
	targets(&b, s, m)
	if s != nil {
		system(&b, s)
		costSection(&b, s)
	}
	if m != nil {
		microSection(&b, m)
	}
	if s != nil && len(s.Errors) > 0 {
		b.p("## Errors")
		b.p("")
		for _, e := range s.Errors {
			b.p("- %s", strings.ReplaceAll(e, "\n", " "))
		}
		b.p("")
	}
	b.p("Raw data: %s/system.json, micro.json, micro.txt, profiles/, logs/.", dir)
	return b.String()
}

func fanoutByName(s *Results, name string) *FanoutResult {
	for _, f := range s.Fanout {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func targets(b *w, s *Results, m *Micro) {
	b.p("## Against the targets")
	b.p("")
	b.p("| what | target | measured | |")
	b.p("|---|---|---|---|")
	if s != nil && s.Ingest != nil {
		i := s.Ingest
		b.p("| ingester, max rate (block) | >= 80,000 events/s | %s events/s | %s |", num(i.EventsPerSec, 0), verdict(i.EventsPerSec >= 80000))
		b.p("| ingester CPU at max rate | <= 8 µs/event | %s µs/event | %s |", num(i.CPUUsPerEvent, 2), verdict(i.CPUUsPerEvent <= 8))
	}
	if s != nil {
		for _, r := range s.Node {
			if r.Setting != nodeSettings[0].name {
				continue // defaults only
			}
			switch r.Rate {
			case 1000:
				b.p("| ingester CPU at 1,000 events/s, defaults | <= 40 µs/event | %s µs/event | %s |", num(r.CPUUsPerEvent, 1), verdict(r.CPUUsPerEvent <= 40))
				b.p("| ingester context switches at 1,000 events/s | <= 1 per event | %s | %s |", num(r.CtxSwPerEvent, 2), verdict(r.CtxSwPerEvent <= 1))
				b.p("| ingester peak RSS at 1,000 events/s | <= 32 MiB | %s MiB | %s |", num(r.PeakRSSMiB, 1), verdict(r.PeakRSSMiB <= 32))
				b.p("| event age p99 at 1,000 events/s, defaults | <= 500 ms | %s ms | %s |", num(r.P99ms, 0), verdict(r.P99ms <= 500))
			case 5000:
				b.p("| ingester CPU at 5,000 events/s, defaults | <= 15 µs/event | %s µs/event | %s |", num(r.CPUUsPerEvent, 1), verdict(r.CPUUsPerEvent <= 15))
				b.p("| event age p99 at 5,000 events/s, defaults | <= 500 ms | %s ms | %s |", num(r.P99ms, 0), verdict(r.P99ms <= 500))
			}
		}
		if br := s.Burst; br != nil {
			b.p("| drain a %s s burst of %s events/s, defaults | nothing dropped by the simulator | %s dropped | %s |",
				num(br.Offered/float64(br.Rate), 0), num(float64(br.Rate), 0), num(br.SimDropped, 0), verdict(br.SimDropped == 0))
		}
	}
	if s != nil {
		if f := fanoutByName(s, "f1"); f != nil {
			b.p("| fanout with dedup, 1 replica | >= 25,000 events/s | %s events/s | %s |", num(f.PerReplica, 0), verdict(f.PerReplica >= 25000))
			b.p("| fanout CPU, memory table, full speed | <= 35 µs/event | %s µs/event | %s |", num(f.CPUUsPerEvent, 2), verdict(f.CPUUsPerEvent <= 35))
		}
		for _, e := range s.E2E {
			if e.Rate == 10000 && e.Linger == "5ms" {
				b.p("| end-to-end p99 at 10,000 events/s (output acked) | <= 100 ms | %s ms | %s |", num(e.P99ms, 1), verdict(e.P99ms <= 100))
			}
		}
	}
	if d := microBench(m, "fanout/normalize", "DecodeNormalize/decoder"); d != nil {
		v, kind := cpuNs(d)
		b.p("| decode + normalize (the processor's Decoder + Append) | <= 7 µs/event | %s µs (%s) | %s |", num(v/1000, 2), kind, verdict(v <= 7000))
		b.p("| decode + normalize allocations | <= 15 allocs/event | %s | %s |", num(d.Median["allocs/op"], 0), verdict(d.Median["allocs/op"] <= 15))
		if n := microBench(m, "fanout/normalize", "DecodeNormalize/normalize"); n != nil {
			v, kind := cpuNs(n)
			b.p("| (decode into a fresh message + normalize) | | %s µs (%s), %s allocs | |", num(v/1000, 2), kind, num(n.Median["allocs/op"], 0))
		}
		if p := microBench(m, "fanout/processor", "Process"); p != nil {
			b.p("| (the whole callback per new event: dedup, table value, decode, route, JSON, headers; no Kafka) | | %s µs (wall), %s allocs | |",
				num(p.Median["ns/op"]/1000, 2), num(p.Median["allocs/op"], 0))
		}
	}
	if r := microRatio(m, "Encode/protojson", "Encode/append"); r != nil {
		b.p("| normalize alone vs protojson.Marshal | >= 10x faster | %sx (runs %s..%s, %s) | %s |", num(r.Median, 1), num(r.Min, 1), num(r.Max, 1), r.Unit, verdict(r.Median >= 10))
	}
	b.p("")
}

func system(b *w, s *Results) {
	if i := s.Ingest; i != nil {
		b.p("## (a) ingester alone, maximum rate")
		b.p("")
		b.p("tetragon-sim `--rate 0` (as fast as the ingester reads) over a unix socket, ingester with `QUEUE_POLICY=block`")
		b.p("(nothing dropped: the rate is what it sustains), default producer settings (zstd level 1, 5 ms linger,")
		b.p("acks=all, idempotent). Measured from 2%% published to the last event acked; this run fills the raw topic.")
		b.p("")
		b.p("| events/s | CPU µs/event | cores used | peak RSS (VmHWM) | allocs/event | bytes allocated/event | dropped | sim cores | broker µs/event (cores) | load |")
		b.p("|---|---|---|---|---|---|---|---|---|---|")
		b.p("| %s | %s | %s | %s MiB | %s | %s | %s | %s | %s (%s) | %s |", num(i.EventsPerSec, 0), num(i.CPUUsPerEvent, 2), num(i.Cores, 2),
			num(i.PeakRSSMiB, 1), num(i.AllocsPerEvent, 1), num(i.AllocBytesPerEv, 0), num(i.Dropped, 0), num(i.SimCores, 2),
			num(i.BrokerUsPerEvent, 2), num(i.BrokerCores, 2), i.Load)
		b.p("")
		b.p("Raw topic after the run: %s messages, %s bytes/event on disk.", num(float64(i.RawMessages), 0), num(i.DiskPerEvent, 1))
		b.p("")
		if len(s.Codecs) > 0 {
			b.p("The same with other codecs (KAFKA_COMPRESSION; a fifth of the events each, throwaway topics): what the")
			b.p("node saves in CPU against what Kafka stores and carries.")
			b.p("")
			b.p("| codec | events/s | CPU µs/event | bytes/event on disk | allocs/event | broker µs/event | load |")
			b.p("|---|---|---|---|---|---|---|")
			for _, c := range append([]*IngestResult{i}, s.Codecs...) {
				b.p("| %s | %s | %s | %s | %s | %s | %s |", c.Codec, num(c.EventsPerSec, 0), num(c.CPUUsPerEvent, 2),
					num(c.DiskPerEvent, 1), num(c.AllocsPerEvent, 1), num(c.BrokerUsPerEvent, 2), c.Load)
			}
			b.p("")
		}
	}
	if len(s.Fanout) > 0 {
		b.p("## (b) fanout over the pre-filled raw topic; (e) one replica against two")
		b.p("")
		b.p("A new group per row over the same raw topic (dedup on, DEDUP_WINDOW 10m, default routes: every event")
		b.p("normalized and emitted, KAFKA_LINGER 5ms). Measured from every partition assigned and 2%% done to the")
		b.p("last raw message finished (emitted or dropped as duplicate). The first row is also the profiled one.")
		b.p("")
		b.p("| run | replicas | table | output codec | events/s | per replica | CPU µs/event | cores | output bytes/event on disk | peak RSS | allocs/event | emitted | duplicates | table entries | heap after GC | broker µs/event | load |")
		b.p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, f := range s.Fanout {
			codec := f.Codec
			if codec == "" {
				codec = "zstd"
			}
			perEv := 0.0
			if f.Emitted > 0 {
				perEv = float64(f.OutputDiskBytes) / f.Emitted
			}
			b.p("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s MiB | %s | %s | %s | %s | %s MiB | %s | %s |", f.Name, f.Replicas, f.Storage, codec,
				num(f.EventsPerSec, 0), num(f.PerReplica, 0), num(f.CPUUsPerEvent, 2), num(f.Cores, 2), num(perEv, 0), num(f.PeakRSSMiB, 0),
				num(f.AllocsPerEvent, 1), num(f.Emitted, 0), num(f.Duplicates, 0), num(f.TableEntries, 0), num(f.HeapAfterGCMiB, 0),
				num(f.BrokerUsPerEvent, 2), f.Load)
		}
		b.p("")
		one, two := fanoutByName(s, "f1"), fanoutByName(s, "f2")
		if one != nil && two != nil {
			b.p("**Not a scaling test.** Both replicas, the broker and the rest share the same 2 cores, so two")
			b.p("replicas cannot go faster than one here: %s vs %s events/s in total, %s vs %s µs CPU/event.", num(one.EventsPerSec, 0), num(two.EventsPerSec, 0),
				num(one.CPUUsPerEvent, 2), num(two.CPUUsPerEvent, 2))
			b.p("Scaling is derived instead: a replica costs ~%s µs CPU/event, so one core carries ~%s events/s;", num(one.CPUUsPerEvent, 1), num(1e6/one.CPUUsPerEvent, 0))
			b.p("replicas scale out to the raw topic's partition count (12 here) as long as each has its own core.")
			b.p("")
		}
		b.p("Table size after the run: memory table %s bytes/entry (measured in-process: map, expiry FIFO, key, value);", num(s.TableMemBytesPerEntry, 0))
		for _, f := range s.Fanout {
			if f.TableEntries > 0 {
				line := fmt.Sprintf("- %s: %s entries, changelog on disk %s (%s bytes/entry)", f.Name, num(f.TableEntries, 0),
					mib(float64(f.ChangelogBytes)), num(float64(f.ChangelogBytes)/f.TableEntries, 1))
				if f.LevelDBBytes > 0 {
					line += fmt.Sprintf(", LevelDB files %s (%s bytes/entry)", mib(float64(f.LevelDBBytes)), num(float64(f.LevelDBBytes)/f.TableEntries, 1))
				}
				b.p("%s", line)
			}
		}
		b.p("")
	}
	if len(s.E2E) > 0 {
		b.p("## (c) whole pipeline at fixed rates: end-to-end latency")
		b.p("")
		b.p("tetragon-sim at a fixed rate -> ingester -> raw topic -> fanout (1 replica, memory table) -> output topics.")
		b.p("Latency from `fanout_end_to_end_latency_seconds` (tf-ingest-ns, set when the ingester receives the event,")
		b.p("to the output record's ack), quantiles interpolated as histogram_quantile does over the window's buckets.")
		b.p("The last row runs the lowest rate again with the fanout at KAFKA_LINGER=100ms, goka's default flush")
		b.p("interval: its p50 shows that the setting reaches the output producer.")
		b.p("")
		b.p("| offered events/s | fanout KAFKA_LINGER | emitted/s | p50 ms | p99 ms | p999 ms | observations | ingester µs/event | fanout µs/event | broker µs/event | sim dropped | ingester dropped | lag at end | load |")
		b.p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, e := range s.E2E {
			b.p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", num(float64(e.Rate), 0), e.Linger, num(e.EmittedPerSec, 0),
				num(e.P50ms, 1), num(e.P99ms, 1), num(e.P999ms, 1), num(e.Observations, 0), num(e.IngesterUsPerEvent, 2),
				num(e.FanoutUsPerEvent, 2), num(e.BrokerUsPerEvent, 2), num(e.SimDropped, 0), num(e.IngesterDropped, 0), num(e.LagEnd, 0), e.Load)
		}
		b.p("")
	}
	nodeSection(b, s)
	if len(s.Recovery) > 0 {
		b.p("## (d) table recovery: one partition of %s entries", num(float64(s.Events), 0))
		b.p("")
		b.p("The changelog partition is written as the fanout writes it (zstd, first-seen entries inside the window); a")
		b.p("replica then takes the partition. Recovery is `fanout_table_recovery_seconds`; ready is process start to `/readyz` 200.")
		b.p("")
		b.p("| storage | mode | recovery s | entries/s | ready after s | peak RSS | heap after GC | LevelDB files |")
		b.p("|---|---|---|---|---|---|---|---|")
		for _, r := range s.Recovery {
			ldb := "-"
			if r.LevelDBBytes > 0 {
				ldb = fmt.Sprintf("%s (%s bytes/entry)", mib(float64(r.LevelDBBytes)), num(float64(r.LevelDBBytes)/float64(r.Entries), 1))
			}
			b.p("| %s | %s | %s | %s | %s | %s MiB | %s MiB | %s |", r.Storage, r.Mode, num(r.RecoverySeconds, 2), num(r.EntriesPerSec, 0),
				num(r.ReadySeconds, 2), num(r.PeakRSSMiB, 0), num(r.HeapAfterGCMiB, 0), ldb)
		}
		b.p("")
	}
	if x := s.Bytes; x != nil {
		b.p("## Kafka bytes per event")
		b.p("")
		b.p("Record = key + value + headers as the producer hands them to the compressor (sampled from the topic);")
		b.p("on disk = the broker's *.log segment bytes (compressed batches with their overhead) / records.")
		b.p("")
		b.p("| topic | record bytes | on-disk bytes/record | compression ratio |")
		b.p("|---|---|---|---|")
		row := func(name string, rec, disk float64) {
			r := "n/a"
			if disk > 0 {
				r = num(rec/disk, 2) + "x"
			}
			b.p("| %s | %s | %s | %s |", name, num(rec, 0), num(disk, 1), r)
		}
		row("raw (protobuf)", x.RawRecordBytes, x.RawDiskPerEvent)
		row("outputs (JSON)", x.OutputRecordBytes, x.OutputDiskPerEvent)
		row("table changelog", x.ChangelogRecordBytes, x.ChangelogDiskPerEntry)
		b.p("")
	}
	if len(s.Profiles) > 0 {
		b.p("## Profiles")
		b.p("")
		for _, p := range s.Profiles {
			what := "CPU, " + num(p.Seconds, 0) + " s"
			if p.Kind != "cpu" {
				what = "allocated bytes over the measured window"
			}
			b.p("### %s: %s", p.Name, what)
			b.p("")
			if len(p.Areas) > 0 {
				var parts []string
				for _, a := range p.Areas {
					if a.Share >= 0.5 {
						parts = append(parts, fmt.Sprintf("%s %s%%", a.Name, num(a.Share, 1)))
					}
				}
				b.p("By area (flat): %s.", strings.Join(parts, ", "))
				b.p("")
			}
			if len(p.Stages) > 0 {
				var parts []string
				for _, a := range p.Stages {
					parts = append(parts, fmt.Sprintf("%s %s%%", a.Name, num(a.Share, 1)))
				}
				b.p("By stage (cumulative, stages overlap): %s.", strings.Join(parts, ", "))
				b.p("")
			}
			b.p("```")
			b.p("%s", p.Top)
			b.p("```")
			b.p("")
		}
	}
}

func microSection(b *w, m *Micro) {
	b.p("## Micro-benchmarks")
	b.p("")
	b.p("`go test -run '^$' -bench . -benchmem -short` (median of the runs; cpu-ns/op is the process's CPU time per op")
	b.p("where the benchmark reports it, steadier than wall time on a shared machine).")
	b.p("")
	b.p("| package | benchmark | runs | ns/op | cpu-ns/op | B/op | allocs/op | other |")
	b.p("|---|---|---|---|---|---|---|---|")
	for _, x := range m.Benchmarks {
		var other []string
		for _, u := range []string{"MB/s", "events/s", "cpu-µs/event", "entries/s"} {
			if v, ok := x.Median[u]; ok {
				other = append(other, num(v, 1)+" "+u)
			}
		}
		cpu := "-"
		if v, ok := x.Median["cpu-ns/op"]; ok {
			cpu = num(v, 0)
		}
		pkg := x.Pkg[strings.LastIndex(x.Pkg, "tetragon-fanout/")+len("tetragon-fanout/"):]
		b.p("| %s | %s | %d | %s | %s | %s | %s | %s |", pkg, x.Name, len(x.Runs), num(x.Median["ns/op"], 0), cpu,
			num(x.Median["B/op"], 0), num(x.Median["allocs/op"], 0), strings.Join(other, ", "))
	}
	b.p("")
	if len(m.Ratios) > 0 {
		b.p("Ratios, run by run (the i-th runs of both benchmarks are neighbours in time), median and range:")
		b.p("")
		b.p("| comparison | median | min..max | runs | unit |")
		b.p("|---|---|---|---|---|")
		for _, r := range m.Ratios {
			b.p("| %s | %sx | %s..%s | %d | %s |", r.What, num(r.Median, 1), num(r.Min, 1), num(r.Max, 1), r.Runs, r.Unit)
		}
		b.p("")
	}
}

// nodeSection is (f): the trade-off table of the ingester at node rates.
func nodeSection(b *w, s *Results) {
	if len(s.Node) == 0 {
		return
	}
	b.p("## (f) ingester at a node's rate: the trade-off table")
	b.p("")
	b.p("tetragon-sim at a fixed rate -> ingester (one candidate setting, fresh process per row) -> raw topic -> fanout.")
	b.p("CPU is the ingester's utime+stime per received event; context switches are summed over its threads")
	b.p("(`/proc/<pid>/task/*/status`, voluntary + involuntary). Latency is `fanout_event_age_seconds`: from the")
	b.p("event's own time (when the simulator made it) to its output being acked, so it includes the read pacing's wait.")
	b.p("Sim dropped: events the simulator's per-client queue (10,000, as Tetragon's) dropped for a slow reader.")
	b.p("")
	b.p("A fanout that fell behind (one replica shares the 2 cores with everything else) makes the latency its")
	b.p("backlog's: such rows are marked and their latency is not the node's.")
	b.p("")
	b.p("| setting | events/s | CPU µs/event | ctx switches/event | p50 ms | p99 ms | threads | peak RSS MiB | sim dropped | ingester dropped | load |")
	b.p("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range s.Node {
		p50, p99 := num(r.P50ms, 0), num(r.P99ms, 0)
		if r.LagAfter > float64(r.Rate) {
			p50, p99 = p50+" (fanout behind)", p99+" (fanout behind)"
		}
		b.p("| %s | %s | %s | %s | %s | %s | %d | %s | %s | %s | %s |", r.Setting, num(float64(r.Rate), 0), num(r.CPUUsPerEvent, 1),
			num(r.CtxSwPerEvent, 2), p50, p99, r.Threads, num(r.PeakRSSMiB, 1),
			num(r.SimDropped, 0), num(r.IngesterDropped, 0), r.Load)
	}
	b.p("")
	if br := s.Burst; br != nil {
		b.p("Burst, default settings: %s events at %s events/s (%s s to drain): the simulator dropped %s, the ingester %s;",
			num(br.Offered, 0), num(float64(br.Rate), 0), num(br.Seconds, 1), num(br.SimDropped, 0), num(br.IngesterDropped, 0))
		b.p("peak queue %s of QUEUE_SIZE, peak RSS %s MiB, %s µs CPU/event, load %s.", num(br.PeakQueue, 0), num(br.PeakRSSMiB, 1), num(br.CPUUsPerEvent, 1), br.Load)
		b.p("")
	}
}
