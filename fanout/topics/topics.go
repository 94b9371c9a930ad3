// Package topics creates the fanout's output topics at run time, explicitly
// (partitions, replication, retention from OUTPUT_TOPIC_*), never through
// broker auto-creation, and enforces each template's cap on how many topics
// it may create.
//
// The processor calls Ensure for every event it emits; a topic known to exist
// costs a read-locked map lookup. The first event for a new topic creates it,
// once per process however many partition goroutines ask at the same time;
// another replica creating it at the same moment is fine.
//
// The cap is cluster-wide: a template's topics are counted in the cluster's
// topic list (every topic its pattern matches, whoever created it), not in
// this replica's memory. Replicas do not lock each other, so when several
// create topics of one template in the same instant the cap can be exceeded
// by at most (replicas - 1); within one replica creations of a capped
// template are serialized.
package topics

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/route"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
)

// Reroute reasons (metric labels) of the errors below.
const (
	ReasonTopicCap     = "topic_cap"
	ReasonTopicRefused = "topic_refused"
	ReasonTopicRetries = "topic_retries_exhausted"
)

var (
	// ErrTopicCap: the template already has its maximum number of topics;
	// Ensure returns the event's default topic (or "" if it cannot tell it).
	ErrTopicCap = errors.New("topic cap reached")
	// ErrInvalidTopic: the name is not a legal Kafka topic name.
	ErrInvalidTopic = errors.New("invalid topic name")
	// ErrTopicRefused: Kafka refuses the topic for good
	// (kafkaclient.TopicRefused: a name colliding with an existing topic, a
	// create policy, a missing ACL, a spec the cluster cannot hold). Asking
	// again cannot help: the event goes elsewhere.
	ErrTopicRefused = errors.New("topic refused by Kafka")
	// ErrRetriesExhausted: creating the topic failed with errors that look
	// passing, for longer than Options.RetryBudget. Treated like a refusal:
	// no input may hold its partition for ever.
	ErrRetriesExhausted = errors.New("topic creation retries exhausted")
)

// Permanent reports whether err (from Ensure) says the topic cannot be had:
// retrying the event cannot help, so the caller sends it elsewhere and goes
// on. The other errors are passing faults worth a retry of the event.
func Permanent(err error) bool {
	return errors.Is(err, ErrInvalidTopic) || errors.Is(err, ErrTopicRefused) || errors.Is(err, ErrRetriesExhausted)
}

// Reason is the metric label of a permanent Ensure error ("" otherwise).
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrTopicCap):
		return ReasonTopicCap
	case errors.Is(err, ErrRetriesExhausted):
		return ReasonTopicRetries
	case errors.Is(err, ErrTopicRefused), errors.Is(err, ErrInvalidTopic):
		return ReasonTopicRefused
	}
	return ""
}

// Options tune a Manager; the zero value is the production setting.
type Options struct {
	// CapRecheck is how long an over-cap verdict stands before the topic
	// list is read again (topics may have been deleted). Default 30s.
	CapRecheck time.Duration
	// ReadyTimeout bounds the wait for a new topic's partitions to have
	// leaders, so the first record does not meet UNKNOWN_TOPIC_OR_PARTITION.
	// Default 10s.
	ReadyTimeout time.Duration
	// RetryBudget is how long a topic may keep failing with passing errors
	// before Ensure gives up on it (ErrRetriesExhausted); at least
	// minAttempts attempts are made whatever the budget. It must cover a
	// broker restart. Default 2m.
	RetryBudget time.Duration
	// Log receives the warning about an existing topic whose
	// max.message.bytes is below the spec's; nil: discarded.
	Log *slog.Logger
}

// minAttempts keeps a budget that elapsed while nobody asked (an idle
// topic, a long processor backoff) from giving up on the first failure
// after a broker comes back.
const minAttempts = 3

// maxRemembered bounds each of the Manager's per-topic memories (verdicts,
// failure streaks): topic names come from event fields, and a hostile or
// merely diverse stream must cost lookups, not memory.
const maxRemembered = 4096

