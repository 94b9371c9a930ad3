package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/gorilla/mux"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/web/monitor"
	"github.com/lovoo/goka/web/query"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/commit"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/fanoutcfg"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/topics"
	"github.com/tetragon-fanout/tetragon-fanout/shared/backoff"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
)

// Options are hooks for tests.
type Options struct {
	// WrapSink wraps the output producer (a delaying sink makes acks
	// arrive out of order).
	WrapSink func(Sink) Sink
	// UnorderedCommits forwards goka's marks to sarama as goka makes them
	// (commit.WrapBuilderUnordered: claims are still tracked, so metrics and
	// readiness work). Only to demonstrate, in a test, the loss the commit
	// wrapper prevents; the fanout binary sets it only when built with the
	// faultinject tag (cmd/fanout).
	UnorderedCommits bool
}

// Runner runs the fanout's processor: it waits for the raw topic, creates
// the table changelog and the DLQ, and runs the goka processor, restarting
// it from the last commit when it fails.
type Runner struct {
	cfg     *fanoutcfg.Config
	log     *slog.Logger
	m       *Metrics
	opts    Options
	configs Configs
	store   *dedup.Store
	reg     *commit.Registry

	proc       atomic.Pointer[goka.Processor]
	rawMissing atomic.Bool
	monitor    atomic.Pointer[http.Handler]
	query      http.Handler
	lockFile   *os.File
	watch      *stallWatch
	stop       *stopClock // set by Run
}

// New prepares a runner; nothing connects to Kafka until Run.
func New(cfg *fanoutcfg.Config, reg prometheus.Registerer, log *slog.Logger, opts Options) (*Runner, error) {
	configs, err := BuildConfigs(cfg)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, log: log, m: NewMetrics(reg), opts: opts, configs: configs, reg: commit.NewRegistry()}
	r.rawMissing.Store(true)
	if cfg.TableStorage == dedup.LevelDB {
		if err := r.lockStateDir(); err != nil {
			return nil, err
		}
	}
	r.store, err = dedup.NewStore(dedup.StoreOptions{Window: cfg.DedupWindow, Kind: cfg.TableStorage, Dir: cfg.TableDir(),
		OnRecovered: func(topic string, p int32, took time.Duration) {
			r.m.TableRecovery.Observe(took.Seconds())
			log.Info("table partition recovered", "topic", topic, "partition", p, "seconds", took.Seconds())
		}})
	if err != nil {
		return nil, err
	}
	r.reg.OnSession = func(claims map[string][]int32) {
		r.m.Partitions.Set(float64(len(claims[cfg.RawTopic])))
		if claims != nil {
			log.Info("partitions assigned", "topic", cfg.RawTopic, "partitions", claims[cfg.RawTopic])
		}
	}
	if reg != nil {
		reg.MustRegister(newStateCollector(cfg.RawTopic, r.reg, r.store))
	}

	router := mux.NewRouter()
	qs := query.NewServer("/query", router)
	if err := qs.AttachSource(cfg.TableTopic(), r.store.Lookup); err != nil {
		return nil, err
	}
	r.query = router
	r.watch = newStallWatch(cfg.LivenessStall, cfg.RawTopic, r.reg,
		func() bool { return r.ProcessorReady() == nil }, r.store.Updates)
	empty := http.Handler(http.NotFoundHandler())
	r.monitor.Store(&empty)
	return r, nil
}

// lockStateDir gives this replica its own LevelDB directory: two replicas
// sharing files would corrupt each other's tables.
func (r *Runner) lockStateDir() error {
	dir := r.cfg.TableDir()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return envconfig.Errorf("STATE_DIR", "cannot create %s: %v", dir, err)
	}
	f, err := os.OpenFile(dir+"/.replica.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return envconfig.Errorf("STATE_DIR", "cannot open the lock in %s: %v", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return envconfig.Errorf("REPLICA_ID", "%q: %s is locked by another fanout process; give every replica its own REPLICA_ID (or STATE_DIR)", r.cfg.ReplicaID, dir)
	}
	r.lockFile = f
	return nil
}

