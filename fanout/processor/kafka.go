package processor

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/commit"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/fanoutcfg"
	"github.com/tetragon-fanout/tetragon-fanout/shared/backoff"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
)

// Configs are the sarama configurations of every client, built from one
// base (kafkaclient: version, TLS, SASL, no auto-creation) so goka's own
// clients get the same security and version as ours.
type Configs struct {
	// Consumer: the consumer group, the table-recovery consumer, the topic
	// manager and admin clients.
	Consumer *sarama.Config
	// Producer: goka's table producer and the output producer. Idempotent,
	// acks from all in-sync replicas, KAFKA_LINGER instead of goka's 100ms.
	Producer *sarama.Config
}

// BuildConfigs fixes goka's defaults that are wrong for us: offsets start
// at the oldest (or FANOUT_START_OFFSET), acks=all instead of WaitForLocal,
// the configured broker version instead of 2.0.0.
func BuildConfigs(cfg *fanoutcfg.Config) (Configs, error) {
	base, err := cfg.Kafka.Sarama(cfg.ClientID())
	if err != nil {
		return Configs{}, err
	}
	base.Consumer.Return.Errors = true // goka reads the errors channel
	base.Consumer.Offsets.Initial = cfg.Start().Initial
	base.Consumer.MaxProcessingTime = time.Second
	// goka verifies that input topics and the table are assigned together;
	// its strategy is eager, which the commit wrapper relies on too.
	base.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{goka.CopartitioningStrategy}
	base.Consumer.Group.Rebalance.Strategy = nil

	prod := *base
	if err := kafkaclient.ApplyProducer(&prod, cfg.Producer); err != nil {
		return Configs{}, err
	}
	// Compression is the largest part of a replica's CPU per event. zstd
	// level 1 spends a third less on it than sarama's default (3) for ~7%
	// more output bytes (profiles in BENCHMARKS.md).
	prod.Producer.CompressionLevel = cfg.CompressionLevel
	if err := base.Validate(); err != nil {
		return Configs{}, fmt.Errorf("kafka consumer config: %w", err)
	}
	if err := prod.Validate(); err != nil {
		return Configs{}, fmt.Errorf("kafka producer config: %w", err)
	}
	return Configs{Consumer: base, Producer: &prod}, nil
}

// clone copies c for one client (goka's *WithConfig builders mutate the
// config they were given, shared by every client they build).
func clone(c *sarama.Config, clientID string) *sarama.Config {
	cc := *c
	if clientID != "" {
		cc.ClientID = clientID
	}
	return &cc
}

// GokaOptions returns the processor options that route every goka client
// through our configs: consumer group (wrapped by the offset-order commit
// wrapper), consumer, producer (with the table partitioner), topic manager.
func (c Configs) GokaOptions(clientID string, tableReplication int, reg *commit.Registry, ordered bool) []goka.ProcessorOption {
	// Anything goka builds with its defaults gets our config too.
	goka.ReplaceGlobalConfig(clone(c.Producer, ""))
	cg := func(brokers []string, group, id string) (sarama.ConsumerGroup, error) {
		return sarama.NewConsumerGroup(brokers, group, clone(c.Consumer, id))
	}
	cons := func(brokers []string, id string) (sarama.Consumer, error) {
		return sarama.NewConsumer(brokers, clone(c.Consumer, id))
	}
	prod := func(brokers []string, id string, hasher func() hash.Hash32) (goka.Producer, error) {
		pc := clone(c.Producer, id)
		pc.Producer.Partitioner = tablePartitioner(hasher)
		return goka.NewProducer(brokers, pc)
	}
	tm := func(brokers []string) (goka.TopicManager, error) {
		tmc := goka.NewTopicManagerConfig()
		tmc.Table.Replication = tableReplication
		tmc.Table.CleanupPolicy = fanoutcfg.TableCleanupPolicy
		// The fanout creates the changelog itself (retention, segment.ms);
		// goka only checks it and fails on any difference.
		tmc.NoCreate = true
		tmc.MismatchBehavior = goka.TMConfigMismatchBehaviorFail
		return goka.NewTopicManager(brokers, clone(c.Consumer, clientID+"-topics"), tmc)
	}
	cgb := commit.WrapBuilder(cg, reg)
	if !ordered {
		cgb = commit.WrapBuilderUnordered(cg, reg)
	}
	return []goka.ProcessorOption{
		goka.WithClientID(clientID),
		goka.WithConsumerGroupBuilder(cgb),
		goka.WithConsumerSaramaBuilder(cons),
		goka.WithProducerBuilder(prod),
		goka.WithTopicManagerBuilder(tm),
	}
}

