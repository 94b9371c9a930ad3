package processor

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/normalize"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/redrive"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/route"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/topics"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
	"github.com/tetragon-fanout/tetragon-fanout/shared/headers"
)

// RedriveHeader marks a raw message that dlq-redrive re-produced from the
// DLQ (value: the DLQ reason). Its event id is usually still in the table
// from the first attempt, so it is processed as new instead of dropped as a
// duplicate.
const RedriveHeader = redrive.Header

// tablePartitionHeader carries the raw partition on a table write whose key
// goka's producer would hash to another partition (see tablePartitioner).
const tablePartitionHeader = "tf-table-partition"

// maxErrorHeader bounds the tf-error header.
const maxErrorHeader = 1024

// Topics makes output topics exist before the first record goes to them
// (never through broker auto-creation). It returns the topic to use.
type Topics interface {
	Ensure(topic, template string, maxTopics int) (string, error)
}

// Pipeline is the processor callback and what it needs. One Pipeline serves
// every partition goroutine: it keeps no per-message state of its own.
type Pipeline struct {
	Window   time.Duration
	DLQTopic string
	Cluster  string
	Router   *route.Table
	Topics   Topics
	Sink     Sink
	Metrics  *Metrics
	Log      *slog.Logger
	// Partitions is the raw topic's partition count, to spot keys the raw
	// producer put on another partition than goka's hash (0: no check).
	Partitions int32
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time

	decoders sync.Pool
}

// knownTypes are the values fanout_events_consumed_total{type} may take.
var knownTypes = func() map[string]string {
	m := map[string]string{}
	for _, t := range eventtype.All() {
		m[t] = t
	}
	return m
}()

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// typeLabel is the tf-type header if it names a known type: a metric label
// must not take arbitrary values from the wire.
func (p *Pipeline) typeLabel(h goka.Headers) string {
	if t, ok := knownTypes[string(h[headers.Type])]; ok {
		return t
	}
	return eventtype.Unknown
}

