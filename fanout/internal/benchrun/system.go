package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim"
)

// sys is one `benchrun system` run.
type sys struct {
	out, bin, logDir, profDir, stateDir string
	c                                   *cluster

	events      int
	dupRatio    float64
	rates       []int
	e2eWarm     time.Duration
	e2eWindow   time.Duration
	profileSecs int
	lingerCheck bool
	leveldbRun  bool
	codecList   []string
	fanCodecs   []string
	nodeRates   []int
	nodeWarm    time.Duration
	nodeWindow  time.Duration
	nodeQuick   bool
	burstRate   int
	burstFor    time.Duration

	res *Results
	// rawTopic holds the pre-filled raw topic once (a) ran.
	rawTopic string
	rawCount int64
}

// Results is everything `system` measured; report renders it.
type Results struct {
	Started, Finished  time.Time
	LoadStart, LoadEnd string
	Events             int
	DupRatio           float64
	KafkaVersion       string
	Ingest             *IngestResult     `json:",omitempty"`
	Codecs             []*IngestResult   `json:",omitempty"`
	Fanout             []*FanoutResult   `json:",omitempty"`
	E2E                []*E2EResult      `json:",omitempty"`
	Recovery           []*RecoveryResult `json:",omitempty"`
	Node               []*NodeResult     `json:",omitempty"`
	Burst              *BurstResult      `json:",omitempty"`
	Bytes              *BytesResult      `json:",omitempty"`
	// TableMemBytesPerEntry: the memory table's heap per entry, measured
	// in-process (map + expiry FIFO + key + value).
	TableMemBytesPerEntry float64
	Profiles              []*Profile `json:",omitempty"`
	Errors                []string   `json:",omitempty"`
}

// IngestResult is scenario (a).
type IngestResult struct {
	Codec            string
	DiskPerEvent     float64 // raw topic bytes on disk per event
	Events           float64 // published in the measured window
	Seconds          float64
	EventsPerSec     float64
	CPUUsPerEvent    float64
	Cores            float64
	PeakRSSMiB       float64
	AllocsPerEvent   float64
	AllocBytesPerEv  float64
	Dropped          float64
	SimCores         float64
	BrokerUsPerEvent float64
	BrokerCores      float64
	RawMessages      int64
	Load             string
}

// FanoutResult is scenarios (b) and (e).
type FanoutResult struct {
	Name             string
	Codec            string // outputs' and changelog's; empty: the default (zstd)
	Replicas         int
	Storage          string
	Events           float64 // finished in the measured window
	Seconds          float64
	EventsPerSec     float64
	PerReplica       float64
	CPUUsPerEvent    float64
	Cores            float64
	PeakRSSMiB       float64
	AllocsPerEvent   float64
	AllocBytesPerEv  float64
	BrokerUsPerEvent float64
	BrokerCores      float64
	Emitted          float64
	Duplicates       float64
	TableEntries     float64
	HeapAfterGCMiB   float64
	ChangelogBytes   int64
	LevelDBBytes     int64
	OutputDiskBytes  int64
	Load             string
}

// E2EResult is scenario (c) at one offered rate.
type E2EResult struct {
	Rate               int
	Linger             string
	Seconds            float64
	EmittedPerSec      float64
	Observations       float64
	P50ms, P99ms       float64
	P999ms             float64
	IngesterUsPerEvent float64
	FanoutUsPerEvent   float64
	BrokerUsPerEvent   float64
	SimDropped         float64
	IngesterDropped    float64
	LagEnd             float64
	Load               string
}

// RecoveryResult is scenario (d) for one storage.
type RecoveryResult struct {
	Storage         string
	Mode            string
	Entries         int
	RecoverySeconds float64 // fanout_table_recovery_seconds (one partition)
	ReadySeconds    float64 // process start to /readyz 200
	EntriesPerSec   float64
	PeakRSSMiB      float64
	HeapAfterGCMiB  float64
	LevelDBBytes    int64
	TableEntries    float64
}

// BytesResult: Kafka bytes per event, uncompressed (what producers hand to
// the compressor) and on disk (compressed batches as stored).
type BytesResult struct {
	RawRecordBytes, RawDiskPerEvent             float64
	OutputRecordBytes, OutputDiskPerEvent       float64
	ChangelogRecordBytes, ChangelogDiskPerEntry float64
}

