package processor

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/fanoutcfg"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/redrive"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/headers"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// TestBrokerWaitsForRawTopic: the fanout never creates the raw topic; it is
// not ready and reports the topic missing until someone else creates it.
func TestBrokerWaitsForRawTopic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	e.raw = kafkatest.TopicName(t) // not created yet
	p := e.start("r1", nil, Options{})
	time.Sleep(2 * time.Second)
	if err := p.r.RawTopicReady(); err == nil {
		t.Fatal("ready although the raw topic does not exist")
	}
	if got := testutil.ToFloat64(p.r.Metrics().RawMissing); got != 1 {
		t.Fatalf("fanout_raw_topic_missing %v, want 1", got)
	}
	a := kafkatest.Admin(t, e.brokers)
	if md, _ := a.DescribeTopics([]string{e.raw}); len(md) == 1 && md[0].Err == sarama.ErrNoError {
		t.Fatal("the fanout created the raw topic")
	}
	kafkatest.CreateNamedTopic(t, e.brokers, e.raw, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: -1})
	p.waitReady(60 * time.Second)
	if got := testutil.ToFloat64(p.r.Metrics().RawMissing); got != 0 {
		t.Fatalf("fanout_raw_topic_missing %v after creation, want 0", got)
	}
	// the changelog is co-partitioned and bounded
	res, err := a.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: e.group + "-table"}},
		sarama.DescribeConfigsOptions{})
	if err != nil || len(res) != 1 {
		t.Fatalf("describe table config: %v %v", res, err)
	}
	got := map[string]string{}
	for _, c := range res[0].Configs {
		got[c.Name] = c.Value
	}
	// DEDUP_WINDOW 10m + margin 10m; segment a quarter of the window
	if got["cleanup.policy"] != "compact,delete" || got["retention.ms"] != "1200000" || got["segment.ms"] != "150000" {
		t.Fatalf("table topic config %v", map[string]string{"cleanup.policy": got["cleanup.policy"],
			"retention.ms": got["retention.ms"], "segment.ms": got["segment.ms"]})
	}
	if n, _, _ := partitionsOf(t, e.brokers, e.group+"-table"); n != 2 {
		t.Fatalf("table has %d partitions, want the raw topic's 2", n)
	}
}

func partitionsOf(t *testing.T, brokers []string, topic string) (int, bool, error) {
	c, err := sarama.NewClient(brokers, kafkatest.Config())
	if err != nil {
		return 0, false, err
	}
	defer c.Close()
	p, err := c.Partitions(topic)
	return len(p), err == nil, err
}

// TestBrokerTableMismatchIsFatal: a table that is not co-partitioned with
// the raw topic, or has other settings (goka's own default: compact only),
// stops the fanout with an error instead of running with broken dedup.
func TestBrokerTableMismatchIsFatal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		detail *sarama.TopicDetail
		want   string
	}{
		{"partitions", &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: -1,
			ConfigEntries: map[string]*string{"cleanup.policy": ptr("compact,delete")}}, "co-partitioned"},
		{"cleanup policy", &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: -1,
			ConfigEntries: map[string]*string{"cleanup.policy": ptr("compact")}}, "cleanup.policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 2)
			kafkatest.CreateNamedTopic(t, e.brokers, e.group+"-table", tc.detail)
			p := e.start("r1", nil, Options{})
			select {
			case err := <-p.done:
				p.once.Do(p.cancel)
				if err == nil || !IsFatal(err) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Run returned %v, want a fatal error about %s", err, tc.want)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("the fanout runs over a mismatched table")
			}
		})
	}
}

func ptr(s string) *string { return &s }

// TestBrokerStartOffsetTime: a new group with FANOUT_START_OFFSET=<time>
// skips what came before; an existing group keeps its offsets.
func TestBrokerStartOffsetTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	old := e.produce(events(0, 30))
	time.Sleep(1500 * time.Millisecond)
	cut := time.Now()
	time.Sleep(100 * time.Millisecond)
	recent := e.produce(events(100, 20))
	start := map[string]string{"FANOUT_START_OFFSET": cut.UTC().Format(time.RFC3339Nano)}
	p := e.start("r1", start, Options{})
	p.waitReady(60 * time.Second)
	outs := e.consumeAll(len(recent), 60*time.Second)
	if len(outs) != len(recent) {
		t.Fatalf("%d outputs, want only the %d events after the start time", len(outs), len(recent))
	}
	checkOutputs(t, recent, outs)
	_ = old
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	// the group exists now: a restart with the same setting changes nothing
	a, err := NewAdmin(e.brokers, kafkatest.Config(), "t")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if did, err := ResolveStartTime(a, e.group, e.raw, 2, time.Now()); err != nil || did {
		t.Fatalf("ResolveStartTime on an existing group: %v, %v", did, err)
	}
}

