package processor

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

// Sink delivers output and DLQ records. done is called exactly once, from
// another goroutine, when the record is acked (nil) or failed for good.
// Tests put a delaying Sink in front to make acks arrive out of order.
type Sink interface {
	// Send may block while the in-flight limit is reached: it holds the
	// partition's callback back. Never call it from a done callback.
	Send(msg *sarama.ProducerMessage, done func(error))
	// FollowUp sends a record from a done callback (the DLQ record of a
	// rejected output). It never blocks and takes no in-flight slot: the
	// goroutine that runs done callbacks is the one that frees slots, so
	// waiting for one there wedges the producer once every in-flight record
	// is failing. Follow-ups are bounded by the records they follow.
	FollowUp(msg *sarama.ProducerMessage, done func(error))
}

// Producer is the one output pipeline of the fanout (static default topics,
// per-namespace topics, the DLQ): topics known only at run time cannot go
// through goka's Emit, which panics for undeclared topics. Each Send is
// tied to the input message's commit by the caller (DeferCommit).
//
// Two sarama producers: the batching one, and a "single" one that sends
// every record in a batch of its own. A broker refuses a whole batch with
// MESSAGE_TOO_LARGE when the batch exceeds the topic's max.message.bytes,
// so the small records batched with a large one would fail with it: a
// record refused in a batch is sent again alone, and only a record refused
// alone is too large. A record that alone exceeds its topic's limit (as the
// topic manager read it) goes to the single producer at once; whether its
// compressed batch fits is the broker's call.
type Producer struct {
	ap, single sarama.AsyncProducer
	sem        chan struct{}
	wg         sync.WaitGroup

	limit atomic.Pointer[func(topic string) int]

	// pending counts records not yet finished (sent, resent, follow-ups).
	pending  sync.WaitGroup
	mu       sync.Mutex
	queue    []queued // follow-ups and resends waiting for the drainer
	wake     chan struct{}
	closed   bool
	stopped  chan struct{}
	drainErr chan struct{}

	closeOnce sync.Once
	closeErr  error
}

type queued struct {
	msg    *sarama.ProducerMessage
	single bool
}

// flight is a record's bookkeeping, in ProducerMessage.Metadata.
type flight struct {
	done   func(error)
	slot   bool // holds an in-flight slot
	single bool // sent alone
}

// recordOverhead is a generous bound on a record's framing in a batch of
// its own (batch header 61 bytes, record varints and attributes).
const recordOverhead = 128

// NewProducer starts a producer; cfg must be a no-loss producer config
// (kafkaclient.ApplyProducer). At most maxInflight records await acks; Send
// blocks beyond that, which holds the partition's callback back.
func NewProducer(brokers []string, cfg *sarama.Config, maxInflight int) (*Producer, error) {
	ap, err := sarama.NewAsyncProducer(brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("output producer: %w", err)
	}
	sc := *cfg
	sc.Producer.Flush.MaxMessages = 1
	sc.Producer.Flush.Messages = 1
	sc.Producer.Flush.Bytes = 0
	sc.ClientID = cfg.ClientID + "-single"
	single, err := sarama.NewAsyncProducer(brokers, &sc)
	if err != nil {
		ap.AsyncClose()
		return nil, fmt.Errorf("output producer (single records): %w", err)
	}
	p := &Producer{ap: ap, single: single, sem: make(chan struct{}, maxInflight),
		wake: make(chan struct{}, 1), stopped: make(chan struct{}), drainErr: make(chan struct{})}
	for _, a := range []sarama.AsyncProducer{ap, single} {
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			for m := range a.Successes() {
				p.finish(m, nil)
			}
		}()
		go func() {
			defer p.wg.Done()
			for e := range a.Errors() {
				p.finish(e.Msg, e.Err)
			}
		}()
	}
	go p.drain()
	return p, nil
}

// SetLimits gives the producer each topic's max.message.bytes (0: unknown),
// for records that exceed it alone. Call before the first Send.
func (p *Producer) SetLimits(limit func(topic string) int) { p.limit.Store(&limit) }

func (p *Producer) tooLargeForBatch(m *sarama.ProducerMessage) bool {
	l := p.limit.Load()
	if l == nil {
		return false
	}
	limit := (*l)(m.Topic)
	return limit > 0 && recordSize(m) > limit
}

func recordSize(m *sarama.ProducerMessage) int {
	n := recordOverhead
	if m.Key != nil {
		n += m.Key.Length()
	}
	if m.Value != nil {
		n += m.Value.Length()
	}
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value) + 10
	}
	return n
}

