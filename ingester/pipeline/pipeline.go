// Package pipeline wires the ingester together: the Tetragon receiver
// computes each event's id and queues it, the publisher drains the queue
// into Kafka, and shutdown accounts for every event received.
//
// The receiving goroutine does the least possible per event: one id parse
// over the raw bytes (eventid.FromBytes, no protobuf decoding, no JSON), a
// few counter increments and a queue push that never waits under the drop
// policies.
package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/config"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/publish"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/queue"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/tetragon"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// Pipeline is one ingester.
type Pipeline struct {
	cfg  *config.Config
	log  *slog.Logger
	m    *metrics.Metrics
	q    *queue.Queue[publish.Event]
	recv *tetragon.Receiver
	pub  *publish.Publisher

	// Receiving goroutine only: node names seen, so each is converted to a
	// string once (a real agent has one; the simulator several).
	nodes       map[string]string
	undecodable int
}

// New builds a pipeline from a validated config and registers its metrics on reg.
func New(cfg *config.Config, reg prometheus.Registerer, log *slog.Logger) (*Pipeline, error) {
	m := metrics.New(reg)
	q := queue.New[publish.Event](cfg.QueueSize, cfg.Policy())
	t := cfg.Tetragon
	recv, err := tetragon.NewReceiver(tetragon.Options{
		Addr: cfg.Addr(),
		TLS: tetragon.TLSOptions{
			Enabled: t.TLS.Enabled, CAFile: t.TLS.CAFile, CertFile: t.TLS.CertFile,
			KeyFile: t.TLS.KeyFile, ServerName: t.TLS.ServerName,
		},
		MaxRecvBytes:     t.MaxRecvBytes,
		KeepaliveTime:    t.KeepaliveTime,
		KeepaliveTimeout: t.KeepaliveTimeout,
		ReconnectMin:     t.ReconnectMin,
		ReconnectMax:     t.ReconnectMax,
		HealthyAfter:     t.HealthyAfter,
		Request:          cfg.Request(),
		Pacing:           tetragon.Pacing{MaxWait: t.ReadMaxWait, BatchBytes: t.ReadBatchBytes},
	}, m, log)
	if err != nil {
		return nil, err
	}
	pub := publish.New(publish.Options{
		Kafka:            cfg.Kafka,
		Producer:         cfg.Producer,
		Topic:            cfg.RawTopic,
		Create:           cfg.RawTopicCreate,
		Spec:             cfg.TopicSpec(),
		MaxInflight:      cfg.MaxInflight,
		CompressionLevel: cfg.CompressionLevel,
		GiveUpAfter:      cfg.PublishGiveUpAfter,
		ConnectMin:       250 * time.Millisecond,
		ConnectMax:       cfg.KafkaConnectBackoff,
		RetryMin:         100 * time.Millisecond,
		RetryMax:         5 * time.Second,
		CloseTimeout:     closeGrace(cfg.ShutdownTimeout),
		ClientID:         cfg.Kafka.ClientID,
	}, m, log)
	metrics.QueueDepth(reg, func() float64 { return float64(q.Len()) })
	metrics.Inflight(reg, func() float64 { return float64(pub.Inflight()) })
	return &Pipeline{cfg: cfg, log: log, m: m, q: q, recv: recv, pub: pub, nodes: map[string]string{}}, nil
}

// closeGrace is the part of SHUTDOWN_TIMEOUT kept for the producer's last
// acks after sending stops.
func closeGrace(total time.Duration) time.Duration {
	return min(5*time.Second, total/4)
}

// reportMargin is the end of SHUTDOWN_TIMEOUT kept for counting what is
// left and logging the books, so they are written before the pod's grace
// period (which SHUTDOWN_TIMEOUT stays under) ends in SIGKILL.
func reportMargin(total time.Duration) time.Duration {
	return min(time.Second, total/10)
}

// TetragonReady is nil while the GetEvents stream is open.
func (p *Pipeline) TetragonReady() error {
	if !p.recv.Connected() {
		return errors.New("GetEvents stream not open")
	}
	return nil
}

// KafkaReady is nil while the producer is connected and delivering.
func (p *Pipeline) KafkaReady() error { return p.pub.Healthy() }

