// Package fanoutcfg is the fanout's configuration: environment variables
// (shared/envconfig), their defaults, and the checks that turn a bad value
// into exit code 2 naming the variable.
package fanoutcfg

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/route"
	"github.com/tetragon-fanout/tetragon-fanout/shared/app"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
)

// Config is every setting of the fanout.
type Config struct {
	Group string `env:"FANOUT_GROUP" envDefault:"tetragon-fanout" help:"goka group: consumer group id, and the table topic <group>-table"`
	kafkaclient.RawTopicEnv
	RoutesFile string `env:"ROUTES_FILE" help:"routing rules (YAML); unset: every event to tetragon.{type}"`
	Cluster    string `env:"CLUSTER_NAME" allowEmpty:"true" help:"\"cluster\" of events that carry no cluster_name (empty: none)"`

	DedupWindow time.Duration `env:"DEDUP_WINDOW" envDefault:"10m" help:"an event id seen again within this window (at another raw offset) is a duplicate and dropped"`
	kafkaclient.DLQTopicEnv
	StartOffset string `env:"FANOUT_START_OFFSET" envDefault:"oldest" help:"where a NEW group starts: oldest, newest, or an RFC3339 time (first offsets at or after it)"`

	TableStorage         string        `env:"TABLE_STORAGE" envDefault:"memory" help:"local dedup table storage: memory (rebuilt from the changelog on every start) or leveldb (kept in STATE_DIR)"`
	StateDir             string        `env:"STATE_DIR" envDefault:"/var/lib/tetragon-fanout" help:"leveldb table files go in STATE_DIR/<group>/<REPLICA_ID>"`
	ReplicaID            string        `env:"REPLICA_ID" help:"this replica's name in STATE_DIR and the client id (default: the hostname)"`
	TableReplication     int16         `env:"TABLE_REPLICATION" envDefault:"1" help:"replication factor of the <group>-table changelog (1 fits the local single broker; use 3 in production)"`
	TableRetentionMargin time.Duration `env:"TABLE_RETENTION_MARGIN" envDefault:"10m" help:"changelog retention.ms is DEDUP_WINDOW plus this"`
	TableSweepInterval   time.Duration `env:"TABLE_SWEEP_INTERVAL" envDefault:"30s" help:"how often expired table entries are deleted locally"`
	HotStandby           bool          `env:"HOT_STANDBY" envDefault:"false" help:"keep every partition's table warm on every replica (fast failover, N times the table memory and changelog reads)"`

	OutputTopicPartitions  int32         `env:"OUTPUT_TOPIC_PARTITIONS" envDefault:"12" help:"partitions of output and DLQ topics the fanout creates"`
	OutputTopicReplication int16         `env:"OUTPUT_TOPIC_REPLICATION" envDefault:"1" help:"replication factor of created output and DLQ topics (use 3 in production)"`
	OutputTopicRetention   time.Duration `env:"OUTPUT_TOPIC_RETENTION" envDefault:"168h" help:"retention.ms of created output and DLQ topics (0: broker default)"`

	MaxInflight          int           `env:"FANOUT_MAX_INFLIGHT" envDefault:"4096" help:"outputs awaiting acks before the callback blocks"`
	RawTopicWaitMax      time.Duration `env:"RAW_TOPIC_WAIT_BACKOFF_MAX" envDefault:"30s" help:"longest wait between checks for a missing raw topic"`
	RestartBackoffMax    time.Duration `env:"PROCESSOR_RESTART_BACKOFF_MAX" envDefault:"30s" help:"longest wait before restarting a failed processor (it resumes from the last commit)"`
	TopicRetryBudget     time.Duration `env:"TOPIC_RETRY_BUDGET" envDefault:"2m" help:"how long an output topic Kafka cannot create for a passing reason (no controller, broker restart) holds its events back (not committed, retried); then they go to the default topic like a topic Kafka refuses"`
	ShutdownTimeout      time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"30s" help:"on SIGTERM, time to finish in-flight events, flush outputs, commit and close every client, whatever Kafka's state; past it the fanout exits 1 (what was not committed is processed again on the next start); keep under the pod's terminationGracePeriodSeconds"`
	LivenessStall        time.Duration `env:"LIVENESS_STALL_TIMEOUT" envDefault:"5m" help:"/healthz fails when, for this long, Kafka is reachable and there is work but no partition's commit moves (a wedged replica, for Kubernetes to restart); never while Kafka is unreachable"`
	PartitionChannelSize int           `env:"PARTITION_BUFFER" envDefault:"64" help:"messages buffered per partition in front of the callback"`
	CompressionLevel     int           `env:"KAFKA_COMPRESSION_LEVEL" envDefault:"1" help:"codec level of outputs and changelog: 1 is the fastest (zstd, gzip); 3 is zstd's default; lz4 and snappy ignore it"`

	// KAFKA_*, LOG_*, HTTP_ADDR, DEBUG_PPROF.
	app.Common

	// Parsed by Validate.
	start  StartOffset
	routes *route.Table
}

// StartOffset is the parsed FANOUT_START_OFFSET.
type StartOffset struct {
	// Initial is sarama.OffsetOldest or OffsetNewest: where a partition
	// without a committed offset starts.
	Initial int64
	// Time, when set, is where a new group starts instead.
	Time time.Time
}

// ParseStartOffset parses oldest, newest or an RFC3339 time.
func ParseStartOffset(s string) (StartOffset, error) {
	switch s {
	case "oldest", "":
		return StartOffset{Initial: sarama.OffsetOldest}, nil
	case "newest":
		return StartOffset{Initial: sarama.OffsetNewest}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return StartOffset{}, fmt.Errorf("want oldest, newest or an RFC3339 time such as 2026-01-02T15:04:05Z, got %q", s)
	}
	return StartOffset{Initial: sarama.OffsetOldest, Time: t}, nil
}

// Start is the parsed FANOUT_START_OFFSET (after Validate).
func (c *Config) Start() StartOffset { return c.start }

// Routes is the loaded ROUTES_FILE (after LoadFiles).
func (c *Config) Routes() *route.Table { return c.routes }

// TableTopic is goka's changelog topic of the group table.
func (c *Config) TableTopic() string { return c.Group + "-table" }

// TableDir is where this replica keeps LevelDB files.
func (c *Config) TableDir() string { return filepath.Join(c.StateDir, c.Group, c.ReplicaID) }

// ClientID names this replica's Kafka clients.
func (c *Config) ClientID() string {
	if c.Kafka.ClientID != "" {
		return c.Kafka.ClientID
	}
	return "tetragon-fanout-" + c.ReplicaID
}

// TableRetention is the changelog's retention.ms.
func (c *Config) TableRetention() time.Duration { return c.DedupWindow + c.TableRetentionMargin }

// TableSegment is the changelog's segment.ms: at most a quarter of the
// window, so expired entries leave with whole segments (the active segment
// is never deleted), and at least a minute.
func (c *Config) TableSegment() time.Duration {
	return max(c.DedupWindow/4, time.Minute)
}

// TableSpec is how the changelog is created, partitions excepted (the raw
// topic's count).
func (c *Config) TableSpec(partitions int32) kafkaclient.TopicSpec {
	return kafkaclient.TopicSpec{
		Partitions: partitions, Replication: c.TableReplication, Retention: c.TableRetention(),
		Configs: map[string]string{
			"cleanup.policy": TableCleanupPolicy,
			"segment.ms":     strconv.FormatInt(c.TableSegment().Milliseconds(), 10),
		},
	}
}

// TableCleanupPolicy: compaction keeps the latest entry per id, deletion
// drops segments older than the retention so the changelog stays bounded.
const TableCleanupPolicy = "compact,delete"

// OutputSpec is how output and DLQ topics are created.
func (c *Config) OutputSpec() kafkaclient.TopicSpec {
	return kafkaclient.TopicSpec{Partitions: c.OutputTopicPartitions, Replication: c.OutputTopicReplication,
		Retention: c.OutputTopicRetention}
}

// Validate checks every setting and fills the parsed fields. Each error
// names its variable.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) { errs = append(errs, err) } // errors.Join drops the nils
	add(c.ValidateCommon(c.CompressionLevel))

	if c.Group == "" || !kafkaclient.ValidTopic(c.TableTopic()) {
		add(envconfig.Errorf("FANOUT_GROUP", "%q: want [a-zA-Z0-9._-] (it names the topic %s-table)", c.Group, c.Group))
	}
	add(kafkaclient.CheckTopic("RAW_TOPIC", c.RawTopic))
	add(kafkaclient.CheckTopic("DLQ_TOPIC", c.DLQTopic))
	if c.DLQTopic == c.RawTopic {
		add(envconfig.Errorf("DLQ_TOPIC", "must differ from RAW_TOPIC (%s)", c.RawTopic))
	}
	if c.DedupWindow < time.Second {
		add(envconfig.Errorf("DEDUP_WINDOW", "must be at least 1s, got %s", c.DedupWindow))
	}
	start, err := ParseStartOffset(c.StartOffset)
	if err != nil {
		add(envconfig.Errorf("FANOUT_START_OFFSET", "%v", err))
	}
	c.start = start

	switch c.TableStorage {
	case dedup.Memory:
	case dedup.LevelDB:
		if c.StateDir == "" {
			add(envconfig.Errorf("STATE_DIR", "is empty; TABLE_STORAGE=leveldb needs a directory"))
		} else if !filepath.IsAbs(c.StateDir) {
			add(envconfig.Errorf("STATE_DIR", "%q: want an absolute path", c.StateDir))
		}
	default:
		add(envconfig.Errorf("TABLE_STORAGE", "must be memory or leveldb, got %q", c.TableStorage))
	}
	if c.ReplicaID == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			add(envconfig.Errorf("REPLICA_ID", "is empty and the hostname is unknown (%v); set it (the pod name)", err))
		}
		c.ReplicaID = h
	}
	if strings.ContainsAny(c.ReplicaID, `/\`) || c.ReplicaID == "." || c.ReplicaID == ".." {
		add(envconfig.Errorf("REPLICA_ID", "%q: must not hold a path separator", c.ReplicaID))
	}
	if c.TableReplication < 1 {
		add(envconfig.Errorf("TABLE_REPLICATION", "must be at least 1, got %d", c.TableReplication))
	}
	if c.TableRetentionMargin < time.Minute {
		add(envconfig.Errorf("TABLE_RETENTION_MARGIN", "must be at least 1m, got %s", c.TableRetentionMargin))
	}
	if c.TableSweepInterval < time.Second {
		add(envconfig.Errorf("TABLE_SWEEP_INTERVAL", "must be at least 1s, got %s", c.TableSweepInterval))
	}
	add(kafkaclient.CheckTopicSettings("OUTPUT_TOPIC", c.OutputTopicPartitions, c.OutputTopicReplication, c.OutputTopicRetention))
	if c.MaxInflight < 1 {
		add(envconfig.Errorf("FANOUT_MAX_INFLIGHT", "must be at least 1, got %d", c.MaxInflight))
	}
	if c.RawTopicWaitMax < time.Second {
		add(envconfig.Errorf("RAW_TOPIC_WAIT_BACKOFF_MAX", "must be at least 1s, got %s", c.RawTopicWaitMax))
	}
	if c.ShutdownTimeout < time.Second {
		add(envconfig.Errorf("SHUTDOWN_TIMEOUT", "must be at least 1s, got %s", c.ShutdownTimeout))
	}
	if c.LivenessStall < time.Second {
		add(envconfig.Errorf("LIVENESS_STALL_TIMEOUT", "must be at least 1s, got %s", c.LivenessStall))
	}
	if c.TopicRetryBudget < time.Second {
		add(envconfig.Errorf("TOPIC_RETRY_BUDGET", "must be at least 1s, got %s", c.TopicRetryBudget))
	}
	if c.RestartBackoffMax < time.Second {
		add(envconfig.Errorf("PROCESSOR_RESTART_BACKOFF_MAX", "must be at least 1s, got %s", c.RestartBackoffMax))
	}
	if c.PartitionChannelSize < 0 {
		add(envconfig.Errorf("PARTITION_BUFFER", "must be >= 0, got %d", c.PartitionChannelSize))
	}
	return errors.Join(errs...)
}

// LoadFiles reads ROUTES_FILE (envconfig.Parse calls it after Validate, so
// validation does no I/O). A bad file is an error naming ROUTES_FILE and
// the file's line.
func (c *Config) LoadFiles() error {
	if c.RoutesFile == "" {
		c.routes = route.Default()
		return nil
	}
	t, err := route.Load(c.RoutesFile)
	if err != nil {
		return envconfig.Errorf("ROUTES_FILE", "%v", err)
	}
	c.routes = t
	return nil
}

// Warnings lists settings that work but weaken reliability or security.
func (c *Config) Warnings() []string {
	w := c.Kafka.Warnings()
	if c.TableReplication < 3 {
		w = append(w, fmt.Sprintf("TABLE_REPLICATION=%d: a broker loss can lose the dedup table's changelog; use 3 in production", c.TableReplication))
	}
	if c.OutputTopicReplication < 3 {
		w = append(w, fmt.Sprintf("OUTPUT_TOPIC_REPLICATION=%d: created output topics will not survive a broker loss; use 3 in production", c.OutputTopicReplication))
	}
	return w
}
