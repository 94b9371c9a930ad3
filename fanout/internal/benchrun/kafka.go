package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/fanoutcfg"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
)

// cluster is the broker under test: an admin client, and its log dirs for
// bytes on disk.
type cluster struct {
	brokers []string
	kcfg    kafkaclient.Config
	client  sarama.Client
	admin   sarama.ClusterAdmin
	// logDirs are the broker's log.dirs (KAFKA_DATA_DIR/node-*/logs).
	logDirs []string
	// brokerPID is the broker's pid (CPU per event), 0 if unknown.
	brokerPID int
}

func newCluster(brokers []string, dataDir string) (*cluster, error) {
	var kc kafkaclient.Config
	if err := envconfig.ParseEnv(&kc, map[string]string{"KAFKA_BROKERS": strings.Join(brokers, ",")}); err != nil {
		return nil, err
	}
	sc, err := kc.Sarama("benchrun")
	if err != nil {
		return nil, err
	}
	sc.Consumer.Return.Errors = true
	cl, err := sarama.NewClient(brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	ad, err := sarama.NewClusterAdminFromClient(cl)
	if err != nil {
		return nil, err
	}
	c := &cluster{brokers: brokers, kcfg: kc, client: cl, admin: ad}
	if dataDir != "" {
		c.logDirs, _ = filepath.Glob(filepath.Join(dataDir, "node-*", "logs"))
		if pids, _ := filepath.Glob(filepath.Join(dataDir, "node-*", "kafka.pid")); len(pids) == 1 {
			b, _ := os.ReadFile(pids[0])
			_, _ = fmt.Sscanf(string(b), "%d", &c.brokerPID)
		}
	}
	return c, nil
}

func (c *cluster) close() { _ = c.admin.Close() }

// messages is the sum of the high-water marks of topic (a fresh topic:
// the number of records in it).
func (c *cluster) messages(topic string) (int64, error) {
	if err := c.client.RefreshMetadata(topic); err != nil {
		return 0, err
	}
	parts, err := c.client.Partitions(topic)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, p := range parts {
		off, err := c.client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return 0, err
		}
		n += off
	}
	return n, nil
}

// topics lists topics whose name starts with prefix.
func (c *cluster) topics(prefix string) ([]string, error) {
	all, err := c.admin.ListTopics()
	if err != nil {
		return nil, err
	}
	var out []string
	for t := range all {
		if strings.HasPrefix(t, prefix) {
			out = append(out, t)
		}
	}
	return out, nil
}

var partitionDir = regexp.MustCompile(`^(.+)-[0-9]+$`)

// diskBytes is the size of the record log files (*.log: index files are
// preallocated and say nothing) of the topics match accepts, as the broker
// stores them: compressed batches with their headers.
func (c *cluster) diskBytes(match func(topic string) bool) int64 {
	var n int64
	for _, dir := range c.logDirs {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			m := partitionDir.FindStringSubmatch(e.Name())
			if !e.IsDir() || m == nil || !match(m[1]) {
				continue
			}
			files, _ := filepath.Glob(filepath.Join(dir, e.Name(), "*.log"))
			for _, f := range files {
				if st, err := os.Stat(f); err == nil {
					n += st.Size()
				}
			}
		}
	}
	return n
}