// Metrics are the runner's metrics (tests read them).
func (r *Runner) Metrics() *Metrics { return r.m }

// Registry is the commit registry (tests read partitions from it).
func (r *Runner) Registry() *commit.Registry { return r.reg }

// Store is the dedup table storage.
func (r *Runner) Store() *dedup.Store { return r.store }

// RawTopicReady is a readiness check: the raw topic exists.
func (r *Runner) RawTopicReady() error {
	if r.rawMissing.Load() {
		return fmt.Errorf("raw topic %s does not exist (or Kafka is unreachable)", r.cfg.RawTopic)
	}
	return nil
}

// ProcessorReady is a readiness check: joined the group and every assigned
// partition's table recovered. A replica with no partitions is ready.
func (r *Runner) ProcessorReady() error {
	p := r.proc.Load()
	if p == nil {
		return errors.New("processor not running")
	}
	if s := p.StateReader().State(); s != goka.ProcStateRunning || !r.reg.Joined() {
		return fmt.Errorf("joining the group or recovering the table (processor state %d)", s)
	}
	return nil
}

// Live is the liveness check (/healthz): an error when the replica cannot
// make progress although Kafka is reachable (see stallWatch).
func (r *Runner) Live() error { return r.watch.Live() }

// Handlers mounts goka's monitor (/monitor/) and the table query UI
// (/query/) with mount(pattern, handler), e.g. telemetry.Server.Handle.
func (r *Runner) Handlers(mount func(string, http.Handler)) {
	mount("/monitor/", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		(*r.monitor.Load()).ServeHTTP(w, req)
	}))
	mount("/query/", r.query)
}

// connectRetry connects an admin client, retrying until ctx ends.
func (r *Runner) connectRetry(ctx context.Context) (*Admin, error) {
	b := backoff.New(250*time.Millisecond, r.cfg.RestartBackoffMax)
	for {
		a, err := r.connect()
		if err == nil {
			return a, nil
		}
		r.log.Warn("cannot reach Kafka; retrying", "err", errSummary(err))
		if !b.Sleep(ctx) {
			return nil, ctx.Err()
		}
	}
}

func (r *Runner) connect() (*Admin, error) {
	return NewAdmin(r.cfg.Kafka.Brokers, r.configs.Consumer, r.cfg.ClientID()+"-admin")
}

