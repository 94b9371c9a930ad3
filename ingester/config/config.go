// Package config is the ingester's configuration: environment variables
// (shared/envconfig), their defaults, and the checks that turn a bad value
// into exit code 2 naming the variable.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/queue"
	tg "github.com/tetragon-fanout/tetragon-fanout/ingester/tetragon"
	"github.com/tetragon-fanout/tetragon-fanout/shared/app"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
)

// Config is every setting of the ingester.
type Config struct {
	Tetragon Tetragon

	NodeName string `env:"NODE_NAME" help:"tf-node header for events without node_name (default: the hostname)"`

	QueueSize   int    `env:"QUEUE_SIZE" envDefault:"8192" help:"events buffered between receiving and producing"`
	QueuePolicy string `env:"QUEUE_POLICY" envDefault:"drop_oldest" help:"when the queue is full: drop_oldest, drop_newest or block (block stalls the stream and Tetragon drops for us)"`

	kafkaclient.RawTopicEnv
	RawTopicCreate      bool          `env:"RAW_TOPIC_CREATE" envDefault:"true" help:"create the raw topic when it is missing (false: wait for it)"`
	RawTopicPartitions  int32         `env:"RAW_TOPIC_PARTITIONS" envDefault:"12" help:"partitions of a created raw topic (caps the fanout's replicas; fixed for a fanout group's life)"`
	RawTopicReplication int16         `env:"RAW_TOPIC_REPLICATION" envDefault:"1" help:"replication factor of a created raw topic (1 fits the local single broker; use 3 in production)"`
	RawTopicRetention   time.Duration `env:"RAW_TOPIC_RETENTION" envDefault:"24h" help:"retention.ms of a created raw topic (0: broker default)"`
	RawTopicCompression string        `env:"RAW_TOPIC_COMPRESSION" envDefault:"producer" help:"compression.type of a created raw topic (producer keeps the producer's)"`
	RawTopicMaxMessage  int           `env:"RAW_TOPIC_MAX_MESSAGE_BYTES" envDefault:"10485760" help:"max.message.bytes of a created raw topic (the producer's limit, so large exec events fit)"`
	CompressionLevel    int           `env:"KAFKA_COMPRESSION_LEVEL" envDefault:"1" help:"codec level: 1 is the fastest (zstd, gzip); lz4 and snappy ignore it; node CPU is the customer's"`
	MaxInflight         int           `env:"KAFKA_MAX_INFLIGHT" envDefault:"4096" help:"events with the producer awaiting acks; beyond it the queue fills"`
	PublishGiveUpAfter  time.Duration `env:"PUBLISH_GIVE_UP_AFTER" envDefault:"0s" help:"drop an event (reason kafka) after its delivery failed this long; 0: retry until shutdown"`
	KafkaConnectBackoff time.Duration `env:"KAFKA_CONNECT_BACKOFF_MAX" envDefault:"30s" help:"longest wait between attempts to reach Kafka at start"`
	ShutdownTimeout     time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s" help:"on SIGTERM, time to flush the queue and producer (keep under the pod's terminationGracePeriodSeconds)"`

	// KAFKA_*, LOG_*, HTTP_ADDR, DEBUG_PPROF.
	app.Common

	// Parsed by Validate (unexported: neither env nor --help sees them).
	policy queue.Policy
	addr   tg.Addr
	req    *tetragon.GetEventsRequest
}

// Policy is the parsed QUEUE_POLICY (after Validate).
func (c *Config) Policy() queue.Policy { return c.policy }

// Addr is the parsed TETRAGON_ADDR (after Validate).
func (c *Config) Addr() tg.Addr { return c.addr }

// Request is the GetEventsRequest built from the filters (after Validate).
func (c *Config) Request() *tetragon.GetEventsRequest { return c.req }

// Tetragon is the connection to the local Tetragon agent.
type Tetragon struct {
	Addr           string `env:"TETRAGON_ADDR" envDefault:"unix:///var/run/tetragon/tetragon.sock" help:"Tetragon gRPC: unix:///path or host:port"`
	AllowPlaintext bool   `env:"TETRAGON_ALLOW_PLAINTEXT" envDefault:"false" help:"allow plaintext TCP to a non-loopback address"`
	TLS            struct {
		Enabled    bool   `env:"TETRAGON_TLS_ENABLED" envDefault:"false" help:"connect to a TCP address with TLS"`
		CAFile     string `env:"TETRAGON_TLS_CA_FILE" help:"PEM CA bundle (default: system roots)"`
		CertFile   string `env:"TETRAGON_TLS_CERT_FILE" help:"PEM client certificate, for mTLS"`
		KeyFile    string `env:"TETRAGON_TLS_KEY_FILE" help:"PEM client key, for mTLS"`
		ServerName string `env:"TETRAGON_TLS_SERVER_NAME" help:"expected server name (default: the host of TETRAGON_ADDR)"`
	}
	AllowList    string `env:"TETRAGON_ALLOW_LIST" allowEmpty:"true" help:"server-side allow filters: Tetragon JSON filters (array, or one object per line; empty: every event)"`
	DenyList     string `env:"TETRAGON_DENY_LIST" allowEmpty:"true" help:"server-side deny filters, same syntax (empty: none)"`
	FieldFilters string `env:"TETRAGON_FIELD_FILTERS" allowEmpty:"true" help:"server-side tetragon.FieldFilter list; may not remove fields the event id needs (empty: none)"`

	MaxRecvBytes     int           `env:"TETRAGON_MAX_RECV_BYTES" envDefault:"33554432" help:"largest gRPC message accepted (at least 10 MiB)"`
	KeepaliveTime    time.Duration `env:"TETRAGON_KEEPALIVE_TIME" envDefault:"5m" help:"gRPC keepalive ping interval (0: off; below 5m Tetragon's default server policy closes idle streams)"`
	KeepaliveTimeout time.Duration `env:"TETRAGON_KEEPALIVE_TIMEOUT" envDefault:"20s" help:"wait for a keepalive ack before the connection counts as dead"`
	ReconnectMin     time.Duration `env:"TETRAGON_RECONNECT_MIN" envDefault:"200ms" help:"first reconnect wait (exponential with jitter after that)"`
	ReconnectMax     time.Duration `env:"TETRAGON_RECONNECT_MAX" envDefault:"30s" help:"longest reconnect wait"`
	ReadMaxWait      time.Duration `env:"TETRAGON_READ_MAX_WAIT" envDefault:"100ms" help:"longest wait for events to pile up before reading the stream, so one wake-up reads many (0: read each as it comes; node CPU at low rates is wake-ups)"`
	ReadBatchBytes   int           `env:"TETRAGON_READ_BATCH_BYTES" envDefault:"1048576" help:"bytes one paced read aims to collect (the faster the stream, the shorter the wait)"`
	HealthyAfter     time.Duration `env:"TETRAGON_STREAM_HEALTHY_AFTER" envDefault:"30s" help:"a stream up this long (or that delivered events) resets the reconnect backoff"`
}

// Validate checks every setting and fills the parsed fields. Each error
// names its variable.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) { errs = append(errs, err) } // errors.Join drops the nils
	add(c.ValidateCommon(c.CompressionLevel))
	add(c.validateTetragon())

	if c.NodeName == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			add(envconfig.Errorf("NODE_NAME", "is empty and the hostname is unknown (%v); set it (the pod's spec.nodeName)", err))
		}
		c.NodeName = h
	}
	if c.QueueSize < 1 {
		add(envconfig.Errorf("QUEUE_SIZE", "must be at least 1, got %d", c.QueueSize))
	}
	p, err := queue.ParsePolicy(c.QueuePolicy)
	if err != nil {
		add(envconfig.Errorf("QUEUE_POLICY", "%v", err))
	}
	c.policy = p

	add(kafkaclient.CheckTopic("RAW_TOPIC", c.RawTopic))
	add(kafkaclient.CheckTopicSettings("RAW_TOPIC", c.RawTopicPartitions, c.RawTopicReplication, c.RawTopicRetention))
	switch c.RawTopicCompression {
	case "producer", "uncompressed", "none", "gzip", "snappy", "lz4", "zstd":
	default:
		add(envconfig.Errorf("RAW_TOPIC_COMPRESSION", "must be producer, uncompressed, gzip, snappy, lz4 or zstd, got %q", c.RawTopicCompression))
	}
	if c.RawTopicMaxMessage < 1<<20 {
		add(envconfig.Errorf("RAW_TOPIC_MAX_MESSAGE_BYTES", "must be at least 1048576, got %d", c.RawTopicMaxMessage))
	}
	if c.MaxInflight < 1 {
		add(envconfig.Errorf("KAFKA_MAX_INFLIGHT", "must be at least 1, got %d", c.MaxInflight))
	}
	if c.PublishGiveUpAfter < 0 {
		add(envconfig.Errorf("PUBLISH_GIVE_UP_AFTER", "must be >= 0, got %s", c.PublishGiveUpAfter))
	}
	if c.KafkaConnectBackoff <= 0 {
		add(envconfig.Errorf("KAFKA_CONNECT_BACKOFF_MAX", "must be > 0, got %s", c.KafkaConnectBackoff))
	}
	if c.ShutdownTimeout < time.Second {
		add(envconfig.Errorf("SHUTDOWN_TIMEOUT", "must be at least 1s, got %s", c.ShutdownTimeout))
	}
	return errors.Join(errs...)
}

