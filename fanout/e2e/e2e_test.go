package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/internal/promtext"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim"
)

// simConfig is the realistic stream of the tests: every event type, the
// ten namespaces the demo routes mention, three nodes.
func simConfig(events uint64, rate, dupRatio float64) sim.Config {
	c := sim.DefaultConfig()
	c.Events, c.Rate, c.DupRatio = events, rate, dupRatio
	c.Namespaces = 10
	return c
}

// TestPipeline: sim -> ingester -> Kafka -> two fanout replicas -> output
// topics, on a clean run. Every distinct event the sim sent comes out
// exactly once (its duplicates dropped), in the topic the demo's routes
// name, as exactly the JSON normalize.Append makes of the sent event; and
// the components' own counters tell the same story as Kafka.
func TestPipeline(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	const events, dupRatio = 20000, 0.05
	// Rate 0: as fast as the ingester reads, and the sim blocks instead
	// of dropping, so every event is sent whatever the machine's load.
	s := newStack(t, stackConfig{brokers: brokers, partitions: 6, sim: simConfig(events, 0, dupRatio)})
	s.createRaw()
	s.startFanout("fanout-1")
	s.startFanout("fanout-2")
	// Both replicas own partitions before the first event: no rebalance
	// during the run, so nothing is replayed and "exactly once" is exact.
	assigned := s.waitAssigned(90 * time.Second)
	t.Logf("partitions per replica: %v", assigned)
	s.startIngester()

	select {
	case <-s.sim.Done():
	case <-time.After(90 * time.Second):
		t.Fatalf("sim sent %v of %d events in 90s", s.sim.Stats().Distinct, events)
	}
	live := s.drain(60 * time.Second)
	s.scrapeNow()
	s.stopAll()
	// The ingester's last log line carries its books: what an operator
	// reads once /metrics is gone. They must match its metrics.
	ing, ok := shutdownBooks(s.ingester)
	if !ok {
		t.Fatalf("no books in the ingester's shutdown log %s", s.ingester.logPath)
	}
	if ing.received != live.received || ing.published != live.published || ing.droppedTotal() != live.droppedTotal() {
		t.Errorf("shutdown log books %+v differ from the metrics after the drain %+v", ing, live)
	}

	topics := listTopics(t, brokers, s.prefix)
	raw := readTopics(t, brokers, []string{s.raw})
	outs := readTopics(t, brokers, outputTopics(topics, s))
	book := expectations(t, s.sim.Records(), s.routes, s.prefix)
	res := analyze("pipeline", book, raw, outs)
	t.Logf("\n%s\n%s\nper type and namespace:\n%s", reportHeader(), res.row(), res.typeNSTable())

	if f := res.failures(); len(f) > 0 {
		t.Errorf("pipeline: %s", strings.Join(f, "; "))
	}
	if res.sent != events || uint64(res.sentDups) != sim.ExpectedDuplicates(events, dupRatio) {
		t.Errorf("sim sent %d distinct + %d duplicates, want %d + %d", res.sent, res.sentDups, events,
			sim.ExpectedDuplicates(events, dupRatio))
	}
	if res.lostTotal() != 0 || res.unique != res.expected {
		t.Errorf("%d of %d expected events came out (%d never on the raw topic, %d lost after it)",
			res.unique, res.expected, len(res.notInRaw), len(res.lost))
	}
	if res.reEmits != 0 {
		t.Errorf("%d re-emits on a run without a crash or rebalance: want exactly once", res.reEmits)
	}
	if res.sampledOut == 0 || res.expected == 0 {
		t.Errorf("sampled %d, expected %d: the run does not exercise the routes", res.sampledOut, res.expected)
	}
	// Every namespace and type the demo routes distinguish came through.
	for _, k := range [][2]string{{"process_exec", "payments"}, {"process_kprobe", "checkout"},
		{"process_exec", "kube-system"}, {"process_kprobe", "kube-system"}, {"process_exec", ""}} {
		if c := res.perTypeNS[k]; c[0] == 0 || c[0] != c[1] {
			t.Errorf("%s in namespace %q: expected %d, received %d", k[0], k[1], c[0], c[1])
		}
	}

	// The ingester's books: everything received was published, nothing
	// dropped, and the raw topic holds exactly that.
	if want := float64(res.sent + res.sentDups); ing.received != want || ing.published != want || ing.droppedTotal() != 0 {
		t.Errorf("ingester received %v, published %v, dropped %v; the sim sent %v", ing.received, ing.published, ing.dropped, want)
	}
	if res.rawMessages != res.sent+res.sentDups {
		t.Errorf("raw topic holds %d messages, the sim sent %d", res.rawMessages, res.sent+res.sentDups)
	}

	// The fanout's counters agree with Kafka (both replicas, scraped after
	// the drain, then stopped cleanly: exact).
	sum := s.fanoutTotal
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"fanout_events_consumed_total", sum("fanout_events_consumed_total"), float64(res.rawMessages)},
		{"fanout_duplicates_dropped_total", sum("fanout_duplicates_dropped_total"), float64(res.sentDups)},
		{"fanout_events_sampled_out_total", sum("fanout_events_sampled_out_total"), float64(res.sampledOut)},
		{"fanout_events_emitted_total", sum("fanout_events_emitted_total"), float64(len(outs))},
		{"fanout_events_dlq_total", sum("fanout_events_dlq_total"), 0},
		{`fanout_dedup_verdicts_total{verdict="replay"}`, sum("fanout_dedup_verdicts_total", "verdict", "replay"), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, Kafka says %v", c.what, c.got, c.want)
		}
	}
	perTopic := map[string]int{}
	for i := range outs {
		perTopic[outs[i].topic]++
	}
	for topic, n := range perTopic {
		if got := sum("fanout_events_emitted_total", "topic", topic); got != float64(n) {
			t.Errorf("fanout_events_emitted_total{topic=%q} = %v, the topic holds %d", topic, got, n)
		}
	}
	for _, tp := range topics {
		if tp == s.dlq {
			if dlq := readTopics(t, brokers, []string{s.dlq}); len(dlq) != 0 {
				t.Errorf("DLQ holds %d messages on a clean run", len(dlq))
			}
		}
	}
	var e2e promtext.Histogram
	for p, m := range s.lastMetrics() {
		if strings.HasPrefix(p.name, "fanout") {
			e2e = e2e.Add(m.Histogram("fanout_end_to_end_latency_seconds"))
		}
	}
	if e2e.Count != float64(len(outs)) {
		t.Errorf("end-to-end latency observed %v times, %d outputs", e2e.Count, len(outs))
	}
	res.note("end-to-end latency p50 %.3fs p99 %.3fs over %v events (the sim sends as fast as it can: a backlog)",
		e2e.Quantile(0.5), e2e.Quantile(0.99), e2e.Count)
	t.Logf("\n%s\n%s", reportLegend, res.details())
	if math.IsNaN(e2e.Quantile(0.5)) {
		t.Error("no end-to-end latency")
	}

	// A consumer other than ours reads the same: kcat, as a user would.
	t.Run("kcat", func(t *testing.T) {
		topic := s.prefix + ".payments.process_exec"
		var want []msg
		for _, m := range outs {
			if m.topic == topic {
				want = append(want, m)
			}
		}
		if len(want) == 0 {
			t.Fatalf("no output in %s", topic)
		}
		got := kcatRead(t, brokers, topic)
		if len(got) != len(want) {
			t.Fatalf("kcat read %d messages from %s, sarama %d", len(got), topic, len(want))
		}
		idx := map[string]msg{}
		for _, m := range want {
			idx[m.pos()] = m
		}
		for _, g := range got {
			w, ok := idx[g.pos()]
			if !ok || g.key != w.key || !bytes.Equal(g.value, w.value) || g.headers["tf-raw"] != w.headers["tf-raw"] {
				t.Fatalf("kcat %s: key %q tf-raw %q differs from sarama's read", g.pos(), g.key, g.headers["tf-raw"])
			}
		}
		t.Logf("kcat read the same %d messages of %s", len(got), topic)
	})
}