// Run runs until ctx ends (clean shutdown: in-flight messages finish, their
// offsets are committed, the group is left) or a fatal error. The shutdown
// takes at most SHUTDOWN_TIMEOUT whatever Kafka's state; if it could not
// finish in that time (outputs unflushed, goka still closing) Run returns
// an error wrapping ErrShutdownIncomplete.
func (r *Runner) Run(ctx context.Context) error {
	r.stop = newStopClock(ctx, r.cfg.ShutdownTimeout)
	done := make(chan error, 1)
	go func() { done <- r.run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	// The steps of the shutdown bound themselves by the clock (and say
	// which one overran); this catches a wait that does not know the
	// context, such as a sarama client connecting to a broker that
	// accepts connections but never answers (30s per request). The grace
	// lets a step's own, more precise error arrive first.
	select {
	case err := <-done:
		return err
	case <-time.After(r.stop.left() + stepGrace):
		return fmt.Errorf("%w: still stopping after SHUTDOWN_TIMEOUT (%s): a Kafka call that ignores the shutdown (connecting, creating topics) was still waiting",
			ErrShutdownIncomplete, r.cfg.ShutdownTimeout)
	}
}

// stepGrace is how long past the shutdown deadline Run waits for its
// steps' own timeout errors.
const stepGrace = 500 * time.Millisecond

func (r *Runner) run(ctx context.Context) (err error) {
	if r.lockFile != nil {
		defer r.lockFile.Close()
	}
	cfg := r.cfg
	parts, err := r.waitRaw(ctx)
	if err != nil {
		return nil // ctx ended while waiting
	}
	r.log.Info("raw topic found", "topic", cfg.RawTopic, "partitions", parts)
	if err := r.prepare(ctx, parts); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}

	producer, err := NewProducer(cfg.Kafka.Brokers, clone(r.configs.Producer, cfg.ClientID()+"-out"), cfg.MaxInflight)
	if err != nil {
		return err
	}
	// Closed only after the processor stopped: goka's shutdown waits for
	// the acks of in-flight outputs.
	defer func() {
		if cerr := producer.Close(min(producerCloseTimeout, r.stop.left())); cerr != nil {
			r.log.Error("output producer did not flush; its records were not committed and are emitted again on the next start", "err", cerr)
			if err == nil {
				err = cerr
			}
		}
	}()
	var sink Sink = producer
	if r.opts.WrapSink != nil {
		sink = r.opts.WrapSink(sink)
	}
	topicsAdmin, err := r.connectRetry(ctx)
	if err != nil {
		return nil // ctx ended
	}
	defer func() {
		if cerr := topicsAdmin.CloseWithin(min(adminCloseTimeout, r.stop.left())); cerr != nil {
			r.log.Warn("topics admin client did not close", "err", errSummary(cerr))
		}
	}()
	tm, err := topics.New(topicsAdmin.Admin, r.outputSpec(), cfg.Routes().DefaultTemplate(), topics.Options{RetryBudget: cfg.TopicRetryBudget, Log: r.log})
	if err != nil {
		return errFatal{fmt.Errorf("output topics: %w", err)}
	}
	producer.SetLimits(tm.Limit)
	pl := &Pipeline{Window: cfg.DedupWindow, DLQTopic: cfg.DLQTopic, Cluster: cfg.Cluster, Router: cfg.Routes(),
		Topics: tm, Sink: sink, Metrics: r.m, Log: r.log, Partitions: parts}

	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go r.store.Run(sweepCtx, cfg.TableSweepInterval, func(n int) { r.m.TableExpired.Add(float64(n)) })
	r.watch.arm()
	go r.watch.run(sweepCtx, livenessInterval(cfg.LivenessStall), func() error {
		return topicsAdmin.Client.RefreshMetadata(cfg.RawTopic)
	})

	b := backoff.New(time.Second, cfg.RestartBackoffMax)
	for {
		// The raw topic may have gone (deleted, recreated) while we ran.
		n, err := r.waitRaw(ctx)
		if err != nil {
			return nil
		}
		if n != parts {
			return errFatal{fmt.Errorf("raw topic %s now has %d partitions, the group's table %d: a group's raw topic must keep its partition count (start a new FANOUT_GROUP)", cfg.RawTopic, n, parts)}
		}
		started := time.Now()
		err = r.runProcessor(ctx, pl)
		if ctx.Err() != nil {
			if errors.Is(err, ErrShutdownIncomplete) {
				r.log.Error("processor did not stop within SHUTDOWN_TIMEOUT; its uncommitted messages are processed again on the next start",
					"err", errSummary(err), "timeout", cfg.ShutdownTimeout)
				return err
			}
			r.log.Info("processor stopped", "err", errSummary(err))
			return nil
		}
		if IsFatal(err) {
			return err
		}
		reason := "error"
		if err == nil {
			reason = "stopped"
		}
		r.m.Restarts.WithLabelValues(reason).Inc()
		if time.Since(started) > 5*time.Minute {
			b.Reset()
		}
		r.log.Error("processor failed; restarting from the last committed offsets", "err", errSummary(err), "attempt", b.Attempts()+1)
		if !b.Sleep(ctx) {
			return nil
		}
	}
}

// producerCloseTimeout bounds the output producer's final flush: goka has
// already waited for the in-flight outputs (up to its own 60s) when it runs.
const producerCloseTimeout = 15 * time.Second

// livenessInterval samples often enough to see a stall within a tenth of
// its timeout, and no more often than every second.
func livenessInterval(stall time.Duration) time.Duration {
	return min(max(stall/10, time.Second), 10*time.Second)
}

