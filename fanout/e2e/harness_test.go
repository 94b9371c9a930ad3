package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/internal/promtext"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim"
)

// EnvBinDir names a directory holding prebuilt ingester and fanout
// binaries (make test-faults sets it to bin/ after make build).
const EnvBinDir = "E2E_BIN_DIR"

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error

	// injectBin is the faultinject build (faults_inject_test.go), if one was made.
	injectBin string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	if injectBin != "" {
		_ = os.RemoveAll(filepath.Dir(injectBin))
	}
	os.Exit(code)
}

type binaries struct{ ingester, fanout string }

// bins returns the binaries under test: E2E_BIN_DIR's, or built once per
// test run from this checkout (go's build cache makes that a link).
func bins(t *testing.T) binaries {
	t.Helper()
	if dir := os.Getenv(EnvBinDir); dir != "" {
		b := binaries{filepath.Join(dir, "ingester"), filepath.Join(dir, "fanout")}
		for _, p := range []string{b.ingester, b.fanout} {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s=%s: %v", EnvBinDir, dir, err)
			}
		}
		return b
	}
	root := kafkatest.RepoRoot(t)
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "tetragon-fanout-e2e-bin")
		if buildErr != nil {
			return
		}
		for _, c := range [][2]string{{"ingester", "./ingester/cmd/ingester"}, {"fanout", "./fanout/cmd/fanout"}} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, c[0]), c[1])
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", c[1], err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binaries{filepath.Join(buildDir, "ingester"), filepath.Join(buildDir, "fanout")}
}

// freeAddr returns a loopback host:port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// --- processes -----------------------------------------------------------

// proc is one run of a binary: its own log file, its own HTTP address.
type proc struct {
	name    string // e.g. "fanout-1#2": replica and incarnation
	logPath string
	http    string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// baseEnv is what every child gets besides its settings: nothing from the
// test's environment leaks in (a stray ROUTES_FILE or KAFKA_* would change
// what is tested).
func baseEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LOG_FORMAT=json", "LOG_LEVEL=info"}
	if v := os.Getenv("GOCOVERDIR"); v != "" {
		env = append(env, "GOCOVERDIR="+v)
	}
	return env
}

func startProc(t *testing.T, name, bin, logPath, httpAddr string, env map[string]string) *proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	cmd := exec.Command(bin)
	cmd.Env = baseEnv()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Env = append(cmd.Env, "HTTP_ADDR="+httpAddr)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group: a Ctrl-C on the test run does not hit the
	// children before the test's cleanup stops them in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, logPath: logPath, http: httpAddr, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if p.running() {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits; it fails the test if the process does not
// exit cleanly within timeout.
func (p *proc) stop(t *testing.T, timeout time.Duration) {
	t.Helper()
	if !p.running() {
		t.Fatalf("%s had exited already: %v (log %s)", p.name, p.waitErr, p.logPath)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("%s did not stop within %s after SIGTERM (log %s)", p.name, timeout, p.logPath)
	}
	if p.waitErr != nil {
		t.Fatalf("%s exited with %v after SIGTERM (log %s)", p.name, p.waitErr, p.logPath)
	}
}

var httpClient = &http.Client{Timeout: 3 * time.Second}