// Process is the goka callback for the raw topic. Every path ends in
// exactly one of: dropped duplicate, sampled out, dropped by rule, emitted,
// DLQ; each is counted. Outputs are tied to the commit with DeferCommit.
func (p *Pipeline) Process(ctx goka.Context, msg any) {
	raw, _ := msg.([]byte)
	hdr := ctx.Headers()
	p.Metrics.Consumed.WithLabelValues(p.typeLabel(hdr)).Inc()
	key := ctx.Key()
	if key == "" {
		p.dlq(ctx, key, raw, hdr, ReasonNoKey, "raw message has no key (event id): cannot deduplicate")
		return
	}
	if _, err := eventid.Parse(key); err != nil {
		// Any producer can write the raw topic: a key that is not an id
		// would become the output's event_id and a table key (a long one
		// costs memory for the whole window). Checked before dedup so it
		// never reaches the table.
		p.dlq(ctx, key, raw, hdr, ReasonInvalidID, fmt.Sprintf("raw key is not an event id: %v", err))
		return
	}

	part, off := ctx.Partition(), ctx.Offset()
	now := p.now()
	var entry *dedup.Entry
	if v, ok := ctx.Value().(*dedup.Entry); ok {
		entry = v
	}
	verdict := dedup.Classify(entry, part, off, now.UnixNano(), p.Window)
	if verdict == dedup.Duplicate && hdr[RedriveHeader] != nil {
		verdict = dedup.New
	}
	p.Metrics.Dedup.WithLabelValues(verdict.String()).Inc()
	if !verdict.Process() {
		// Writes nothing: goka marks it at once, and the commit wrapper
		// holds that mark until every earlier message is finished.
		p.Metrics.Duplicates.Inc()
		return
	}
	switch {
	case verdict == dedup.Replay:
		// the same entry again: its changelog write may be what failed
		p.record(ctx, key, entry)
	case verdict.Record():
		p.record(ctx, key, &dedup.Entry{Partition: part, Offset: off, SeenNS: now.UnixNano()})
	}

	start := time.Now()
	// The allocation-free decoder: ev and its strings are valid until the
	// decoder's next use, so everything that outlives this call (the JSON
	// value) is written before the decoder goes back to the pool.
	dec, _ := p.decoders.Get().(*normalize.Decoder)
	if dec == nil {
		dec = normalize.NewDecoder()
	}
	defer p.decoders.Put(dec)
	ev, err := dec.Decode(raw)
	if err != nil {
		reason := normalize.Reason(err)
		if reason == "" {
			reason = normalize.ReasonUndecodable
		}
		p.dlq(ctx, key, raw, hdr, reason, err.Error())
		return
	}
	decodeTook := time.Since(start)

	f := normalize.Extract(ev)
	d := p.Router.Decide(key, &route.Event{Type: f.Type, Namespace: f.Namespace, Pod: f.Pod, Node: f.Node,
		Labels: f.Labels, Policy: f.PolicyName, Binary: f.Binary, Enforced: f.Enforced})
	switch d.Action {
	case route.Drop:
		p.Metrics.Dropped.WithLabelValues(d.Reason).Inc()
		return
	case route.SampledOut:
		p.Metrics.SampledOut.WithLabelValues(f.Type).Inc()
		return
	}
	if d.Reason != "" {
		p.Metrics.Rerouted.WithLabelValues(d.Reason).Inc()
	}
	topic, err := p.Topics.Ensure(d.Topic, d.Template, d.MaxTopics)
	if errors.Is(err, topics.ErrTopicCap) {
		// The rule's template has its maximum number of topics: the manager
		// returns the event's default topic (created), or "" if it cannot
		// derive it.
		p.Metrics.Rerouted.WithLabelValues(topics.ReasonTopicCap).Inc()
		if topic != "" {
			err = nil
		}
	}
	if err != nil && !errors.Is(err, topics.ErrTopicCap) && !topics.Permanent(err) {
		// Kafka could not create or confirm the topic (a broker restart, no
		// leader yet): a passing fault, not a reason to put the event in
		// another topic than its rule names. Not committed: the processor
		// restarts from the last commit and routes it again. The topic
		// manager's retry budget bounds how long: then the error is
		// permanent (ErrRetriesExhausted) and handled below.
		p.Metrics.OutputErrors.WithLabelValues(ReasonTopicUnavailable).Inc()
		p.Log.Error("output topic unavailable; processor restarts from the last commit", "topic", d.Topic, "err", err)
		ctx.DeferCommit()(err)
		return
	}
	if err != nil && d.Default != "" && d.Default != d.Topic {
		// The rule's topic cannot be had (refused by Kafka, an invalid
		// name, retries exhausted): the event goes to its default topic,
		// counted by reason, and the partition moves on.
		p.Log.Warn("output topic cannot be used, using the default topic", "topic", d.Topic, "default", d.Default, "err", err)
		if !errors.Is(err, topics.ErrTopicCap) {
			p.Metrics.Rerouted.WithLabelValues(topics.Reason(err)).Inc()
		}
		topic, err = p.Topics.Ensure(d.Default, p.Router.DefaultTemplate(), 0)
	}
	if err != nil {
		// Neither topic can be had. topic_unavailable stays the DLQ reason
		// (dlq-redrive retries it once the operator fixed the cause); the
		// cause is in tf-error.
		p.dlq(ctx, key, raw, hdr, ReasonTopicUnavailable, err.Error())
		return
	}

	start = time.Now()
	buf := getValueBuf(len(raw)*2 + 256)
	value := normalize.Append((*buf)[:0], ev, normalize.Meta{EventID: key, Cluster: p.Cluster})
	p.Metrics.Normalize.Observe((decodeTook + time.Since(start)).Seconds())

	out := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value),
		Headers: outputHeaders(hdr, part, off, f.Type, f.Node)}
	ingest := ingestTime(hdr)
	var evTime time.Time
	if ev.Time != nil {
		evTime = ev.Time.AsTime()
	}
	done := ctx.DeferCommit()
	p.Sink.Send(out, func(err error) {
		// The producer is done with the record (acked or failed for good):
		// its JSON buffer serves the next event.
		putValueBuf(buf, value)
		switch {
		case err == nil:
			p.Metrics.Emitted.WithLabelValues(topic).Inc()
			if !ingest.IsZero() {
				p.Metrics.EndToEnd.Observe(time.Since(ingest).Seconds())
			}
			if !evTime.IsZero() {
				p.Metrics.EventAge.Observe(time.Since(evTime).Seconds())
			}
			done(nil)
		case permanent(err):
			// The broker will refuse this record whatever we do: keep the
			// raw message in the DLQ and go on.
			p.Metrics.OutputErrors.WithLabelValues(ReasonOutputRejected).Inc()
			p.Log.Warn("output rejected, raw message goes to the DLQ", "topic", topic, "key", key, "err", err)
			// A follow-up: this runs on the producer's completion goroutine,
			// which must not wait for an in-flight slot (see Sink).
			p.sendDLQ(p.Sink.FollowUp, key, raw, hdr, ReasonOutputRejected, err.Error(), done)
		default:
			// Not committed: goka stops the processor, which restarts from
			// the last commit and emits again. Nothing is lost.
			p.Metrics.OutputErrors.WithLabelValues(ReasonOutputFailed).Inc()
			p.Log.Error("output failed after retries; processor restarts from the last commit", "topic", topic, "err", err)
			done(err)
		}
	})
}

