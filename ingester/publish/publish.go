// Package publish writes events to the raw topic with sarama's async
// producer: protobuf bytes unchanged, key = event id, tf-* headers, the
// goka-compatible partitioner, idempotent with acks=all
// (kafkaclient.ApplyProducer).
//
// Nothing is lost silently. Every event handed to Run ends in exactly one of:
// acknowledged (ingester_events_published_total), dropped with a reason
// (ingester_events_dropped_total{reason}: kafka, too_large, shutdown), and the
// ledger below makes that exact even when shutdown cuts deliveries short.
//
// Delivery: sarama retries each batch KAFKA_PRODUCE_RETRIES times. An event
// that still fails with a retriable error (broker down, leader moving,
// timeouts) is sent again after a shared backoff, for as long as
// PUBLISH_GIVE_UP_AFTER allows (default: forever), so a broker restart loses
// nothing; resending can duplicate an event whose ack was lost, which the
// fanout's dedup removes (same key). An authorization error (an ACL missing,
// often briefly during a rollout) is handled like an unreachable broker:
// events are held and resent, /readyz is false, one log line says what to
// fix. A non-retriable error (too large, invalid record) drops the event at
// once, logged with its id.
//
// Size: the raw topic's max.message.bytes is read at connect and every
// TopicConfigRefresh (a topic someone else created may have Kafka's 1 MB
// default, and the broker refuses a whole batch when it exceeds it). Batches
// are kept under it; an event near or over it is sent in a batch of its own;
// and when the broker still refuses a batch as too large, each of its events
// is sent again alone. So only an event that is too large by itself is
// dropped (too_large), never its batch-mates.
//
// Memory stays bounded while Kafka is slow or away: at most
// KAFKA_MAX_INFLIGHT events are with the producer; beyond that Run stops
// taking from the queue, the queue fills, and QUEUE_POLICY decides.
package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/queue"
	"github.com/tetragon-fanout/tetragon-fanout/shared/backoff"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
	"github.com/tetragon-fanout/tetragon-fanout/shared/headers"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
)

// Event is one received event on its way to Kafka.
type Event struct {
	Raw      []byte // GetEventsResponse bytes as Tetragon sent them
	ID       eventid.ID
	Type     string // eventtype spelling
	Node     string
	IngestNS int64 // unix ns when received
}

// Options configure a Publisher.
type Options struct {
	Kafka    kafkaclient.Config
	Producer kafkaclient.ProducerConfig
	Topic    string
	// Create the topic with Spec when it is missing (never via broker
	// auto-creation). False: wait for someone else to create it.
	Create bool
	Spec   kafkaclient.TopicSpec
	// CompressionLevel overrides the codec's default level (0 keeps it).
	CompressionLevel int
	// MaxInflight bounds events handed to the producer and not yet resolved.
	MaxInflight int
	// GiveUpAfter drops an event whose delivery has failed with retriable
	// errors for this long; 0 retries until shutdown.
	GiveUpAfter time.Duration
	// ConnectMin/Max: backoff between attempts to connect and prepare the topic.
	ConnectMin, ConnectMax time.Duration
	// RetryMin/Max: backoff before resending events that failed.
	RetryMin, RetryMax time.Duration
	// CloseTimeout bounds the wait for the producer's last acks at shutdown.
	CloseTimeout time.Duration
	ClientID     string
	// TopicConfigRefresh is how often the raw topic's max.message.bytes is
	// read again; 0: as often as sarama refreshes metadata (10 minutes).
	TopicConfigRefresh time.Duration
}