func runSystem(args []string) error {
	fs := flag.NewFlagSet("system", flag.ExitOnError)
	s := &sys{}
	var brokers, dataDir, rates string
	fs.StringVar(&s.out, "out", ".local/bench", "output directory")
	fs.StringVar(&s.bin, "bin", ".local/bench/bin", "directory of ingester, fanout, tetragon-sim")
	fs.StringVar(&brokers, "brokers", os.Getenv("KAFKA_BROKERS"), "brokers (KAFKA_BROKERS)")
	fs.StringVar(&dataDir, "kafka-data", os.Getenv("KAFKA_DATA_DIR"), "the broker's data dir (KAFKA_DATA_DIR): bytes on disk, broker CPU")
	fs.IntVar(&s.events, "events", 1_000_000, "distinct events of the pre-filled raw topic and entries of the recovered table")
	fs.Float64Var(&s.dupRatio, "dup-ratio", 0.01, "share of events the simulator sends twice (dedup drops them)")
	fs.StringVar(&rates, "rates", "1000,5000,10000,20000", "offered rates of the end-to-end runs")
	fs.DurationVar(&s.e2eWarm, "e2e-warmup", 10*time.Second, "warm-up before each end-to-end window")
	fs.DurationVar(&s.e2eWindow, "e2e-window", 30*time.Second, "measured end-to-end window per rate")
	fs.IntVar(&s.profileSecs, "profile-seconds", 10, "CPU profile length of each hot path")
	fs.BoolVar(&s.lingerCheck, "linger-check", true, "also run the lowest rate with KAFKA_LINGER=100ms (goka's default flush) on the fanout")
	fs.BoolVar(&s.leveldbRun, "leveldb-run", true, "also run the fanout over the pre-filled topic with TABLE_STORAGE=leveldb")
	codecs := fs.String("codecs", "lz4,none", "codecs the ingester runs with too (after the zstd fill), on a fifth of the events")
	nodeRates := fs.String("node-rates", "100,1000,5000,20000", "rates of the node scenario (f)")
	fs.DurationVar(&s.nodeWarm, "node-warmup", 5*time.Second, "warm-up before each node window")
	fs.DurationVar(&s.nodeWindow, "node-window", 20*time.Second, "measured window per node rate and setting")
	fs.BoolVar(&s.nodeQuick, "node-quick", false, "node scenario with the defaults and the unpaced setting only")
	fs.IntVar(&s.burstRate, "burst-rate", 50000, "rate of the node scenario's burst")
	fs.DurationVar(&s.burstFor, "burst-for", 10*time.Second, "length of the burst")
	fanCodecs := fs.String("fanout-codecs", "lz4,snappy", "output codecs the fanout runs with too (1 replica, memory table), against the zstd default")
	only := fs.String("only", "", "comma-separated scenarios to run: ingest,fanout,e2e,recovery,node (default all)")
	_ = fs.Parse(args)
	if brokers == "" {
		return errors.New("no brokers: set KAFKA_BROKERS or -brokers")
	}
	for _, f := range strings.Split(rates, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r <= 0 {
			return fmt.Errorf("-rates: %q is not a rate", f)
		}
		s.rates = append(s.rates, r)
	}
	for _, f := range strings.Split(*nodeRates, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r <= 0 {
			return fmt.Errorf("-node-rates: %q is not a rate", f)
		}
		s.nodeRates = append(s.nodeRates, r)
	}
	for _, c := range strings.Split(*fanCodecs, ",") {
		if c = strings.TrimSpace(c); c != "" {
			s.fanCodecs = append(s.fanCodecs, c)
		}
	}
	for _, c := range strings.Split(*codecs, ",") {
		if c = strings.TrimSpace(c); c != "" {
			s.codecList = append(s.codecList, c)
		}
	}
	var err error
	if s.out, err = filepath.Abs(s.out); err != nil {
		return err
	}
	if s.bin, err = filepath.Abs(s.bin); err != nil {
		return err
	}
	s.logDir, s.profDir, s.stateDir = filepath.Join(s.out, "logs"), filepath.Join(s.out, "profiles"), filepath.Join(s.out, "state")
	_ = os.RemoveAll(s.stateDir)
	for _, d := range []string{s.logDir, s.profDir, s.stateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if s.c, err = newCluster(strings.Split(brokers, ","), dataDir); err != nil {
		return err
	}
	defer s.c.close()
	s.res = &Results{Started: time.Now(), LoadStart: loadAvg(), Events: s.events, DupRatio: s.dupRatio}
	want := map[string]bool{}
	for _, o := range strings.Split(*only, ",") {
		if o = strings.TrimSpace(o); o != "" {
			want[o] = true
		}
	}
	run := func(name string) bool { return len(want) == 0 || want[name] }
	fail := func(what string, err error) {
		logf("%s: %v", what, err)
		s.res.Errors = append(s.res.Errors, fmt.Sprintf("%s: %v", what, err))
	}

	s.res.KafkaVersion = kafkaVersion(dataDir)
	s.res.TableMemBytesPerEntry = tableMemory(min(s.events, 1_000_000))
	if run("ingest") || run("fanout") {
		logf("(a) ingester at maximum rate, filling the raw topic with %d events", s.events)
		if r, err := s.ingest(); err != nil {
			fail("ingest", err)
		} else {
			s.res.Ingest = r
		}
	}
	if run("ingest") && len(s.codecList) > 0 {
		logf("(a) ingester with %v", s.codecList)
		s.codecs()
	}
	if run("fanout") && s.rawCount > 0 {
		logf("(b) fanout, 1 replica, memory table, over %d raw events (profiled)", s.rawCount)
		if r, err := s.fanoutRun("f1", 1, dedup.Memory, true); err != nil {
			fail("fanout 1 replica", err)
		} else {
			s.res.Fanout = append(s.res.Fanout, r)
			s.bytes(r)
		}
		if s.leveldbRun {
			logf("(b) fanout, 1 replica, leveldb table")
			if r, err := s.fanoutRun("fl", 1, dedup.LevelDB, false); err != nil {
				fail("fanout 1 replica leveldb", err)
			} else {
				s.res.Fanout = append(s.res.Fanout, r)
			}
		}
		for _, codec := range s.fanCodecs {
			logf("(b) fanout, 1 replica, memory table, outputs and changelog %s", codec)
			if r, err := s.fanoutRun("fc-"+codec, 1, dedup.Memory, false, "KAFKA_COMPRESSION="+codec); err != nil {
				fail("fanout "+codec, err)
			} else {
				r.Codec = codec
				s.res.Fanout = append(s.res.Fanout, r)
			}
		}
		logf("(e) fanout, 2 replicas, memory table")
		if r, err := s.fanoutRun("f2", 2, dedup.Memory, false); err != nil {
			fail("fanout 2 replicas", err)
		} else {
			s.res.Fanout = append(s.res.Fanout, r)
		}
	}
	if run("e2e") {
		logf("(c) whole pipeline at %v events/s", s.rates)
		r, err := s.e2e()
		s.res.E2E = r
		if err != nil {
			fail("end-to-end", err)
		}
	}
	if run("node") {
		logf("(f) ingester at node rates %v: every candidate setting, then a burst", s.nodeRates)
		r, b, err := s.node()
		s.res.Node, s.res.Burst = r, b
		if err != nil {
			fail("node", err)
		}
	}
	if run("recovery") {
		logf("(d) table recovery of %d entries, memory vs leveldb", s.events)
		r, err := s.recovery(s.events)
		s.res.Recovery = r
		if err != nil {
			fail("recovery", err)
		}
	}
	analyzeProfiles(s.res.Profiles)
	s.res.Finished, s.res.LoadEnd = time.Now(), loadAvg()
	b, _ := json.MarshalIndent(s.res, "", "  ")
	return os.WriteFile(filepath.Join(s.out, "system.json"), b, 0o644)
}

func (s *sys) common() []string {
	return []string{"KAFKA_BROKERS=" + strings.Join(s.c.brokers, ","), "LOG_LEVEL=warn", "LOG_FORMAT=text"}
}

// sockDir is a short temporary directory: a unix socket path has 108 bytes.
func sockDir() (string, error) { return os.MkdirTemp("", "bench") }

func (s *sys) startSim(name, sock string, rate float64, events int) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"--listen", "unix://" + sock, "--rate", strconv.FormatFloat(rate, 'f', -1, 64),
		"--events", strconv.Itoa(events), "--dup-ratio", strconv.FormatFloat(s.dupRatio, 'f', -1, 64),
		"--log-level", "warn", "--metrics-addr", addr}
	return startProc(name, filepath.Join(s.bin, "tetragon-sim"), args, nil, s.logDir, addr)
}

