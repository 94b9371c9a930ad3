package e2e

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cilium/tetragon/api/v1/tetragon"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/normalize"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/route"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/headers"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim"
)

// msg is one record read back from Kafka.
type msg struct {
	topic     string
	partition int32
	offset    int64
	key       string
	value     []byte
	headers   map[string]string
}

func (m *msg) pos() string { return fmt.Sprintf("%s/%d/%d", m.topic, m.partition, m.offset) }

// listTopics returns the topics named prefix + "." + anything.
func listTopics(t *testing.T, brokers []string, prefix string) []string {
	t.Helper()
	admin := kafkatest.Admin(t, brokers)
	all, err := admin.ListTopics()
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	var out []string
	for name := range all {
		if strings.HasPrefix(name, prefix+".") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// readTopics reads every partition of the topics from the oldest offset to
// the high-water mark of the moment it starts.
func readTopics(t *testing.T, brokers []string, topics []string) []msg {
	t.Helper()
	client, err := sarama.NewClient(brokers, kafkatest.Config())
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer consumer.Close()

	var (
		mu   sync.Mutex
		out  []msg
		errs []string
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, 8) // partitions read at once
	for _, topic := range topics {
		parts, err := client.Partitions(topic)
		if err != nil {
			t.Fatalf("partitions of %s: %v", topic, err)
		}
		for _, p := range parts {
			oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
			if err != nil {
				t.Fatalf("oldest offset of %s/%d: %v", topic, p, err)
			}
			hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				t.Fatalf("high-water mark of %s/%d: %v", topic, p, err)
			}
			if hwm <= oldest {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				got, err := readPartition(consumer, topic, p, oldest, hwm)
				mu.Lock()
				defer mu.Unlock()
				out = append(out, got...)
				if err != nil {
					errs = append(errs, err.Error())
				}
			}()
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("reading topics: %s", strings.Join(errs, "; "))
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.topic != b.topic {
			return a.topic < b.topic
		}
		if a.partition != b.partition {
			return a.partition < b.partition
		}
		return a.offset < b.offset
	})
	return out
}

func readPartition(c sarama.Consumer, topic string, p int32, from, to int64) ([]msg, error) {
	pc, err := c.ConsumePartition(topic, p, from)
	if err != nil {
		return nil, fmt.Errorf("consume %s/%d: %w", topic, p, err)
	}
	defer pc.Close()
	var out []msg
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case m := <-pc.Messages():
			h := make(map[string]string, len(m.Headers))
			for _, rh := range m.Headers {
				h[string(rh.Key)] = string(rh.Value)
			}
			out = append(out, msg{topic: topic, partition: p, offset: m.Offset, key: string(m.Key), value: m.Value, headers: h})
			if m.Offset+1 >= to {
				return out, nil
			}
		case err := <-pc.Errors():
			return out, fmt.Errorf("%s/%d: %w", topic, p, err)
		case <-timeout.C:
			return out, fmt.Errorf("%s/%d: read %d messages up to offset %d of %d..%d in 60s", topic, p, len(out), lastOffset(out), from, to)
		}
	}
}

func lastOffset(ms []msg) int64 {
	if len(ms) == 0 {
		return -1
	}
	return ms[len(ms)-1].offset
}

// --- what must come out ------------------------------------------------------

// want is one distinct event the simulator sent and what the pipeline must
// make of it.
type want struct {
	id, typ, ns string
	seq         uint64
	// topic is where the routes put it; "" when a sample rule keeps it out.
	topic string
	json  []byte
	indep *independent // the same event read without normalize
	// copies are the bytes of every send of it (the original and its
	// duplicates, re-marshalled): the raw topic must hold one of them.
	copies [][]byte
}

type sentBook struct {
	byID     map[string]*want
	distinct int
	dups     int
	bySeq    map[uint64]string // seq -> id
	routes   *route.Table
	prefix   string
}

