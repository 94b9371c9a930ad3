// Package kafkatest is the test foundation for code that talks to a real Kafka broker.
//
// Integration tests either use the broker that `make test` starts (Brokers, from
// KAFKA_BROKERS) or start a private one with StartBroker when they need to stop, kill
// or restart it. Both run deployments/local/kafka.sh: the same Apache Kafka the
// project documents, never a mock.
//
// Without KAFKA_BROKERS the tests skip (plain `go test` stays fast and needs no Java),
// except under CI=true, where a missing broker is a failure: CI must never pass by
// skipping everything.
package kafkatest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaversion"
)

// EnvBrokers names the comma-separated bootstrap list of the shared test broker.
const EnvBrokers = "KAFKA_BROKERS"

// Version is the protocol version of the broker kafka.sh runs.
func Version() sarama.KafkaVersion { return kafkaversion.Sarama() }

// inCI reports whether skipping a real-Kafka test would hide a missing broker.
func inCI() bool { return os.Getenv("CI") == "true" }

// requireKafka skips a test that needs a real broker under -short or when no broker
// was provided; in CI a missing broker fails it instead.
func requireKafka(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("real-Kafka test skipped under -short")
	}
	if v := strings.TrimSpace(os.Getenv(EnvBrokers)); v != "" {
		return v
	}
	if inCI() {
		t.Fatalf("%s not set: CI runs the real-Kafka tests through `make test`, which starts a broker", EnvBrokers)
	}
	t.Skipf("%s not set: run `make test` (starts a real Kafka broker), or set %s to a running broker", EnvBrokers, EnvBrokers)
	return ""
}

// Brokers returns the shared test broker's bootstrap addresses from KAFKA_BROKERS.
// See the package comment for what happens when it is unset.
func Brokers(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, b := range strings.Split(requireKafka(t), ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s=%q holds no broker address", EnvBrokers, os.Getenv(EnvBrokers))
	}
	return out
}

// Config returns a sarama config for tests: the broker's version, no topic
// auto-creation, consumers from the oldest offset, and timeouts short enough that a
// dead broker fails a test in seconds rather than minutes.
func Config() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = Version()
	c.ClientID = "kafkatest"
	c.Metadata.AllowAutoTopicCreation = false
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Net.DialTimeout = 5 * time.Second
	c.Admin.Timeout = 30 * time.Second
	return c
}

// Admin returns a cluster admin client, closed at cleanup.
func Admin(t testing.TB, brokers []string) sarama.ClusterAdmin {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, Config())
	if err != nil {
		t.Fatalf("kafka admin for %v: %v", brokers, err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	return admin
}

var unsafeTopicChars = regexp.MustCompile(`[^a-zA-Z0-9-]+`)

// TopicName returns a topic name unique to this test and run. Only letters, digits
// and '-': Kafka warns about names mixing '.' and '_', which collide in metrics.
func TopicName(t testing.TB) string {
	t.Helper()
	name := strings.Trim(unsafeTopicChars.ReplaceAllString(t.Name(), "-"), "-")
	if len(name) > 150 {
		name = name[:150]
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random topic suffix: %v", err)
	}
	return "test-" + name + "-" + hex.EncodeToString(b[:])
}

// CreateTopic creates a topic unique to the test with the given partition count and
// topic configs, using the broker's default replication factor (1 on a single node,
// 3 on a three-node cluster). It returns once every partition has a leader, and
// deletes the topic at cleanup.
func CreateTopic(t testing.TB, brokers []string, partitions int, configs map[string]*string) string {
	t.Helper()
	topic := TopicName(t)
	createTopic(t, brokers, topic, &sarama.TopicDetail{
		NumPartitions:     int32(partitions),
		ReplicationFactor: -1,
		ConfigEntries:     configs,
	})
	return topic
}

// CreateNamedTopic creates the named topic (for code under test that insists on its
// own topic names) as CreateTopic does, and deletes it at cleanup.
func CreateNamedTopic(t testing.TB, brokers []string, topic string, detail *sarama.TopicDetail) {
	t.Helper()
	createTopic(t, brokers, topic, detail)
}

func createTopic(t testing.TB, brokers []string, topic string, detail *sarama.TopicDetail) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, Config())
	if err != nil {
		t.Fatalf("kafka admin for %v: %v", brokers, err)
	}
	defer func() { _ = admin.Close() }()
	if err := admin.CreateTopic(topic, detail, false); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	t.Cleanup(func() { deleteTopic(t, brokers, topic) })
	WaitForTopic(t, brokers, topic, int(detail.NumPartitions), 30*time.Second)
}

func deleteTopic(t testing.TB, brokers []string, topic string) {
	cfg := Config()
	cfg.Metadata.Retry.Max = 1
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		t.Logf("cleanup: topic %s not deleted: %v", topic, err)
		return
	}
	defer func() { _ = admin.Close() }()
	if err := admin.DeleteTopic(topic); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		t.Logf("cleanup: delete topic %s: %v", topic, err)
	}
}

// TopicConfigs returns the topic's effective configuration (explicit settings and
// broker defaults) by name.
func TopicConfigs(t testing.TB, brokers []string, topic string) map[string]string {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, Config())
	if err != nil {
		t.Fatalf("kafka admin for %v: %v", brokers, err)
	}
	defer func() { _ = admin.Close() }()
	res, err := admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic}},
		sarama.DescribeConfigsOptions{})
	if err != nil {
		t.Fatalf("describe configs of %s: %v", topic, err)
	}
	out := map[string]string{}
	for _, r := range res {
		if r.Name != topic {
			continue
		}
		if r.ErrorCode != sarama.ErrNoError {
			t.Fatalf("describe configs of %s: %v %s", topic, r.ErrorCode, r.ErrorMsg)
		}
		for _, e := range r.Configs {
			out[e.Name] = e.Value
		}
	}
	return out
}

// WaitForTopic waits until every broker's metadata shows the topic with the given
// partition count (if > 0) and a leader for each partition. A topic is created on
// the controller first and reaches the brokers a moment later; producing in between
// fails with "unknown topic".
func WaitForTopic(t testing.TB, brokers []string, topic string, partitions int, timeout time.Duration) {
	t.Helper()
	client, err := sarama.NewClient(brokers, Config())
	if err != nil {
		t.Fatalf("kafka client for %v: %v", brokers, err)
	}
	defer func() { _ = client.Close() }()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = topicReady(client, topic, partitions); last == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s not ready after %s: %v", topic, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func topicReady(client sarama.Client, topic string, partitions int) error {
	if err := client.RefreshMetadata(topic); err != nil {
		return err
	}
	ps, err := client.Partitions(topic)
	if err != nil {
		return err
	}
	if partitions > 0 && len(ps) != partitions {
		return fmt.Errorf("%d partitions, want %d", len(ps), partitions)
	}
	for _, p := range ps {
		if _, err := client.Leader(topic, p); err != nil {
			return fmt.Errorf("partition %d: %w", p, err)
		}
	}
	return nil
}

// RepoRoot returns the repository root: the nearest parent of the working directory
// holding go.work.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.work above the working directory: kafkatest must run inside the repository")
		}
		dir = parent
	}
}