// Run receives and publishes until ctx ends, then shuts down gracefully:
// it stops receiving, flushes the queue and the producer within
// SHUTDOWN_TIMEOUT, and counts what could not be delivered
// (ingester_events_dropped_total{reason="shutdown"}).
func (p *Pipeline) Run(ctx context.Context) error {
	defer p.recv.Close()
	// SHUTDOWN_TIMEOUT counts from the signal, however long receiving
	// takes to stop.
	var signalled atomic.Int64
	defer context.AfterFunc(ctx, func() { signalled.Store(time.Now().UnixNano()) })()
	pubCtx, stopPub := context.WithCancel(context.Background())
	defer stopPub()
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		if err := p.pub.Run(pubCtx, p.q); err != nil {
			p.log.Error("publisher stopped", "err", err)
		}
	}()

	err := p.recv.Run(ctx, func(raw []byte) { p.onEvent(ctx, raw) })

	start := time.Now()
	if ns := signalled.Load(); ns != 0 {
		start = time.Unix(0, ns)
	}
	p.q.Close()
	queued := p.q.Len()
	p.log.Info("stopped receiving; flushing", "queued", queued, "inflight", p.pub.Inflight(), "timeout", p.cfg.ShutdownTimeout.String())
	total := p.cfg.ShutdownTimeout
	// Sending stops in time for the producer's last acks (closeGrace), and
	// the publisher gets until the report margin's middle: it returns by
	// then unless something it cannot interrupt holds it; then its events
	// are counted without it.
	cut := time.AfterFunc(time.Until(start.Add(total-closeGrace(total)-reportMargin(total))), stopPub)
	backstop := time.NewTimer(time.Until(start.Add(total - reportMargin(total)/2)))
	select {
	case <-pubDone:
	case <-backstop.C:
		stopPub()
		p.log.Error("publisher did not stop in time; counting its events without it", "unresolved", p.pub.Inflight())
		p.pub.Abandon()
	}
	backstop.Stop()
	cut.Stop()
	// Left in the queue: the producer never connected or ran out of time.
	if left := p.q.Drain(); len(left) > 0 {
		p.m.Dropped(metrics.ReasonShutdown).Add(float64(len(left)))
		p.log.Error("events not delivered at shutdown", "count", len(left), "reason", metrics.ReasonShutdown,
			"first_id", left[0].ID.String(), "last_id", left[len(left)-1].ID.String())
	}
	b := p.Books()
	// The last word on this process's events, for whoever reads the log
	// after /metrics is gone: received = published + dropped.
	attrs := []any{"took", time.Since(start).Round(time.Millisecond).String(),
		"received", b.Received, "published", b.Published, "dropped", b.DroppedTotal()}
	for _, r := range metrics.Reasons {
		if n := b.Dropped[r]; n > 0 {
			attrs = append(attrs, "dropped_"+r, n)
		}
	}
	p.log.Info("shutdown complete", attrs...)
	if err == nil {
		if n := b.Dropped[metrics.ReasonShutdown]; n > 0 {
			// The flush could not finish: say so in the exit code too.
			err = fmt.Errorf("%w: %d events (dropped_shutdown)", ErrUndelivered, n)
		}
	}
	return err
}

// ErrUndelivered: Run stopped with events it could not deliver in
// SHUTDOWN_TIMEOUT (counted as dropped, reason shutdown); the process exits
// non-zero so whoever stopped it sees that the flush did not finish.
var ErrUndelivered = errors.New("shutdown did not deliver every event")

// Books are the pipeline's life-time counts of events.
type Books struct {
	Received, Published uint64
	Dropped             map[string]uint64 // by reason, every reason present
}

// DroppedTotal sums the drops of every reason.
func (b Books) DroppedTotal() uint64 {
	var n uint64
	for _, v := range b.Dropped {
		n += v
	}
	return n
}

// Books reads the counters. Once Run has returned, Received equals
// Published plus DroppedTotal.
func (p *Pipeline) Books() Books {
	b := Books{Dropped: map[string]uint64{}}
	for _, c := range p.m.Counters() {
		b.Received += uint64(metrics.Value(c))
	}
	b.Published = uint64(metrics.Value(p.m.Published))
	for _, r := range metrics.Reasons {
		b.Dropped[r] = uint64(metrics.Value(p.m.Dropped(r)))
	}
	return b
}

func (p *Pipeline) onEvent(ctx context.Context, raw []byte) {
	now := time.Now().UnixNano()
	id, info, err := eventid.FromBytes(raw)
	typ := eventtype.Unknown
	if err != nil {
		id = fallbackID(raw)
		p.m.Undecodable.Inc()
		if p.undecodable++; p.undecodable <= 10 || p.undecodable%10000 == 0 {
			p.log.Warn("event bytes not parseable; publishing them keyed by a hash of the bytes", "err", err, "id", id.String(), "bytes", len(raw), "count", p.undecodable)
		}
	} else {
		typ = info.TypeName()
	}
	p.m.Received(typ).Inc()
	p.m.ReceivedByte.Add(float64(len(raw)))
	ev := publish.Event{Raw: raw, ID: id, Type: typ, Node: p.node(info.Node), IngestNS: now}
	d, _, err := p.q.Push(ctx, ev)
	switch {
	case err != nil:
		// Shutting down while blocked on a full queue (block policy).
		p.m.Dropped(metrics.ReasonShutdown).Inc()
	case d == queue.Newest:
		p.m.Dropped(metrics.ReasonQueueFullNewest).Inc()
	case d == queue.Oldest:
		p.m.Dropped(metrics.ReasonQueueFullOldest).Inc()
	}
}

// node is the tf-node value: the event's node_name, or NODE_NAME.
func (p *Pipeline) node(b []byte) string {
	if len(b) == 0 {
		return p.cfg.NodeName
	}
	if n, ok := p.nodes[string(b)]; ok { // lookup without allocating
		return n
	}
	n := string(b)
	if len(p.nodes) < maxNodes {
		p.nodes[n] = n
	}
	return n
}

// maxNodes bounds the node name cache against a stream of garbage names.
const maxNodes = 256

// fallbackID keys bytes eventid cannot parse: a hash of the bytes, in the id
// format. Such bytes have no fields to identify the event by; identical
// copies still share a key, and the fanout sends them to its DLQ.
func fallbackID(raw []byte) eventid.ID {
	sum := sha256.Sum256(raw)
	var id eventid.ID
	hex.Encode(id[:], sum[:eventid.Len/2])
	return id
}