// valueBufs recycles the JSON buffers of outputs: one per event, ~2-3 KB,
// held until the record is acked, was the largest allocation per event.
var valueBufs sync.Pool

// maxPooledValue: a buffer grown by an outsized event (megabytes of
// arguments) is left to the GC rather than kept.
const maxPooledValue = 64 << 10

func getValueBuf(hint int) *[]byte {
	if b, ok := valueBufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, max(hint, 4096))
	return &b
}

func putValueBuf(b *[]byte, used []byte) {
	if cap(used) > maxPooledValue {
		return
	}
	*b = used[:0]
	valueBufs.Put(b)
}

// record writes the first-seen entry. goka's producer puts a table write on
// the partition its hasher gives the key; when the raw producer hashed
// differently, the header sends the write to the raw partition instead, so
// the changelog partition always matches the partition that reads it.
func (p *Pipeline) record(ctx goka.Context, key string, e *dedup.Entry) {
	if p.Partitions > 0 && gokaPartition(key, p.Partitions) != e.Partition {
		p.Metrics.Mismatch.Inc()
		ctx.SetValue(e, goka.WithCtxEmitHeaders(goka.Headers{
			tablePartitionHeader: []byte(strconv.Itoa(int(e.Partition)))}))
		return
	}
	ctx.SetValue(e)
}

// gokaPartition is goka's default hasher: FNV-1a 32, abs, modulo.
func gokaPartition(key string, n int32) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	v := int32(h.Sum32())
	if v < 0 {
		v = -v
	}
	return v % n
}

func (p *Pipeline) dlq(ctx goka.Context, key string, raw []byte, hdr goka.Headers, reason, msg string) {
	p.sendDLQ(p.Sink.Send, key, raw, hdr, reason, msg, ctx.DeferCommit())
}

// sendDLQ writes the raw message, unchanged, with its headers and the
// reason. A DLQ write that fails is not committed (done(err)): the
// processor restarts and tries again.
func (p *Pipeline) sendDLQ(send func(*sarama.ProducerMessage, func(error)), key string, raw []byte, hdr goka.Headers,
	reason, msg string, done func(error)) {
	if len(msg) > maxErrorHeader {
		msg = msg[:maxErrorHeader]
	}
	m := &sarama.ProducerMessage{Topic: p.DLQTopic, Value: sarama.ByteEncoder(raw), Headers: dlqHeaders(hdr, reason, msg)}
	if key != "" {
		m.Key = sarama.StringEncoder(key)
	}
	send(m, func(err error) {
		if err != nil {
			p.Metrics.OutputErrors.WithLabelValues(ReasonDLQFailed).Inc()
			p.Log.Error("DLQ write failed after retries; processor restarts from the last commit", "reason", reason, "err", err)
		} else {
			p.Metrics.DLQ.WithLabelValues(reason).Inc()
		}
		done(err)
	})
}

