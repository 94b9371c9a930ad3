package processor

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/fanoutcfg"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/headers"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
	"github.com/tetragon-fanout/tetragon-fanout/shared/telemetry"
)

// TestMain doubles as the fanout child process of the crash tests: the test
// binary re-executes itself with FANOUT_TEST_CHILD=1 and is killed with
// SIGKILL, like a pod on a dead node.
func TestMain(m *testing.M) {
	if os.Getenv("FANOUT_TEST_CHILD") == "1" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

// childMain runs the fanout as the binary does, with optional test sinks:
// FANOUT_TEST_ACK_DELAY (acks reach goka after a random delay up to it, so
// commits complete out of order) and FANOUT_TEST_HOLD_AFTER (outputs after
// the first k are produced but never acked to goka, so never committed).
func childMain() int {
	var cfg fanoutcfg.Config
	if err := envconfig.Parse(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := telemetry.NewLogger(os.Stderr, cfg.Log, "fanout-child")
	var opts Options
	if v := os.Getenv("FANOUT_TEST_ACK_DELAY"); v != "" {
		d, _ := time.ParseDuration(v)
		// at most 64 acks pending: the stream runs at about 600 events/s, so
		// the kill lands mid-stream
		opts.WrapSink = func(s Sink) Sink { return &delaySink{Sink: s, max: d, sem: make(chan struct{}, 64)} }
	}
	if v := os.Getenv("FANOUT_TEST_HOLD_AFTER"); v != "" {
		k, _ := strconv.ParseInt(v, 10, 64)
		opts.WrapSink = func(s Sink) Sink { return &holdSink{Sink: s, after: k} }
	}
	reg := telemetry.NewRegistry()
	r, err := New(&cfg, reg, log, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := telemetry.NewServer(reg, log)
	srv.Ready("raw_topic", r.RawTopicReady)
	srv.Ready("processor", r.ProcessorReady)
	srv.Live("processor", r.Live)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() { _ = srv.Run(ctx, cfg.HTTP.Addr) }()
	if err := r.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// delaySink delivers each ack to goka after a random delay: acks, and so
// commits, complete out of order across and within partitions.
type delaySink struct {
	Sink
	max time.Duration
	sem chan struct{}
}

func (s *delaySink) Send(m *sarama.ProducerMessage, done func(error)) {
	s.sem <- struct{}{}
	d := time.Duration(rand.Int64N(int64(s.max) + 1))
	s.Sink.Send(m, func(err error) {
		time.AfterFunc(d, func() {
			<-s.sem
			done(err)
		})
	})
}

// holdSink produces everything but acks only the first `after` records to
// goka: the rest stay in flight until the process dies.
type holdSink struct {
	Sink
	after int64
	n     atomic.Int64
}

func (s *holdSink) Send(m *sarama.ProducerMessage, done func(error)) {
	if s.n.Add(1) > s.after {
		s.Sink.Send(m, func(error) {})
		return
	}
	s.Sink.Send(m, done)
}

// gateSink holds the acks of the listed keys until open is closed.
type gateSink struct {
	Sink
	keys map[string]bool
	open chan struct{}
}

func (s *gateSink) Send(m *sarama.ProducerMessage, done func(error)) {
	k, _ := m.Key.Encode()
	if !s.keys[string(k)] {
		s.Sink.Send(m, done)
		return
	}
	s.Sink.Send(m, func(err error) {
		go func() { <-s.open; done(err) }()
	})
}

// env is one test's topics and group on the shared broker.
type env struct {
	t          testing.TB
	brokers    []string
	raw        string
	group      string
	dlq        string
	out        string // output topic of process_exec events
	routes     string
	partitions int
}

func newEnv(t testing.TB, partitions int) *env {
	t.Helper()
	brokers := kafkatest.Brokers(t)
	raw := kafkatest.CreateTopic(t, brokers, partitions, nil)
	base := kafkatest.TopicName(t)
	e := &env{t: t, brokers: brokers, raw: raw, group: base + "-g", dlq: base + "-dlq", out: base + ".process_exec",
		partitions: partitions, routes: filepath.Join(t.TempDir(), "routes.yaml")}
	if err := os.WriteFile(e.routes, []byte("version: 1\ndefaults:\n  topic: \""+base+".{type}\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a := kafkatest.Admin(t, brokers)
		_ = a.DeleteConsumerGroup(e.group)
		for _, topic := range []string{e.group + "-table", e.dlq, e.out} {
			_ = a.DeleteTopic(topic)
		}
	})
	return e
}

func (e *env) vars(replica string, extra map[string]string) map[string]string {
	m := map[string]string{
		"KAFKA_BROKERS": strings.Join(e.brokers, ","), "RAW_TOPIC": e.raw, "FANOUT_GROUP": e.group,
		"DLQ_TOPIC": e.dlq, "ROUTES_FILE": e.routes, "REPLICA_ID": replica, "KAFKA_LINGER": "2ms",
		"OUTPUT_TOPIC_PARTITIONS": "4", "LOG_LEVEL": "warn", "LOG_FORMAT": "text", "HTTP_ADDR": "127.0.0.1:0",
		"TABLE_SWEEP_INTERVAL": "5s", "RAW_TOPIC_WAIT_BACKOFF_MAX": "1s", "PROCESSOR_RESTART_BACKOFF_MAX": "2s",
		"STATE_DIR": "/nonexistent",
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// inproc is a Runner in this process.
type inproc struct {
	t      testing.TB
	r      *Runner
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func (e *env) start(replica string, extra map[string]string, opts Options) *inproc {
	e.t.Helper()
	var cfg fanoutcfg.Config
	if err := envconfig.ParseEnv(&cfg, e.vars(replica, extra)); err != nil {
		e.t.Fatal(err)
	}
	r, err := New(&cfg, prometheus.NewRegistry(), testLogger(e.t), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &inproc{t: e.t, r: r, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- r.Run(ctx) }()
	e.t.Cleanup(func() { _ = p.stop() })
	return p
}

// stop is a clean shutdown (SIGTERM in the binary).
func (p *inproc) stop() error {
	p.once.Do(func() {
		p.cancel()
		select {
		case p.err = <-p.done:
		case <-time.After(90 * time.Second):
			p.err = fmt.Errorf("runner did not stop within 90s")
		}
	})
	return p.err
}

func (p *inproc) waitReady(timeout time.Duration) {
	p.t.Helper()
	waitFor(p.t, timeout, "processor ready", func() bool {
		return p.r.RawTopicReady() == nil && p.r.ProcessorReady() == nil
	})
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func producerConfig(t testing.TB) *sarama.Config {
	t.Helper()
	sc := kafkatest.Config()
	if err := kafkaclient.ApplyProducer(sc, kafkaclient.ProducerConfig{Compression: "lz4", BatchBytes: 1 << 20,
		Linger: time.Millisecond, Retries: 10, RetryBackoff: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	return sc
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rawMsg is a raw message as the ingester writes it, and where it landed.
type rawMsg struct {
	key       string
	value     []byte
	partition int32
	offset    int64
}

func (m rawMsg) pos() string { return fmt.Sprintf("%d/%d", m.partition, m.offset) }

// events returns n distinct raw events, numbered from first.
func events(first, n int) []rawMsg {
	out := make([]rawMsg, n)
	for i := range out {
		k, v := testEvent(first+i, "")
		out[i] = rawMsg{key: k, value: v}
	}
	return out
}

// produce writes msgs in order with the ingester's partitioner and headers,
// and records where each landed.
func (e *env) produce(msgs []rawMsg) []rawMsg {
	e.t.Helper()
	p, err := sarama.NewSyncProducer(e.brokers, producerConfig(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	defer p.Close()
	pm := make([]*sarama.ProducerMessage, len(msgs))
	now := []byte(strconv.FormatInt(time.Now().UnixNano(), 10))
	for i, m := range msgs {
		pm[i] = &sarama.ProducerMessage{Topic: e.raw, Key: sarama.StringEncoder(m.key), Value: sarama.ByteEncoder(m.value),
			Headers: []sarama.RecordHeader{
				{Key: []byte(headers.Type), Value: []byte("process_exec")},
				{Key: []byte(headers.Format), Value: []byte(headers.FormatRaw)},
				{Key: []byte(headers.IngestNS), Value: now},
			}}
	}
	// one at a time keeps the order of originals before their duplicates
	// on every partition
	for i := 0; i < len(pm); i += 500 {
		if err := p.SendMessages(pm[i:min(i+500, len(pm))]); err != nil {
			e.t.Fatal(err)
		}
	}
	out := make([]rawMsg, len(msgs))
	for i, m := range msgs {
		m.partition, m.offset = pm[i].Partition, pm[i].Offset
		out[i] = m
	}
	return out
}

// dupsOf returns d copies of randomly chosen messages (same key and bytes).
func dupsOf(msgs []rawMsg, d int) []rawMsg {
	out := make([]rawMsg, d)
	for i := range out {
		m := msgs[rand.IntN(len(msgs))]
		out[i] = rawMsg{key: m.key, value: m.value}
	}
	return out
}

// outputCount is the number of records on the output topic.
func (e *env) outputCount() int64 { return e.countOf(e.out) }

// countOf is the number of records on topic (0 when it does not exist).
func (e *env) countOf(topic string) int64 {
	c, err := sarama.NewClient(e.brokers, kafkatest.Config())
	if err != nil {
		return 0
	}
	defer c.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		return 0
	}
	var n int64
	for _, p := range parts {
		h, err := c.GetOffset(topic, p, sarama.OffsetNewest)
		if err == nil {
			n += h
		}
	}
	return n
}

// consumeAll waits for at least n outputs, then reads the whole output topic.
func (e *env) consumeAll(n int, timeout time.Duration) []kafkatest.Message {
	e.t.Helper()
	waitFor(e.t, timeout, fmt.Sprintf("%d outputs", n), func() bool { return e.outputCount() >= int64(n) })
	return kafkatest.ConsumeAll(e.t, e.brokers, e.out, n, timeout)
}

// committed returns the group's committed offset of raw partition p (-1: none).
func (e *env) committed(p int32) int64 {
	e.t.Helper()
	a := kafkatest.Admin(e.t, e.brokers)
	r, err := a.ListConsumerGroupOffsets(e.group, map[string][]int32{e.raw: {p}})
	if err != nil {
		e.t.Fatal(err)
	}
	if b := r.GetBlock(e.raw, p); b != nil {
		return b.Offset
	}
	return -1
}

// checkOutputs asserts zero loss and that dedup held: every original has an
// output, every output carries tf-raw of the ORIGINAL (first) copy of its
// id (a repeat with the same tf-raw is a re-emit after a crash; one with
// another tf-raw would be a duplicate that slipped through). It returns how
// many outputs were re-emits.
func checkOutputs(t testing.TB, originals []rawMsg, outs []kafkatest.Message) (repeats int) {
	t.Helper()
	want := make(map[string]string, len(originals))
	for _, m := range originals {
		want[m.key] = m.pos()
	}
	seen := map[string]int{}
	for _, o := range outs {
		k := string(o.Key)
		pos, ok := want[k]
		if !ok {
			t.Fatalf("output for unknown id %s", k)
		}
		if got, _ := o.Header(headers.Raw); got != pos {
			t.Fatalf("id %s emitted from raw %s, want its first copy at %s: a duplicate slipped through", k, got, pos)
		}
		seen[k]++
	}
	missing := 0
	for k := range want {
		if seen[k] == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d events lost", missing, len(want))
	}
	return len(outs) - len(want)
}

// child is the fanout in a subprocess (the test binary, see TestMain).
type child struct {
	t    testing.TB
	cmd  *exec.Cmd
	addr string
	out  *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (e *env) startChild(replica string, extra map[string]string) *child {
	e.t.Helper()
	addr := freeAddr(e.t)
	vars := e.vars(replica, extra)
	vars["HTTP_ADDR"] = addr
	vars["FANOUT_TEST_CHILD"] = "1"
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	c := &child{t: e.t, cmd: cmd, addr: addr, out: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		c.kill()
		if e.t.Failed() {
			e.t.Logf("child %s output:\n%s", replica, tail(c.out.String(), 4000))
		}
	})
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// kill is SIGKILL: no shutdown, no final commit, no leaving the group.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

func (c *child) get(path string) (int, string) {
	resp, err := http.Get("http://" + c.addr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *child) waitReady(timeout time.Duration) {
	c.t.Helper()
	waitFor(c.t, timeout, "child ready", func() bool {
		if c.cmd.ProcessState != nil {
			c.t.Fatalf("child exited: %s", tail(c.out.String(), 2000))
		}
		code, _ := c.get("/readyz")
		return code == http.StatusOK
	})
}

// metric sums the samples of name whose label set contains labels (e.g.
// `verdict="replay"`; "" matches all).
func (c *child) metric(name, labels string) float64 {
	_, body := c.get("/metrics")
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		series, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		metric, lbl, _ := strings.Cut(series, "{")
		if metric != name || !strings.Contains(lbl, labels) {
			continue
		}
		v, _ := strconv.ParseFloat(val, 64)
		sum += v
	}
	return sum
}
