//go:build security

package securitytest

import (
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// The ingester binary pointed at a RAW_TOPIC its principal may not use is
// loud about it: a log line naming the authorization failure, /readyz false,
// counters, and it stays up (an operator may fix the ACL).
//   - no ACL at all on the topic: it cannot even describe it, so it never
//     connects; the events it receives meanwhile fill the queue and are
//     counted as dropped.
//   - Describe allowed, Write not: it connects, every delivery is refused
//     and held for a resend, none dropped for it (reason kafka): an ACL
//     fixed a minute later loses nothing. It is not ready, counts the
//     refusals, and once KAFKA_MAX_INFLIGHT events are held the queue fills
//     and its policy drops (counted), as with an unreachable broker.
func TestIngesterRawTopicItMayNotWrite(t *testing.T) {
	s := kafkatest.SecureBrokers(t)
	b := binaries(t)
	simAddr := freeAddr(t)
	startProc(t, "tetragon-sim", b.sim, nil, "--listen", simAddr, "--rate", "300", "--wait-clients", "1")

	describeOnly := "tetragon-sec.describe-only"
	ensureTopic(t, s, describeOnly)
	admin, err := sarama.NewClusterAdmin(s.Brokers, saramaConfig(t, s.Env(t, kafkatest.UserAdmin), "securitytest-admin"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateACLs([]*sarama.ResourceAcls{{
		Resource: sarama.Resource{ResourceType: sarama.AclResourceTopic, ResourceName: describeOnly, ResourcePatternType: sarama.AclPatternLiteral},
		Acls: []*sarama.Acl{{Principal: "User:ingester", Host: "*", Operation: sarama.AclOperationDescribe,
			PermissionType: sarama.AclPermissionAllow}},
	}}); err != nil {
		t.Fatalf("create ACL: %v", err)
	}

	for _, c := range []struct {
		name, topic, logLine, dropReason string
	}{
		{"no ACL", execTopic, "The client is not authorized to access this topic", "queue_full"},
		{"describe only", describeOnly, "The client is not authorized to access this topic", "queue_full"},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := freeAddr(t)
			p := startProc(t, "ingester", b.ingester, merge(s.Env(t, kafkatest.UserIngester), map[string]string{
				"TETRAGON_ADDR": simAddr, "RAW_TOPIC": c.topic, "RAW_TOPIC_CREATE": "false", "QUEUE_SIZE": "100",
				"HTTP_ADDR": addr, "LOG_FORMAT": "text", "SHUTDOWN_TIMEOUT": "1s", "KAFKA_MAX_INFLIGHT": "100",
			}))
			if !p.waitLog(20*time.Second, c.logLine, c.topic) {
				t.Fatalf("no log line naming %s and %q", c.topic, c.logLine)
			}
			// Readiness follows within a probe interval at most.
			body := waitHTTP(t, p, addr, "/readyz", 503, 15*time.Second)
			if !strings.Contains(body, "not authorized") {
				t.Errorf("/readyz does not say why:\n%s", body)
			}
			deadline := time.Now().Add(15 * time.Second)
			var m string
			for {
				_, m = get(t, addr, "/metrics")
				if metric(m, "ingester_events_dropped_total", c.dropReason) > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(250 * time.Millisecond)
			}
			if metric(m, "ingester_events_dropped_total", c.dropReason) == 0 {
				t.Errorf("no ingester_events_dropped_total{%s} while events arrive and cannot be written", c.dropReason)
			}
			if c.topic == describeOnly {
				if d := metric(m, "ingester_events_dropped_total", `reason="kafka"`); d != 0 {
					t.Errorf("%v events dropped for the refusal (reason kafka); want them held", d)
				}
				if metric(m, "ingester_kafka_authorization_errors_total", "") == 0 || metric(m, "ingester_publish_inflight", "") == 0 {
					t.Errorf("authorization errors %v, inflight %v: want refusals counted and events held",
						metric(m, "ingester_kafka_authorization_errors_total", ""), metric(m, "ingester_publish_inflight", ""))
				}
			}
			if metric(m, "ingester_events_published_total", "") != 0 {
				t.Errorf("published %v events to a topic it may not write", metric(m, "ingester_events_published_total", ""))
			}
			t.Logf("received %v, dropped %v, connect errors %v",
				metric(m, "ingester_events_received_total", ""), metric(m, "ingester_events_dropped_total", ""),
				metric(m, "ingester_kafka_connect_errors_total", ""))
			if p.exited() {
				t.Fatalf("ingester exited: %v", p.err)
			}
		})
	}

	// The refusals are the broker's: its authorizer denied the ingester.
	log := s.AuthorizerLog(t)
	for _, want := range []string{
		"Principal = User:ingester is Denied operation = DESCRIBE from host = 127.0.0.1 on resource = Topic:LITERAL:" + execTopic,
		"Principal = User:ingester is Denied operation = WRITE from host = 127.0.0.1 on resource = Topic:LITERAL:" + describeOnly,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("authorizer log lacks %q", want)
		}
	}
}