func (s *sys) startIngester(name, sock, topic string, extra ...string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := append(s.common(), "TETRAGON_ADDR=unix://"+sock, "RAW_TOPIC="+topic, "RAW_TOPIC_PARTITIONS=12",
		"HTTP_ADDR="+addr, "NODE_NAME=bench", "DEBUG_PPROF=true", "TETRAGON_RECONNECT_MAX=1s")
	return startProc(name, filepath.Join(s.bin, "ingester"), nil, append(env, extra...), s.logDir, addr)
}

func (s *sys) startFanout(replica, group, raw, storage string, extra ...string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// Outputs go to topics named after the group, so each run's output
	// bytes are its own.
	routes := filepath.Join(s.out, "routes-"+group+".yaml")
	if err := os.WriteFile(routes, []byte("version: 1\ndefaults:\n  topic: \""+group+".{type}\"\n"), 0o644); err != nil {
		return nil, err
	}
	env := append(s.common(), "FANOUT_GROUP="+group, "RAW_TOPIC="+raw, "DLQ_TOPIC="+group+".dlq",
		"ROUTES_FILE="+routes, "REPLICA_ID="+replica, "HTTP_ADDR="+addr, "DEBUG_PPROF=true",
		"TABLE_STORAGE="+storage, "STATE_DIR="+s.stateDir)
	return startProc(replica, filepath.Join(s.bin, "fanout"), nil, append(env, extra...), s.logDir, addr)
}