// Publisher drains a queue into the raw topic.
type Publisher struct {
	opts Options
	m    *metrics.Metrics
	log  *slog.Logger

	sem    chan struct{} // one token per unresolved event
	ledger ledger

	producer sarama.AsyncProducer
	client   sarama.Client
	// alone sends one event per batch (its own client: Flush.MaxMessages is
	// per client config), for events that may not fit a batch.
	alone       sarama.AsyncProducer
	aloneClient sarama.Client
	admin       sarama.ClusterAdmin // on client, for re-reading the topic's limit

	// Size limits, in sarama's record sizes (msg.ByteSize). producerLimit is
	// the ingester's own (Producer.MaxMessageBytes); batchLimit the main
	// producer's batch bound, fixed at connect; topicLimit the raw topic's
	// max.message.bytes as last read (0: unknown); aloneOver the size above
	// which an event is sent alone (from the latest topicLimit).
	producerLimit   int
	batchLimit      int
	compressed      bool
	topicLimit      atomic.Int64
	aloneOver       atomic.Int64
	limitUnreadable atomic.Bool

	// Health, for /readyz and ingester_kafka_connected: connected, the
	// latest delivery did not fail retriably, and the idle probe reaches
	// the brokers.
	up        atomic.Bool
	failing   atomic.Bool
	probeFail atomic.Bool
	lastOK    atomic.Int64 // unix ns of the latest ack
	stateMu   sync.Mutex
	stateErr  error
	retryMu   sync.Mutex
	retryList []*envelope
	retryKick chan struct{}

	// authFailing: the latest failures were authorization refusals (said
	// once per episode; cleared with failing by the next ack).
	authFailing atomic.Bool

	logLimit logLimiter

	typeHdr  map[string][]byte
	lastNode string
	nodeHdr  []byte
}

// New returns a publisher; Run connects.
func New(o Options, m *metrics.Metrics, log *slog.Logger) *Publisher {
	if o.MaxInflight < 1 {
		o.MaxInflight = 1
	}
	if o.ClientID == "" {
		o.ClientID = "ingester"
	}
	p := &Publisher{
		opts: o, m: m, log: log,
		sem:       make(chan struct{}, o.MaxInflight),
		retryKick: make(chan struct{}, 1),
		typeHdr:   map[string][]byte{},
	}
	for _, t := range append(eventtype.All(), eventtype.Unknown) {
		p.typeHdr[t] = []byte(t)
	}
	p.setState(errors.New("not connected yet"))
	return p
}

// Healthy is nil while the producer is connected and its latest delivery
// attempt did not fail with a retriable error.
func (p *Publisher) Healthy() error {
	if !p.up.Load() || p.failing.Load() || p.probeFail.Load() {
		p.stateMu.Lock()
		defer p.stateMu.Unlock()
		return p.stateErr
	}
	return nil
}

// Inflight is the number of events with the producer.
func (p *Publisher) Inflight() int64 { return p.ledger.count() }

func (p *Publisher) setState(err error) {
	p.stateMu.Lock()
	p.stateErr = err
	p.stateMu.Unlock()
}

// Run connects (retrying with backoff until ctx ends), then sends what q
// yields until q is closed and empty and every event is resolved, or until
// ctx ends. Either way, before it returns every event it took from q is
// counted as published or dropped. Cancel ctx to cut shutdown short: Run
// then returns within about CloseTimeout, whatever the brokers do (sarama's
// requests cannot be cancelled, so nothing here waits on one after ctx
// ends).
func (p *Publisher) Run(ctx context.Context, q *queue.Queue[Event]) error {
	if err := p.connect(ctx); err != nil {
		return nil // ctx ended while connecting; nothing was taken from q
	}
	sendCtx, stopSending := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.retryLoop(sendCtx) }()
	wg.Add(1)
	go func() { defer wg.Done(); p.probeLoop(sendCtx) }()
	wg.Add(1)
	go func() { defer wg.Done(); p.topicConfigLoop(sendCtx) }()
	var acks sync.WaitGroup
	acks.Add(4)
	go func() { defer acks.Done(); p.handleSuccesses(p.producer) }()
	go func() { defer acks.Done(); p.handleErrors(p.producer, false) }()
	go func() { defer acks.Done(); p.handleSuccesses(p.alone) }()
	go func() { defer acks.Done(); p.handleErrors(p.alone, true) }()

	err := p.sendLoop(sendCtx, q)
	if err == nil {
		// Queue closed and drained: wait for the last acks (or ctx).
		p.waitResolved(ctx)
	}
	stopSending()
	wg.Wait()
	// Nothing of ours sends to Input any more: the producers may close.
	// One deadline for their last acks and for closing the clients (a
	// broker that does not answer holds both).
	p.producer.AsyncClose()
	p.alone.AsyncClose()
	closing, stopClosing := context.WithTimeout(context.Background(), p.opts.CloseTimeout)
	defer stopClosing()
	if !waitUntil(closing.Done(), acks.Wait) {
		p.log.Warn("kafka producer did not finish closing in time", "timeout", p.opts.CloseTimeout.String())
	}
	p.Abandon()
	if !waitUntil(closing.Done(), func() { _ = p.client.Close(); _ = p.aloneClient.Close() }) {
		p.log.Warn("kafka connections not closed in time; leaving them", "timeout", p.opts.CloseTimeout.String())
	}
	return nil
}

