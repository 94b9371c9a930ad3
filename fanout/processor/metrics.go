package processor

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/commit"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// Reasons of fanout_events_dlq_total, fanout_events_dropped_total and
// fanout_output_errors_total beyond those of normalize and route. Stable:
// dashboards and dlq-redrive depend on them.
const (
	// ReasonNoKey: a raw message without a key (event id) cannot be
	// deduplicated; it goes to the DLQ.
	ReasonNoKey = "missing_event_id"
	// ReasonInvalidID: a raw key that is not a well-formed event id
	// (shared/eventid: 32 lowercase hex characters); it goes to the DLQ.
	ReasonInvalidID = "invalid_event_id"
	// ReasonTopicUnavailable: the output topic could not be created or
	// looked up (not committed and retried), or, in the DLQ, neither the
	// rule's nor the default topic could be had. Retryable.
	ReasonTopicUnavailable = "topic_unavailable"
	// ReasonOutputRejected: the broker refused the output record for good
	// (too large, invalid). The raw message goes to the DLQ.
	ReasonOutputRejected = "output_rejected"
	// ReasonOutputFailed: an output failed after the producer's retries
	// (broker down, not enough replicas). The message is NOT committed: the
	// processor stops and restarts from the last commit.
	ReasonOutputFailed = "output_failed"
	// ReasonDLQFailed: a DLQ write failed after retries; same handling.
	ReasonDLQFailed = "dlq_failed"
)

// endToEndBuckets resolve the tail the latency target is about (p99 and
// p999 around 10-200 ms): from 5 ms to 1 s each bucket is at most 1.5x the
// previous one, so histogram_quantile's interpolation error stays within a
// third of the value. Coarser buckets (.05, .1, .25) put p999 anywhere in a
// 150 ms wide range.
var endToEndBuckets = []float64{.001, .0025, .005, .0075, .01, .015, .02, .03, .04, .05, .075, .1,
	.15, .2, .3, .4, .5, .75, 1, 1.5, 2.5, 5, 10, 30, 60, 300}

// Metrics are the fanout_ series.
type Metrics struct {
	Consumed      *prometheus.CounterVec
	Emitted       *prometheus.CounterVec
	Duplicates    prometheus.Counter
	Dedup         *prometheus.CounterVec
	SampledOut    *prometheus.CounterVec
	Dropped       *prometheus.CounterVec
	Rerouted      *prometheus.CounterVec
	DLQ           *prometheus.CounterVec
	OutputErrors  *prometheus.CounterVec
	Normalize     prometheus.Histogram
	EndToEnd      prometheus.Histogram
	EventAge      prometheus.Histogram
	Partitions    prometheus.Gauge
	TableRecovery prometheus.Histogram
	TableExpired  prometheus.Counter
	RawMissing    prometheus.Gauge
	Restarts      *prometheus.CounterVec
	Mismatch      prometheus.Counter
}