func (p *proc) metrics() (promtext.Set, error) {
	if !p.running() {
		return nil, fmt.Errorf("%s is not running: %v", p.name, p.waitErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return promtext.Scrape(ctx, httpClient, "http://"+p.http+"/metrics")
}

func (p *proc) ready() bool {
	resp, err := httpClient.Get("http://" + p.http + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// logLine finds the last JSON log line holding every fragment.
func (p *proc) logLine(fragments ...string) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	last := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		ok := true
		for _, fr := range fragments {
			if !strings.Contains(line, fr) {
				ok = false
				break
			}
		}
		if ok {
			last = line
		}
	}
	return last
}

// tail returns the last n lines of the log.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// --- the stack -------------------------------------------------------------

// stackConfig shapes one pipeline under test.
type stackConfig struct {
	brokers []string
	// partitions of the raw topic; replication of every topic.
	partitions  int
	replication int
	sim         sim.Config
	// extra settings for the binaries.
	ingesterEnv map[string]string
	fanoutEnv   map[string]string
	// fanoutBin replaces the fanout binary under test (the fault suite's
	// control run uses a faultinject build).
	fanoutBin string
	// extraRules are routes rules (YAML list items, topics spelled
	// "tetragon.…" like the demo's) tried before the demo's rules.
	extraRules string
	// logDir keeps the logs (a temp dir when empty).
	logDir string
}

// stack is one pipeline: names unique to it on the broker (topics, group),
// the simulator in this process, the ingester and fanout processes.
type stack struct {
	t      *testing.T
	cfg    stackConfig
	bins   binaries
	prefix string // every topic of this stack starts with prefix + "."
	raw    string
	dlq    string
	group  string
	routes string // routes file with the prefix in place of "tetragon."

	sim     *sim.Server
	simAddr string

	mu       sync.Mutex
	ingester *proc
	fanouts  map[string]*proc // live replica -> current process
	runs     map[string]int   // replica -> incarnations started
	all      []*proc
	stateDir string

	// last scrape of every process: a killed process's counters are
	// known up to its last second.
	lastMu      sync.Mutex
	last        map[*proc]promtext.Set
	stopPolling chan struct{}
	polling     sync.WaitGroup
}

func newStack(t *testing.T, cfg stackConfig) *stack {
	t.Helper()
	if cfg.partitions == 0 {
		cfg.partitions = 6
	}
	if cfg.replication == 0 {
		cfg.replication = 1
	}
	if cfg.logDir == "" {
		cfg.logDir = t.TempDir()
	}
	if err := os.MkdirAll(cfg.logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, cfg: cfg, bins: bins(t), fanouts: map[string]*proc{}, runs: map[string]int{},
		stateDir: t.TempDir(), last: map[*proc]promtext.Set{}, stopPolling: make(chan struct{})}
	s.prefix = "e2e-" + randomHex(t, 4)
	s.raw, s.dlq, s.group = s.prefix+".raw", s.prefix+".dlq", s.prefix+"-fanout"
	s.routes = s.writeRoutes()

	sc := cfg.sim
	sc.Record = true
	if sc.Logger == nil {
		sc.Logger = quietLogger(filepath.Join(cfg.logDir, "sim.log"), t)
	}
	srv, err := sim.New(sc)
	if err != nil {
		t.Fatalf("sim: %v", err)
	}
	t.Cleanup(srv.Close)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("sim start: %v", err)
	}
	s.sim, s.simAddr = srv, srv.Target()
	t.Cleanup(func() {
		if t.Failed() {
			s.dumpLogs()
		}
	})
	t.Cleanup(s.deleteTopics)
	s.polling.Add(1)
	go s.poll()
	t.Cleanup(s.endPolling)
	return s
}

// scrapeNow records a scrape of every running process at once.
func (s *stack) scrapeNow() {
	s.mu.Lock()
	all := append([]*proc(nil), s.all...)
	s.mu.Unlock()
	for _, p := range all {
		if !p.running() {
			continue
		}
		if m, err := p.metrics(); err == nil {
			s.lastMu.Lock()
			s.last[p] = m
			s.lastMu.Unlock()
		}
	}
}

// poll scrapes every running process once a second.
func (s *stack) poll() {
	defer s.polling.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.stopPolling:
			return
		case <-tick.C:
		}
		s.mu.Lock()
		all := append([]*proc(nil), s.all...)
		s.mu.Unlock()
		for _, p := range all {
			if m, err := p.metrics(); err == nil {
				s.lastMu.Lock()
				s.last[p] = m
				s.lastMu.Unlock()
			}
		}
	}
}

func (s *stack) endPolling() {
	select {
	case <-s.stopPolling:
	default:
		close(s.stopPolling)
	}
	s.polling.Wait()
}

// lastMetrics returns the latest scrape of every process that ever
// answered, by process.
func (s *stack) lastMetrics() map[*proc]promtext.Set {
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	out := make(map[*proc]promtext.Set, len(s.last))
	for p, m := range s.last {
		out[p] = m
	}
	return out
}

