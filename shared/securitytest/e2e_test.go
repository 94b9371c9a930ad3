//go:build security

package securitytest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim"
)

// Names the broker's ACLs are written for (kafka.sh defaults), which are
// also the binaries' defaults.
const (
	rawTopic   = "tetragon.raw"
	group      = "tetragon-fanout"
	tableTopic = group + "-table"
	dlqTopic   = "tetragon.dlq"
	execTopic  = "tetragon.process_exec"
)

// TestEndToEndOverSASLSSL: tetragon-sim (mTLS) -> ingester -> raw -> fanout
// -> output topics, over SASL_SSL with SCRAM-SHA-512 and ACLs, read back by
// the consumer principal. Then: no secret in any log or HTTP endpoint, a
// fanout restart recovers its table over the same secured connection, and
// the broker's authorizer log names the principal of every kind of request
// each binary's clients make.
func TestEndToEndOverSASLSSL(t *testing.T) {
	s := kafkatest.SecureBrokers(t)
	b := binaries(t)
	p := newPKI(t)
	consumerEnv := s.Env(t, kafkatest.UserConsumer)
	before := highWaterMarks(t, s.Brokers, consumerEnv)
	authzFrom := len(s.AuthorizerLog(t)) // decisions before this test are not its own

	const events, dupRatio = 300, 0.1
	simAddr := freeAddr(t)
	startProc(t, "tetragon-sim", b.sim, nil, "--listen", simAddr, "--events", fmt.Sprint(events), "--rate", "150",
		"--dup-ratio", fmt.Sprint(dupRatio), "--dup-delay", "5ms",
		"--tls-cert", p.serverCert, "--tls-key", p.serverKey, "--tls-client-ca", p.caFile)

	// The fanout gets its password from the environment, the ingester from a
	// file: both ways must work and neither may leak.
	fanoutPW := s.Password(t, kafkatest.UserFanout)
	fanoutEnv := merge(s.Env(t, kafkatest.UserFanout), map[string]string{
		"KAFKA_SASL_PASSWORD_FILE": "", "KAFKA_SASL_PASSWORD": fanoutPW,
		"REPLICA_ID": "sec-1", "OUTPUT_TOPIC_PARTITIONS": "2", "LOG_FORMAT": "text",
	})
	fanoutHTTP := freeAddr(t)
	fanoutEnv["HTTP_ADDR"] = fanoutHTTP
	fanout := startProc(t, "fanout", b.fanout, fanoutEnv)

	ingesterHTTP := freeAddr(t)
	ingester := startProc(t, "ingester", b.ingester, merge(s.Env(t, kafkatest.UserIngester), map[string]string{
		"TETRAGON_ADDR": simAddr, "TETRAGON_TLS_ENABLED": "true", "TETRAGON_TLS_CA_FILE": p.caFile,
		"TETRAGON_TLS_CERT_FILE": p.clientCert, "TETRAGON_TLS_KEY_FILE": p.clientKey,
		"NODE_NAME": "sec-node", "HTTP_ADDR": ingesterHTTP, "RAW_TOPIC_PARTITIONS": "4", "LOG_FORMAT": "text",
	}))

	start := time.Now()
	waitHTTP(t, ingester, ingesterHTTP, "/readyz", 200, 90*time.Second)
	waitHTTP(t, fanout, fanoutHTTP, "/readyz", 200, 90*time.Second)
	t.Logf("both binaries ready after %s", time.Since(start).Round(100*time.Millisecond))

	ids, total := readOutputs(t, s.Brokers, consumerEnv, before, events, 90*time.Second)
	if len(ids) != events {
		t.Fatalf("read %d distinct events (%d messages) from the output topics, want %d", len(ids), total, events)
	}
	t.Logf("consumer principal read %d distinct events, %d messages, from %d output topics (%s)", len(ids), total,
		len(outputTopics(ids)), time.Since(start).Round(100*time.Millisecond))
	if after := highWaterMarks(t, s.Brokers, consumerEnv); sumTopic(after, dlqTopic) != sumTopic(before, dlqTopic) {
		t.Errorf("DLQ grew from %d to %d", sumTopic(before, dlqTopic), sumTopic(after, dlqTopic))
	}
	_, fm := get(t, fanoutHTTP, "/metrics")
	if d := metric(fm, "fanout_duplicates_dropped_total", ""); d != float64(sim.ExpectedDuplicates(events, dupRatio)) {
		t.Errorf("fanout_duplicates_dropped_total = %v, want the sim's %d duplicates", d, sim.ExpectedDuplicates(events, dupRatio))
	}

	checkNoSecrets(t, s, fanoutPW, fanout, ingester, fanoutHTTP, ingesterHTTP)

	// Restart: the new process rebuilds its in-memory table from the
	// changelog, which is goka's table recovery consumer at work.
	if err := fanout.stop(); err != nil {
		t.Fatalf("fanout stop: %v", err)
	}
	restart := time.Now()
	fanout2 := startProc(t, "fanout-restarted", b.fanout, fanoutEnv)
	waitHTTP(t, fanout2, fanoutHTTP, "/readyz", 200, 90*time.Second)
	t.Logf("restarted fanout ready after %s", time.Since(restart).Round(100*time.Millisecond))
	if !fanout2.waitLog(30*time.Second, "table partition recovered") {
		t.Errorf("restarted fanout logged no table recovery")
	}
	checkAuthorizerLog(t, s.AuthorizerLog(t)[authzFrom:])
}

