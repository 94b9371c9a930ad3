package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
)

// NodeResult is scenario (f): the ingester at a node's fixed rate with one
// candidate setting. The figures that matter at a node are CPU per event
// and context switches per event (each a thread that stopped and had to be
// woken: the cost that dominates when events come ~1 ms apart, and one
// that does not depend on the machine's load).
type NodeResult struct {
	Setting         string
	Env             string
	Rate            int
	Seconds         float64
	EventsPerSec    float64
	CPUUsPerEvent   float64
	CtxSwPerEvent   float64
	Threads         int
	PeakRSSMiB      float64
	P50ms, P99ms    float64 // fanout_event_age_seconds: event time -> output acked
	Observations    float64
	SimDropped      float64
	IngesterDropped float64
	// LagAfter: raw messages the fanout had not finished 90 s after the
	// step (its latency figures are the fanout's backlog, not the node's).
	LagAfter float64
	Load     string
}

// BurstResult is (f)'s burst check: a burst at a high rate with default
// settings, which the ingester must drain without the simulator (standing
// in for Tetragon, which drops for a client that reads slowly) dropping.
type BurstResult struct {
	Rate            int
	Seconds         float64
	Offered         float64
	SimDropped      float64
	IngesterDropped float64
	PeakQueue       float64
	PeakRSSMiB      float64
	CPUUsPerEvent   float64
	Load            string
}

// nodeSetting is one candidate: a name and the ingester settings it adds.
type nodeSetting struct {
	name string
	env  []string
}

// nodeSettings are the candidates of the trade-off table. The default is
// first (with the DaemonSet's GOMAXPROCS=2); the others each change one
// thing against it.
var nodeSettings = []nodeSetting{
	{"defaults (paced 100ms/1MiB, zstd 1, GOMAXPROCS=2)", []string{"GOMAXPROCS=2"}},
	{"unpaced (TETRAGON_READ_MAX_WAIT=0)", []string{"GOMAXPROCS=2", "TETRAGON_READ_MAX_WAIT=0"}},
	{"paced 25ms", []string{"GOMAXPROCS=2", "TETRAGON_READ_MAX_WAIT=25ms"}},
	{"lz4", []string{"GOMAXPROCS=2", "KAFKA_COMPRESSION=lz4"}},
	{"GOMAXPROCS=1", []string{"GOMAXPROCS=1"}},
}

// node is (f): for every candidate setting and node rate, a fresh
// simulator and ingester into one raw topic that a fanout (started once)
// consumes, so each row has the ingester's cost and the whole pipeline's
// latency from the event's own time.
func (s *sys) node() ([]*NodeResult, *BurstResult, error) {
	dir, err := sockDir()
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	raw, group := "bench.node", "bench-node"
	fan, err := s.startFanout("node-fanout", group, raw, dedup.Memory, "FANOUT_START_OFFSET=newest")
	if err != nil {
		return nil, nil, err
	}
	defer func() { fan.stop(60 * time.Second) }()
	settings := nodeSettings
	if s.nodeQuick {
		settings = settings[:2]
	}
	var out []*NodeResult
	for _, st := range settings {
		for _, rate := range s.nodeRates {
			logf("(f) %s at %d events/s", st.name, rate)
			r, err := s.nodeStep(dir, raw, fan, st, rate)
			if err != nil {
				return out, nil, fmt.Errorf("%s at %d/s: %w", st.name, rate, err)
			}
			out = append(out, r)
		}
	}
	// The fanout runs beside no node's ingester: stop it for the burst, so
	// the ingester and the broker have the cores a node and a cluster give.
	fan.stop(60 * time.Second)
	logf("(f) burst: defaults at %d events/s for %s", s.burstRate, s.burstFor)
	b, err := s.burst(dir, raw)
	return out, b, err
}