// Manager makes output topics exist. Safe for concurrent use.
type Manager struct {
	admin sarama.ClusterAdmin
	spec  kafkaclient.TopicSpec
	def   string
	opts  Options

	mu      sync.RWMutex
	known   map[string]struct{}  // exists on the cluster
	limits  map[string]int       // max.message.bytes of topics confirmed by create
	over    map[string]overEntry // recent over-cap and refusal verdicts, by topic
	failing map[string]*streak   // topics failing with passing errors, by topic
	calls   map[string]*call     // creations in flight, by topic

	capMu    sync.Mutex
	capLocks map[string]*capState // by template
}

type overEntry struct {
	final string
	err   error
	until time.Time
}

// streak is a run of passing failures of one topic.
type streak struct {
	first    time.Time
	attempts int
}

type call struct {
	done  chan struct{}
	final string
	err   error
}

type capState struct {
	mu    sync.Mutex // serializes this template's creations in this process
	match func(string) bool
	// Guarded by mu: the template's last count, and until when it stands
	// for a template found at its cap. A stream of ever new names (one
	// per pod, per node) over a full template then costs one listing of
	// the cluster's topics per CapRecheck, not one per name, each under
	// mu while every partition wanting a new name of the template waits.
	count     int
	overUntil time.Time
}