// highWaterMarks returns, for every topic the principal may describe, the
// next offset of each partition.
func highWaterMarks(t *testing.T, brokers []string, env map[string]string) map[string]map[int32]int64 {
	t.Helper()
	client, err := sarama.NewClient(brokers, saramaConfig(t, env, "securitytest-hwm"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	topics, err := client.Topics()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[int32]int64{}
	for _, topic := range topics {
		parts, err := client.Partitions(topic)
		if err != nil {
			t.Fatal(err)
		}
		out[topic] = map[int32]int64{}
		for _, p := range parts {
			off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				t.Fatalf("offset of %s/%d: %v", topic, p, err)
			}
			out[topic][p] = off
		}
	}
	return out
}

func sumTopic(hwm map[string]map[int32]int64, topic string) int64 {
	var n int64
	for _, off := range hwm[topic] {
		n += off
	}
	return n
}

// readOutputs reads every output topic (tetragon.* but raw and DLQ) from the
// offsets in before (0 for new topics) until want distinct keys (event ids)
// arrived or timeout; it returns key -> topic and the message count.
func readOutputs(t *testing.T, brokers []string, env map[string]string, before map[string]map[int32]int64,
	want int, timeout time.Duration) (map[string]string, int) {
	t.Helper()
	client, err := sarama.NewClient(brokers, saramaConfig(t, env, "securitytest-reader"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	ids := map[string]string{}
	total := 0
	consuming := map[string]bool{}
	msgs := make(chan *sarama.ConsumerMessage, 1024)
	deadline := time.Now().Add(timeout)
	for len(ids) < want && time.Now().Before(deadline) {
		// Output topics appear as the fanout creates them.
		if err := client.RefreshMetadata(); err != nil {
			t.Fatal(err)
		}
		topics, _ := client.Topics()
		for _, topic := range topics {
			if consuming[topic] || !strings.HasPrefix(topic, "tetragon.") || topic == rawTopic || topic == dlqTopic {
				continue
			}
			parts, err := client.Partitions(topic)
			if err != nil {
				t.Fatal(err)
			}
			consuming[topic] = true
			for _, p := range parts {
				pc, err := consumer.ConsumePartition(topic, p, before[topic][p])
				if err != nil {
					t.Fatalf("consume %s/%d: %v", topic, p, err)
				}
				go func() {
					for m := range pc.Messages() {
						msgs <- m
					}
				}()
			}
		}
		wait := time.After(time.Second)
	drain:
		for {
			select {
			case m := <-msgs:
				ids[string(m.Key)] = m.Topic
				total++
			case <-wait:
				break drain
			}
		}
	}
	return ids, total
}

func outputTopics(ids map[string]string) []string {
	seen := map[string]bool{}
	for _, topic := range ids {
		seen[topic] = true
	}
	out := make([]string, 0, len(seen))
	for topic := range seen {
		out = append(out, topic)
	}
	sort.Strings(out)
	return out
}

// checkNoSecrets: neither password appears in either binary's output, any of
// their HTTP endpoints (goka's monitor and query UI included) or --help;
// the start-up config dump shows the env password masked.
func checkNoSecrets(t *testing.T, s *kafkatest.Secure, fanoutPW string, fanout, ingester *proc, fanoutHTTP, ingesterHTTP string) {
	t.Helper()
	secrets := map[string]string{"fanout password": fanoutPW, "ingester password": s.Password(t, kafkatest.UserIngester)}
	check := func(where, text string) {
		for name, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows the %s", where, name)
			}
		}
	}
	check("fanout log", fanout.Logs())
	check("ingester log", ingester.Logs())
	if !strings.Contains(fanout.Logs(), "KAFKA_SASL_PASSWORD=***") {
		t.Errorf("fanout's start-up config does not show KAFKA_SASL_PASSWORD masked")
	}
	pages := map[string][]string{
		fanoutHTTP: {"/metrics", "/healthz", "/readyz", "/monitor/", "/monitor/processor/0", "/monitor/data/processor/0",
			"/query/", "/query/" + tableTopic, "/query/" + tableTopic + "/no-such-id"},
		ingesterHTTP: {"/metrics", "/healthz", "/readyz"},
	}
	for addr, paths := range pages {
		for _, path := range paths {
			code, body := get(t, addr, path)
			if code == 0 || code >= 500 {
				t.Errorf("GET %s%s: %d %s", addr, path, code, tail(body, 3))
			}
			check("GET "+path, body)
		}
	}
	// The debug pages are not empty: the monitor's data shows the processor.
	if _, body := get(t, fanoutHTTP, "/monitor/data/processor/0"); !strings.Contains(body, rawTopic) {
		t.Errorf("goka monitor data does not show the processor's input %s:\n%s", rawTopic, tail(body, 5))
	}
	for _, bin := range []string{fanout.cmd.Path, ingester.cmd.Path} {
		help := startProc(t, "help", bin, map[string]string{"KAFKA_SASL_PASSWORD": fanoutPW}, "--help")
		<-help.done
		check(bin+" --help", help.Logs())
	}
}

// authzLine: "Principal = User:fanout is Allowed operation = READ from host =
// 127.0.0.1 on resource = Group:LITERAL:tetragon-fanout for request =
// JoinGroup with ...".
var authzLine = regexp.MustCompile(`Principal = (User:\S+) is (Allowed|Denied) operation = (\S+) from host = \S+ on resource = (\S+) for request = (\S+)`)

// checkAuthorizerLog: the broker authorized, for the right principal, each
// kind of request the binaries' clients make. Request types tell the
// clients apart: only goka's consumer group joins the group and fetches raw,
// only its table producer writes the changelog, only the table recovery
// consumer fetches it, only admins and goka's topic manager create topics
// or describe configs.
func checkAuthorizerLog(t *testing.T, log string) {
	t.Helper()
	type key struct{ principal, verdict, op, resource, request string }
	seen := map[key]int{}
	for _, m := range authzLine.FindAllStringSubmatch(log, -1) {
		seen[key{m[1], m[2], m[3], m[4], m[5]}]++
	}
	want := []struct {
		client string
		k      key
	}{
		{"ingester admin: creates the raw topic", key{"User:ingester", "Allowed", "CREATE", "Topic:LITERAL:" + rawTopic, "CreateTopics"}},
		{"ingester producer: idempotent", key{"User:ingester", "Allowed", "IDEMPOTENT_WRITE", "Cluster:LITERAL:kafka-cluster", "InitProducerId"}},
		{"ingester producer: writes raw", key{"User:ingester", "Allowed", "WRITE", "Topic:LITERAL:" + rawTopic, "Produce"}},
		{"fanout admin: creates the table changelog", key{"User:fanout", "Allowed", "CREATE", "Topic:LITERAL:" + tableTopic, "CreateTopics"}},
		{"fanout admin: creates the DLQ", key{"User:fanout", "Allowed", "CREATE", "Topic:LITERAL:" + dlqTopic, "CreateTopics"}},
		{"fanout topics: creates an output topic", key{"User:fanout", "Allowed", "CREATE", "Topic:LITERAL:" + execTopic, "CreateTopics"}},
		{"goka topic manager: checks the table's config", key{"User:fanout", "Allowed", "DESCRIBE_CONFIGS", "Topic:LITERAL:" + tableTopic, "DescribeConfigs"}},
		{"fanout admin: checks the DLQ's max.message.bytes", key{"User:fanout", "Allowed", "DESCRIBE_CONFIGS", "Topic:LITERAL:" + dlqTopic, "DescribeConfigs"}},
		{"goka consumer group: joins", key{"User:fanout", "Allowed", "READ", "Group:LITERAL:" + group, "JoinGroup"}},
		{"goka consumer group: syncs", key{"User:fanout", "Allowed", "READ", "Group:LITERAL:" + group, "SyncGroup"}},
		{"goka consumer group: commits", key{"User:fanout", "Allowed", "READ", "Group:LITERAL:" + group, "OffsetCommit"}},
		{"goka consumer group: fetches raw", key{"User:fanout", "Allowed", "READ", "Topic:LITERAL:" + rawTopic, "Fetch"}},
		{"goka table producer: writes the changelog", key{"User:fanout", "Allowed", "WRITE", "Topic:LITERAL:" + tableTopic, "Produce"}},
		{"goka table recovery consumer: reads the changelog", key{"User:fanout", "Allowed", "READ", "Topic:LITERAL:" + tableTopic, "Fetch"}},
		{"fanout output producer: idempotent", key{"User:fanout", "Allowed", "IDEMPOTENT_WRITE", "Cluster:LITERAL:kafka-cluster", "InitProducerId"}},
		{"fanout output producer: writes outputs", key{"User:fanout", "Allowed", "WRITE", "Topic:LITERAL:" + execTopic, "Produce"}},
		{"consumer: reads outputs", key{"User:consumer", "Allowed", "READ", "Topic:LITERAL:" + execTopic, "Fetch"}},
	}
	for _, w := range want {
		if seen[w.k] == 0 {
			t.Errorf("authorizer log: no %+v (%s)", w.k, w.client)
		} else {
			t.Logf("%-52s %s %s %s %s: %d", w.client, w.k.principal, w.k.op, w.k.resource, w.k.request, seen[w.k])
		}
	}
	// The ACLs are complete for everything the binaries did: nothing of
	// theirs was denied, except topics hidden from their all-topics metadata
	// requests (the fanout lists topics to count a template's).
	for k, n := range seen {
		if k.verdict != "Denied" || k.principal != "User:ingester" && k.principal != "User:fanout" {
			continue
		}
		if k.op == "DESCRIBE" && k.request == "Metadata" {
			t.Logf("hidden from %s's metadata: %s x%d", k.principal, k.resource, n)
			continue
		}
		t.Errorf("authorizer denied %s %s on %s (%s) x%d: an ACL is missing", k.principal, k.op, k.resource, k.request, n)
	}
}