func (c *Config) validateTetragon() error {
	t := &c.Tetragon
	var errs []error
	addr, err := tg.ParseAddr(t.Addr)
	if err != nil {
		errs = append(errs, envconfig.Errorf("TETRAGON_ADDR", "%v", err))
	} else {
		c.addr = addr
		if !addr.Unix && !addr.Loopback() && !t.TLS.Enabled && !t.AllowPlaintext {
			errs = append(errs, envconfig.Errorf("TETRAGON_ADDR", "%s is a non-loopback TCP address without TLS: set TETRAGON_TLS_ENABLED=true, or TETRAGON_ALLOW_PLAINTEXT=true to accept events in clear", t.Addr))
		}
	}
	if (t.TLS.CertFile == "") != (t.TLS.KeyFile == "") {
		errs = append(errs, envconfig.Errorf("TETRAGON_TLS_CERT_FILE", "and TETRAGON_TLS_KEY_FILE must be set together"))
	}
	if !t.TLS.Enabled && (t.TLS.CAFile != "" || t.TLS.CertFile != "" || t.TLS.ServerName != "") {
		errs = append(errs, envconfig.Errorf("TETRAGON_TLS_ENABLED", "is false but TETRAGON_TLS_* settings are given; set it to true"))
	}
	for _, f := range []struct{ name, path string }{
		{"TETRAGON_TLS_CA_FILE", t.TLS.CAFile}, {"TETRAGON_TLS_CERT_FILE", t.TLS.CertFile}, {"TETRAGON_TLS_KEY_FILE", t.TLS.KeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, envconfig.Errorf(f.name, "%v", err))
		}
	}
	if t.ReadMaxWait < 0 || t.ReadMaxWait > time.Second {
		errs = append(errs, envconfig.Errorf("TETRAGON_READ_MAX_WAIT", "must be 0 (off) to 1s, got %s", t.ReadMaxWait))
	}
	if t.ReadBatchBytes < 1024 || t.ReadBatchBytes > 16<<20 {
		errs = append(errs, envconfig.Errorf("TETRAGON_READ_BATCH_BYTES", "must be 1024 to 16777216, got %d", t.ReadBatchBytes))
	}
	allow, err := tg.ParseFilters(t.AllowList)
	if err != nil {
		errs = append(errs, envconfig.Errorf("TETRAGON_ALLOW_LIST", "%v", err))
	}
	deny, err := tg.ParseFilters(t.DenyList)
	if err != nil {
		errs = append(errs, envconfig.Errorf("TETRAGON_DENY_LIST", "%v", err))
	}
	fields, err := tg.ParseFieldFilters(t.FieldFilters)
	if err != nil {
		errs = append(errs, envconfig.Errorf("TETRAGON_FIELD_FILTERS", "%v", err))
	}
	c.req = tg.Request(allow, deny, fields)
	if t.MaxRecvBytes < tg.MinRecvBytes {
		errs = append(errs, envconfig.Errorf("TETRAGON_MAX_RECV_BYTES", "must be at least %d (10 MiB), got %d", tg.MinRecvBytes, t.MaxRecvBytes))
	}
	if t.KeepaliveTime != 0 && t.KeepaliveTime < 10*time.Second {
		errs = append(errs, envconfig.Errorf("TETRAGON_KEEPALIVE_TIME", "must be 0 (off) or at least 10s, got %s", t.KeepaliveTime))
	}
	if t.KeepaliveTime != 0 && t.KeepaliveTimeout <= 0 {
		errs = append(errs, envconfig.Errorf("TETRAGON_KEEPALIVE_TIMEOUT", "must be > 0, got %s", t.KeepaliveTimeout))
	}
	if t.ReconnectMin <= 0 {
		errs = append(errs, envconfig.Errorf("TETRAGON_RECONNECT_MIN", "must be > 0, got %s", t.ReconnectMin))
	}
	if t.ReconnectMax < t.ReconnectMin {
		errs = append(errs, envconfig.Errorf("TETRAGON_RECONNECT_MAX", "must be >= TETRAGON_RECONNECT_MIN (%s), got %s", t.ReconnectMin, t.ReconnectMax))
	}
	if t.HealthyAfter <= 0 {
		errs = append(errs, envconfig.Errorf("TETRAGON_STREAM_HEALTHY_AFTER", "must be > 0, got %s", t.HealthyAfter))
	}
	return errors.Join(errs...)
}

