//go:build security

package securitytest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/config"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/publish"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/queue"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// The ingester's principal writing an output topic, through the ingester's
// configuration and publisher:
//   - tetragon.process_exec (no ACL for the ingester): the publisher cannot
//     even describe it; it is not healthy, with TopicAuthorizationFailed.
//   - a topic it may describe but not write: the event is refused by the
//     broker and held, not dropped (an ACL mistake during a rollout must
//     lose nothing); the publisher is not healthy, again with
//     TopicAuthorizationFailed, and counts the refusals. Once the admin
//     grants Write, the held event is delivered and the publisher is
//     healthy again.
func TestPublisherCannotWriteOutsideRawTopic(t *testing.T) {
	s := kafkatest.SecureBrokers(t)
	describeOnly := "tetragon-sec.publisher-describe-only"
	adminEnv := s.Env(t, kafkatest.UserAdmin)
	admin := prepareDescribeOnly(t, s.Brokers, adminEnv, describeOnly)

	for _, c := range []struct {
		topic string
		send  bool
	}{{"tetragon.process_exec", false}, {describeOnly, true}} {
		t.Run(c.topic, func(t *testing.T) {
			env := s.Env(t, kafkatest.UserIngester)
			env["RAW_TOPIC"], env["RAW_TOPIC_CREATE"], env["TETRAGON_ADDR"] = c.topic, "false", "127.0.0.1:1"
			var cfg config.Config
			if err := envconfig.ParseEnv(&cfg, env); err != nil {
				t.Fatal(err)
			}
			m := metrics.New(prometheus.NewRegistry())
			pub := publish.New(publish.Options{
				Kafka: cfg.Kafka, Producer: cfg.Producer, Topic: cfg.RawTopic, Create: cfg.RawTopicCreate,
				Spec: cfg.TopicSpec(), MaxInflight: 16, ConnectMin: 100 * time.Millisecond, ConnectMax: time.Second,
				RetryMin: 100 * time.Millisecond, RetryMax: time.Second, CloseTimeout: 2 * time.Second, ClientID: "securitytest",
			}, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
			q := queue.New[publish.Event](16, queue.DropOldest)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = pub.Run(ctx, q) }()
			defer func() { cancel(); <-done }()
			if c.send {
				var id eventid.ID
				copy(id[:], strings.Repeat("ab", eventid.Len/2))
				if _, _, err := q.Push(ctx, publish.Event{Raw: []byte("forged"), ID: id, Type: "process_exec", Node: "n", IngestNS: time.Now().UnixNano()}); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				err := pub.Healthy()
				refused := testutil.ToFloat64(m.KafkaAuthErrors)
				if errors.Is(err, sarama.ErrTopicAuthorizationFailed) && (!c.send || refused >= 2) {
					t.Logf("publisher: %v (refused deliveries %v)", err, refused)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 20s: healthy = %v, authorization errors = %v; want TopicAuthorizationFailed (and a refused delivery, resent)", err, refused)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if n := testutil.ToFloat64(m.Published); n != 0 {
				t.Errorf("published %v events", n)
			}
			if !c.send {
				return
			}
			// Held: not dropped, still with the producer.
			if d := dropped(m); d != 0 || pub.Inflight() != 1 {
				t.Fatalf("dropped %v, inflight %d while Kafka refuses our writes; want the event held", d, pub.Inflight())
			}
			// The ACL mistake is fixed: the held event goes out.
			acl := &sarama.Acl{Principal: "User:" + kafkatest.UserIngester, Host: "*", Operation: sarama.AclOperationWrite, PermissionType: sarama.AclPermissionAllow}
			res := sarama.Resource{ResourceType: sarama.AclResourceTopic, ResourceName: describeOnly, ResourcePatternType: sarama.AclPatternLiteral}
			if err := admin.CreateACLs([]*sarama.ResourceAcls{{Resource: res, Acls: []*sarama.Acl{acl}}}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_, _ = admin.DeleteACL(sarama.AclFilter{ResourceType: res.ResourceType, ResourceName: &res.ResourceName,
					ResourcePatternTypeFilter: res.ResourcePatternType, Principal: &acl.Principal, Host: &acl.Host,
					Operation: acl.Operation, PermissionType: acl.PermissionType}, false)
			})
			deadline = time.Now().Add(30 * time.Second)
			for testutil.ToFloat64(m.Published) != 1 || pub.Healthy() != nil {
				if time.Now().After(deadline) {
					t.Fatalf("30s after granting Write: published %v, healthy = %v, dropped %v", testutil.ToFloat64(m.Published), pub.Healthy(), dropped(m))
				}
				time.Sleep(100 * time.Millisecond)
			}
			if d := dropped(m); d != 0 {
				t.Fatalf("dropped %v", d)
			}
		})
	}
}

func dropped(m *metrics.Metrics) float64 {
	var n float64
	for _, r := range metrics.Reasons {
		n += testutil.ToFloat64(m.Dropped(r))
	}
	return n
}

// prepareDescribeOnly creates topic (as the admin) and lets the ingester
// describe it, nothing more. It returns the admin (closed at cleanup).
func prepareDescribeOnly(t *testing.T, brokers []string, adminEnv map[string]string, topic string) sarama.ClusterAdmin {
	t.Helper()
	var kc kafkaclient.Config
	if err := envconfig.ParseEnv(&kc, adminEnv); err != nil {
		t.Fatal(err)
	}
	sc, err := kc.Sarama("securitytest-admin")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sarama.NewClusterAdmin(brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	if _, _, err := kafkaclient.EnsureTopic(admin, topic, kafkaclient.TopicSpec{Partitions: 1, Replication: 1}); err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateACLs([]*sarama.ResourceAcls{{
		Resource: sarama.Resource{ResourceType: sarama.AclResourceTopic, ResourceName: topic, ResourcePatternType: sarama.AclPatternLiteral},
		Acls: []*sarama.Acl{{Principal: "User:" + kafkatest.UserIngester, Host: "*", Operation: sarama.AclOperationDescribe,
			PermissionType: sarama.AclPermissionAllow}},
	}}); err != nil {
		t.Fatal(err)
	}
	return admin
}