// waitFor polls cond every 500ms (each poll scrapes the measured processes) until it holds, a process exits, or
// stall passes without progress() changing.
func waitFor(what string, stall time.Duration, procs []*proc, progress func() float64, cond func() bool) error {
	last, lastChange := progress(), time.Now()
	for !cond() {
		for _, p := range procs {
			if p.exited() {
				return fmt.Errorf("%s: %s exited (%v); log tail:\n%s", what, p.name, p.err, p.tail())
			}
		}
		if v := progress(); v != last {
			last, lastChange = v, time.Now()
		} else if time.Since(lastChange) > stall {
			return fmt.Errorf("%s: no progress for %s (at %.0f)", what, stall, v)
		}
		time.Sleep(500 * time.Millisecond)
	}
	return nil
}

func (s *sys) pids(procs map[string]*proc) map[string]int {
	out := map[string]int{}
	for k, p := range procs {
		out[k] = p.pid()
	}
	if s.c.brokerPID > 0 {
		out["broker"] = s.c.brokerPID
	}
	return out
}

// profiler takes a CPU profile and two allocation snapshots of one
// process over a window.
type profiler struct {
	s    *sys
	name string
	p    *proc
	cpu  chan error
}

func (s *sys) startProfile(name string, p *proc) *profiler {
	pr := &profiler{s: s, name: name, p: p, cpu: make(chan error, 1)}
	base := filepath.Join(s.profDir, name)
	if err := fetch("http://"+p.http+"/debug/pprof/allocs", base+".allocs0.pb.gz", 30*time.Second); err != nil {
		logf("%s allocs profile: %v", name, err)
	}
	go func() {
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.http, s.profileSecs)
		pr.cpu <- fetch(url, base+".cpu.pb.gz", time.Duration(s.profileSecs+60)*time.Second)
	}()
	return pr
}

// stop ends the allocation window now and waits for the CPU profile.
func (pr *profiler) stop(events float64) {
	base := filepath.Join(pr.s.profDir, pr.name)
	if err := fetch("http://"+pr.p.http+"/debug/pprof/allocs", base+".allocs1.pb.gz", 30*time.Second); err != nil {
		logf("%s allocs profile: %v", pr.name, err)
	}
	if err := <-pr.cpu; err != nil {
		logf("%s cpu profile: %v", pr.name, err)
		return
	}
	bin := "fanout"
	if strings.HasPrefix(pr.name, "ingester") {
		bin = "ingester"
	}
	pr.s.res.Profiles = append(pr.s.res.Profiles,
		&Profile{Name: pr.name, Kind: "cpu", Binary: filepath.Join(pr.s.bin, bin), File: base + ".cpu.pb.gz", Seconds: float64(pr.s.profileSecs)},
		&Profile{Name: pr.name, Kind: "alloc_space", Binary: filepath.Join(pr.s.bin, bin), File: base + ".allocs1.pb.gz",
			Base: base + ".allocs0.pb.gz", Events: events})
}

// ingest is (a): the ingester alone at the simulator's maximum rate
// (--rate 0: the stream goes as fast as the ingester reads; QUEUE_POLICY
// block so nothing is dropped and the rate is what it sustains). It also
// fills the raw topic for (b) and (e).
func (s *sys) ingest() (*IngestResult, error) {
	s.rawTopic = "bench.raw"
	r, err := s.ingestRun("fill", s.rawTopic, s.events, "zstd", true)
	if err != nil {
		return nil, err
	}
	if s.rawCount, err = s.c.messages(s.rawTopic); err != nil {
		return r, err
	}
	r.RawMessages = s.rawCount
	return r, nil
}