// fanoutTotal sums a fanout counter over every fanout process of the run,
// each at its last scrape (exact for processes stopped cleanly after the
// final scrape; up to a second short for killed ones).
func (s *stack) fanoutTotal(name string, labels ...string) float64 {
	var v float64
	for p, m := range s.lastMetrics() {
		if !strings.HasPrefix(p.name, "ingester") {
			v += m.Sum(name, labels...)
		}
	}
	return v
}

// deleteTopics removes the stack's topics and table from the broker (the
// shared test broker outlives the test).
func (s *stack) deleteTopics() {
	cfg := kafkatest.Config()
	cfg.Metadata.Retry.Max = 1
	admin, err := sarama.NewClusterAdmin(s.cfg.brokers, cfg)
	if err != nil {
		return
	}
	defer admin.Close()
	all, err := admin.ListTopics()
	if err != nil {
		return
	}
	for name := range all {
		if strings.HasPrefix(name, s.prefix+".") || name == s.group+"-table" {
			_ = admin.DeleteTopic(name)
		}
	}
	_ = admin.DeleteConsumerGroup(s.group)
}

// writeRoutes copies the demo's routes file with this stack's topic prefix,
// so stacks sharing a broker never share an output topic.
func (s *stack) writeRoutes() string {
	s.t.Helper()
	data, err := os.ReadFile(demoRoutes(s.t))
	if err != nil {
		s.t.Fatal(err)
	}
	text := string(data)
	if s.cfg.extraRules != "" {
		i := strings.Index(text, "\nrules:\n")
		if i < 0 {
			s.t.Fatalf("%s has no rules: list to put the case's rules in front of", demoRoutes(s.t))
		}
		i += len("\nrules:\n")
		text = text[:i] + s.cfg.extraRules + text[i:]
	}
	out := strings.ReplaceAll(text, `"tetragon.`, `"`+s.prefix+`.`)
	path := filepath.Join(s.cfg.logDir, "routes.yaml")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return path
}

func demoRoutes(t *testing.T) string {
	return filepath.Join(kafkatest.RepoRoot(t), "deployments", "local", "routes.demo.yaml")
}

func (s *stack) brokerList() string { return strings.Join(s.cfg.brokers, ",") }

// createRaw creates the raw topic as the ingester would (so the fanouts
// can join before the first event and no rebalance moves partitions in
// the middle of a clean run).
func (s *stack) createRaw() {
	s.t.Helper()
	mmb := "10485760"
	kafkatest.CreateNamedTopic(s.t, s.cfg.brokers, s.raw, &sarama.TopicDetail{
		NumPartitions: int32(s.cfg.partitions), ReplicationFactor: int16(s.cfg.replication),
		ConfigEntries: map[string]*string{"max.message.bytes": &mmb},
	})
}

func (s *stack) startIngester() *proc {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs["ingester"]++
	n := s.runs["ingester"]
	env := map[string]string{
		"KAFKA_BROKERS":          s.brokerList(),
		"TETRAGON_ADDR":          s.simAddr,
		"TETRAGON_RECONNECT_MAX": "1s",
		"RAW_TOPIC":              s.raw,
		"RAW_TOPIC_PARTITIONS":   strconv.Itoa(s.cfg.partitions),
		"RAW_TOPIC_REPLICATION":  strconv.Itoa(s.cfg.replication),
		"NODE_NAME":              "e2e-node",
		// Block: a full queue holds the stream back instead of dropping,
		// so a slow moment on a busy machine is not a loss. (The default
		// drop_oldest is for production nodes, where Tetragon must never
		// wait; its drops are counted.)
		"QUEUE_POLICY": "block",
		"QUEUE_SIZE":   "50000",
	}
	for k, v := range s.cfg.ingesterEnv {
		env[k] = v
	}
	name := fmt.Sprintf("ingester#%d", n)
	p := startProc(s.t, name, s.bins.ingester, filepath.Join(s.cfg.logDir, fmt.Sprintf("ingester-%d.log", n)),
		freeAddr(s.t), env)
	s.ingester = p
	s.all = append(s.all, p)
	return p
}