// waitUntil runs f and waits for it to return or for deadline to close,
// whichever comes first; it tells whether f returned. (f keeps running
// otherwise.)
func waitUntil(deadline <-chan struct{}, f func()) bool {
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
		return true
	case <-deadline:
		return false
	}
}

// Abandon counts every event still with the producer as undelivered
// (reason shutdown) and makes later acks of them no-ops, so the books
// balance now. For a shutdown that cannot wait for Run any longer; Run
// calls it too (the second call counts nothing). It reports the count.
func (p *Publisher) Abandon() int64 {
	n, first := p.ledger.seal()
	if first {
		p.up.Store(false)
		p.m.KafkaConnected.Set(0)
	}
	if n > 0 {
		p.m.Dropped(metrics.ReasonShutdown).Add(float64(n))
		p.log.Error("events not delivered at shutdown", "count", n, "reason", metrics.ReasonShutdown)
	}
	return n
}

func (p *Publisher) connect(ctx context.Context) error {
	bo := backoff.New(p.opts.ConnectMin, p.opts.ConnectMax)
	for {
		// An attempt against a broker that accepts connections but does
		// not answer lasts sarama's timeouts (30 s a request): do not hold
		// shutdown for it.
		type attempt struct {
			c   *connection
			err error
		}
		res := make(chan attempt, 1)
		go func() { c, err := p.tryConnect(); res <- attempt{c, err} }()
		var c *connection
		var err error
		select {
		case <-ctx.Done():
			go func() {
				if a := <-res; a.err == nil {
					a.c.close()
				}
			}()
			return ctx.Err()
		case a := <-res:
			c, err = a.c, a.err
		}
		if err == nil && ctx.Err() != nil {
			go c.close()
			return ctx.Err()
		}
		if err == nil {
			p.install(c)
			p.up.Store(true)
			p.failing.Store(false)
			p.m.KafkaConnected.Set(1)
			p.setState(nil)
			p.log.Info("kafka producer connected", "brokers", strings.Join(p.opts.Kafka.Brokers, ","), "topic", p.opts.Topic)
			return nil
		}
		p.m.KafkaConnectErrors.Inc()
		p.setState(fmt.Errorf("connecting: %w", err))
		wait := bo.Next()
		p.log.Warn("kafka not available, retrying", "err", err, "wait", wait.Round(time.Millisecond).String(), "attempt", bo.Attempts())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (p *Publisher) saramaConfig() (*sarama.Config, error) {
	sc, err := p.opts.Kafka.Sarama(p.opts.ClientID)
	if err != nil {
		return nil, err
	}
	if err := kafkaclient.ApplyProducer(sc, p.opts.Producer); err != nil {
		return nil, err
	}
	if p.opts.CompressionLevel != 0 {
		sc.Producer.CompressionLevel = p.opts.CompressionLevel
	}
	// Fail an attempt fast: connect() retries with its own backoff (and
	// readiness and a metric show it), and undelivered events are resent.
	sc.Metadata.Retry.Max = 2
	sc.Metadata.Retry.Backoff = 250 * time.Millisecond
	return sc, nil
}

// connection is what one successful connect attempt built.
type connection struct {
	client, aloneClient sarama.Client
	producer, alone     sarama.AsyncProducer
	admin               sarama.ClusterAdmin
	producerLimit       int
	batchLimit          int
	compressed          bool
	topicLimit          int   // 0: unknown
	limitErr            error // why topicLimit is unknown
}

// close releases what c holds (an attempt abandoned after it succeeded).
func (c *connection) close() {
	_ = c.producer.Close()
	_ = c.alone.Close()
	_ = c.client.Close()
	_ = c.aloneClient.Close()
}

func (p *Publisher) tryConnect() (*connection, error) {
	sc, err := p.saramaConfig()
	if err != nil {
		return nil, err
	}
	c := &connection{producerLimit: sc.Producer.MaxMessageBytes, compressed: sc.Producer.Compression != sarama.CompressionNone}
	if c.topicLimit, c.limitErr, err = p.prepareTopic(sc); err != nil {
		return nil, err
	}
	// Batches the broker accepts: under the topic's limit, not only ours.
	c.batchLimit = batchLimit(c.producerLimit, c.topicLimit)
	sc.Producer.MaxMessageBytes = c.batchLimit
	if c.client, err = sarama.NewClient(p.opts.Kafka.Brokers, sc); err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	if c.producer, err = sarama.NewAsyncProducerFromClient(c.client); err != nil {
		_ = c.client.Close()
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	fail := func(err error) (*connection, error) {
		_ = c.producer.Close()
		_ = c.client.Close()
		return nil, err
	}
	// Never closed: closing it would close c.client, which Run closes.
	if c.admin, err = sarama.NewClusterAdminFromClient(c.client); err != nil {
		return fail(fmt.Errorf("kafka admin: %w", err))
	}
	ac, err := p.saramaConfig()
	if err != nil {
		return fail(err)
	}
	ac.Producer.Flush.MaxMessages = 1
	if c.aloneClient, err = sarama.NewClient(p.opts.Kafka.Brokers, ac); err != nil {
		return fail(fmt.Errorf("kafka client (single-event batches): %w", err))
	}
	if c.alone, err = sarama.NewAsyncProducerFromClient(c.aloneClient); err != nil {
		_ = c.aloneClient.Close()
		return fail(fmt.Errorf("kafka producer (single-event batches): %w", err))
	}
	return c, nil
}

// install makes c the publisher's connection (before Run's goroutines start).
func (p *Publisher) install(c *connection) {
	p.client, p.producer, p.admin = c.client, c.producer, c.admin
	p.aloneClient, p.alone = c.aloneClient, c.alone
	p.producerLimit, p.batchLimit, p.compressed = c.producerLimit, c.batchLimit, c.compressed
	p.aloneOver.Store(int64(c.batchLimit))
	p.applyLimit(c.topicLimit, c.limitErr)
}

// prepareTopic creates the raw topic when missing (and allowed), warns
// when an existing one has another partition count than configured, and
// reads its max.message.bytes (limitErr says why it could not).
func (p *Publisher) prepareTopic(sc *sarama.Config) (limit int, limitErr, err error) {
	// An admin built from the client would close it on Close: use its own.
	admin, err := sarama.NewClusterAdmin(p.opts.Kafka.Brokers, sc)
	if err != nil {
		return 0, nil, fmt.Errorf("kafka admin: %w", err)
	}
	defer func() { _ = admin.Close() }()
	if !p.opts.Create {
		n, ok, err := kafkaclient.TopicPartitions(admin, p.opts.Topic)
		if err != nil {
			return 0, nil, err
		}
		if !ok {
			return 0, nil, fmt.Errorf("raw topic %s does not exist and RAW_TOPIC_CREATE=false", p.opts.Topic)
		}
		p.checkPartitions(n)
		limit, limitErr = topicMaxMessageBytes(admin, p.opts.Topic)
		return limit, limitErr, nil
	}
	spec := p.opts.Spec
	created, n, err := kafkaclient.EnsureTopic(admin, p.opts.Topic, spec)
	if err != nil {
		return 0, nil, err
	}
	if created {
		p.log.Info("created raw topic", "topic", p.opts.Topic, "partitions", spec.Partitions, "replication", spec.Replication, "retention", spec.Retention.String())
		// Just created: brokers may not serve its configs yet, and the
		// spec says what they are.
		if v, err := strconv.Atoi(spec.Configs[maxMessageBytes]); err == nil {
			return v, nil, nil
		}
	} else {
		p.checkPartitions(n)
	}
	limit, limitErr = topicMaxMessageBytes(admin, p.opts.Topic)
	return limit, limitErr, nil
}

const maxMessageBytes = "max.message.bytes"

// topicMaxMessageBytes reads the effective max.message.bytes of topic (its
// own setting or the broker default). It needs the DescribeConfigs ACL.
func topicMaxMessageBytes(admin sarama.ClusterAdmin, topic string) (int, error) {
	configs, err := kafkaclient.TopicConfigs(admin, topic, maxMessageBytes)
	if err != nil {
		return 0, err
	}
	if s, ok := configs[maxMessageBytes]; ok {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("topic %s: %s = %q", topic, maxMessageBytes, s)
		}
		return v, nil
	}
	return 0, fmt.Errorf("topic %s: no %s in its configs", topic, maxMessageBytes)
}

// recordBatchOverhead is what a record batch adds around its records.
const recordBatchOverhead = 61

// batchLimit is the main producer's bound on a partition's batch: the
// ingester's limit, or under the topic's limit with room for the batch
// header and what a codec can add to incompressible bytes (~1/256 for lz4
// and zstd). A batch the broker still refuses is re-sent event by event.
func batchLimit(producerLimit, topicLimit int) int {
	if topicLimit <= 0 {
		return producerLimit
	}
	return max(min(producerLimit, topicLimit-topicLimit/64-1024), 1024)
}

// applyLimit records the raw topic's max.message.bytes (from connect or a
// refresh) and says when it changes or is below the ingester's limit.
func (p *Publisher) applyLimit(limit int, err error) {
	if err != nil {
		if !p.limitUnreadable.Swap(true) {
			p.log.Warn("cannot read the raw topic's max.message.bytes (grant DescribeConfigs on it); events are not checked against it, and a batch the broker refuses as too large is re-sent event by event",
				"topic", p.opts.Topic, "err", err)
		}
		return
	}
	p.limitUnreadable.Store(false)
	old := p.topicLimit.Swap(int64(limit))
	if old == int64(limit) {
		return
	}
	p.m.RawTopicMaxMessage.Set(float64(limit))
	p.aloneOver.Store(int64(min(p.batchLimit, batchLimit(p.producerLimit, limit))))
	attrs := []any{"topic", p.opts.Topic, maxMessageBytes, limit, "ingester_limit", p.producerLimit}
	if old != 0 {
		attrs = append(attrs, "was", old)
	}
	if limit < p.producerLimit {
		p.log.Warn("the raw topic's max.message.bytes is below the ingester's limit: an event larger than it is dropped (reason too_large), alone; raise it with kafka-configs --alter --add-config max.message.bytes=<ingester_limit>", attrs...)
	} else if old != 0 {
		p.log.Info("the raw topic's max.message.bytes changed", attrs...)
	}
}

// topicConfigLoop re-reads the raw topic's max.message.bytes: someone may
// change it while we run.
func (p *Publisher) topicConfigLoop(ctx context.Context) {
	every := p.opts.TopicConfigRefresh
	if every <= 0 {
		every = p.client.Config().Metadata.RefreshFrequency
	}
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		type result struct {
			limit int
			err   error
		}
		res := make(chan result, 1)
		go func() { l, err := topicMaxMessageBytes(p.admin, p.opts.Topic); res <- result{l, err} }()
		select {
		case <-ctx.Done():
			return // sarama requests cannot be cancelled; the result is dropped
		case r := <-res:
			p.applyLimit(r.limit, r.err)
		}
	}
}

func (p *Publisher) checkPartitions(n int32) {
	if want := p.opts.Spec.Partitions; want > 0 && n != want {
		p.log.Warn("raw topic has a different partition count than RAW_TOPIC_PARTITIONS; using it as it is (a fanout group is tied to the count it started with)",
			"topic", p.opts.Topic, "partitions", n, "RAW_TOPIC_PARTITIONS", want)
	}
}

const popBatch = 256

func (p *Publisher) sendLoop(ctx context.Context, q *queue.Queue[Event]) error {
	batch := make([]Event, 0, popBatch)
	for {
		// PopBatch takes what is queued even after ctx ended.
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		batch, err = q.PopBatch(ctx, batch[:0], popBatch)
		if err != nil {
			if errors.Is(err, queue.ErrClosed) {
				return nil
			}
			return err
		}
		for i := range batch {
			select {
			case p.sem <- struct{}{}:
			case <-ctx.Done():
				p.dropUnsent(batch[i:])
				return ctx.Err()
			}
			env := p.envelope(&batch[i])
			batch[i] = Event{}
			if !p.ledger.add() {
				// Abandoned: the books are closed, count it here.
				<-p.sem
				p.dropUnsent(batch[i:])
				return errAbandoned
			}
			in := p.producer.Input()
			// Cheap test first: headers and key are far below 4 KiB.
			if int64(len(env.raw)) > p.aloneOver.Load()-4096 {
				var fits bool
				if in, fits = p.route(env); !fits {
					p.drop(env, metrics.ReasonTooLarge, fmt.Errorf("%d bytes do not fit the raw topic's %s (%d, uncompressed)", env.msg.ByteSize(2), maxMessageBytes, p.topicLimit.Load()))
					continue
				}
			}
			select {
			case in <- &env.msg:
			case <-ctx.Done():
				if p.ledger.resolve() {
					<-p.sem
					p.m.Dropped(metrics.ReasonShutdown).Inc()
				}
				p.dropUnsent(batch[i+1:])
				return ctx.Err()
			}
		}
	}
}

// route picks the producer of an event near the size limits: alone, when
// it may not fit a batch. fits is false when it cannot be written at all:
// uncompressed and over the topic's limit (a codec may shrink it otherwise,
// so then the broker decides).
func (p *Publisher) route(env *envelope) (in chan<- *sarama.ProducerMessage, fits bool) {
	size := env.msg.ByteSize(2)
	if int64(size) <= p.aloneOver.Load() {
		return p.producer.Input(), true
	}
	if limit := p.topicLimit.Load(); !p.compressed && limit > 0 && int64(size+recordBatchOverhead) > limit {
		return nil, false
	}
	env.alone = true
	p.m.SentAlone.Inc()
	return p.alone.Input(), true
}

// drop resolves env as not delivered, counted under reason and logged
// (rate-limited) with its id.
func (p *Publisher) drop(env *envelope, reason string, err error) {
	if !p.ledger.resolve() {
		return // sealed: already counted as undelivered
	}
	<-p.sem
	p.m.Dropped(reason).Inc()
	if ok, suppressed := p.logLimit.allow(); ok {
		p.log.Error("event not delivered", "id", env.key.String(), "type", string(env.hdrs[0].Value),
			"bytes", len(env.raw), "reason", reason, "err", err, "suppressed_before", suppressed)
	}
}

var errAbandoned = errors.New("publisher abandoned at shutdown")

func (p *Publisher) dropUnsent(evs []Event) {
	if len(evs) == 0 {
		return
	}
	p.m.Dropped(metrics.ReasonShutdown).Add(float64(len(evs)))
	p.log.Error("events not delivered at shutdown", "count", len(evs), "reason", metrics.ReasonShutdown, "first_id", evs[0].ID.String())
}

// waitResolved returns when every event sent is resolved, or ctx ends.
func (p *Publisher) waitResolved(ctx context.Context) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for p.ledger.count() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Publisher) handleSuccesses(producer sarama.AsyncProducer) {
	for msg := range producer.Successes() {
		env := msg.Metadata.(*envelope)
		if !p.ledger.resolve() {
			continue // sealed: already counted as undelivered
		}
		<-p.sem
		now := time.Now().UnixNano()
		p.lastOK.Store(now)
		p.m.Published.Inc()
		p.m.PublishLatency.Observe(float64(now-env.ingestNS) / 1e9)
		if p.failing.Load() && p.failing.Swap(false) {
			p.authFailing.Store(false)
			p.updateConnected()
			p.log.Info("kafka deliveries succeed again")
		}
	}
}

