// Package redrive re-produces DLQ messages to the raw topic (`fanout
// dlq-redrive`): the original key, value and headers, minus the error
// headers, plus tf-redrive=<reason> so the fanout processes the copy even
// though its event id is still in the dedup table from the first attempt.
//
// Only messages whose reason is retryable are re-produced by default
// (topic_unavailable: the output topic could not be created, e.g. the topic
// cap was reached or the admin call failed). Decode failures (undecodable,
// empty_event), output_rejected, missing_event_id and invalid_event_id fail
// the same way again; name them with -reasons after fixing the cause (a newer fanout
// that decodes them, a larger max.message.bytes).
//
// Progress is committed under the consumer group <FANOUT_GROUP>-dlq-redrive,
// so a second run continues where the first stopped and never re-produces
// a message twice (unless it crashed between producing and committing:
// then the fanout sees a duplicate with the tf-redrive marker and emits it
// once more, with the same key). Each run reads up to the DLQ's high-water
// marks taken at its start.
package redrive

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/headers"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
	"github.com/tetragon-fanout/tetragon-fanout/shared/telemetry"
)

// Header is the marker on re-produced messages (processor.RedriveHeader).
const Header = "tf-redrive"

// Retryable are the DLQ reasons re-produced by default.
var Retryable = []string{"topic_unavailable"}

// Config is what dlq-redrive reads from the environment.
type Config struct {
	Group string `env:"FANOUT_GROUP" envDefault:"tetragon-fanout" help:"fanout group; progress is committed as <FANOUT_GROUP>-dlq-redrive"`
	kafkaclient.RawTopicEnv
	kafkaclient.DLQTopicEnv

	Kafka    kafkaclient.Config
	Producer kafkaclient.ProducerConfig
	Log      telemetry.LogConfig
}

// Validate checks the settings.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, c.Kafka.Validate(), c.Log.Validate())
	if c.Group == "" {
		errs = append(errs, envconfig.Errorf("FANOUT_GROUP", "is empty"))
	}
	errs = append(errs, kafkaclient.CheckTopic("RAW_TOPIC", c.RawTopic), kafkaclient.CheckTopic("DLQ_TOPIC", c.DLQTopic))
	if c.DLQTopic == c.RawTopic {
		errs = append(errs, envconfig.Errorf("DLQ_TOPIC", "must differ from RAW_TOPIC (%s)", c.RawTopic))
	}
	errs = append(errs, c.Producer.Validate(1))
	return errors.Join(errs...)
}

// ProgressGroup is the consumer group that records how far redrive got.
func (c *Config) ProgressGroup() string { return c.Group + "-dlq-redrive" }

// Options of one run.
type Options struct {
	// Reasons to re-produce; empty: Retryable.
	Reasons []string
	// DryRun counts what would be re-produced; nothing is produced or committed.
	DryRun bool
}

// Result counts one run by reason.
type Result struct {
	Redriven map[string]int
	Skipped  map[string]int
}

func (r Result) String() string {
	s := ""
	for _, k := range slices.Sorted(maps.Keys(r.Redriven)) {
		s += fmt.Sprintf("redriven\treason=%s\t%d\n", k, r.Redriven[k])
	}
	for _, k := range slices.Sorted(maps.Keys(r.Skipped)) {
		s += fmt.Sprintf("skipped\treason=%s\t%d\n", k, r.Skipped[k])
	}
	return s
}