// recordSize samples up to limit records of topics (from the oldest) and
// returns their mean uncompressed size: key + value + header keys and
// values, what a producer hands to the compressor.
func (c *cluster) recordSize(topics []string, limit int) (float64, int, error) {
	cons, err := sarama.NewConsumerFromClient(c.client)
	if err != nil {
		return 0, 0, err
	}
	defer cons.Close()
	var total, count int
	per := limit / max1(len(topics), 1)
	for _, t := range topics {
		parts, err := c.client.Partitions(t)
		if err != nil {
			return 0, 0, err
		}
		perPart := max1(per/max1(len(parts), 1), 1)
		for _, p := range parts {
			hwm, err := c.client.GetOffset(t, p, sarama.OffsetNewest)
			if err != nil || hwm == 0 {
				continue
			}
			pc, err := cons.ConsumePartition(t, p, sarama.OffsetOldest)
			if err != nil {
				return 0, 0, err
			}
			got := 0
			timeout := time.After(30 * time.Second)
		loop:
			for got < perPart {
				select {
				case m := <-pc.Messages():
					total += len(m.Key) + len(m.Value)
					for _, h := range m.Headers {
						total += len(h.Key) + len(h.Value)
					}
					got++
					if m.Offset+1 >= hwm {
						break loop
					}
				case err := <-pc.Errors():
					_ = pc.Close()
					return 0, 0, err
				case <-timeout:
					break loop
				}
			}
			count += got
			_ = pc.Close()
		}
	}
	if count == 0 {
		return 0, 0, fmt.Errorf("no records sampled from %v", topics)
	}
	return float64(total) / float64(count), count, nil
}

func max1(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// fanoutConfig is the fanout's configuration for group, from the same
// defaults the binary uses (so the changelog we create is the one it
// would create).
func fanoutConfig(brokers []string, group, raw string) (*fanoutcfg.Config, error) {
	var cfg fanoutcfg.Config
	if err := envconfig.ParseEnv(&cfg, map[string]string{"KAFKA_BROKERS": strings.Join(brokers, ","),
		"FANOUT_GROUP": group, "RAW_TOPIC": raw, "DLQ_TOPIC": group + ".dlq", "REPLICA_ID": "benchrun"}); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// fillChangelog creates raw (empty, one partition) and group's table
// changelog as the fanout would, and writes n first-seen entries, all
// inside the dedup window, to its partition 0: what a replica that takes
// the partition must recover.
func (c *cluster) fillChangelog(group, raw string, n int) (*fanoutcfg.Config, time.Duration, error) {
	cfg, err := fanoutConfig(c.brokers, group, raw)
	if err != nil {
		return nil, 0, err
	}
	if _, _, err := kafkaclient.EnsureTopic(c.admin, raw, kafkaclient.TopicSpec{Partitions: 1, Replication: 1}); err != nil {
		return nil, 0, err
	}
	if _, _, err := kafkaclient.EnsureTopic(c.admin, cfg.TableTopic(), cfg.TableSpec(1)); err != nil {
		return nil, 0, err
	}
	sc, err := c.kcfg.Sarama("benchrun-changelog")
	if err != nil {
		return nil, 0, err
	}
	// The fanout's own producer settings (zstd, batching, idempotent).
	if err := kafkaclient.ApplyProducer(sc, cfg.Producer); err != nil {
		return nil, 0, err
	}
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	// The changelog keeps the broker's default max.message.bytes (1 MB),
	// and at this rate sarama fills a batch up to MaxMessageBytes (10 MB
	// uncompressed; entries compress ~1.2x) while the previous request is
	// in flight: keep batches under the topic's limit.
	sc.Producer.MaxMessageBytes = 1000000
	p, err := sarama.NewAsyncProducer(c.brokers, sc)
	if err != nil {
		return nil, 0, err
	}
	errs := make(chan error, 1)
	go func() {
		for range p.Successes() {
		}
	}()
	go func() {
		for e := range p.Errors() {
			select {
			case errs <- e.Err:
			default:
			}
		}
	}()
	start := time.Now()
	now := time.Now().UnixNano()
	for i := range n {
		// Keys look like event ids: 32 hex digits, spread like a hash.
		key := fmt.Sprintf("%016x%016x", uint64(i)*0x9e3779b97f4a7c15, uint64(i))
		p.Input() <- &sarama.ProducerMessage{Topic: cfg.TableTopic(), Partition: 0, Key: sarama.StringEncoder(key),
			Value: sarama.ByteEncoder(dedup.AppendEntry(nil, &dedup.Entry{Partition: 0, Offset: int64(i), SeenNS: now}))}
	}
	_ = p.Close()
	select {
	case err := <-errs:
		return nil, 0, fmt.Errorf("changelog fill: %w", err)
	default:
	}
	return cfg, time.Since(start), nil
}