// tablePartitioner is goka's hash partitioner, except for table writes that
// carry tablePartitionHeader: those go to the raw partition they came from.
func tablePartitioner(hasher func() hash.Hash32) sarama.PartitionerConstructor {
	return func(topic string) sarama.Partitioner {
		return &headerPartitioner{hash: sarama.NewCustomHashPartitioner(hasher)(topic)}
	}
}

type headerPartitioner struct{ hash sarama.Partitioner }

func (p *headerPartitioner) Partition(m *sarama.ProducerMessage, n int32) (int32, error) {
	for _, h := range m.Headers {
		if string(h.Key) != tablePartitionHeader {
			continue
		}
		v, err := strconv.ParseInt(string(h.Value), 10, 32)
		if err != nil || v < 0 || int32(v) >= n {
			return -1, fmt.Errorf("table write for partition %q of %d partitions", h.Value, n)
		}
		return int32(v), nil
	}
	return p.hash.Partition(m, n)
}

func (p *headerPartitioner) RequiresConsistency() bool { return true }

// Admin is a cluster admin with its client, for the start-up checks.
type Admin struct {
	Client sarama.Client
	Admin  sarama.ClusterAdmin
}

// NewAdmin connects an admin client.
func NewAdmin(brokers []string, c *sarama.Config, clientID string) (*Admin, error) {
	cl, err := sarama.NewClient(brokers, clone(c, clientID))
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	ad, err := sarama.NewClusterAdminFromClient(cl)
	if err != nil {
		_ = cl.Close()
		return nil, fmt.Errorf("kafka admin: %w", err)
	}
	return &Admin{Client: cl, Admin: ad}, nil
}

// adminCloseTimeout bounds an admin client's close: sarama's waits for the
// broker connections' in-flight requests, which with a broker gone end
// only at the network timeouts (30s each).
const adminCloseTimeout = 5 * time.Second

// Close closes the admin and its client, waiting at most adminCloseTimeout.
func (a *Admin) Close() error { return a.CloseWithin(adminCloseTimeout) }

// CloseWithin is Close waiting at most d (the connections are left to the
// process exit after that).
func (a *Admin) CloseWithin(d time.Duration) error {
	return within("kafka admin close", d, a.Admin.Close)
}

// WaitRawTopic returns the raw topic's partition count once it exists. The
// fanout never creates it (its partition count is the ingester's decision,
// fixed for the life of the group); until it exists the fanout is not ready
// and missing(true) is reported. It also waits out an unreachable broker.
func WaitRawTopic(ctx context.Context, log *slog.Logger, connect func() (*Admin, error), topic string,
	maxWait time.Duration, missing func(bool)) (int32, error) {
	b := backoff.New(250*time.Millisecond, maxWait)
	for {
		n, err := rawPartitions(connect, topic)
		switch {
		case err == nil && n > 0:
			missing(false)
			return n, nil
		case err == nil:
			missing(true)
			if b.Attempts()%10 == 0 {
				log.Warn("raw topic does not exist; waiting for it (the fanout never creates it)", "topic", topic)
			}
		default:
			if b.Attempts()%10 == 0 {
				log.Warn("cannot reach Kafka to look up the raw topic; retrying", "topic", topic, "err", err)
			}
		}
		if !b.Sleep(ctx) {
			return 0, ctx.Err()
		}
	}
}

func rawPartitions(connect func() (*Admin, error), topic string) (int32, error) {
	a, err := connect()
	if err != nil {
		return 0, err
	}
	defer a.Close()
	n, ok, err := kafkaclient.TopicPartitions(a.Admin, topic)
	if err != nil || !ok {
		return 0, err
	}
	return n, nil
}

// errFatal marks errors a restart cannot fix (a table co-partitioned
// with another raw topic, a changelog with the wrong settings).
type errFatal struct{ error }