// TopicSpec is how the raw topic is created.
func (c *Config) TopicSpec() kafkaclient.TopicSpec {
	cfgs := map[string]string{"max.message.bytes": strconv.Itoa(c.RawTopicMaxMessage)}
	if c.RawTopicCompression != "" && c.RawTopicCompression != "producer" {
		v := c.RawTopicCompression
		if v == "none" {
			v = "uncompressed"
		}
		cfgs["compression.type"] = v
	}
	return kafkaclient.TopicSpec{
		Partitions: c.RawTopicPartitions, Replication: c.RawTopicReplication,
		Retention: c.RawTopicRetention, Configs: cfgs,
	}
}

// Warnings lists settings that work but weaken security or reliability.
func (c *Config) Warnings() []string {
	w := c.Kafka.Warnings()
	if !c.addr.Unix && !c.addr.Loopback() && !c.Tetragon.TLS.Enabled {
		w = append(w, fmt.Sprintf("TETRAGON_ALLOW_PLAINTEXT=true: events from %s cross the network in clear", c.Tetragon.Addr))
	}
	if c.RawTopicReplication < 3 && c.RawTopicCreate {
		w = append(w, fmt.Sprintf("RAW_TOPIC_REPLICATION=%d: a created raw topic will not survive a broker loss; use 3 in production", c.RawTopicReplication))
	}
	return w
}