// Run reads the DLQ from the committed progress up to its current end and
// re-produces the messages whose reason is selected.
func Run(cfg *Config, o Options) (Result, error) {
	res := Result{Redriven: map[string]int{}, Skipped: map[string]int{}}
	reasons := o.Reasons
	if len(reasons) == 0 {
		reasons = Retryable
	}
	sc, err := cfg.Kafka.Sarama("tetragon-fanout-dlq-redrive")
	if err != nil {
		return res, err
	}
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Return.Errors = true
	if err := kafkaclient.ApplyProducer(sc, cfg.Producer); err != nil {
		return res, err
	}
	client, err := sarama.NewClient(cfg.Kafka.Brokers, sc)
	if err != nil {
		return res, fmt.Errorf("kafka: %w", err)
	}
	defer client.Close()
	parts, err := client.Partitions(cfg.DLQTopic)
	if err != nil {
		return res, fmt.Errorf("DLQ topic %s: %w", cfg.DLQTopic, err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return res, err
	}
	defer consumer.Close()
	om, err := sarama.NewOffsetManagerFromClient(cfg.ProgressGroup(), client)
	if err != nil {
		return res, err
	}
	defer om.Close()
	var producer sarama.SyncProducer
	if !o.DryRun {
		if producer, err = sarama.NewSyncProducerFromClient(client); err != nil {
			return res, err
		}
		defer producer.Close()
	}

	for _, p := range parts {
		if err := runPartition(cfg, o, reasons, client, consumer, om, producer, p, &res); err != nil {
			return res, err
		}
	}
	if !o.DryRun {
		om.Commit()
	}
	return res, nil
}

func runPartition(cfg *Config, o Options, reasons []string, client sarama.Client, consumer sarama.Consumer,
	om sarama.OffsetManager, producer sarama.SyncProducer, p int32, res *Result) error {
	hwm, err := client.GetOffset(cfg.DLQTopic, p, sarama.OffsetNewest)
	if err != nil {
		return fmt.Errorf("end of %s/%d: %w", cfg.DLQTopic, p, err)
	}
	pom, err := om.ManagePartition(cfg.DLQTopic, p)
	if err != nil {
		return err
	}
	defer pom.AsyncClose()
	start, _ := pom.NextOffset()
	if start == sarama.OffsetOldest {
		if start, err = client.GetOffset(cfg.DLQTopic, p, sarama.OffsetOldest); err != nil {
			return err
		}
	}
	if start >= hwm {
		return nil
	}
	pc, err := consumer.ConsumePartition(cfg.DLQTopic, p, start)
	if err != nil {
		return fmt.Errorf("read %s/%d from %d: %w", cfg.DLQTopic, p, start, err)
	}
	defer pc.AsyncClose()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for {
		var m *sarama.ConsumerMessage
		select {
		case m = <-pc.Messages():
		case err := <-pc.Errors():
			return fmt.Errorf("read %s/%d: %w", cfg.DLQTopic, p, err)
		case <-timeout.C:
			return fmt.Errorf("read %s/%d: no message for a minute before offset %d", cfg.DLQTopic, p, hwm)
		}
		timeout.Reset(time.Minute)
		reason := headerValue(m.Headers, headers.ErrorReason)
		if slices.Contains(reasons, reason) || slices.Contains(reasons, "all") {
			res.Redriven[reason]++
			if !o.DryRun {
				if _, _, err := producer.SendMessage(redriven(cfg.RawTopic, m, reason)); err != nil {
					return fmt.Errorf("re-produce %s/%d@%d: %w", cfg.DLQTopic, p, m.Offset, err)
				}
			}
		} else {
			res.Skipped[reason]++
		}
		if !o.DryRun {
			pom.MarkOffset(m.Offset+1, "")
		}
		if m.Offset+1 >= hwm {
			return nil
		}
	}
}

func headerValue(hs []*sarama.RecordHeader, k string) string {
	for _, h := range hs {
		if h != nil && string(h.Key) == k {
			return string(h.Value)
		}
	}
	return ""
}

// redriven is the raw message again: same key, value and headers, without
// the error headers, with the redrive marker.
func redriven(topic string, m *sarama.ConsumerMessage, reason string) *sarama.ProducerMessage {
	out := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(m.Value)}
	if m.Key != nil {
		out.Key = sarama.ByteEncoder(m.Key)
	}
	for _, h := range m.Headers {
		switch string(h.Key) {
		case headers.ErrorReason, headers.Error, Header:
			continue
		}
		out.Headers = append(out.Headers, *h)
	}
	out.Headers = append(out.Headers, sarama.RecordHeader{Key: []byte(Header), Value: []byte(reason)})
	return out
}