// NewMetrics registers the fanout's metrics. reg may be nil (tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Consumed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fanout_events_consumed_total",
			Help: "Raw messages consumed, by the tf-type header (unknown when absent or not a known type)."}, []string{"type"}),
		Emitted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fanout_events_emitted_total",
			Help: "Normalized events acked by the output topic."}, []string{"topic"}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "fanout_duplicates_dropped_total",
			Help: "Raw messages dropped because their event id was first seen at an earlier offset within DEDUP_WINDOW."}),
		Dedup: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fanout_dedup_verdicts_total",
			Help: "Dedup decisions: new (no entry within DEDUP_WINDOW), replay (same raw offset: processed again and its entry rewritten), duplicate, rewind (entry at a later offset: processed again)."}, []string{"verdict"}),
		SampledOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fanout_events_sampled_out_total",
			Help: "Events not emitted because a rule's sample ratio did not keep their id."}, []string{"type"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fanout_events_dropped_total",
			Help: "Events not emitted by a rule (route_drop, route_drop_enforced)."}, []string{"reason"}),
		Rerouted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fanout_events_rerouted_total",
			Help: "Events emitted to their default topic instead of the rule's: topic_invalid, topic_cap, topic_refused (Kafka refuses the rule's topic for good), topic_retries_exhausted (it kept failing for TOPIC_RETRY_BUDGET)."}, []string{"reason"}),
		DLQ: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fanout_events_dlq_total",
			Help: "Raw messages written to the DLQ (acked), by reason."}, []string{"reason"}),
		OutputErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fanout_output_errors_total",
			Help: "Outputs that failed after the producer's retries: output_rejected (sent to the DLQ), output_failed and dlq_failed (not committed; the processor restarts from the last commit)."}, []string{"reason"}),
		Normalize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fanout_normalize_seconds",
			Help:    "Time to decode a raw event and write its JSON.",
			Buckets: []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2}}),
		EndToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fanout_end_to_end_latency_seconds",
			Help:    "From the ingester receiving an event (tf-ingest-ns) to its output being acked.",
			Buckets: endToEndBuckets}),
		EventAge: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fanout_event_age_seconds",
			Help:    "From the event's own time (Tetragon's timestamp) to its output being acked: the whole pipeline's delay, including what the ingester's read pacing adds (clocks of nodes and fanout replicas must agree).",
			Buckets: endToEndBuckets}),
		Partitions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fanout_partitions_assigned",
			Help: "Raw topic partitions this replica processes."}),
		TableRecovery: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fanout_table_recovery_seconds",
			Help:    "Time to rebuild one partition's dedup table from its changelog (active and hot standby partitions).",
			Buckets: []float64{.01, .05, .1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}}),
		TableExpired: prometheus.NewCounter(prometheus.CounterOpts{Name: "fanout_table_expired_total",
			Help: "Dedup table entries deleted locally after DEDUP_WINDOW."}),
		RawMissing: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fanout_raw_topic_missing",
			Help: "1 while the raw topic does not exist (the fanout waits for it; it never creates it)."}),
		Restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fanout_processor_restarts_total",
			Help: "goka processor restarts after a failure; each resumes from the last committed offsets."}, []string{"reason"}),
		Mismatch: prometheus.NewCounter(prometheus.CounterOpts{Name: "fanout_raw_partition_mismatch_total",
			Help: "Raw messages on another partition than goka's hash of their key puts them: the raw producer does not hash like goka (dedup still works; the query UI cannot find these ids by key hash)."}),
	}
	for _, t := range append(eventtype.All(), eventtype.Unknown) {
		m.Consumed.WithLabelValues(t)
	}
	for _, v := range []dedup.Verdict{dedup.New, dedup.Replay, dedup.Duplicate, dedup.Rewind} {
		m.Dedup.WithLabelValues(v.String())
	}
	for _, r := range []string{ReasonOutputRejected, ReasonOutputFailed, ReasonDLQFailed} {
		m.OutputErrors.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.Consumed, m.Emitted, m.Duplicates, m.Dedup, m.SampledOut, m.Dropped, m.Rerouted,
			m.DLQ, m.OutputErrors, m.Normalize, m.EndToEnd, m.EventAge, m.Partitions, m.TableRecovery, m.TableExpired,
			m.RawMissing, m.Restarts, m.Mismatch)
	}
	return m
}

// stateCollector exports what is read on scrape: per-partition lag and
// in-flight messages from the commit registry, and the table's size.
type stateCollector struct {
	rawTopic string
	reg      *commit.Registry
	store    *dedup.Store

	lag, inflight, entries, corrupt *prometheus.Desc
}

func newStateCollector(rawTopic string, reg *commit.Registry, store *dedup.Store) *stateCollector {
	return &stateCollector{
		rawTopic: rawTopic, reg: reg, store: store,
		lag: prometheus.NewDesc("fanout_consumer_lag",
			"Raw messages of the partition not yet finished: from the oldest unfinished (or next) message to the high-water mark.", []string{"partition"}, nil),
		inflight: prometheus.NewDesc("fanout_inflight_messages",
			"Raw messages delivered to the processor whose outputs are not all acked (they hold the commit back).", nil, nil),
		entries: prometheus.NewDesc("fanout_table_entries",
			"Live dedup table entries over this replica's partitions (memory: exact; leveldb: as of the last sweep).", nil, nil),
		corrupt: prometheus.NewDesc("fanout_table_corrupt_values_total",
			"Table values that did not decode; read as absent (the event is processed as new).", nil, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.inflight
	ch <- c.entries
	ch <- c.corrupt
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	inflight := 0
	for _, p := range c.reg.Snapshot() {
		if p.Topic != c.rawTopic {
			continue
		}
		inflight += p.Pending
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(p.Lag()), strconv.Itoa(int(p.Partition)))
	}
	ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(inflight))
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(c.store.Entries()))
	ch <- prometheus.MustNewConstMetric(c.corrupt, prometheus.CounterValue, float64(dedup.CorruptValues()))
}