// ingestRun runs the simulator (--rate 0, events distinct events) and the
// ingester with codec into topic, and measures the ingester from 2%
// published to the last event acked.
func (s *sys) ingestRun(name, topic string, events int, codec string, profile bool) (*IngestResult, error) {
	dir, err := sockDir()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "t.sock")
	simP, err := s.startSim("sim-"+name, sock, 0, events)
	if err != nil {
		return nil, err
	}
	defer simP.stop(10 * time.Second)
	ing, err := s.startIngester("ingester-"+name, sock, topic, "QUEUE_POLICY=block", "KAFKA_COMPRESSION="+codec)
	if err != nil {
		return nil, err
	}
	defer ing.stop(30 * time.Second)
	total := float64(uint64(events) + sim.ExpectedDuplicates(uint64(events), s.dupRatio))
	warm := max(total/50, 1000)
	var m metrics
	pub := func() float64 { m = ing.scrape(); return m.get("ingester_events_published_total") }
	if err := waitFor("ingester warm-up", 120*time.Second, []*proc{simP, ing}, pub, func() bool { return pub() >= warm }); err != nil {
		return nil, err
	}
	m0 := m
	meter := newCPUMeter(s.pids(map[string]*proc{"ingester": ing, "sim": simP}))
	var pr *profiler
	if profile {
		pr = s.startProfile("ingester", ing)
	}
	if err := waitFor("ingester run", 60*time.Second, []*proc{simP, ing}, pub, func() bool { return pub() >= total }); err != nil {
		return nil, err
	}
	m1 := m
	cpu, secs := meter.read()
	n := m1.get("ingester_events_published_total") - m0.get("ingester_events_published_total")
	if pr != nil {
		pr.stop(n)
	}
	r := &IngestResult{
		Codec:  codec,
		Events: n, Seconds: secs, EventsPerSec: n / secs,
		CPUUsPerEvent: cpu["ingester"] / n * 1e6, Cores: cpu["ingester"] / secs,
		PeakRSSMiB:      pidStatusMiB(ing.pid(), "VmHWM"),
		AllocsPerEvent:  (m1.get("go_memstats_mallocs_total") - m0.get("go_memstats_mallocs_total")) / n,
		AllocBytesPerEv: (m1.get("go_memstats_alloc_bytes_total") - m0.get("go_memstats_alloc_bytes_total")) / n,
		Dropped:         m1.get("ingester_events_dropped_total"),
		SimCores:        cpu["sim"] / secs, BrokerUsPerEvent: cpu["broker"] / n * 1e6, BrokerCores: cpu["broker"] / secs,
		Load: loadAvg(),
	}
	ing.stop(30 * time.Second)
	if msgs, err := s.c.messages(topic); err == nil && msgs > 0 {
		r.DiskPerEvent = float64(s.c.diskBytes(func(t string) bool { return t == topic })) / float64(msgs)
	}
	logf("(a) %s: %.0f events/s, %.2f µs CPU/event, peak RSS %.0f MiB, %.0f bytes/event on disk", codec, r.EventsPerSec, r.CPUUsPerEvent, r.PeakRSSMiB, r.DiskPerEvent)
	return r, nil
}

// codecs is (a) again with other codecs on throwaway topics: what the node
// saves in CPU against what Kafka stores and carries.
func (s *sys) codecs() {
	for _, codec := range s.codecList {
		events := max(s.events/5, 20000)
		r, err := s.ingestRun(codec, "bench.codec-"+codec, events, codec, false)
		if err != nil {
			s.res.Errors = append(s.res.Errors, fmt.Sprintf("ingester with %s: %v", codec, err))
			continue
		}
		s.res.Codecs = append(s.res.Codecs, r)
	}
}

// finished is what a fanout replica is done with: every raw message ends
// as exactly one of emitted, duplicate, sampled out, dropped by rule, DLQ.
func finished(m metrics) float64 {
	return m.get("fanout_events_emitted_total") + m.get("fanout_duplicates_dropped_total") +
		m.get("fanout_events_sampled_out_total") + m.get("fanout_events_dropped_total") + m.get("fanout_events_dlq_total")
}