// connectOnce is connect with one metadata retry instead of ten: the raw
// topic wait retries with its own backoff, and a failure such as a wrong
// password (which sarama retries like a network error) reaches the log in a
// second instead of after ten half-second retries.
func (r *Runner) connectOnce() (*Admin, error) {
	c := *r.configs.Consumer
	c.Metadata.Retry.Max = 1
	return NewAdmin(r.cfg.Kafka.Brokers, &c, r.cfg.ClientID()+"-admin")
}

func (r *Runner) waitRaw(ctx context.Context) (int32, error) {
	return WaitRawTopic(ctx, r.log, r.connectOnce, r.cfg.RawTopic, r.cfg.RawTopicWaitMax, func(missing bool) {
		r.rawMissing.Store(missing)
		r.m.RawMissing.Set(map[bool]float64{true: 1, false: 0}[missing])
	})
}

// prepare creates the table changelog and the DLQ topic, and commits the
// start offsets of a new group started at a time. Transient errors are
// retried until ctx ends.
func (r *Runner) prepare(ctx context.Context, parts int32) error {
	b := backoff.New(250*time.Millisecond, r.cfg.RestartBackoffMax)
	for {
		err := r.prepareOnce(ctx, parts)
		if err == nil || IsFatal(err) || ctx.Err() != nil {
			return err
		}
		r.log.Warn("preparing topics failed; retrying", "err", errSummary(err))
		if !b.Sleep(ctx) {
			return ctx.Err()
		}
	}
}

func (r *Runner) prepareOnce(ctx context.Context, parts int32) error {
	a, err := r.connect()
	if err != nil {
		return err
	}
	defer a.Close()
	created, err := EnsureTable(a, r.cfg, parts)
	if err != nil {
		return err
	}
	if created {
		r.log.Info("table changelog created", "topic", r.cfg.TableTopic(), "partitions", parts,
			"retention", r.cfg.TableRetention(), "segment", r.cfg.TableSegment(), "replication", r.cfg.TableReplication)
	}
	dlqCreated, _, err := kafkaclient.EnsureTopic(a.Admin, r.cfg.DLQTopic, r.outputSpec())
	if err != nil {
		return err
	}
	if !dlqCreated {
		r.checkDLQSize(a)
	}
	for _, topic := range []string{r.cfg.TableTopic(), r.cfg.DLQTopic} {
		if err := WaitTopicReady(ctx, a, topic, 30*time.Second); err != nil {
			return err
		}
	}
	if t := r.cfg.Start().Time; !t.IsZero() {
		done, err := ResolveStartTime(a, r.cfg.Group, r.cfg.RawTopic, parts, t)
		if err != nil {
			return err
		}
		if done {
			r.log.Info("new group: start offsets committed for FANOUT_START_OFFSET", "time", t)
		}
	}
	return nil
}

// batchFraming is room above the producer's MaxMessageBytes for a record
// batch's header and compression framing.
const batchFraming = 64 << 10

// outputSpec is how the fanout creates output and DLQ topics: the
// configured partitions, replication and retention, and a
// max.message.bytes that holds any batch the output producer builds (its
// MaxMessageBytes, 10 MiB, which is also the raw topic's default limit).
// With the broker's default (1 MiB) instead, a raw message whose output is
// too large could not go to the DLQ either: its partition stalled, the
// processor restarting forever (found by fanout/e2e's fault suite); and
// outputs that piled up for one partition while the broker was slow could
// be refused as one oversized batch.
func (r *Runner) outputSpec() kafkaclient.TopicSpec {
	s := r.cfg.OutputSpec()
	cfgs := map[string]string{}
	for k, v := range s.Configs {
		cfgs[k] = v
	}
	if _, ok := cfgs[maxMessageBytes]; !ok {
		cfgs[maxMessageBytes] = strconv.Itoa(r.configs.Producer.Producer.MaxMessageBytes + batchFraming)
	}
	s.Configs = cfgs
	return s
}

const maxMessageBytes = "max.message.bytes"