// handleErrors resolves the failures of producer (alone: the producer of
// single-event batches).
func (p *Publisher) handleErrors(producer sarama.AsyncProducer, alone bool) {
	for perr := range producer.Errors() {
		env := perr.Msg.Metadata.(*envelope)
		reason, retriable := classify(perr.Err)
		if reason == metrics.ReasonTooLarge && !alone {
			// Maybe only a batch-mate is too large (the broker refuses the
			// whole batch), or only the batch limit is exceeded: alone, it
			// may fit.
			env.alone = true
			p.m.SentAlone.Inc()
			p.resend(env)
			continue
		}
		if retriable && p.opts.GiveUpAfter > 0 {
			now := time.Now().UnixNano()
			if env.firstFail == 0 {
				env.firstFail = now
			} else if time.Duration(now-env.firstFail) > p.opts.GiveUpAfter {
				retriable = false
			}
		}
		if retriable {
			if notAuthorized(perr.Err) {
				// An ACL refusing our writes: not ready (until a delivery
				// succeeds), and one line per episode that says what to fix.
				p.m.KafkaAuthErrors.Inc()
				if !p.authFailing.Swap(true) {
					p.failing.Store(true)
					p.setState(fmt.Errorf("not authorized to write topic %s: %w", p.opts.Topic, perr.Err))
					p.updateConnected()
					p.log.Error("kafka refuses our writes: events are held and resent, none dropped, until an ACL allows this principal to write the topic (meanwhile the queue fills and QUEUE_POLICY decides)",
						"topic", p.opts.Topic, "err", perr.Err, "id", env.key.String())
				}
			} else if !p.failing.Swap(true) {
				p.setState(fmt.Errorf("delivery failing: %w", perr.Err))
				p.updateConnected()
				p.log.Warn("kafka deliveries failing, will resend", "err", perr.Err, "id", env.key.String())
			}
			p.m.PublishRetries.Inc()
			p.resend(env)
			continue
		}
		p.drop(env, reason, perr.Err)
	}
}