// fanoutRun is (b) (one replica) and (e) (two): a new group over the
// pre-filled raw topic, measured from when every partition is assigned
// and 2% is done, to the last raw message finished.
func (s *sys) fanoutRun(name string, replicas int, storage string, profile bool, extra ...string) (*FanoutResult, error) {
	group := "bench-" + name
	procs := map[string]*proc{}
	var list []*proc
	for i := range replicas {
		p, err := s.startFanout(fmt.Sprintf("%s-%d", name, i+1), group, s.rawTopic, storage, extra...)
		if err != nil {
			return nil, err
		}
		defer p.stop(60 * time.Second)
		procs[fmt.Sprintf("fanout%d", i+1)] = p
		list = append(list, p)
	}
	total := float64(s.rawCount)
	warm := max(total/50, 1000)
	parts, err := s.c.client.Partitions(s.rawTopic)
	if err != nil {
		return nil, err
	}
	ms := make([]metrics, len(list))
	done := func() float64 {
		var f float64
		for i, p := range list {
			ms[i] = p.scrape()
			f += finished(ms[i])
		}
		return f
	}
	allAssigned := func() bool {
		var n float64
		for i := range list {
			if ms[i].get("fanout_partitions_assigned") == 0 {
				return false
			}
			n += ms[i].get("fanout_partitions_assigned")
		}
		return int(n) == len(parts)
	}
	if err := waitFor(name+" warm-up", 180*time.Second, list, done, func() bool { return done() >= warm && allAssigned() }); err != nil {
		return nil, err
	}
	f0 := 0.0
	m0 := make([]metrics, len(list))
	for i := range list {
		m0[i] = ms[i]
		f0 += finished(ms[i])
	}
	meter := newCPUMeter(s.pids(procs))
	var pr *profiler
	if profile {
		pr = s.startProfile("fanout", list[0])
	}
	if err := waitFor(name+" run", 60*time.Second, list, done, func() bool { return done() >= total }); err != nil {
		return nil, err
	}
	cpu, secs := meter.read()
	n := done() - f0
	if pr != nil {
		pr.stop(n)
	}
	r := &FanoutResult{Name: name, Replicas: replicas, Storage: storage, Events: n, Seconds: secs, EventsPerSec: n / secs,
		BrokerUsPerEvent: cpu["broker"] / n * 1e6, BrokerCores: cpu["broker"] / secs, Load: loadAvg()}
	r.PerReplica = r.EventsPerSec / float64(replicas)
	var fanCPU float64
	for i, p := range list {
		fanCPU += cpu[fmt.Sprintf("fanout%d", i+1)]
		m := ms[i]
		r.Emitted += m.get("fanout_events_emitted_total")
		r.Duplicates += m.get("fanout_duplicates_dropped_total")
		r.TableEntries += m.get("fanout_table_entries")
		r.AllocsPerEvent += (m.get("go_memstats_mallocs_total") - m0[i].get("go_memstats_mallocs_total")) / n
		r.AllocBytesPerEv += (m.get("go_memstats_alloc_bytes_total") - m0[i].get("go_memstats_alloc_bytes_total")) / n
		r.PeakRSSMiB = max(r.PeakRSSMiB, pidStatusMiB(p.pid(), "VmHWM"))
		// A forced GC, then the live heap: the table is most of it.
		_ = fetch("http://"+p.http+"/debug/pprof/heap?gc=1", os.DevNull, 30*time.Second)
		r.HeapAfterGCMiB += p.scrape().get("go_memstats_heap_alloc_bytes") / (1 << 20)
	}
	r.CPUUsPerEvent, r.Cores = fanCPU/n*1e6, fanCPU/secs
	r.ChangelogBytes = s.c.diskBytes(func(t string) bool { return t == group+"-table" })
	r.OutputDiskBytes = s.c.diskBytes(func(t string) bool { return strings.HasPrefix(t, group+".") })
	if storage == dedup.LevelDB {
		r.LevelDBBytes = dirSize(filepath.Join(s.stateDir, group))
	}
	logf("(%s) %.0f events/s (%.0f per replica), %.2f µs CPU/event, table %.0f entries", name, r.EventsPerSec, r.PerReplica, r.CPUUsPerEvent, r.TableEntries)
	return r, nil
}

