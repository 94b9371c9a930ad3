package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// BenchmarkLoadRun runs the ingester binary against the tetragon-sim binary
// and the real broker (KAFKA_BROKERS) at fixed offered
// rates, and reports what the ingester process sustained and cost:
// published events/s, CPU µs per event (utime+stime from /proc), RSS, and
// events dropped. Run it with -benchtime 1x; LOADRUN_SECONDS sets the
// measured window (default 20, after 5 s of warm-up), LOADRUN_RATES the
// offered rates (default 50000,100000), LOADRUN_ENV extra ingester settings
// (NAME=value,...), LOADRUN_PROFILE=path saves a CPU profile of the
// ingester over the window to path.<rate>.
func BenchmarkLoadRun(b *testing.B) {
	if os.Getenv("KAFKA_BROKERS") == "" {
		b.Skip("KAFKA_BROKERS not set: the load run needs a real broker")
	}
	brokers := kafkatest.Brokers(b)
	dir := b.TempDir()
	bin := filepath.Join(dir, "ingester")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build ingester: %v\n%s", err, out)
	}
	simBin := filepath.Join(dir, "tetragon-sim")
	if out, err := exec.Command("go", "build", "-o", simBin, "github.com/tetragon-fanout/tetragon-fanout/shared/cmd/tetragon-sim").CombinedOutput(); err != nil {
		b.Fatalf("build tetragon-sim: %v\n%s", err, out)
	}
	secs := 20
	if v, err := strconv.Atoi(os.Getenv("LOADRUN_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	rates := []int{50000, 100000}
	if v := os.Getenv("LOADRUN_RATES"); v != "" {
		rates = nil
		for _, f := range strings.Split(v, ",") {
			r, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatalf("LOADRUN_RATES: %v", err)
			}
			rates = append(rates, r)
		}
	}
	for _, rate := range rates {
		b.Run(fmt.Sprintf("offered=%d", rate), func(b *testing.B) {
			res := loadRun(b, bin, simBin, brokers, rate, time.Duration(secs)*time.Second)
			b.ReportMetric(res.eventsPerSec, "events/s")
			b.ReportMetric(res.cpuPerEvent, "cpu-µs/event")
			b.ReportMetric(res.cores, "cores")
			b.ReportMetric(res.rssMiB, "max-rss-MiB")
			b.ReportMetric(res.dropped, "dropped")
			b.ReportMetric(res.simDropped, "sim-dropped")
			b.ReportMetric(res.simCores, "sim-cores")
			b.ReportMetric(res.csPerEvent, "ctxsw/event")
		})
	}
}

type loadResult struct {
	eventsPerSec, cpuPerEvent, cores, rssMiB, dropped, simDropped, simCores, csPerEvent float64
}