func (p *Producer) finish(m *sarama.ProducerMessage, err error) {
	f, _ := m.Metadata.(*flight)
	if f == nil {
		return
	}
	if err != nil && !f.single && tooLarge(err) {
		// Refused in a batch: maybe for its batch-mates' size. Alone now;
		// it keeps its slot and its pending count.
		f.single = true
		p.enqueue(resendable(m), true)
		return
	}
	if f.slot {
		<-p.sem
	}
	// done may add a follow-up (pending.Add) before this record's Done, so
	// pending reaches zero only when nothing more can come.
	f.done(err)
	p.pending.Done()
}

// resendable copies what a producer message is made of: sarama keeps
// internal state (retries, flags) in the one it returned.
func resendable(m *sarama.ProducerMessage) *sarama.ProducerMessage {
	return &sarama.ProducerMessage{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: m.Headers, Metadata: m.Metadata}
}

func tooLarge(err error) bool {
	var kerr sarama.KError
	return errors.As(err, &kerr) && kerr == sarama.ErrMessageSizeTooLarge
}

// Send queues msg; see Sink.
func (p *Producer) Send(msg *sarama.ProducerMessage, done func(error)) {
	p.sem <- struct{}{}
	if !p.admit(done) {
		<-p.sem
		return
	}
	single := p.tooLargeForBatch(msg)
	msg.Metadata = &flight{done: done, slot: true, single: single}
	if single {
		p.enqueue(msg, true)
		return
	}
	p.ap.Input() <- msg
}

// FollowUp queues msg without waiting; see Sink.
func (p *Producer) FollowUp(msg *sarama.ProducerMessage, done func(error)) {
	if !p.admit(done) {
		return
	}
	single := p.tooLargeForBatch(msg)
	msg.Metadata = &flight{done: done, single: single}
	p.enqueue(msg, single)
}

// admit counts a new record, or fails it if the producer is closed: after
// Close the sarama producers' input channels are closed, and writing to
// them would panic.
func (p *Producer) admit(done func(error)) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		go done(errProducerClosed)
		return false
	}
	p.pending.Add(1)
	return true
}

var errProducerClosed = errors.New("output producer closed")

func (p *Producer) enqueue(m *sarama.ProducerMessage, single bool) {
	p.mu.Lock()
	p.queue = append(p.queue, queued{msg: m, single: single})
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// drain feeds queued records to sarama from its own goroutine, so the
// goroutines that read sarama's Successes and Errors never wait on its
// Input.
func (p *Producer) drain() {
	defer close(p.drainErr)
	for {
		p.mu.Lock()
		q := p.queue
		p.queue = nil
		p.mu.Unlock()
		for _, r := range q {
			in := p.ap.Input()
			if r.single {
				in = p.single.Input()
			}
			in <- r.msg
		}
		select {
		case <-p.wake:
		case <-p.stopped:
			return
		}
	}
}

// Close flushes what is queued and waits for every done callback, for at
// most timeout; it reports an error if that did not finish (records may be
// unacked: they were not committed, so the next run emits them again).
// Call it only after the goka processor stopped.
func (p *Producer) Close(timeout time.Duration) error {
	p.closeOnce.Do(func() {
		deadline := time.Now().Add(timeout)
		flushed := make(chan struct{})
		go func() { p.pending.Wait(); close(flushed) }()
		select {
		case <-flushed:
		case <-time.After(time.Until(deadline)):
			p.closeErr = fmt.Errorf("output producer: records still unacked after %s", timeout)
		}
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.stopped)
		if p.closeErr == nil {
			<-p.drainErr
			p.ap.AsyncClose()
			p.single.AsyncClose()
			done := make(chan struct{})
			go func() { p.wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(max(time.Until(deadline), time.Second)):
				p.closeErr = fmt.Errorf("output producer: close did not finish within %s", timeout)
			}
		}
		// After a timeout the drainer may still wait on a sarama input that
		// nobody reads: leave the sarama producers to the process exit
		// rather than close channels under it.
	})
	return p.closeErr
}

// permanent reports errors the broker will return again for the same record:
// retrying cannot help, so the raw message goes to the DLQ instead of
// stopping the pipeline for good. That includes a record larger than the
// producer's MaxMessageBytes, which sarama refuses before sending with a
// ConfigurationError, not ErrMessageSizeTooLarge: taken for transient, it
// restarted the processor on the same message forever (fanout/e2e).
func permanent(err error) bool {
	var ce sarama.ConfigurationError
	if errors.As(err, &ce) && strings.Contains(string(ce), "MaxMessageBytes") {
		return true
	}
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		switch kerr {
		case sarama.ErrMessageSizeTooLarge, sarama.ErrInvalidMessage, sarama.ErrInvalidMessageSize,
			sarama.ErrInvalidRecord, sarama.ErrInvalidTimestamp,
			sarama.ErrPolicyViolation:
			return true
		}
	}
	return errors.Is(err, sarama.ErrMessageSizeTooLarge)
}
