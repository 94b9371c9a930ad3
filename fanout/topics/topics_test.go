package topics

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/route"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

var spec = kafkaclient.TopicSpec{Partitions: 3, Replication: 1, Retention: 90 * time.Minute}

// prefix returns a topic prefix unique to the test run, and deletes every
// topic under it at cleanup.
func prefix(t *testing.T, admin sarama.ClusterAdmin) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	p := "test-topics-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		for _, name := range listPrefix(t, admin, p) {
			if err := admin.DeleteTopic(name); err != nil {
				t.Logf("cleanup: delete %s: %v", name, err)
			}
		}
	})
	return p
}

func listPrefix(t *testing.T, admin sarama.ClusterAdmin, p string) []string {
	t.Helper()
	md, err := admin.DescribeTopics(nil)
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	var out []string
	for _, m := range md {
		if strings.HasPrefix(m.Name, p+".") {
			out = append(out, m.Name)
		}
	}
	return out
}

func newManager(t *testing.T, admin sarama.ClusterAdmin, def string) *Manager {
	t.Helper()
	m, err := New(admin, spec, def, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCreatesWithSpec(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	admin := kafkatest.Admin(t, brokers)
	p := prefix(t, admin)
	m := newManager(t, admin, p+".{type}")

	topic := p + ".team-a.process_exec"
	for range 2 { // the second call comes from the cache
		got, err := m.Ensure(topic, p+".{namespace}.{type}", 0)
		if err != nil || got != topic {
			t.Fatalf("Ensure: %q %v", got, err)
		}
	}
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil || len(md) != 1 || md[0].Err != sarama.ErrNoError {
		t.Fatalf("describe %s: %v %+v", topic, err, md)
	}
	if n := len(md[0].Partitions); n != int(spec.Partitions) {
		t.Fatalf("%d partitions, want %d", n, spec.Partitions)
	}
	for _, part := range md[0].Partitions {
		if part.Leader < 0 || len(part.Replicas) != int(spec.Replication) {
			t.Fatalf("partition %d: leader %d replicas %v", part.ID, part.Leader, part.Replicas)
		}
	}
	got := kafkatest.TopicConfigs(t, brokers, topic)["retention.ms"]
	if want := fmt.Sprint(spec.Retention.Milliseconds()); got != want {
		t.Fatalf("retention.ms %q, want %q", got, want)
	}
}

// Two Managers are two fanout replicas: the cap counts the cluster's topics,
// not what one replica created.
func TestCapIsClusterWide(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	adminA, adminB := kafkatest.Admin(t, brokers), kafkatest.Admin(t, brokers)
	p := prefix(t, adminA)
	tmpl, def := p+".{namespace}.{type}", p+".{type}"
	a, b := newManager(t, adminA, def), newManager(t, adminB, def)
	const max = 3

	ensure := func(m *Manager, ns string) (string, error) {
		return m.Ensure(p+"."+ns+".process_exec", tmpl, max)
	}
	for _, c := range []struct {
		m  *Manager
		ns string
	}{{a, "ns1"}, {b, "ns2"}, {a, "ns3"}} {
		if got, err := ensure(c.m, c.ns); err != nil || got != p+"."+c.ns+".process_exec" {
			t.Fatalf("%s: %q %v", c.ns, got, err)
		}
	}
	// The fourth topic of the template, from either replica: rerouted to
	// the default topic, which exists.
	for _, m := range []*Manager{a, b} {
		got, err := ensure(m, "ns4")
		if !errors.Is(err, ErrTopicCap) || got != p+".process_exec" {
			t.Fatalf("over cap: %q %v, want %s and ErrTopicCap", got, err, p+".process_exec")
		}
		// Cached: same answer without listing again.
		if again, err2 := ensure(m, "ns4"); again != got || !errors.Is(err2, ErrTopicCap) {
			t.Fatalf("over cap again: %q %v", again, err2)
		}
	}
	// Topics that exist stay usable from every replica, cap or not.
	for _, ns := range []string{"ns1", "ns2", "ns3"} {
		if got, err := ensure(b, ns); err != nil || got != p+"."+ns+".process_exec" {
			t.Fatalf("existing %s via B: %q %v", ns, got, err)
		}
	}
	// Another type is another topic of the same template: over the cap too.
	if got, err := b.Ensure(p+".ns1.process_exit", tmpl, max); !errors.Is(err, ErrTopicCap) || got != p+".process_exit" {
		t.Fatalf("other type: %q %v", got, err)
	}
	names := listPrefix(t, adminA, p)
	n := 0
	for _, name := range names {
		if strings.Count(name, ".") == 2 {
			n++
		}
	}
	if n != max {
		t.Fatalf("template has %d topics %v, want %d", n, names, max)
	}
}

// Many goroutines of one replica creating topics of one template at once
// never exceed the cap; the same topic from many goroutines of two replicas
// is created once and every caller gets it.
func TestConcurrentEnsure(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	adminA, adminB := kafkatest.Admin(t, brokers), kafkatest.Admin(t, brokers)
	p := prefix(t, adminA)
	tmpl := p + ".{namespace}.{type}"
	a, b := newManager(t, adminA, p+".{type}"), newManager(t, adminB, p+".{type}")

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	same := p + ".shared.process_kprobe"
	for i := range 16 {
		m := a
		if i%2 == 1 {
			m = b
		}
		wg.Go(func() {
			if got, err := m.Ensure(same, tmpl, 0); err != nil || got != same {
				errs <- fmt.Errorf("same topic: %q %v", got, err)
			}
		})
	}
	const max = 4
	var capped sync.Map
	for i := range 10 {
		wg.Go(func() {
			topic := fmt.Sprintf("%s.c%d.process_exec", p, i)
			got, err := a.Ensure(topic, p+".c{namespace}.{type}", max)
			switch {
			case err == nil && got == topic:
			case errors.Is(err, ErrTopicCap) && got == p+".process_exec":
				capped.Store(topic, true)
			default:
				errs <- fmt.Errorf("capped %s: %q %v", topic, got, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	created := 0
	for _, name := range listPrefix(t, adminA, p) {
		if strings.HasPrefix(name, p+".c") {
			created++
		}
	}
	if created != max {
		t.Fatalf("%d topics of a template capped at %d", created, max)
	}
}

func TestRoutedHostileNamesNeverReachKafka(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	admin := kafkatest.Admin(t, brokers)
	p := prefix(t, admin)
	tb, err := route.Parse("t.yaml", []byte(fmt.Sprintf(`version: 1
defaults: {topic: "%[1]s.{type}"}
rules:
  - name: ns
    topic: "%[1]s.{namespace}.{type}"
    max_topics: 10
`, p)))
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, admin, p+".{type}")
	for _, ns := range []string{"a/b", "..", "evil.process_exit", "x y", strings.Repeat("n", 300)} {
		d := tb.Decide("00000000000000000000000000000000", &route.Event{Type: "process_exec", Namespace: ns})
		got, err := m.Ensure(d.Topic, d.Template, d.MaxTopics)
		if err != nil || got != p+".process_exec" || d.Reason != route.ReasonTopicInvalid {
			t.Fatalf("namespace %q: decision %+v, Ensure %q %v", ns, d, got, err)
		}
	}
	if names := listPrefix(t, admin, p); len(names) != 1 {
		t.Fatalf("topics created: %v, want only the default", names)
	}
}

// Invalid names are refused before any request: no broker needed.
func TestInvalidTopicRefused(t *testing.T) {
	m, err := New(nil, spec, route.DefaultTopic, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", ".", "..", "a/b", "tetragon.a b", strings.Repeat("x", 250), "t\x00"} {
		if got, err := m.Ensure(name, "", 0); !errors.Is(err, ErrInvalidTopic) || got != "" {
			t.Errorf("%q: %q %v, want ErrInvalidTopic", name, got, err)
		}
	}
}

func TestNewRejectsBadDefault(t *testing.T) {
	if _, err := New(nil, spec, "tetragon.{pod}", Options{}); err == nil {
		t.Fatal("bad default template accepted")
	}
}
