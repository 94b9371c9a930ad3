package processor

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/IBM/sarama"
)

// Sink delivers output and DLQ records. done is called exactly once, from
// another goroutine, when the record is acked (nil) or failed for good.
// Tests put a delaying Sink in front to make acks arrive out of order.
type Sink interface {
	Send(msg *sarama.ProducerMessage, done func(error))
}

// Producer is the one AsyncProducer of the fanout's outputs (static default
// topics, per-namespace topics, the DLQ): topics known only at run time
// cannot go through goka's Emit, which panics for undeclared topics. Each
// Send is tied to the input message's commit by the caller (DeferCommit).
type Producer struct {
	ap  sarama.AsyncProducer
	sem chan struct{}
	wg  sync.WaitGroup

	closeOnce sync.Once
}

// NewProducer starts a producer; cfg must be a no-loss producer config
// (kafkaclient.ApplyProducer). At most maxInflight records await acks; Send
// blocks beyond that, which holds the partition's callback back.
func NewProducer(brokers []string, cfg *sarama.Config, maxInflight int) (*Producer, error) {
	ap, err := sarama.NewAsyncProducer(brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("output producer: %w", err)
	}
	p := &Producer{ap: ap, sem: make(chan struct{}, maxInflight)}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		for m := range ap.Successes() {
			p.finish(m, nil)
		}
	}()
	go func() {
		defer p.wg.Done()
		for e := range ap.Errors() {
			p.finish(e.Msg, e.Err)
		}
	}()
	return p, nil
}

func (p *Producer) finish(m *sarama.ProducerMessage, err error) {
	<-p.sem
	if done, ok := m.Metadata.(func(error)); ok {
		done(err)
	}
}

// Send queues msg; see Sink.
func (p *Producer) Send(msg *sarama.ProducerMessage, done func(error)) {
	p.sem <- struct{}{}
	msg.Metadata = done
	p.ap.Input() <- msg
}

// Close flushes what is queued and waits for every done callback. Call it
// only after the goka processor stopped: nothing may Send afterwards.
func (p *Producer) Close() error {
	p.closeOnce.Do(func() {
		p.ap.AsyncClose()
		p.wg.Wait()
	})
	return nil
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