// expectations derives, from what the simulator sent, every event's id,
// its normalized JSON and its output topic. The topic comes from the routes
// table the fanout loads, and is checked against an independent reading of
// the demo's routes (oracleTopic) so a routing bug cannot hide in both.
func expectations(t *testing.T, recs []sim.Sent, routesPath, prefix string) *sentBook {
	t.Helper()
	routes, err := route.Load(routesPath)
	if err != nil {
		t.Fatalf("routes: %v", err)
	}
	b := &sentBook{byID: map[string]*want{}, bySeq: map[uint64]string{}, routes: routes, prefix: prefix}
	for _, r := range recs {
		var ev tetragon.GetEventsResponse
		if err := normalize.Decode(r.Bytes, &ev); err != nil {
			t.Fatalf("sim event %d does not decode: %v", r.Seq, err)
		}
		id := eventid.FromResponse(&ev).String()
		if r.Dup {
			b.dups++
			orig, ok := b.bySeq[r.Orig]
			if !ok || orig != id {
				t.Fatalf("sim duplicate %d of %d has id %s, its original %q", r.Seq, r.Orig, id, orig)
			}
			b.byID[id].copies = append(b.byID[id].copies, r.Bytes)
			b.bySeq[r.Seq] = id
			continue
		}
		b.bySeq[r.Seq] = id
		b.add(t, id, r.Seq, &ev, r.Bytes)
	}
	return b
}

// add expects one distinct event (seq 0: injected by the test) where the
// routes put it.
func (b *sentBook) add(t *testing.T, id string, seq uint64, ev *tetragon.GetEventsResponse, raw []byte) {
	t.Helper()
	b.addTo(t, id, seq, ev, raw, "")
}

// addTo is add with the output topic the test expects instead of the one
// the routes name ("": the routes' topic, checked against oracleTopic). A
// case whose fault changes where an event goes (a topic Kafka refuses)
// says so here.
func (b *sentBook) addTo(t *testing.T, id string, seq uint64, ev *tetragon.GetEventsResponse, raw []byte, topic string) {
	t.Helper()
	if prev, ok := b.byID[id]; ok {
		t.Fatalf("events %d and %d share the event id %s: the simulator made two events the pipeline must treat as one", prev.seq, seq, id)
	}
	b.distinct++
	f := normalize.Extract(ev)
	w := &want{id: id, typ: f.Type, ns: f.Namespace, seq: seq, copies: [][]byte{raw},
		json: normalize.Append(nil, ev, normalize.Meta{EventID: id}), indep: indepOf(ev, id)}
	d := b.routes.Decide(id, &route.Event{Type: f.Type, Namespace: f.Namespace, Pod: f.Pod, Node: f.Node,
		Labels: f.Labels, Policy: f.PolicyName, Binary: f.Binary, Enforced: f.Enforced})
	oracle, mayBeSampled := oracleTopic(b.prefix, f.Type, f.Namespace)
	if topic != "" {
		if d.Action != route.Emit {
			t.Fatalf("routes %v the injected %s/%s, the test expects it in %s", d.Action, f.Type, f.Namespace, topic)
		}
		w.topic = topic
		b.byID[id] = w
		return
	}
	switch d.Action {
	case route.Emit:
		w.topic = d.Topic
		if w.topic != oracle {
			t.Fatalf("routes send %s/%s to %s, the demo's rules say %s", f.Type, f.Namespace, w.topic, oracle)
		}
	case route.SampledOut:
		if !mayBeSampled || f.Enforced {
			t.Fatalf("routes sample out %s/%s (enforced %v): no demo rule samples it", f.Type, f.Namespace, f.Enforced)
		}
	default:
		t.Fatalf("routes %v %s/%s: the demo's rules drop nothing", d.Action, f.Type, f.Namespace)
	}
	b.byID[id] = w
}

// oracleTopic is deployments/local/routes.demo.yaml read by hand: kprobes
// of kube-system are sampled (to the default topic when kept), payments
// and checkout get per-namespace topics, the rest the default.
func oracleTopic(prefix, typ, ns string) (topic string, sampled bool) {
	switch {
	case typ == "process_kprobe" && ns == "kube-system":
		return prefix + "." + typ, true
	case ns == "payments" || ns == "checkout":
		return prefix + "." + ns + "." + typ, false
	}
	return prefix + "." + typ, false
}

// --- what came out -------------------------------------------------------------

