//go:build security

package securitytest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// The broker accepts only clients that speak TLS and authenticate: a
// plaintext client, a TLS client without SASL and a SASL client without TLS
// all fail. That is what makes the end-to-end test a proof for every client
// of the binaries: one that skipped TLS or SASL could not have worked.
func TestUnauthenticatedClientsAreRejected(t *testing.T) {
	s := kafkatest.SecureBrokers(t)
	good := s.Env(t, kafkatest.UserIngester)
	for name, env := range map[string]map[string]string{
		"plaintext":          {"KAFKA_BROKERS": good["KAFKA_BROKERS"]},
		"TLS without SASL":   {"KAFKA_BROKERS": good["KAFKA_BROKERS"], "KAFKA_TLS_ENABLED": "true", "KAFKA_TLS_CA_FILE": s.CAFile()},
		"SASL without TLS":   merge(good, map[string]string{"KAFKA_TLS_ENABLED": "false", "KAFKA_TLS_CA_FILE": ""}),
		"TLS, wrong CA":      merge(good, map[string]string{"KAFKA_TLS_CA_FILE": newPKI(t).caFile}),
		"SASL, unknown user": merge(good, map[string]string{"KAFKA_SASL_USERNAME": "mallory"}),
	} {
		sc := saramaConfig(t, env, "securitytest-"+strings.ReplaceAll(name, " ", "-"))
		sc.Net.DialTimeout, sc.Net.ReadTimeout = 3*time.Second, 3*time.Second
		start := time.Now()
		client, err := sarama.NewClient(s.Brokers, sc)
		if err == nil {
			_ = client.Close()
			t.Errorf("%s: connected", name)
			continue
		}
		t.Logf("%s: refused in %s: %v", name, time.Since(start).Round(time.Millisecond), err)
	}

	// Authenticated, but the consumer may not create topics (no ACL): the
	// authorizer denies what no ACL allows.
	admin, err := sarama.NewClusterAdmin(s.Brokers, saramaConfig(t, s.Env(t, kafkatest.UserConsumer), "securitytest-consumer"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	err = admin.CreateTopic("tetragon.consumer-made", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false)
	if !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
		t.Errorf("consumer creating a topic: %v, want TopicAuthorizationFailed", err)
	}
}

// Every mechanism kafkaclient offers works against the broker with the right
// password and fails with SASL_AUTHENTICATION_FAILED with a wrong one.
func TestMechanisms(t *testing.T) {
	s := kafkatest.SecureBrokers(t)
	base := s.Env(t, kafkatest.UserIngester)
	password := s.Password(t, kafkatest.UserIngester)
	for _, mech := range []string{sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512} {
		env := merge(base, map[string]string{"KAFKA_SASL_MECHANISM": mech, "KAFKA_SASL_PASSWORD_FILE": "", "KAFKA_SASL_PASSWORD": password})
		sc := saramaConfig(t, env, "securitytest-"+mech)
		if !sc.Net.TLS.Enable || !sc.Net.SASL.Enable || string(sc.Net.SASL.Mechanism) != mech {
			t.Fatalf("%s: kafkaclient built TLS %v SASL %v %s", mech, sc.Net.TLS.Enable, sc.Net.SASL.Enable, sc.Net.SASL.Mechanism)
		}
		admin, err := sarama.NewClusterAdmin(s.Brokers, sc)
		if err != nil {
			t.Errorf("%s: %v", mech, err)
			continue
		}
		// The ingester may describe the raw topic (whether or not it exists yet).
		if _, _, err := kafkaclient.TopicPartitions(admin, "tetragon.raw"); err != nil {
			t.Errorf("%s: describe tetragon.raw: %v", mech, err)
		}
		_ = admin.Close()

		env["KAFKA_SASL_PASSWORD"] = "not-" + password
		_, err = sarama.NewClient(s.Brokers, saramaConfig(t, env, "securitytest-wrong-"+mech))
		if !errors.Is(err, sarama.ErrSASLAuthenticationFailed) {
			t.Errorf("%s with a wrong password: %v, want SASL_AUTHENTICATION_FAILED", mech, err)
		} else {
			t.Logf("%s wrong password: %v", mech, err)
		}
	}
}