// checkDLQSize warns when an existing DLQ topic cannot hold every raw
// message: one that fails to normalize or to be emitted and does not fit
// the DLQ holds its partition back (the processor retries it forever
// rather than drop it).
func (r *Runner) checkDLQSize(a *Admin) {
	res, err := a.Admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: r.cfg.DLQTopic,
		ConfigNames: []string{maxMessageBytes}}}, sarama.DescribeConfigsOptions{})
	if err != nil {
		r.log.Warn("cannot read the DLQ topic's max.message.bytes", "topic", r.cfg.DLQTopic, "err", err)
		return
	}
	want := r.configs.Producer.Producer.MaxMessageBytes
	for _, rr := range res {
		for _, e := range rr.Configs {
			if n, err := strconv.Atoi(e.Value); e.Name == maxMessageBytes && err == nil && n < want {
				r.log.Warn("the DLQ topic's max.message.bytes is below the largest raw message: such a message that cannot be processed stalls its partition; raise it",
					"topic", r.cfg.DLQTopic, "max.message.bytes", n, "want_at_least", want)
			}
		}
	}
}

func (r *Runner) runProcessor(ctx context.Context, pl *Pipeline) error {
	cfg := r.cfg
	opts := append(r.configs.GokaOptions(cfg.ClientID(), int(cfg.TableReplication), r.reg, !r.opts.UnorderedCommits),
		goka.WithStorageBuilder(r.store.Builder()),
		goka.WithUpdateCallback(r.store.Update),
		// nil raw values reach the callback (and the DLQ) instead of being
		// committed and dropped silently
		goka.WithNilHandling(goka.NilProcess),
		goka.WithPartitionChannelSize(cfg.PartitionChannelSize),
		goka.WithLogger(gokaLogger{r.log}),
	)
	if cfg.HotStandby {
		opts = append(opts, goka.WithHotStandby(), goka.WithRecoverAhead())
	}
	p, err := goka.NewProcessor(cfg.Kafka.Brokers, Graph(cfg.Group, cfg.RawTopic, pl.Process), opts...)
	if err != nil {
		if mismatch(err) {
			return errFatal{fmt.Errorf("table topic %s does not match the configuration (delete it only if you accept losing the dedup state, or fix TABLE_REPLICATION): %w", cfg.TableTopic(), err)}
		}
		return fmt.Errorf("goka processor: %w", err)
	}
	router := mux.NewRouter()
	monitor.NewServer("/monitor", router).AttachProcessor(p)
	h := http.Handler(router)
	r.monitor.Store(&h)

	r.proc.Store(p)
	defer r.proc.Store(nil)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	// Shutting down: goka finishes the in-flight messages, commits and
	// closes its clients, each step waiting up to a minute when Kafka is
	// gone. It gets what is left of SHUTDOWN_TIMEOUT, then is abandoned.
	select {
	case err := <-done:
		return err
	case <-time.After(r.stop.left()):
		return fmt.Errorf("%w: goka processor still stopping after %s (in-flight outputs, commit or consumer group close waiting for Kafka)",
			ErrShutdownIncomplete, cfg.ShutdownTimeout)
	}
}

// mismatch recognizes goka's topic manager errors about a table whose
// settings differ from ours (MismatchBehavior fail).
func mismatch(err error) bool {
	s := err.Error()
	for _, m := range []string{"partition count mismatch", "unexpected config value", "unexpected replication factor", "did not contain requested key"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// gokaLogger sends goka's log lines to slog.
type gokaLogger struct{ log *slog.Logger }

func (l gokaLogger) Printf(format string, args ...any) { l.line(fmt.Sprintf(format, args...)) }

func (l gokaLogger) Print(args ...any) { l.line(fmt.Sprint(args...)) }

func (l gokaLogger) Println(args ...any) { l.line(fmt.Sprintln(args...)) }

// line logs one goka line; a long one (goka prints its multierrors) as
// its first error and a count.
func (l gokaLogger) line(msg string) {
	msg = strings.TrimSpace(msg)
	if len(msg) > maxLoggedError {
		msg = errSummary(errors.New(msg))
	}
	l.log.Info(msg, "source", "goka")
}