// resend hands env to retryLoop (errors goroutines: they must not block on
// a producer's input, which waits for them to drain).
func (p *Publisher) resend(env *envelope) {
	p.retryMu.Lock()
	p.retryList = append(p.retryList, env)
	p.retryMu.Unlock()
	select {
	case p.retryKick <- struct{}{}:
	default:
	}
}

// retryLoop resends failed events after a backoff that grows while
// deliveries keep failing and resets once one succeeds.
func (p *Publisher) retryLoop(ctx context.Context) {
	bo := backoff.New(p.opts.RetryMin, p.opts.RetryMax)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.retryKick:
		}
		if !p.failing.Load() {
			bo.Reset()
		}
		if !bo.Sleep(ctx) {
			return
		}
		p.retryMu.Lock()
		list := p.retryList
		p.retryList = nil
		p.retryMu.Unlock()
		for i, env := range list {
			in := p.producer.Input()
			if env.alone {
				in = p.alone.Input()
			}
			select {
			case in <- &env.msg:
			case <-ctx.Done():
				// Unsent: still unresolved, so the ledger counts them.
				p.retryMu.Lock()
				p.retryList = append(p.retryList, list[i:]...)
				p.retryMu.Unlock()
				return
			}
		}
	}
}

// probeInterval is how often an idle producer checks that the brokers answer.
const probeInterval = 5 * time.Second