func (s *stack) startFanout(replica string) *proc {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[replica]++
	n := s.runs[replica]
	env := map[string]string{
		"KAFKA_BROKERS":              s.brokerList(),
		"RAW_TOPIC":                  s.raw,
		"FANOUT_GROUP":               s.group,
		"DLQ_TOPIC":                  s.dlq,
		"ROUTES_FILE":                s.routes,
		"REPLICA_ID":                 replica,
		"STATE_DIR":                  s.stateDir,
		"TABLE_REPLICATION":          strconv.Itoa(s.cfg.replication),
		"OUTPUT_TOPIC_REPLICATION":   strconv.Itoa(s.cfg.replication),
		"OUTPUT_TOPIC_PARTITIONS":    "2",
		"RAW_TOPIC_WAIT_BACKOFF_MAX": "1s",
		// Restart a failed processor soon: the faults make them fail.
		"PROCESSOR_RESTART_BACKOFF_MAX": "3s",
	}
	for k, v := range s.cfg.fanoutEnv {
		env[k] = v
	}
	name := fmt.Sprintf("%s#%d", replica, n)
	bin := s.bins.fanout
	if s.cfg.fanoutBin != "" {
		bin = s.cfg.fanoutBin
	}
	p := startProc(s.t, name, bin, filepath.Join(s.cfg.logDir, fmt.Sprintf("%s-%d.log", replica, n)),
		freeAddr(s.t), env)
	s.fanouts[replica] = p
	s.all = append(s.all, p)
	return p
}

// fanout returns the live process of a replica.
func (s *stack) fanout(replica string) *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fanouts[replica]
}

// forget removes a replica from the live set (after kill or stop).
func (s *stack) forget(replica string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.fanouts, replica)
}

func (s *stack) replicas() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.fanouts))
	for r := range s.fanouts {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// assignment is each live replica's partition count, from its metrics.
func (s *stack) assignment() (map[string]int, error) {
	out := map[string]int{}
	for _, r := range s.replicas() {
		p := s.fanout(r)
		m, err := p.metrics()
		if err != nil {
			return nil, err
		}
		if !p.ready() {
			return nil, fmt.Errorf("%s not ready", p.name)
		}
		out[r] = int(m.Sum("fanout_partitions_assigned"))
	}
	return out, nil
}

// waitAssigned waits until the live replicas are ready and own every raw
// partition between them, each at least one (when there are enough).
func (s *stack) waitAssigned(timeout time.Duration) map[string]int {
	s.t.Helper()
	var last map[string]int
	waitFor(s.t, "every raw partition assigned to a ready replica", timeout, func() (bool, string) {
		a, err := s.assignment()
		if err != nil {
			return false, err.Error()
		}
		last = a
		total := 0
		for _, n := range a {
			total += n
			if n == 0 && len(a) <= s.cfg.partitions {
				return false, fmt.Sprintf("assignment %v", a)
			}
		}
		return total == s.cfg.partitions, fmt.Sprintf("assignment %v", a)
	})
	return last
}

// drain stops the simulator's stream and waits until everything it sent
// that the ingester received is in Kafka and every raw message is
// processed and committed by the group. It returns the ingester's final
// books (from its metrics, the stream having ended).
func (s *stack) drain(timeout time.Duration) ingesterBooks {
	s.t.Helper()
	s.sim.Stop()
	var books ingesterBooks
	waitFor(s.t, "ingester received everything the sim delivered, and published it", timeout, func() (bool, string) {
		m, err := s.ingester.metrics()
		if err != nil {
			return false, err.Error()
		}
		books = booksOf(m)
		flushed := m.Sum("ingester_queue_depth") == 0 && m.Sum("ingester_publish_inflight") == 0
		// After a graceful Stop every delivered event was written to the
		// stream, which the ingester reads to its end. Only the current
		// ingester's streams count here (earlier ones are accounted for
		// at their shutdown).
		return flushed && books.received == books.published+books.droppedTotal() && m.Sum("ingester_tetragon_connected") == 0,
			fmt.Sprintf("%+v queue=%v inflight=%v", books, m.Sum("ingester_queue_depth"), m.Sum("ingester_publish_inflight"))
	})
	s.waitCommitted(timeout)
	return books
}

// waitCommitted waits until the group's committed offset of every raw
// partition is the partition's end: every raw message processed, its
// outputs acked (the fanout commits nothing earlier), and no replica
// holding anything in flight.
func (s *stack) waitCommitted(timeout time.Duration) {
	s.t.Helper()
	client, err := sarama.NewClient(s.cfg.brokers, kafkatest.Config())
	if err != nil {
		s.t.Fatalf("kafka client: %v", err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		s.t.Fatalf("kafka admin: %v", err)
	}
	parts := make([]int32, s.cfg.partitions)
	for i := range parts {
		parts[i] = int32(i)
	}
	waitFor(s.t, "group committed every raw message", timeout, func() (bool, string) {
		lag, err := committedLag(client, admin, s.group, s.raw, parts)
		if err != nil {
			return false, err.Error()
		}
		var total int64
		for _, l := range lag {
			total += l
		}
		return total == 0, fmt.Sprintf("committed lag per partition %v", lag)
	})
}

// committedLag is, per partition, the high-water mark minus the group's
// committed offset (the whole partition when nothing is committed).
func committedLag(client sarama.Client, admin sarama.ClusterAdmin, group, topic string, parts []int32) (map[int32]int64, error) {
	res, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: parts})
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for _, p := range parts {
		hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return nil, err
		}
		committed := int64(0)
		if b := res.GetBlock(topic, p); b != nil && b.Offset >= 0 {
			committed = b.Offset
		}
		out[p] = hwm - committed
	}
	return out, nil
}