// TestStateDirLocked: two processes never share a LevelDB directory.
func TestStateDirLocked(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"TABLE_STORAGE": "leveldb", "STATE_DIR": dir, "REPLICA_ID": "same"}
	var c1, c2 fanoutcfg.Config
	if err := envconfig.ParseEnv(&c1, vars); err != nil {
		t.Fatal(err)
	}
	_ = envconfig.ParseEnv(&c2, vars)
	r1, err := New(&c1, prometheus.NewRegistry(), testLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.lockFile.Close()
	_, err = New(&c2, prometheus.NewRegistry(), testLogger(t), Options{})
	var fe *envconfig.FieldError
	if !errors.As(err, &fe) || fe.Var != "REPLICA_ID" {
		t.Fatalf("second replica on the same state dir: %v, want an error naming REPLICA_ID", err)
	}
}

// TestBrokerRedrive: dlq-redrive re-produces the retryable DLQ messages
// (same key and bytes, error headers removed, tf-redrive added), skips the
// others, and does not repeat itself on a second run.
func TestBrokerRedrive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	dlq := kafkatest.CreateTopic(t, e.brokers, 2, nil)
	p, err := sarama.NewSyncProducer(e.brokers, producerConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	send := func(key, reason string) {
		_, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: dlq, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder("v-" + key),
			Headers: []sarama.RecordHeader{{Key: []byte(headers.ErrorReason), Value: []byte(reason)},
				{Key: []byte(headers.Error), Value: []byte("boom")}, {Key: []byte(headers.Node), Value: []byte("n1")}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	send("a", "topic_unavailable")
	send("b", "undecodable")
	send("c", "topic_unavailable")
	p.Close()

	var cfg redrive.Config
	if err := envconfig.ParseEnv(&cfg, map[string]string{"KAFKA_BROKERS": strings.Join(e.brokers, ","),
		"RAW_TOPIC": e.raw, "DLQ_TOPIC": dlq, "FANOUT_GROUP": e.group}); err != nil {
		t.Fatal(err)
	}
	res, err := redrive.Run(&cfg, redrive.Options{DryRun: true})
	if err != nil || res.Redriven["topic_unavailable"] != 2 || res.Skipped["undecodable"] != 1 {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if n, _, _ := rawCount(t, e); n != 0 {
		t.Fatalf("dry run produced %d messages", n)
	}
	res, err = redrive.Run(&cfg, redrive.Options{})
	if err != nil || res.Redriven["topic_unavailable"] != 2 {
		t.Fatalf("run: %+v, %v", res, err)
	}
	msgs := kafkatest.ConsumeAll(t, e.brokers, e.raw, 2, 30*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("%d raw messages, want 2", len(msgs))
	}
	for _, m := range msgs {
		if r, _ := m.Header(redrive.Header); r != "topic_unavailable" {
			t.Errorf("tf-redrive %q", r)
		}
		if _, ok := m.Header(headers.ErrorReason); ok {
			t.Error("error headers kept")
		}
		if n, _ := m.Header(headers.Node); n != "n1" || string(m.Value) != "v-"+string(m.Key) {
			t.Errorf("message changed: %s %s", m.Key, m.Value)
		}
	}
	res, err = redrive.Run(&cfg, redrive.Options{})
	if err != nil || len(res.Redriven) != 0 {
		t.Fatalf("second run redrove again: %+v, %v", res, err)
	}
	res, err = redrive.Run(&cfg, redrive.Options{Reasons: []string{"all"}})
	if err != nil || len(res.Redriven) != 0 {
		t.Fatalf("a run after the end redrove: %+v, %v", res, err)
	}
}

func rawCount(t *testing.T, e *env) (int64, bool, error) {
	c, err := sarama.NewClient(e.brokers, kafkatest.Config())
	if err != nil {
		return 0, false, err
	}
	defer c.Close()
	h, err := c.GetOffset(e.raw, 0, sarama.OffsetNewest)
	return h, err == nil, err
}