// probeLoop keeps readiness honest when no events flow: deliveries prove
// the connection, and without them a metadata request does.
func (p *Publisher) probeLoop(ctx context.Context) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, p.lastOK.Load())) < probeInterval {
			if p.probeFail.Swap(false) {
				p.updateConnected()
			}
			continue
		}
		res := make(chan error, 1)
		go func() { res <- p.client.RefreshMetadata(p.opts.Topic) }()
		var err error
		select {
		case <-ctx.Done():
			return // a hung broker holds the request for sarama's timeouts
		case err = <-res:
		}
		if err != nil {
			if !p.probeFail.Swap(true) {
				p.setState(fmt.Errorf("brokers unreachable: %w", err))
				p.updateConnected()
				p.log.Warn("kafka brokers unreachable", "err", err)
			}
		} else if p.probeFail.Swap(false) {
			p.updateConnected()
			p.log.Info("kafka brokers reachable again")
		}
	}
}

func (p *Publisher) updateConnected() {
	if p.Healthy() == nil {
		p.m.KafkaConnected.Set(1)
	} else {
		p.m.KafkaConnected.Set(0)
	}
}

// classify tells whether resending can help and, if not, the drop reason.
// Authorization errors are retriable: an ACL fixed a minute later must
// find every event still there.
func classify(err error) (reason string, retriable bool) {
	var ce sarama.ConfigurationError
	var pe sarama.PacketEncodingError
	switch {
	case errors.Is(err, sarama.ErrMessageSizeTooLarge), errors.Is(err, sarama.ErrMessageSetSizeTooLarge),
		errors.Is(err, sarama.ErrInvalidMessageSize):
		return metrics.ReasonTooLarge, false
	case errors.As(err, &ce) && strings.Contains(string(ce), "MaxMessageBytes"):
		return metrics.ReasonTooLarge, false
	case errors.Is(err, sarama.ErrShuttingDown):
		return metrics.ReasonShutdown, false
	case errors.As(err, &ce), errors.As(err, &pe),
		errors.Is(err, sarama.ErrInvalidMessage),
		errors.Is(err, sarama.ErrInvalidRecord),
		errors.Is(err, sarama.ErrInvalidTopic),
		errors.Is(err, sarama.ErrUnsupportedForMessageFormat),
		errors.Is(err, sarama.ErrInvalidRequiredAcks):
		return metrics.ReasonKafka, false
	}
	return metrics.ReasonKafka, true
}

