// Package metrics defines the ingester's Prometheus metrics. The names are a
// contract (architecture.md, dashboards, alerts): add freely, rename never.
//
// Counters used on the hot path are resolved once (per type, per reason) so
// that counting an event is one atomic add, not a label lookup.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// Drop reasons of ingester_events_dropped_total. Every path that discards an
// event counts it under one of these.
const (
	// ReasonQueueFullNewest: the queue was full under QUEUE_POLICY=drop_newest,
	// the arriving event was discarded.
	ReasonQueueFullNewest = "queue_full_newest"
	// ReasonQueueFullOldest: the queue was full under QUEUE_POLICY=drop_oldest,
	// the oldest queued event was discarded to make room.
	ReasonQueueFullOldest = "queue_full_oldest"
	// ReasonKafka: Kafka refused the event for good (a non-retriable error,
	// or PUBLISH_GIVE_UP_AFTER elapsed).
	ReasonKafka = "kafka"
	// ReasonTooLarge: the event is larger than the producer's maximum message size.
	ReasonTooLarge = "too_large"
	// ReasonShutdown: still queued or unacknowledged when SHUTDOWN_TIMEOUT ran out.
	ReasonShutdown = "shutdown"
)

// Reasons lists every drop reason, for pre-creating the series (a dashboard
// must see 0, not a missing series).
var Reasons = []string{ReasonQueueFullNewest, ReasonQueueFullOldest, ReasonKafka, ReasonTooLarge, ReasonShutdown}

// Metrics holds the ingester's collectors.
type Metrics struct {
	received     map[string]prometheus.Counter
	dropped      map[string]prometheus.Counter
	Published    prometheus.Counter
	Undecodable  prometheus.Counter
	ReceivedByte prometheus.Counter

	TetragonConnected  prometheus.Gauge
	TetragonReconnects prometheus.Counter
	TetragonBackoff    prometheus.Gauge
	TetragonStreamErrs *prometheus.CounterVec

	KafkaConnected     prometheus.Gauge
	KafkaConnectErrors prometheus.Counter
	PublishRetries     prometheus.Counter
	PublishLatency     prometheus.Histogram
	SentAlone          prometheus.Counter
	RawTopicMaxMessage prometheus.Gauge
	KafkaAuthErrors    prometheus.Counter
}

// New registers the metrics on reg.
func New(reg prometheus.Registerer) *Metrics {
	receivedVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ingester_events_received_total",
		Help: "Events received from Tetragon, by event type.",
	}, []string{"type"})
	droppedVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ingester_events_dropped_total",
		Help: "Events received but not written to Kafka, by reason.",
	}, []string{"reason"})
	m := &Metrics{
		received: map[string]prometheus.Counter{},
		dropped:  map[string]prometheus.Counter{},
		Published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingester_events_published_total",
			Help: "Events acknowledged by Kafka on the raw topic.",
		}),
		Undecodable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingester_events_undecodable_total",
			Help: "Events whose bytes the event id parser rejected; they are still published, keyed by a hash of their bytes, with tf-type=unknown.",
		}),
		ReceivedByte: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingester_received_bytes_total",
			Help: "Protobuf bytes received from Tetragon.",
		}),
		TetragonConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingester_tetragon_connected",
			Help: "1 while the GetEvents stream is open.",
		}),
		TetragonReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingester_tetragon_reconnects_total",
			Help: "GetEvents streams that ended or failed to open and were retried.",
		}),
		TetragonBackoff: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingester_tetragon_reconnect_backoff_seconds",
			Help: "Wait before the current reconnect attempt (0 while connected).",
		}),
		TetragonStreamErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingester_tetragon_stream_errors_total",
			Help: "GetEvents streams that ended, by gRPC status code (OK: the server ended the stream).",
		}, []string{"code"}),
		KafkaConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingester_kafka_connected",
			Help: "1 while the producer is up and its latest delivery succeeded.",
		}),
		KafkaConnectErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingester_kafka_connect_errors_total",
			Help: "Failed attempts to connect the producer or prepare the raw topic.",
		}),
		PublishRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingester_publish_retries_total",
			Help: "Events sent again after the producer's own retries failed with a retriable error.",
		}),
		PublishLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ingester_publish_latency_seconds",
			Help:    "Time from receiving an event to Kafka's acknowledgement.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		SentAlone: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingester_publish_sent_alone_total",
			Help: "Events sent in a batch of their own: near or over the raw topic's max.message.bytes, or in a batch the broker refused as too large (so only an oversized event is dropped, never its batch-mates).",
		}),
		KafkaAuthErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingester_kafka_authorization_errors_total",
			Help: "Deliveries the broker refused for authorization (a missing ACL); the events are held and sent again, as for an unreachable broker.",
		}),
		RawTopicMaxMessage: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingester_raw_topic_max_message_bytes",
			Help: "The raw topic's max.message.bytes as last read from the broker (0: not readable, e.g. no DescribeConfigs ACL).",
		}),
	}
	for _, t := range append(eventtype.All(), eventtype.Unknown) {
		m.received[t] = receivedVec.WithLabelValues(t)
	}
	for _, r := range Reasons {
		m.dropped[r] = droppedVec.WithLabelValues(r)
	}
	reg.MustRegister(receivedVec, droppedVec, m.Published, m.Undecodable, m.ReceivedByte,
		m.TetragonConnected, m.TetragonReconnects, m.TetragonBackoff, m.TetragonStreamErrs,
		m.KafkaConnected, m.KafkaConnectErrors, m.PublishRetries, m.PublishLatency, m.SentAlone, m.RawTopicMaxMessage, m.KafkaAuthErrors)
	return m
}

// Received is the counter of event type t (an eventtype spelling; anything
// else counts as unknown).
func (m *Metrics) Received(t string) prometheus.Counter {
	if c, ok := m.received[t]; ok {
		return c
	}
	return m.received[eventtype.Unknown]
}

// Counters returns every received-by-type counter (for totals).
func (m *Metrics) Counters() map[string]prometheus.Counter { return m.received }

// Dropped is the counter of drop reason r (one of Reasons; panics otherwise,
// as an unlisted reason is a programming error).
func (m *Metrics) Dropped(r string) prometheus.Counter {
	c, ok := m.dropped[r]
	if !ok {
		panic("metrics: unknown drop reason " + r)
	}
	return c
}

// QueueDepth registers ingester_queue_depth, read from fn at scrape time.
func QueueDepth(reg prometheus.Registerer, fn func() float64) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ingester_queue_depth",
		Help: "Events waiting in the queue between receiving and producing.",
	}, fn))
}

// Inflight registers ingester_publish_inflight, read from fn at scrape time.
func Inflight(reg prometheus.Registerer, fn func() float64) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ingester_publish_inflight",
		Help: "Events handed to the producer and not yet acknowledged or dropped.",
	}, fn))
}

// Value reads a counter or gauge, for tests and shutdown reports.
func Value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}
