package processor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/fanoutcfg"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// BenchmarkBrokerTableRecovery measures rebuilding the dedup table from its
// changelog, which is what a partition costs when it moves to a replica
// without it (no hot standby, memory storage): b.N entries over 4
// partitions. Reports entries/s and the seconds the slowest partition took.
//
//	KAFKA_BROKERS=... go test -run x -bench TableRecovery -benchtime 200000x ./processor
func BenchmarkBrokerTableRecovery(b *testing.B) {
	brokers := kafkatest.Brokers(b)
	raw := kafkatest.CreateTopic(b, brokers, 4, nil)
	group := strings.ReplaceAll(raw, "test-", "bench-")
	var cfg fanoutcfg.Config
	if err := envconfig.ParseEnv(&cfg, map[string]string{"KAFKA_BROKERS": strings.Join(brokers, ","), "RAW_TOPIC": raw,
		"FANOUT_GROUP": group, "DLQ_TOPIC": group + "-dlq", "REPLICA_ID": "bench", "LOG_LEVEL": "warn"}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		a := kafkatest.Admin(b, brokers)
		_ = a.DeleteConsumerGroup(group)
		_ = a.DeleteTopic(group + "-table")
		_ = a.DeleteTopic(group + "-dlq")
	})
	kafkatest.CreateNamedTopic(b, brokers, cfg.TableTopic(), &sarama.TopicDetail{NumPartitions: 4, ReplicationFactor: -1,
		ConfigEntries: map[string]*string{"cleanup.policy": ptr(fanoutcfg.TableCleanupPolicy),
			"retention.ms": ptr(fmt.Sprint(cfg.TableRetention().Milliseconds())), "segment.ms": ptr(fmt.Sprint(cfg.TableSegment().Milliseconds()))}})

	sc := producerConfig(b)
	p, err := sarama.NewAsyncProducer(brokers, sc)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for range p.Successes() {
		}
	}()
	go func() {
		for e := range p.Errors() {
			b.Error(e)
		}
	}()
	now := time.Now().UnixNano()
	for i := range b.N {
		p.Input() <- &sarama.ProducerMessage{Topic: cfg.TableTopic(), Key: sarama.StringEncoder(fmt.Sprintf("%032x", i)),
			Value: sarama.ByteEncoder(dedup.AppendEntry(nil, &dedup.Entry{Partition: int32(i % 4), Offset: int64(i), SeenNS: now}))}
	}
	p.Close()

	b.ResetTimer()
	reg := prometheus.NewRegistry()
	r, err := New(&cfg, reg, testLogger(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- r.Run(ctx) }()
	for r.ProcessorReady() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	b.StopTimer()
	var sum, count float64
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "fanout_table_recovery_seconds" {
			sum, count = mf.GetMetric()[0].GetHistogram().GetSampleSum(), float64(mf.GetMetric()[0].GetHistogram().GetSampleCount())
		}
	}
	if got := r.Store().Entries(); got != int64(b.N) {
		b.Errorf("recovered %d entries, want %d", got, b.N)
	}
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/took.Seconds(), "entries/s")
	b.ReportMetric(sum/count, "s/partition")
}

// BenchmarkBrokerThroughput is the whole fanout on a real broker: b.N raw
// exec events on 4 partitions, one replica (memory table), from start to
// the last output. Reports events/s; CPU per event is in the profile.
//
//	KAFKA_BROKERS=... go test -run x -bench Throughput -benchtime 50000x ./processor
func BenchmarkBrokerThroughput(b *testing.B) {
	e := newEnv(b, 4)
	orig := events(0, b.N)
	e.produce(orig)
	b.ResetTimer()
	start := time.Now()
	p := e.start("bench", map[string]string{"KAFKA_LINGER": "5ms"}, Options{})
	waitFor(b, 10*time.Minute, "all outputs", func() bool { return e.outputCount() >= int64(b.N) })
	took := time.Since(start)
	b.StopTimer()
	_ = p.stop()
	b.ReportMetric(float64(b.N)/took.Seconds(), "events/s")
}