// kcatRead reads a whole topic with kcat (-J: one JSON envelope per line).
// Without kcat the check skips, except in CI, which installs it.
func kcatRead(t *testing.T, brokers []string, topic string) []msg {
	t.Helper()
	if _, err := exec.LookPath("kcat"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("kcat not installed (CI installs it: .ci/run)")
		}
		t.Skip("kcat not installed")
	}
	cmd := exec.Command("kcat", "-C", "-b", strings.Join(brokers, ","), "-t", topic, "-o", "beginning", "-e", "-q", "-J")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, stderr.String())
	}
	var msgs []msg
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var env struct {
			Topic     string   `json:"topic"`
			Partition int32    `json:"partition"`
			Offset    int64    `json:"offset"`
			Key       *string  `json:"key"`
			Payload   *string  `json:"payload"`
			Headers   []string `json:"headers"`
		}
		if err := json.Unmarshal(sc.Bytes(), &env); err != nil {
			t.Fatalf("kcat line %q: %v", clip(sc.Bytes()), err)
		}
		m := msg{topic: env.Topic, partition: env.Partition, offset: env.Offset, headers: map[string]string{}}
		if env.Key != nil {
			m.key = *env.Key
		}
		if env.Payload != nil {
			m.value = []byte(*env.Payload)
		}
		for i := 0; i+1 < len(env.Headers); i += 2 {
			m.headers[env.Headers[i]] = env.Headers[i+1]
		}
		msgs = append(msgs, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(fmt.Errorf("kcat output: %w", err))
	}
	return msgs
}