func notAuthorized(err error) bool {
	return errors.Is(err, sarama.ErrTopicAuthorizationFailed) || errors.Is(err, sarama.ErrClusterAuthorizationFailed) ||
		errors.Is(err, sarama.ErrTransactionalIDAuthorizationFailed)
}

// envelope is one allocation holding the producer message, its headers and
// its key, so building a message allocates nothing else.
type envelope struct {
	msg       sarama.ProducerMessage
	hdrs      [4]sarama.RecordHeader
	key       eventid.ID
	ingest    [20]byte
	raw       []byte
	ingestNS  int64
	firstFail int64 // unix ns of the first retriable failure (errors goroutine only)
	// alone: sent by the single-event producer (set before it is handed
	// to a producer, read when it comes back or is resent).
	alone bool
}

// keyEncoder and valueEncoder let the envelope be the message's key and
// value without boxing a slice (which would allocate).
type (
	keyEncoder   envelope
	valueEncoder envelope
)

func (k *keyEncoder) Encode() ([]byte, error)   { return k.key[:], nil }
func (k *keyEncoder) Length() int               { return len(k.key) }
func (v *valueEncoder) Encode() ([]byte, error) { return v.raw, nil }
func (v *valueEncoder) Length() int             { return len(v.raw) }

var (
	hdrType   = []byte(headers.Type)
	hdrNode   = []byte(headers.Node)
	hdrIngest = []byte(headers.IngestNS)
	hdrFormat = []byte(headers.Format)
	formatRaw = []byte(headers.FormatRaw)
)