// ours are the headers the fanout sets itself; copies from the input are
// dropped so a message never carries two of them.
func ours(k string) bool {
	switch k {
	case headers.Format, headers.Raw, headers.ErrorReason, headers.Error, RedriveHeader, tablePartitionHeader:
		return true
	}
	return false
}

func sortedKeys(h goka.Headers) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		if !ours(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// headerNames interns the names of the headers every raw message carries,
// so copying them to an output record allocates nothing (sarama only reads
// them). Other names are copied.
var headerNames = func() map[string][]byte {
	m := map[string][]byte{}
	for _, k := range []string{headers.Type, headers.Node, headers.IngestNS, headers.Format, headers.Raw} {
		m[k] = []byte(k)
	}
	return m
}()

func headerKey(k string) []byte {
	if b, ok := headerNames[k]; ok {
		return b
	}
	return []byte(k)
}

var (
	formatKey  = headerNames[headers.Format]
	formatJSON = []byte(headers.FormatJSON)
	rawKey     = headerNames[headers.Raw]
)

// typeValues interns the tf-type values an output can carry.
var typeValues = func() map[string][]byte {
	m := map[string][]byte{}
	for _, t := range append(eventtype.All(), eventtype.Unknown) {
		m[t] = []byte(t)
	}
	return m
}()

var (
	typeKey = headerNames[headers.Type]
	nodeKey = headerNames[headers.Node]
)

// outputHeaders: the raw message's headers (sorted by name), with tf-type
// and tf-node describing the output (its type, and its node when the event
// names one) rather than what the raw producer claimed, tf-format=json1
// and tf-raw=partition/offset (a re-emit after a crash has the same
// tf-raw). One allocation for the slice and one for tf-raw's value (and
// one for tf-node when the event's node differs from the header): this
// runs for every event.
func outputHeaders(h goka.Headers, part int32, off int64, typ, node string) []sarama.RecordHeader {
	out := make([]sarama.RecordHeader, 0, len(h)+4)
	for k, v := range h {
		switch {
		case ours(k), k == headers.Type:
		case k == headers.Node && node != "":
			if string(v) == node {
				out = append(out, sarama.RecordHeader{Key: nodeKey, Value: v})
			}
		default:
			out = append(out, sarama.RecordHeader{Key: headerKey(k), Value: v})
		}
	}
	tv, ok := typeValues[typ]
	if !ok {
		tv = typeValues[eventtype.Unknown]
	}
	out = append(out, sarama.RecordHeader{Key: typeKey, Value: tv})
	if node != "" && string(h[headers.Node]) != node {
		out = append(out, sarama.RecordHeader{Key: nodeKey, Value: []byte(node)})
	}
	slices.SortFunc(out, func(a, b sarama.RecordHeader) int { return bytes.Compare(a.Key, b.Key) })
	rawPos := make([]byte, 0, 24)
	rawPos = append(strconv.AppendInt(rawPos, int64(part), 10), '/')
	rawPos = strconv.AppendInt(rawPos, off, 10)
	return append(out,
		sarama.RecordHeader{Key: formatKey, Value: formatJSON},
		sarama.RecordHeader{Key: rawKey, Value: rawPos})
}

// dlqHeaders: the raw headers (tf-format stays pb1) plus the reason.
func dlqHeaders(h goka.Headers, reason, msg string) []sarama.RecordHeader {
	keys := sortedKeys(h)
	out := make([]sarama.RecordHeader, 0, len(keys)+3)
	for _, k := range keys {
		out = append(out, sarama.RecordHeader{Key: []byte(k), Value: h[k]})
	}
	if f, ok := h[headers.Format]; ok {
		out = append(out, sarama.RecordHeader{Key: []byte(headers.Format), Value: f})
	}
	return append(out,
		sarama.RecordHeader{Key: []byte(headers.ErrorReason), Value: []byte(reason)},
		sarama.RecordHeader{Key: []byte(headers.Error), Value: []byte(msg)})
}

func ingestTime(h goka.Headers) time.Time {
	v, ok := h[headers.IngestNS]
	if !ok {
		return time.Time{}
	}
	ns, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || ns <= 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