// New returns a Manager that creates topics with spec through admin (which
// the caller keeps and closes). defaultTemplate is the routes file's default
// topic template (route.DefaultTopic without a file): over a cap, an event
// goes to the topic it renders.
func New(admin sarama.ClusterAdmin, spec kafkaclient.TopicSpec, defaultTemplate string, opts Options) (*Manager, error) {
	if _, err := route.TemplateMatcher(defaultTemplate); err != nil {
		return nil, fmt.Errorf("default topic template: %w", err)
	}
	if opts.CapRecheck <= 0 {
		opts.CapRecheck = 30 * time.Second
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 10 * time.Second
	}
	if opts.RetryBudget <= 0 {
		opts.RetryBudget = 2 * time.Minute
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Manager{
		admin: admin, spec: spec, def: defaultTemplate, opts: opts,
		known: map[string]struct{}{}, limits: map[string]int{}, over: map[string]overEntry{}, failing: map[string]*streak{},
		calls: map[string]*call{}, capLocks: map[string]*capState{},
	}, nil
}

// Ensure makes topic exist and returns the topic to produce to. template is
// the template topic was rendered from and maxTopics its cluster-wide cap
// (0: none), as route.Decision carries them.
//
// Over the cap it returns the event's default topic, created, together with
// an error wrapping ErrTopicCap: count a reroute with ReasonTopicCap and
// produce to the returned topic, or, if it is "" (the default cannot be
// derived from topic), to route.Decision.Default. Other errors return "":
// Permanent ones (ErrInvalidTopic, ErrTopicRefused, ErrRetriesExhausted)
// say the topic cannot be had, the rest are passing (Kafka unreachable, no
// controller) and worth retrying the event.
func (m *Manager) Ensure(topic, template string, maxTopics int) (string, error) {
	m.mu.RLock()
	_, ok := m.known[topic]
	o, over := m.over[topic]
	m.mu.RUnlock()
	if ok {
		return topic, nil
	}
	if over && time.Now().Before(o.until) {
		return o.final, o.err
	}

	// One resolution per topic at a time; the others wait for its result.
	m.mu.Lock()
	if c, ok := m.calls[topic]; ok {
		m.mu.Unlock()
		<-c.done
		return c.final, c.err
	}
	c := &call{done: make(chan struct{})}
	m.calls[topic] = c
	m.mu.Unlock()

	c.final, c.err = m.resolve(topic, template, maxTopics)

	m.mu.Lock()
	delete(m.calls, topic)
	if c.err != nil && !errors.Is(c.err, ErrTopicCap) {
		c.err = m.failedLocked(topic, c.err)
	}
	m.mu.Unlock()
	close(c.done)
	return c.final, c.err
}

func (m *Manager) resolve(topic, template string, maxTopics int) (string, error) {
	if !route.ValidTopic(topic) {
		return "", fmt.Errorf("%w: %q", ErrInvalidTopic, topic)
	}
	if maxTopics <= 0 {
		if err := m.create(topic); err != nil {
			return "", err
		}
		return topic, nil
	}

	cs, err := m.capState(template)
	if err != nil {
		return "", err
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if m.isKnown(topic) { // listed while we waited for the template lock
		return topic, nil
	}
	count := cs.count
	if now := time.Now(); now.After(cs.overUntil) || count < maxTopics {
		var exists bool
		var err error
		if count, exists, err = m.countTemplate(cs, template, topic); err != nil {
			return "", err
		}
		cs.count = count
		if exists {
			m.markKnown(topic)
			return topic, nil
		}
		if count < maxTopics {
			if err := m.create(topic); err != nil {
				return "", err
			}
			cs.count++
			return topic, nil
		}
		cs.overUntil = now.Add(m.opts.CapRecheck)
	}

	// The default template, else the built-in tetragon.{type}: never the
	// capped template itself.
	final, ok := route.Rerender(topic, template, m.def)
	if !ok || final == topic {
		final, ok = route.Rerender(topic, template, route.DefaultTopic)
		ok = ok && final != topic
	}
	capErr := fmt.Errorf("%w: template %q has %d topics (max %d), %s not created", ErrTopicCap, template, count, maxTopics, topic)
	if ok {
		if err := m.create(final); err != nil {
			return "", fmt.Errorf("%v; default topic: %w", capErr, err)
		}
		capErr = fmt.Errorf("%w; rerouted to %s", capErr, final)
	} else {
		final = ""
	}
	m.mu.Lock()
	evictOne(m.over)
	m.over[topic] = overEntry{final: final, err: capErr, until: time.Now().Add(m.opts.CapRecheck)}
	m.mu.Unlock()
	return final, capErr
}

// countTemplate lists the cluster's topics and counts those template
// matches (every existing topic of it is usable: all are remembered, so a
// later event for one never reads as over the cap), and whether topic is
// one of them.
func (m *Manager) countTemplate(cs *capState, template, topic string) (count int, exists bool, err error) {
	md, err := m.admin.DescribeTopics(nil) // nil: every topic
	if err != nil {
		return 0, false, fmt.Errorf("list topics to count template %q: %w", template, err)
	}
	var matching []string
	for _, t := range md {
		if t.Err != sarama.ErrNoError {
			continue
		}
		if t.Name == topic {
			exists = true
		}
		if cs.match(t.Name) {
			count++
			matching = append(matching, t.Name)
		}
	}
	m.mu.Lock()
	for _, t := range matching {
		m.known[t] = struct{}{}
	}
	m.mu.Unlock()
	return count, exists, nil
}

// failedLocked classifies a failed resolution: a refusal is remembered for
// CapRecheck (asking Kafka again for every event would cost a round trip
// each); a passing error extends the topic's failure streak and becomes
// ErrRetriesExhausted once the streak is older than the budget.
func (m *Manager) failedLocked(topic string, err error) error {
	now := time.Now()
	if !Permanent(err) {
		s, ok := m.failing[topic]
		if !ok {
			evictOne(m.failing)
			s = &streak{first: now}
			m.failing[topic] = s
		}
		s.attempts++
		if s.attempts < minAttempts || now.Sub(s.first) < m.opts.RetryBudget {
			return err
		}
		err = fmt.Errorf("%w: %s failing for %s (%d attempts): %w", ErrRetriesExhausted, topic,
			now.Sub(s.first).Round(time.Second), s.attempts, err)
	}
	delete(m.failing, topic)
	evictOne(m.over)
	m.over[topic] = overEntry{err: err, until: now.Add(m.opts.CapRecheck)}
	return err
}

// evictOne makes room for one more entry in a bounded memory. Which entry
// goes does not matter for correctness: a forgotten verdict is asked again,
// a forgotten streak starts again.
func evictOne[V any](m map[string]V) {
	if len(m) < maxRemembered {
		return
	}
	for k := range m {
		delete(m, k)
		return
	}
}

func (m *Manager) capState(template string) (*capState, error) {
	m.capMu.Lock()
	defer m.capMu.Unlock()
	if cs, ok := m.capLocks[template]; ok {
		return cs, nil
	}
	match, err := route.TemplateMatcher(template)
	if err != nil {
		return nil, fmt.Errorf("topic cap of template %q: %w", template, err)
	}
	cs := &capState{match: match}
	m.capLocks[template] = cs
	return cs, nil
}

// create makes topic exist (a concurrent creation elsewhere is fine) and
// waits until its partitions have leaders.
func (m *Manager) create(topic string) error {
	if m.isKnown(topic) {
		return nil
	}
	created, _, err := kafkaclient.EnsureTopic(m.admin, topic, m.spec)
	if err != nil {
		if kafkaclient.TopicRefused(err) {
			return fmt.Errorf("output topic: %w: %w", ErrTopicRefused, err)
		}
		return fmt.Errorf("output topic: %w", err)
	}
	if err := m.waitReady(topic); err != nil {
		return err
	}
	limit := m.specLimit()
	if !created {
		limit = m.checkLimit(topic)
	}
	m.mu.Lock()
	evictOne(m.limits)
	m.limits[topic] = limit
	m.mu.Unlock()
	m.markKnown(topic)
	return nil
}

const maxMessageBytes = "max.message.bytes"

func (m *Manager) specLimit() int {
	n, _ := strconv.Atoi(m.spec.Configs[maxMessageBytes])
	return n
}

// checkLimit reads the max.message.bytes of a topic someone else created:
// one below ours refuses records (and batches of small ones) that our own
// topics take. It is worth a warning, and the producer sends records
// larger than it in batches of their own (Limit).
func (m *Manager) checkLimit(topic string) int {
	configs, err := kafkaclient.TopicConfigs(m.admin, topic, maxMessageBytes)
	if err != nil {
		m.opts.Log.Warn("cannot read an existing output topic's max.message.bytes", "topic", topic, "err", err)
		return 0
	}
	n, err := strconv.Atoi(configs[maxMessageBytes])
	if err != nil {
		return 0
	}
	if want := m.specLimit(); n < want {
		m.opts.Log.Warn("an existing output topic's max.message.bytes is below the fanout's: larger records go to the DLQ (output_rejected) and batches are re-sent one record at a time; raise it",
			"topic", topic, maxMessageBytes, n, "want_at_least", want)
	}
	return n
}

// Limit is topic's max.message.bytes as Ensure found it (0: unknown).
func (m *Manager) Limit(topic string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.limits[topic]
}

func (m *Manager) waitReady(topic string) error {
	deadline := time.Now().Add(m.opts.ReadyTimeout)
	wait := 20 * time.Millisecond
	for {
		md, err := m.admin.DescribeTopics([]string{topic})
		if err == nil && ready(md, topic) {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("partitions without a leader")
			}
			return fmt.Errorf("output topic %s not ready after %s: %w", topic, m.opts.ReadyTimeout, err)
		}
		time.Sleep(wait)
		wait = min(wait*2, 500*time.Millisecond)
	}
}

func ready(md []*sarama.TopicMetadata, topic string) bool {
	for _, t := range md {
		if t.Name != topic || t.Err != sarama.ErrNoError || len(t.Partitions) == 0 {
			continue
		}
		for _, p := range t.Partitions {
			if p.Err != sarama.ErrNoError || p.Leader < 0 {
				return false
			}
		}
		return true
	}
	return false
}

func (m *Manager) isKnown(topic string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.known[topic]
	return ok
}

func (m *Manager) markKnown(topic string) {
	m.mu.Lock()
	m.known[topic] = struct{}{}
	delete(m.over, topic)
	delete(m.failing, topic)
	m.mu.Unlock()
}