// envelope builds the message of ev (sendLoop's goroutine only: it caches
// the node header).
func (p *Publisher) envelope(ev *Event) *envelope {
	env := &envelope{raw: ev.Raw, key: ev.ID, ingestNS: ev.IngestNS}
	if ev.Node != p.lastNode || p.nodeHdr == nil {
		p.lastNode, p.nodeHdr = ev.Node, []byte(ev.Node)
	}
	th, ok := p.typeHdr[ev.Type]
	if !ok {
		th = p.typeHdr[eventtype.Unknown]
	}
	ns := strconv.AppendInt(env.ingest[:0], ev.IngestNS, 10)
	env.hdrs = [4]sarama.RecordHeader{
		{Key: hdrType, Value: th},
		{Key: hdrNode, Value: p.nodeHdr},
		{Key: hdrIngest, Value: ns},
		{Key: hdrFormat, Value: formatRaw},
	}
	env.msg = sarama.ProducerMessage{
		Topic:     p.opts.Topic,
		Key:       (*keyEncoder)(env),
		Value:     (*valueEncoder)(env),
		Headers:   env.hdrs[:],
		Metadata:  env,
		Timestamp: time.Unix(0, ev.IngestNS),
	}
	return env
}

// ledger counts events handed to the producer and not yet resolved. seal
// freezes it: later acks are ignored, so an event is counted exactly once,
// either by whoever resolves it first or by seal as undelivered.
type ledger struct{ v atomic.Int64 }

const sealedBit = int64(1) << 62

// add counts one more event, unless sealed (false: the caller counts it).
func (l *ledger) add() bool {
	for {
		v := l.v.Load()
		if v&sealedBit != 0 {
			return false
		}
		if l.v.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

func (l *ledger) resolve() bool {
	for {
		v := l.v.Load()
		if v&sealedBit != 0 {
			return false
		}
		if l.v.CompareAndSwap(v, v-1) {
			return true
		}
	}
}

func (l *ledger) count() int64 { return l.v.Load() &^ sealedBit }

// seal stops add and resolve and returns the number of unresolved events;
// first is false (and n 0) if it was sealed already.
func (l *ledger) seal() (n int64, first bool) {
	old := l.v.Or(sealedBit)
	if old&sealedBit != 0 {
		return 0, false
	}
	return old, true
}

// logLimiter lets through a few log lines per second: a broker refusing
// every event must not turn into a log line per event. The counters say
// how many there were; the lines show examples with their ids.
type logLimiter struct {
	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

const logsPerSecond = 10

func (l *logLimiter) allow() (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	if l.n >= logsPerSecond {
		l.suppressed++
		return false, 0
	}
	l.n++
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