func (s *sys) nodeStep(dir, raw string, fan *proc, st nodeSetting, rate int) (*NodeResult, error) {
	sock := filepath.Join(dir, fmt.Sprintf("n%d.sock", rate))
	rawStart, err := s.c.messages(raw)
	if err != nil {
		rawStart = 0 // the first ingester creates it
	}
	finStart := finished(fan.scrape())
	simP, err := s.startSim(fmt.Sprintf("node-sim-%d", rate), sock, float64(rate), 0)
	if err != nil {
		return nil, err
	}
	defer simP.stop(10 * time.Second)
	ing, err := s.startIngester(fmt.Sprintf("node-ingester-%d", rate), sock, raw, st.env...)
	if err != nil {
		return nil, err
	}
	defer ing.stop(30 * time.Second)
	procs := []*proc{simP, ing, fan}
	pub := func() float64 { return ing.scrape().get("ingester_events_published_total") }
	if err := waitFor("ingester publishing", 90*time.Second, procs, pub, func() bool { return pub() >= float64(rate) }); err != nil {
		return nil, err
	}
	time.Sleep(s.nodeWarm)
	f0, i0, s0 := fan.scrape(), ing.scrape(), simP.scrape()
	cs0 := ctxSwitches(ing.pid())
	meter := newCPUMeter(map[string]int{"ingester": ing.pid()})
	deadline := time.Now().Add(s.nodeWindow)
	for time.Now().Before(deadline) {
		for _, p := range procs {
			if p.exited() {
				return nil, fmt.Errorf("%s exited: %s", p.name, p.tail())
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	cpu, secs := meter.read()
	cs1 := ctxSwitches(ing.pid())
	f1, i1, s1 := fan.scrape(), ing.scrape(), simP.scrape()
	recv := i1.get("ingester_events_received_total") - i0.get("ingester_events_received_total")
	hist := bucketDelta(f0.buckets("fanout_event_age_seconds"), f1.buckets("fanout_event_age_seconds"))
	r := &NodeResult{Setting: st.name, Env: strings.Join(st.env, " "), Rate: rate, Seconds: secs,
		EventsPerSec: (i1.get("ingester_events_published_total") - i0.get("ingester_events_published_total")) / secs,
		Threads:      threads(ing.pid()), PeakRSSMiB: pidStatusMiB(ing.pid(), "VmHWM"),
		P50ms: quantile(.5, hist) * 1e3, P99ms: quantile(.99, hist) * 1e3,
		SimDropped:      slowReaderDrops(s1) - slowReaderDrops(s0),
		IngesterDropped: i1.get("ingester_events_dropped_total") - i0.get("ingester_events_dropped_total"),
		Load:            loadAvg()}
	if len(hist) > 0 {
		r.Observations = hist[len(hist)-1].count
	}
	if recv > 0 {
		r.CPUUsPerEvent = cpu["ingester"] / recv * 1e6
		r.CtxSwPerEvent = (cs1 - cs0) / recv
	}
	// The fanout drains what this step wrote before the next one starts
	// (bounded): a backlog would load the machine under the next row.
	simP.stop(10 * time.Second)
	ing.stop(30 * time.Second)
	if target, err := s.c.messages(raw); err == nil {
		want := float64(target - rawStart)
		drainEnd := time.Now().Add(90 * time.Second)
		for finished(fan.scrape())-finStart < want && time.Now().Before(drainEnd) && !fan.exited() {
			time.Sleep(time.Second)
		}
		r.LagAfter = max(0, want-(finished(fan.scrape())-finStart))
	}
	logf("(f) %s, %d/s: %.1f µs CPU/event, %.2f context switches/event, p50 %.0f ms, p99 %.0f ms, RSS %.0f MiB, load %s",
		st.name, rate, r.CPUUsPerEvent, r.CtxSwPerEvent, r.P50ms, r.P99ms, r.PeakRSSMiB, r.Load)
	return r, nil
}

// burst offers burstRate for burstFor to a default ingester; the simulator
// keeps Tetragon's per-client queue (10,000 events) and drops beyond it.
func (s *sys) burst(dir, raw string) (*BurstResult, error) {
	sock := filepath.Join(dir, "burst.sock")
	ing, err := s.startIngester("burst-ingester", sock, raw)
	if err != nil {
		return nil, err
	}
	defer ing.stop(30 * time.Second)
	n := int(float64(s.burstRate) * s.burstFor.Seconds())
	simP, err := s.startSim("burst-sim", sock, float64(s.burstRate), n)
	if err != nil {
		return nil, err
	}
	defer simP.stop(10 * time.Second)
	meter := newCPUMeter(map[string]int{"ingester": ing.pid()})
	var peakQ float64
	recv := func() float64 {
		m := ing.scrape()
		peakQ = max(peakQ, m.get("ingester_queue_depth"))
		return m.get("ingester_events_received_total")
	}
	// The simulator counts events no client received too (it keeps
	// generating), so the end is: every generated event either received
	// or counted as dropped.
	done := func() bool {
		sm := simP.scrape()
		return recv()+sm.get("tetragon_sim_events_dropped_total") >= float64(n)
	}
	if err := waitFor("burst drained", 60*time.Second, []*proc{simP, ing}, recv, done); err != nil {
		return nil, err
	}
	cpu, secs := meter.read()
	m, sm := ing.scrape(), simP.scrape()
	r := &BurstResult{Rate: s.burstRate, Seconds: secs, Offered: float64(n),
		SimDropped:      slowReaderDrops(sm),
		IngesterDropped: m.get("ingester_events_dropped_total"), PeakQueue: peakQ,
		PeakRSSMiB: pidStatusMiB(ing.pid(), "VmHWM"), Load: loadAvg()}
	if got := m.get("ingester_events_received_total"); got > 0 {
		r.CPUUsPerEvent = cpu["ingester"] / got * 1e6
	}
	logf("(f) burst %d/s for %s: %.0f offered, sim dropped %.0f, ingester dropped %.0f, peak queue %.0f, RSS %.0f MiB",
		s.burstRate, s.burstFor, r.Offered, r.SimDropped, r.IngesterDropped, r.PeakQueue, r.PeakRSSMiB)
	return r, nil
}

// slowReaderDrops are the simulator's drops that a slow reader causes (its
// per-client queue full, or lost at a disconnect), as Tetragon would drop
// them; not those generated while no client was connected yet (no_client).
func slowReaderDrops(m metrics) float64 {
	return m.series[`tetragon_sim_events_dropped_total{reason="queue_full"}`] +
		m.series[`tetragon_sim_events_dropped_total{reason="disconnected"}`]
}

// ctxSwitches sums voluntary and involuntary context switches over the
// threads of pid (/proc/<pid>/task/*/status). Go keeps its threads, so
// none that ran in a window is missing from the sum at its end.
func ctxSwitches(pid int) float64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var n float64
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			name, v, ok := strings.Cut(line, ":")
			if ok && (name == "voluntary_ctxt_switches" || name == "nonvoluntary_ctxt_switches") {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				n += f
			}
		}
	}
	return n
}

func threads(pid int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	return len(tasks)
}