// stopAll stops every live process with SIGTERM (the fanouts first: the
// stream is drained already).
func (s *stack) stopAll() {
	s.t.Helper()
	for _, r := range s.replicas() {
		s.fanout(r).stop(s.t, 90*time.Second)
		s.forget(r)
	}
	if s.ingester != nil && s.ingester.running() {
		s.ingester.stop(s.t, 60*time.Second)
	}
}

func (s *stack) dumpLogs() {
	s.mu.Lock()
	all := append([]*proc(nil), s.all...)
	s.mu.Unlock()
	for _, p := range all {
		state := "running"
		if !p.running() {
			state = fmt.Sprintf("exited: %v", p.waitErr)
		}
		s.t.Logf("--- %s (%s), last lines of %s:\n%s", p.name, state, p.logPath, tail(p.logPath, 25))
	}
}

// --- ingester books --------------------------------------------------------

// ingesterBooks are one ingester process's counters.
type ingesterBooks struct {
	received, published float64
	dropped             map[string]float64
}

func (b ingesterBooks) droppedTotal() float64 {
	var n float64
	for _, v := range b.dropped {
		n += v
	}
	return n
}

func booksOf(m promtext.Set) ingesterBooks {
	return ingesterBooks{
		received:  m.Sum("ingester_events_received_total"),
		published: m.Sum("ingester_events_published_total"),
		dropped:   m.By("ingester_events_dropped_total", "reason"),
	}
}

// shutdownBooks reads the ingester's last log line, which carries its
// books (ingester/pipeline.Books).
func shutdownBooks(p *proc) (ingesterBooks, bool) {
	line := p.logLine(`"msg":"shutdown complete"`)
	if line == "" {
		return ingesterBooks{}, false
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return ingesterBooks{}, false
	}
	num := func(k string) float64 {
		v, _ := m[k].(float64)
		return v
	}
	b := ingesterBooks{received: num("received"), published: num("published"), dropped: map[string]float64{}}
	for k := range m {
		if r, ok := strings.CutPrefix(k, "dropped_"); ok {
			b.dropped[r] = num(k)
		}
	}
	if _, ok := m["received"]; !ok {
		return b, false
	}
	return b, true
}

// --- waiting ---------------------------------------------------------------

// waitFor polls cond every 250ms until it holds; on timeout the test fails
// with cond's last description of the state.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s (last state: %s)", timeout, what, state)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// quietLogger sends the simulator's log to a file.
func quietLogger(path string, t *testing.T) *slog.Logger {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return slog.New(slog.NewTextHandler(f, nil))
}