func (e errFatal) Unwrap() error { return e.error }

// IsFatal reports whether err needs an operator, not a restart.
func IsFatal(err error) bool {
	var f errFatal
	return errors.As(err, &f)
}

// EnsureTable creates <group>-table co-partitioned with the raw topic with
// our retention and segment settings, or checks the partition count of an
// existing one (goka then checks its other settings and fails on any
// difference).
func EnsureTable(a *Admin, cfg *fanoutcfg.Config, partitions int32) (bool, error) {
	created, n, err := kafkaclient.EnsureTopic(a.Admin, cfg.TableTopic(), cfg.TableSpec(partitions))
	if err != nil {
		return false, err
	}
	if n == 0 {
		// created a moment ago by another replica; metadata lags behind
		return false, fmt.Errorf("table topic %s has no partitions yet", cfg.TableTopic())
	}
	if n != partitions {
		return false, errFatal{fmt.Errorf("table topic %s has %d partitions but raw topic %s has %d: the table must be co-partitioned with the raw topic (a raw topic's partition count is fixed for the life of a group; use a new FANOUT_GROUP)",
			cfg.TableTopic(), n, cfg.RawTopic, partitions)}
	}
	return created, nil
}

// WaitTopicReady waits until every partition of a topic just created has a
// leader, so goka's first offset lookups do not meet NOT_LEADER errors. It
// returns ctx's error as soon as ctx ends (SIGTERM during start-up).
func WaitTopicReady(ctx context.Context, a *Admin, topic string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := a.Client.RefreshMetadata(topic)
		if err == nil {
			var parts []int32
			if parts, err = a.Client.Partitions(topic); err == nil && len(parts) == 0 {
				err = fmt.Errorf("no partitions yet")
			}
			for _, p := range parts {
				if _, lerr := a.Client.Leader(topic, p); lerr != nil {
					err = lerr
					break
				}
				if _, oerr := a.Client.GetOffset(topic, p, sarama.OffsetNewest); oerr != nil {
					err = oerr
					break
				}
			}
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s not ready after %s: %w", topic, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ResolveStartTime makes a NEW group start at the first offsets at or
// after t: when the group has no committed offset on any partition, it
// commits, per partition, the offset Kafka finds for t (ListOffsets by
// timestamp), or the high-water mark when nothing is that recent. An
// existing group keeps its offsets. It reports whether it committed.
func ResolveStartTime(a *Admin, group, topic string, partitions int32, t time.Time) (bool, error) {
	parts := make([]int32, partitions)
	for i := range parts {
		parts[i] = int32(i)
	}
	resp, err := a.Admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: parts})
	if err != nil {
		return false, fmt.Errorf("committed offsets of group %s: %w", group, err)
	}
	for _, b := range resp.Blocks[topic] {
		if b.Offset >= 0 {
			return false, nil // not a new group
		}
	}
	om, err := sarama.NewOffsetManagerFromClient(group, a.Client)
	if err != nil {
		return false, fmt.Errorf("offset manager for %s: %w", group, err)
	}
	poms := make([]sarama.PartitionOffsetManager, 0, partitions)
	for _, p := range parts {
		off, err := a.Client.GetOffset(topic, p, t.UnixMilli())
		if err == nil && off < 0 {
			off, err = a.Client.GetOffset(topic, p, sarama.OffsetNewest)
		}
		if err != nil {
			_ = om.Close()
			return false, fmt.Errorf("offset of %s/%d at %s: %w", topic, p, t.Format(time.RFC3339), err)
		}
		pom, err := om.ManagePartition(topic, p)
		if err != nil {
			_ = om.Close()
			return false, fmt.Errorf("offset manager for %s/%d: %w", topic, p, err)
		}
		poms = append(poms, pom)
		pom.MarkOffset(off, "FANOUT_START_OFFSET="+t.Format(time.RFC3339))
	}
	om.Commit()
	_ = om.Close() // flushes again and closes every partition's error channel
	var errs []error
	for _, p := range poms {
		for err := range p.Errors() {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return false, fmt.Errorf("commit start offsets of %s: %w", group, err)
	}
	// A commit from outside the group is refused once a member has joined;
	// then the members' own offsets stand, which is fine.
	return true, nil
}
