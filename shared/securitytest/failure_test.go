//go:build security

package securitytest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// A wrong password: both binaries say so at once in their log, report not
// ready, stay up and retry with a backoff: few authentication attempts (the
// broker's count) and little CPU over ten seconds.
func TestWrongPasswordFailsFastWithoutBusyLoop(t *testing.T) {
	s := kafkatest.SecureBrokers(t)
	b := binaries(t)
	wrong := filepath.Join(t.TempDir(), "wrong.password")
	if err := os.WriteFile(wrong, []byte("not-the-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Different mechanisms, so the broker's log lines tell the two apart.
	ingesterHTTP, fanoutHTTP := freeAddr(t), freeAddr(t)
	ingester := startProc(t, "ingester", b.ingester, merge(s.Env(t, kafkatest.UserIngester), map[string]string{
		"KAFKA_SASL_PASSWORD_FILE": wrong, "TETRAGON_ADDR": freeAddr(t), "HTTP_ADDR": ingesterHTTP, "LOG_FORMAT": "text",
		"SHUTDOWN_TIMEOUT": "2s", // nothing to flush; do not wait the default 20 s
	}))
	fanout := startProc(t, "fanout", b.fanout, merge(s.Env(t, kafkatest.UserFanout), map[string]string{
		"KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "KAFKA_SASL_PASSWORD_FILE": wrong,
		"HTTP_ADDR": fanoutHTTP, "REPLICA_ID": "sec-wrong", "LOG_FORMAT": "text",
	}))
	const clear = "SASL Authentication failed: Authentication failed during authentication due to invalid credentials"
	start := time.Now()
	for _, p := range []*proc{ingester, fanout} {
		// About a second each (one attempt); the margin is for a busy machine.
		if !p.waitLog(10*time.Second, clear) {
			t.Fatalf("%s: no log line saying %q within 10s", p.name, clear)
		}
		t.Logf("%s logged the failed login after %s", p.name, time.Since(start).Round(time.Millisecond))
	}
	failures := func() (sha512, sha256 int) {
		log := s.ServerLog(t)
		return strings.Count(log, "with SASL mechanism SCRAM-SHA-512) (org.apache.kafka.common.network.Selector)"),
			strings.Count(log, "with SASL mechanism SCRAM-SHA-256) (org.apache.kafka.common.network.Selector)")
	}
	i0, f0 := failures()
	ci0, cf0 := ingester.cpuTime(), fanout.cpuTime()
	const window = 10 * time.Second
	time.Sleep(window)
	i1, f1 := failures()
	ci1, cf1 := ingester.cpuTime(), fanout.cpuTime()
	t.Logf("over %s: ingester %d failed logins, %s CPU; fanout %d failed logins, %s CPU", window, i1-i0, ci1-ci0, f1-f0, cf1-cf0)
	for _, c := range []struct {
		p        *proc
		attempts int
		cpu      time.Duration
		addr     string
	}{{ingester, i1 - i0, ci1 - ci0, ingesterHTTP}, {fanout, f1 - f0, cf1 - cf0, fanoutHTTP}} {
		if c.p.exited() {
			t.Errorf("%s exited (%v): a wrong password must not crash-loop the pod", c.p.name, c.p.err)
			continue
		}
		// Backoff from 250ms doubling: about 6 attempts in 10 s; a busy loop
		// makes hundreds.
		if c.attempts < 1 || c.attempts > 25 {
			t.Errorf("%s: %d authentication attempts in %s, want 1..25 (retrying with backoff)", c.p.name, c.attempts, window)
		}
		if c.cpu > time.Second {
			t.Errorf("%s used %s CPU in %s while failing to log in", c.p.name, c.cpu, window)
		}
		if code, body := get(t, c.addr, "/readyz"); code != 503 {
			t.Errorf("%s /readyz: %d %s", c.p.name, code, body)
		}
	}
	if _, body := get(t, ingesterHTTP, "/readyz"); !strings.Contains(body, "SASL Authentication failed") {
		t.Errorf("ingester /readyz does not say why:\n%s", body)
	}
	_, m := get(t, ingesterHTTP, "/metrics")
	if metric(m, "ingester_kafka_connect_errors_total", "") < 1 || metric(m, "ingester_kafka_connected", "") != 0 {
		t.Errorf("ingester metrics do not count the failed connections:\nconnect_errors %v connected %v",
			metric(m, "ingester_kafka_connect_errors_total", ""), metric(m, "ingester_kafka_connected", ""))
	}
	for _, p := range []*proc{ingester, fanout} {
		stop := time.Now()
		_ = p.stop()
		t.Logf("%s stopped in %s", p.name, time.Since(stop).Round(time.Millisecond))
	}
}

// An insecure setting is logged loudly (WARN) by both binaries at start.
func TestInsecureSkipVerifyWarns(t *testing.T) {
	s := kafkatest.SecureBrokers(t)
	b := binaries(t)
	const warning = "level=WARN msg=\"KAFKA_TLS_INSECURE_SKIP_VERIFY=true: the broker certificate is NOT verified"
	for _, c := range []struct{ name, bin, user string }{
		{"ingester", b.ingester, kafkatest.UserIngester}, {"fanout", b.fanout, kafkatest.UserFanout},
	} {
		p := startProc(t, c.name, c.bin, merge(s.Env(t, c.user), map[string]string{
			"KAFKA_TLS_INSECURE_SKIP_VERIFY": "true", "KAFKA_TLS_CA_FILE": "", "TETRAGON_ADDR": freeAddr(t),
			"HTTP_ADDR": freeAddr(t), "REPLICA_ID": "sec-skip", "LOG_FORMAT": "text",
		}))
		if !p.waitLog(15*time.Second, warning) {
			t.Errorf("%s: no start-up warning %q", c.name, warning)
		}
		_ = p.stop()
	}
}

// Least privilege, checked with clients built like the binaries': the
// ingester's principal cannot write an output topic and the fanout's cannot
// write the raw topic (an explicit DENY beats its prefix ALLOW), each
// reported as TopicAuthorizationFailed.
func TestACLsDenyWritesOutsideEachRole(t *testing.T) {
	s := kafkatest.SecureBrokers(t)
	ensureTopic(t, s, execTopic)
	ensureTopic(t, s, rawTopic)
	for _, c := range []struct{ user, topic string }{
		{kafkatest.UserIngester, execTopic}, {kafkatest.UserFanout, rawTopic}, {kafkatest.UserConsumer, execTopic},
	} {
		sc := saramaConfig(t, s.Env(t, c.user), "securitytest-"+c.user)
		if err := kafkaclient.ApplyProducer(sc, kafkaclient.ProducerConfig{Compression: "none", BatchBytes: 1 << 20, Linger: time.Millisecond, Retries: 1}); err != nil {
			t.Fatal(err)
		}
		sc.Producer.Idempotent = false // the consumer has no IdempotentWrite; the ACL on the topic is what is tested
		p, err := sarama.NewSyncProducer(s.Brokers, sc)
		if err != nil {
			t.Fatalf("%s producer: %v", c.user, err)
		}
		_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: c.topic, Key: sarama.StringEncoder("forged"), Value: sarama.StringEncoder("x")})
		_ = p.Close()
		if !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
			t.Errorf("%s writing %s: %v, want TopicAuthorizationFailed", c.user, c.topic, err)
		} else {
			t.Logf("%s writing %s: %v", c.user, c.topic, err)
		}
	}
	if log := s.AuthorizerLog(t); !strings.Contains(log, "Principal = User:fanout is Denied operation = WRITE from host = 127.0.0.1 on resource = Topic:LITERAL:"+rawTopic) {
		t.Errorf("authorizer log has no denied write of %s by User:fanout", rawTopic)
	}
}

// ensureTopic creates topic as the admin (super user) if it is missing.
func ensureTopic(t *testing.T, s *kafkatest.Secure, topic string) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(s.Brokers, saramaConfig(t, s.Env(t, kafkatest.UserAdmin), "securitytest-admin"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, _, err := kafkaclient.EnsureTopic(admin, topic, kafkaclient.TopicSpec{Partitions: 2, Replication: 1}); err != nil {
		t.Fatal(err)
	}
}