func loadRun(b *testing.B, bin, simBin string, brokers []string, rate int, window time.Duration) loadResult {
	dir, err := os.MkdirTemp("", "loadrun") // short: a socket path has 108 bytes
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "tetragon.sock")
	simMetrics := freeAddr(b)
	sim := exec.Command(simBin, "--listen", "unix://"+sock, "--rate", strconv.Itoa(rate), "--log-level", "warn", "--metrics-addr", simMetrics)
	sim.Stderr = os.Stderr
	if err := sim.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sim.Process.Signal(syscall.SIGTERM); _ = sim.Wait() }()

	httpAddr := freeAddr(b)
	topic := kafkatest.TopicName(b)
	admin := kafkatest.Admin(b, brokers)
	b.Cleanup(func() { _ = admin.DeleteTopic(topic) })
	ing := exec.Command(bin)
	ing.Env = append(os.Environ(),
		"TETRAGON_ADDR=unix://"+sock, "KAFKA_BROKERS="+strings.Join(brokers, ","),
		"KAFKA_VERSION="+kafkatest.Version().String(), "RAW_TOPIC="+topic,
		"HTTP_ADDR="+httpAddr, "LOG_LEVEL=warn", "NODE_NAME=loadrun")
	profile := os.Getenv("LOADRUN_PROFILE")
	if profile != "" {
		ing.Env = append(ing.Env, "DEBUG_PPROF=true")
	}
	if extra := os.Getenv("LOADRUN_ENV"); extra != "" {
		ing.Env = append(ing.Env, strings.Split(extra, ",")...)
	}
	logf, _ := os.Create(filepath.Join(dir, "ingester.log"))
	ing.Stdout, ing.Stderr = logf, logf
	if err := ing.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = ing.Process.Signal(syscall.SIGTERM)
		_ = ing.Wait()
		if b.Failed() {
			out, _ := os.ReadFile(logf.Name())
			b.Logf("ingester log:\n%s", out)
		}
	}()

	// Warm up: connected, topic created, steady flow.
	deadline := time.Now().Add(60 * time.Second)
	for scrape(httpAddr)["ingester_events_published_total"] < 1000 {
		if time.Now().After(deadline) {
			b.Fatal("no events published within 60s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(5 * time.Second)

	s0 := scrape(simMetrics)
	cs0 := procCtxSwitches(ing.Process.Pid)
	m0, cpu0, sim0, t0 := scrape(httpAddr), procCPU(b, ing.Process.Pid), procCPU(b, sim.Process.Pid), time.Now()
	profDone := make(chan struct{})
	go func() {
		defer close(profDone)
		if profile == "" {
			return
		}
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", httpAddr, int(window.Seconds())))
		if err != nil {
			b.Logf("profile: %v", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(fmt.Sprintf("%s.%d", profile, rate))
		if err != nil {
			b.Logf("profile: %v", err)
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, resp.Body)
	}()
	var maxRSS float64
	for end := t0.Add(window); time.Now().Before(end); {
		time.Sleep(500 * time.Millisecond)
		maxRSS = max(maxRSS, procRSS(b, ing.Process.Pid))
	}
	<-profDone
	m1, cpu1, sim1, elapsed := scrape(httpAddr), procCPU(b, ing.Process.Pid), procCPU(b, sim.Process.Pid), time.Since(t0)
	s1 := scrape(simMetrics)
	cs := procCtxSwitches(ing.Process.Pid) - cs0
	simDrop := s1["tetragon_sim_events_dropped_total"] - s0["tetragon_sim_events_dropped_total"]
	pub := m1["ingester_events_published_total"] - m0["ingester_events_published_total"]
	recv := m1["ingester_events_received_total"] - m0["ingester_events_received_total"]
	drop := m1["ingester_events_dropped_total"] - m0["ingester_events_dropped_total"]
	cpu := (cpu1 - cpu0).Seconds()
	b.Logf("offered %d/s for %s: received %.0f/s, published %.0f/s, dropped %.0f (sim dropped for the ingester: %.0f), ingester CPU %.2f cores (%.2f µs/received event), sim CPU %.2f cores, max RSS %.1f MiB, %.2f context switches/event",
		rate, elapsed.Round(time.Millisecond), recv/elapsed.Seconds(), pub/elapsed.Seconds(), drop, simDrop, cpu/elapsed.Seconds(),
		cpu/recv*1e6, (sim1-sim0).Seconds()/elapsed.Seconds(), maxRSS, cs/recv)
	return loadResult{
		eventsPerSec: pub / elapsed.Seconds(),
		cpuPerEvent:  cpu / recv * 1e6,
		cores:        cpu / elapsed.Seconds(),
		rssMiB:       maxRSS,
		dropped:      drop,
		simDropped:   simDrop,
		simCores:     (sim1 - sim0).Seconds() / elapsed.Seconds(),
		csPerEvent:   cs / recv,
	}
}

// scrape sums each metric family's samples (labels ignored).
func scrape(addr string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
			_, rest, _ = strings.Cut(line, "} ")
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err == nil {
			out[name] += v
		}
	}
	return out
}

// procCPU is utime+stime of pid from /proc/<pid>/stat.
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command (which may hold spaces) in parentheses.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clkTck
}

// procCtxSwitches sums voluntary and involuntary context switches over the
// threads of pid: each is a thread that stopped running, the cost that
// dominates at a node's rate whatever the machine's load. Threads that exited
// during the window are not counted (the Go runtime keeps its threads).
func procCtxSwitches(pid int) float64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var n float64
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "voluntary_ctxt_switches:") || strings.HasPrefix(line, "nonvoluntary_ctxt_switches:") {
				v, _ := strconv.ParseFloat(strings.TrimSpace(line[strings.IndexByte(line, ':')+1:]), 64)
				n += v
			}
		}
	}
	return n
}

// procRSS is VmRSS of pid in MiB.
func procRSS(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