// bytes measures Kafka bytes per event after the first fanout run: raw,
// outputs and changelog, uncompressed and on disk.
func (s *sys) bytes(r *FanoutResult) {
	b := &BytesResult{}
	group := "bench-" + r.Name
	if size, _, err := s.c.recordSize([]string{s.rawTopic}, 24000); err == nil {
		b.RawRecordBytes = size
	} else {
		logf("raw record size: %v", err)
	}
	b.RawDiskPerEvent = float64(s.c.diskBytes(func(t string) bool { return t == s.rawTopic })) / float64(s.rawCount)
	outs, _ := s.c.topics(group + ".")
	var outTopics []string
	for _, t := range outs {
		if t != group+".dlq" {
			outTopics = append(outTopics, t)
		}
	}
	if size, _, err := s.c.recordSize(outTopics, 24000); err == nil {
		b.OutputRecordBytes = size
	} else {
		logf("output record size: %v", err)
	}
	if r.Emitted > 0 {
		b.OutputDiskPerEvent = float64(r.OutputDiskBytes) / r.Emitted
	}
	if size, _, err := s.c.recordSize([]string{group + "-table"}, 24000); err == nil {
		b.ChangelogRecordBytes = size
	} else {
		logf("changelog record size: %v", err)
	}
	if r.TableEntries > 0 {
		b.ChangelogDiskPerEntry = float64(r.ChangelogBytes) / r.TableEntries
	}
	s.res.Bytes = b
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// e2e is (c): sim at a fixed rate -> ingester -> raw topic -> fanout ->
// outputs, latency from fanout_end_to_end_latency_seconds over a window.
func (s *sys) e2e() ([]*E2EResult, error) {
	dir, err := sockDir()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "t.sock")
	raw, group := "bench.e2e", "bench-e2e"
	fan, err := s.startFanout("e2e-fanout", group, raw, dedup.Memory)
	if err != nil {
		return nil, err
	}
	defer func() { fan.stop(60 * time.Second) }()
	ing, err := s.startIngester("e2e-ingester", sock, raw)
	if err != nil {
		return nil, err
	}
	defer ing.stop(30 * time.Second)

	type step struct {
		rate   int
		linger string
	}
	var steps []step
	for _, r := range s.rates {
		steps = append(steps, step{r, "5ms"})
	}
	if s.lingerCheck {
		// At the lowest rate, where the machine is least busy, the flush
		// interval is the largest part of the latency: p50 shows whether
		// KAFKA_LINGER reaches the output producer.
		steps = append(steps, step{slices.Min(s.rates), "100ms"})
	}
	var out []*E2EResult
	for _, st := range steps {
		if st.linger != "5ms" {
			// A new group from the newest offset, so the backlog of the
			// earlier steps is not replayed.
			fan.stop(60 * time.Second)
			if fan, err = s.startFanout("e2e-fanout-linger", group+"-linger", raw, dedup.Memory,
				"KAFKA_LINGER="+st.linger, "FANOUT_START_OFFSET=newest"); err != nil {
				return out, err
			}
			if err := waitFor("fanout ready", 120*time.Second, []*proc{fan}, func() float64 { return 0 }, func() bool { return ready(fan.http) }); err != nil {
				return out, err
			}
		}
		logf("(c) %d events/s, fanout KAFKA_LINGER=%s", st.rate, st.linger)
		r, err := s.e2eStep(sock, raw, fan, ing, st.rate)
		if r != nil {
			r.Linger = st.linger
			out = append(out, r)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (s *sys) e2eStep(sock, raw string, fan, ing *proc, rate int) (*E2EResult, error) {
	// What this step adds to the raw topic, and what the fanout finishes
	// of it: the drain at the end waits for the difference.
	rawStart, err := s.c.messages(raw)
	if err != nil {
		rawStart = 0 // the ingester has not created it yet
	}
	finStart := finished(fan.scrape())
	simP, err := s.startSim(fmt.Sprintf("sim-%d", rate), sock, float64(rate), 0)
	if err != nil {
		return nil, err
	}
	defer simP.stop(10 * time.Second)
	procs := []*proc{simP, ing, fan}
	start := fan.scrape().get("fanout_events_emitted_total")
	emitted := func() float64 { return fan.scrape().get("fanout_events_emitted_total") }
	if err := waitFor("pipeline flowing", 90*time.Second, procs, func() float64 { return 0 },
		func() bool { return emitted() > start+float64(rate) }); err != nil {
		return nil, err
	}
	time.Sleep(s.e2eWarm)
	f0, i0, s0 := fan.scrape(), ing.scrape(), simP.scrape()
	meter := newCPUMeter(s.pids(map[string]*proc{"fanout": fan, "ingester": ing}))
	deadline := time.Now().Add(s.e2eWindow)
	for time.Now().Before(deadline) {
		for _, p := range procs {
			if p.exited() {
				return nil, fmt.Errorf("%s exited: %s", p.name, p.tail())
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	f1, i1, s1 := fan.scrape(), ing.scrape(), simP.scrape()
	cpu, secs := meter.read()
	hist := bucketDelta(f0.buckets("fanout_end_to_end_latency_seconds"), f1.buckets("fanout_end_to_end_latency_seconds"))
	em := f1.get("fanout_events_emitted_total") - f0.get("fanout_events_emitted_total")
	recv := i1.get("ingester_events_received_total") - i0.get("ingester_events_received_total")
	fin := finished(f1) - finished(f0)
	r := &E2EResult{Rate: rate, Seconds: secs, EmittedPerSec: em / secs,
		P50ms: quantile(.5, hist) * 1e3, P99ms: quantile(.99, hist) * 1e3, P999ms: quantile(.999, hist) * 1e3,
		SimDropped:      s1.get("tetragon_sim_events_dropped_total") - s0.get("tetragon_sim_events_dropped_total"),
		IngesterDropped: i1.get("ingester_events_dropped_total") - i0.get("ingester_events_dropped_total"),
		LagEnd:          f1.get("fanout_consumer_lag"), Load: loadAvg()}
	if len(hist) > 0 {
		r.Observations = hist[len(hist)-1].count
	}
	if recv > 0 {
		r.IngesterUsPerEvent = cpu["ingester"] / recv * 1e6
	}
	if fin > 0 {
		r.FanoutUsPerEvent = cpu["fanout"] / fin * 1e6
		r.BrokerUsPerEvent = cpu["broker"] / fin * 1e6
	}
	logf("(c) %d/s: emitted %.0f/s, p50 %.1f ms, p99 %.1f ms, p999 %.1f ms, lag %.0f", rate, r.EmittedPerSec, r.P50ms, r.P99ms, r.P999ms, r.LagEnd)
	simP.stop(10 * time.Second)
	// Let the fanout drain what is in flight before the next rate.
	target, err := s.c.messages(raw)
	if err != nil {
		return r, err
	}
	// Bounded: a rate the fanout does not sustain leaves a backlog that the
	// next rate then measures too (its lag column shows it).
	drainEnd := time.Now().Add(90 * time.Second)
	_ = waitFor("drain", 30*time.Second, []*proc{fan}, func() float64 { return finished(fan.scrape()) },
		func() bool {
			return finished(fan.scrape())-finStart >= float64(target-rawStart) || time.Now().After(drainEnd)
		})
	return r, nil
}

// recovery is (d): a replica takes over one partition whose changelog
// holds n entries: memory, LevelDB from an empty state dir (a new pod),
// and LevelDB restarting on its own files (a persistent volume).
func (s *sys) recovery(n int) ([]*RecoveryResult, error) {
	group, raw := "bench-rec", "bench.rec"
	_, took, err := s.c.fillChangelog(group, raw, n)
	if err != nil {
		return nil, err
	}
	logf("(d) changelog filled with %d entries in %s", n, took.Round(time.Millisecond))
	var out []*RecoveryResult
	for _, run := range []struct{ storage, replica, mode string }{
		{dedup.Memory, "rec-mem", "cold (memory, rebuilt from the changelog)"},
		{dedup.LevelDB, "rec-ldb", "cold (LevelDB, empty STATE_DIR: a new pod)"},
		{dedup.LevelDB, "rec-ldb", "warm (LevelDB, restart on its own files)"},
	} {
		start := time.Now()
		p, err := s.startFanout(run.replica, group, raw, run.storage)
		if err != nil {
			return out, err
		}
		err = waitFor("recovery "+run.replica, 10*time.Minute, []*proc{p}, func() float64 { return float64(time.Now().Unix()) },
			func() bool { return ready(p.http) })
		readySecs := time.Since(start).Seconds()
		if err != nil {
			p.stop(60 * time.Second)
			return out, err
		}
		m := p.scrape()
		r := &RecoveryResult{Storage: run.storage, Mode: run.mode, Entries: n, ReadySeconds: readySecs,
			RecoverySeconds: m.get("fanout_table_recovery_seconds_sum"), PeakRSSMiB: pidStatusMiB(p.pid(), "VmHWM"),
			TableEntries: m.get("fanout_table_entries")}
		if c := m.get("fanout_table_recovery_seconds_count"); c > 1 {
			r.RecoverySeconds /= c
		}
		if r.RecoverySeconds > 0 {
			r.EntriesPerSec = float64(n) / r.RecoverySeconds
		}
		_ = fetch("http://"+p.http+"/debug/pprof/heap?gc=1", os.DevNull, 30*time.Second)
		r.HeapAfterGCMiB = p.scrape().get("go_memstats_heap_alloc_bytes") / (1 << 20)
		p.stop(60 * time.Second)
		if run.storage == dedup.LevelDB {
			r.LevelDBBytes = dirSize(filepath.Join(s.stateDir, group, run.replica))
		}
		logf("(d) %s: recovered in %.2f s (ready after %.2f s), heap %.0f MiB", run.mode, r.RecoverySeconds, r.ReadySeconds, r.HeapAfterGCMiB)
		out = append(out, r)
	}
	return out, nil
}

// kafkaVersion is the version the broker logged at start.
func kafkaVersion(dataDir string) string {
	logs, _ := filepath.Glob(filepath.Join(dataDir, "node-*", "server.log"))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		if _, v, ok := strings.Cut(string(b), "Kafka version: "); ok {
			if i := strings.IndexAny(v, " \n"); i > 0 {
				return v[:i]
			}
		}
	}
	return "?"
}