// result compares what came out with what was sent. Every count is exact,
// from Kafka; the counters in notes explain differences.
type result struct {
	name         string
	sent         int // distinct events the simulator sent
	sentDups     int // duplicate sends on top
	rawMessages  int
	inRaw        int      // distinct sent events on the raw topic
	sampledOut   int      // sent events a sample rule keeps out of the outputs
	expected     int      // sent events the routes emit: must come out
	unique       int      // expected events found at the outputs
	notInRaw     []string // expected, missing, and never on the raw topic
	lost         []string // expected, missing, though on the raw topic
	reEmits      int      // repeats with the first copy's key and tf-raw
	dedupFailure int      // repeats from another raw offset
	misrouted    int
	mismatched   int
	unexpected   int // outputs whose key was never sent (or was sampled out)
	badHeaders   int
	badRaw       int // raw messages whose bytes differ from every copy sent
	problems     []string
	perTypeNS    map[[2]string][2]int // (type, namespace) -> expected, received
	notes        []string
	// expectLoss: a control run, which must lose events after the raw
	// topic (it runs without the protection under test); finding none
	// fails it, because then the suite could not see that loss.
	expectLoss bool
}

func (r *result) problem(format string, args ...any) {
	if len(r.problems) < 10 {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

func (r *result) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// analyze matches the raw topic and the output topics against the book.
func analyze(name string, book *sentBook, raw, outputs []msg) *result {
	r := &result{name: name, sent: book.distinct, sentDups: book.dups, rawMessages: len(raw),
		perTypeNS: map[[2]string][2]int{}}

	rawAt := map[string]string{} // "partition/offset" -> key
	seenRaw := map[string]bool{}
	for i := range raw {
		m := &raw[i]
		rawAt[fmt.Sprintf("%d/%d", m.partition, m.offset)] = m.key
		w, ok := book.byID[m.key]
		if !ok {
			continue // injected by the test (poison) or unknown: judged by the caller
		}
		seenRaw[m.key] = true
		same := false
		for _, c := range w.copies {
			if bytes.Equal(c, m.value) {
				same = true
				break
			}
		}
		if !same {
			r.badRaw++
			r.problem("raw %s: bytes differ from every copy the sim sent of %s", m.pos(), m.key)
		}
		if m.headers[headers.Type] != w.typ || m.headers[headers.Format] != headers.FormatRaw || m.headers[headers.IngestNS] == "" {
			r.badHeaders++
			r.problem("raw %s: headers %v", m.pos(), m.headers)
		}
	}

	first := map[string]*msg{}
	for i := range outputs {
		m := &outputs[i]
		w, ok := book.byID[m.key]
		if !ok || w.topic == "" {
			r.unexpected++
			r.problem("output %s: key %q was not sent or was sampled out", m.pos(), m.key)
			continue
		}
		if m.topic != w.topic {
			r.misrouted++
			r.problem("output %s: %s/%s belongs in %s", m.pos(), w.typ, w.ns, w.topic)
		}
		if !bytes.Equal(m.value, w.json) {
			r.mismatched++
			r.problem("output %s: JSON differs from normalize.Append of the sent event:\n got %s\nwant %s", m.pos(), clip(m.value), clip(w.json))
		} else if err := w.indep.check(m.value); err != nil {
			// normalize and the protobuf disagree, read independently.
			r.mismatched++
			r.problem("output %s: JSON disagrees with the event read through Tetragon's getters: %v", m.pos(), err)
		}
		src := m.headers[headers.Raw]
		if m.headers[headers.Format] != headers.FormatJSON || m.headers[headers.Type] != w.typ ||
			m.headers[headers.IngestNS] == "" || rawAt[src] != m.key {
			r.badHeaders++
			r.problem("output %s: headers %v (raw message at tf-raw has key %q)", m.pos(), m.headers, rawAt[src])
		}
		f, ok := first[m.key]
		if !ok {
			first[m.key] = m
			continue
		}
		// Outputs come sorted by topic, partition, offset, and every copy of
		// one key lands on the same partition: f is the first copy.
		if f.headers[headers.Raw] == src {
			r.reEmits++
		} else {
			r.dedupFailure++
			r.problem("output %s repeats %s (first at %s) from another raw message: %s vs %s", m.pos(), m.key, f.pos(), src, f.headers[headers.Raw])
		}
	}

	for id, w := range book.byID {
		if seenRaw[id] {
			r.inRaw++
		}
		if w.topic == "" {
			r.sampledOut++
			continue
		}
		r.expected++
		k := [2]string{w.typ, w.ns}
		c := r.perTypeNS[k]
		c[0]++
		switch {
		case first[id] != nil:
			r.unique++
			c[1]++
		case !seenRaw[id]:
			r.notInRaw = append(r.notInRaw, id)
		default:
			r.lost = append(r.lost, id)
		}
		r.perTypeNS[k] = c
	}
	sort.Strings(r.notInRaw)
	sort.Strings(r.lost)
	for i, id := range r.lost {
		if i == 5 {
			break
		}
		w := book.byID[id]
		r.problem("lost: %s (%s/%s, sim seq %d) is on the raw topic but in no output", id, w.typ, w.ns, w.seq)
	}
	return r
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// failures lists what makes the result wrong whatever the fault.
func (r *result) failures() []string {
	var f []string
	switch {
	case r.expectLoss && len(r.lost) == 0:
		f = append(f, "control run lost nothing after the raw topic: the suite cannot see the loss the commit wrapper prevents")
	case !r.expectLoss && len(r.lost) > 0:
		f = append(f, fmt.Sprintf("%d events lost after the raw topic", len(r.lost)))
	}
	if r.dedupFailure > 0 {
		f = append(f, fmt.Sprintf("%d duplicates from another raw offset reached the outputs", r.dedupFailure))
	}
	for _, c := range []struct {
		n    int
		what string
	}{{r.misrouted, "outputs in the wrong topic"}, {r.mismatched, "outputs whose JSON differs"},
		{r.unexpected, "outputs never expected"}, {r.badHeaders, "messages with wrong headers"},
		{r.badRaw, "raw messages with altered bytes"}} {
		if c.n > 0 {
			f = append(f, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return f
}

// lostTotal counts sent events missing at the outputs, wherever they went
// missing (sampled-out events are not missing).
func (r *result) lostTotal() int { return len(r.lost) + len(r.notInRaw) }

// reportLegend explains the columns of row.
const reportLegend = `sent: distinct events the simulated Tetragon sent; dups: extra copies it sent on top (must be dropped);
sampled: sent events the routes' sample rule keeps out (counted by the fanout, by design never emitted);
expected = sent - sampled; unique: distinct expected events found in the output topics;
lost = expected - unique; repeats: outputs repeating an event with the SAME key and tf-raw as its first
copy (re-emits after a crash: at-least-once); dedup-fail: repeats from ANOTHER raw message (must be 0).
A "control" case runs without a protection on purpose: it PASSes only if it finds the loss (lost > 0).`

func reportHeader() string {
	return fmt.Sprintf("%-36s %8s %7s %8s %8s %8s %6s %8s %10s", "case", "sent", "dups", "sampled", "expected",
		"unique", "lost", "repeats", "dedup-fail")
}

func (r *result) row() string {
	return fmt.Sprintf("%-36s %8d %7d %8d %8d %8d %6d %8d %10d", r.name, r.sent, r.sentDups, r.sampledOut,
		r.expected, r.unique, r.lostTotal(), r.reEmits, r.dedupFailure)
}

func (r *result) details() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  raw topic: %d messages holding %d of the %d sent events\n", r.rawMessages, r.inRaw, r.sent)
	if len(r.notInRaw) > 0 || len(r.lost) > 0 {
		fmt.Fprintf(&b, "  lost: %d never reached the raw topic, %d lost after it\n", len(r.notInRaw), len(r.lost))
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "  %s\n", n)
	}
	for _, p := range r.problems {
		fmt.Fprintf(&b, "  PROBLEM %s\n", p)
	}
	return b.String()
}

func (r *result) typeNSTable() string {
	keys := make([][2]string, 0, len(r.perTypeNS))
	for k := range r.perTypeNS {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s %-16s %9s %9s\n", "type", "namespace", "expected", "received")
	for _, k := range keys {
		ns := k[1]
		if ns == "" {
			ns = "(host)"
		}
		fmt.Fprintf(&b, "%-20s %-16s %9d %9d\n", k[0], ns, r.perTypeNS[k][0], r.perTypeNS[k][1])
	}
	return b.String()
}

// outputTopics are the stack's topics minus raw and DLQ.
func outputTopics(all []string, s *stack) []string {
	var out []string
	for _, tp := range all {
		if tp != s.raw && tp != s.dlq {
			out = append(out, tp)
		}
	}
	return out
}
