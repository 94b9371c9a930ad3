package route

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func mustParse(t testing.TB, yaml string) *Table {
	t.Helper()
	tb, err := Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return tb
}

// id returns a deterministic 32-hex id, as shared/eventid makes them.
func id(i int) string {
	h := sha256.Sum256([]byte(fmt.Sprint("event-", i)))
	return hex.EncodeToString(h[:16])
}

func TestNoFileDefaults(t *testing.T) {
	for _, tb := range []*Table{Default(), mustLoad(t, "")} {
		d := tb.Decide(id(1), &Event{Type: "process_exec", Namespace: "team-a", Node: "n1"})
		want := Decision{Action: Emit, Topic: "tetragon.process_exec", Template: DefaultTopic, Default: "tetragon.process_exec", Rule: DefaultRule}
		if d != want {
			t.Fatalf("got %+v, want %+v", d, want)
		}
	}
}

func mustLoad(t *testing.T, path string) *Table {
	t.Helper()
	tb, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

const matchRules = `
version: 1
rules:
  - name: types
    match: {types: [process_lsm, process_uprobe]}
    topic: "m.types"
  - name: ns-exact
    match: {namespaces: [payments]}
    topic: "m.ns-exact"
  - name: ns-glob
    match: {namespaces: ["team-*"]}
    topic: "m.ns-glob"
  - name: host
    match: {namespaces: [""], types: [process_exec]}
    topic: "m.host"
  - name: labels
    match: {labels: {app: web, tier: "front*", canary: "*"}}
    topic: "m.labels"
  - name: labels-empty-value
    match: {labels: {flag: ""}}
    topic: "m.labels-empty"
  - name: policy-exact
    match: {policies: [block-write]}
    topic: "m.policy-exact"
  - name: policy-glob
    match: {policies: ["detect-*"]}
    topic: "m.policy-glob"
  - name: binary-exact
    match: {binaries: [/usr/bin/curl]}
    topic: "m.binary-exact"
  - name: binary-glob
    match: {binaries: ["/usr/local/bin/*"]}
    topic: "m.binary-glob"
  - name: binary-tree
    match: {binaries: ["/tmp/**", "/home/*/bin/**"]}
    topic: "m.binary-tree"
  - name: and
    match: {types: [process_kprobe], namespaces: [shop], binaries: [/bin/sh]}
    topic: "m.and"
`

func TestMatch(t *testing.T) {
	tb := mustParse(t, matchRules)
	cases := []struct {
		name string
		ev   Event
		rule string
	}{
		{"type listed", Event{Type: "process_uprobe", Namespace: "x"}, "types"},
		{"type not listed", Event{Type: "process_exit", Namespace: "x"}, DefaultRule},
		{"namespace exact", Event{Type: "process_exec", Namespace: "payments"}, "ns-exact"},
		{"namespace exact is not prefix", Event{Type: "process_exec", Namespace: "payments-2"}, DefaultRule},
		{"namespace glob", Event{Type: "process_exec", Namespace: "team-blue"}, "ns-glob"},
		{"namespace glob needs prefix", Event{Type: "process_exec", Namespace: "xteam-blue"}, DefaultRule},
		{"host process", Event{Type: "process_exec"}, "host"},
		{"host process, other type", Event{Type: "process_exit"}, DefaultRule},
		{"glob never matches host", Event{Type: "process_exit", Namespace: ""}, DefaultRule},
		{"labels all hold", Event{Type: "process_exec", Namespace: "x", Labels: map[string]string{"app": "web", "tier": "frontend", "canary": "", "other": "1"}}, "labels"},
		{"labels missing key", Event{Type: "process_exec", Namespace: "x", Labels: map[string]string{"app": "web", "tier": "frontend"}}, DefaultRule},
		{"labels wrong value", Event{Type: "process_exec", Namespace: "x", Labels: map[string]string{"app": "api", "tier": "frontend", "canary": "y"}}, DefaultRule},
		{"labels glob value", Event{Type: "process_exec", Namespace: "x", Labels: map[string]string{"app": "web", "tier": "back", "canary": "y"}}, DefaultRule},
		{"label empty value", Event{Type: "process_exec", Namespace: "x", Labels: map[string]string{"flag": ""}}, "labels-empty-value"},
		{"label empty value, key absent", Event{Type: "process_exec", Namespace: "x", Labels: map[string]string{}}, DefaultRule},
		{"policy exact", Event{Type: "process_kprobe", Namespace: "x", Policy: "block-write"}, "policy-exact"},
		{"policy glob", Event{Type: "process_kprobe", Namespace: "x", Policy: "detect-exec"}, "policy-glob"},
		{"no policy", Event{Type: "process_kprobe", Namespace: "x"}, DefaultRule},
		{"binary exact", Event{Type: "process_exec", Namespace: "x", Binary: "/usr/bin/curl"}, "binary-exact"},
		{"binary glob", Event{Type: "process_exec", Namespace: "x", Binary: "/usr/local/bin/kubectl"}, "binary-glob"},
		{"binary glob does not cross /", Event{Type: "process_exec", Namespace: "x", Binary: "/usr/local/bin/sub/kubectl"}, DefaultRule},
		{"binary tree", Event{Type: "process_exec", Namespace: "x", Binary: "/tmp/a/b/c"}, "binary-tree"},
		{"binary tree excludes dir itself", Event{Type: "process_exec", Namespace: "x", Binary: "/tmp/"}, DefaultRule},
		{"binary tree is not prefix", Event{Type: "process_exec", Namespace: "x", Binary: "/tmpfoo/x"}, DefaultRule},
		{"binary tree glob dir", Event{Type: "process_exec", Namespace: "x", Binary: "/home/ann/bin/tool"}, "binary-tree"},
		{"and: all hold", Event{Type: "process_kprobe", Namespace: "shop", Binary: "/bin/sh"}, "and"},
		{"and: one fails", Event{Type: "process_kprobe", Namespace: "shop", Binary: "/bin/bash"}, DefaultRule},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := tb.Decide(id(1), &c.ev)
			if d.Rule != c.rule || d.Action != Emit {
				t.Fatalf("rule %q action %v, want %q emit", d.Rule, d.Action, c.rule)
			}
			want := "m." + strings.TrimPrefix(c.rule, "labels-empty-value")
			switch c.rule {
			case DefaultRule:
				want = "tetragon." + c.ev.Type
			case "labels-empty-value":
				want = "m.labels-empty"
			}
			if d.Topic != want {
				t.Fatalf("topic %q, want %q", d.Topic, want)
			}
		})
	}
}

func TestFirstMatchWins(t *testing.T) {
	tb := mustParse(t, `
version: 1
rules:
  - name: first
    match: {namespaces: ["team-*"]}
    topic: "first.{type}"
  - name: second
    match: {namespaces: [team-a]}
    drop: true
  - name: third
    match: {types: [process_exec]}
    topic: "third"
`)
	if d := tb.Decide(id(1), &Event{Type: "process_exec", Namespace: "team-a"}); d.Rule != "first" || d.Topic != "first.process_exec" {
		t.Fatalf("got %+v, want rule first", d)
	}
	if d := tb.Decide(id(1), &Event{Type: "process_exec", Namespace: "other"}); d.Rule != "third" || d.Topic != "third" {
		t.Fatalf("got %+v, want rule third", d)
	}
}

func TestDefaultsSection(t *testing.T) {
	tb := mustParse(t, `
version: 1
defaults: {topic: "sec.{namespace}.{type}", host_namespace: "node-local", max_topics: 7}
rules:
  - name: sampled-no-topic
    match: {types: [process_exit]}
    sample: 1
`)
	d := tb.Decide(id(1), &Event{Type: "process_exec"})
	if d.Topic != "sec.node-local.process_exec" || d.Template != "sec.{namespace}.{type}" || d.MaxTopics != 7 || d.Rule != DefaultRule {
		t.Fatalf("got %+v", d)
	}
	// A rule without a topic emits to the default topic.
	d = tb.Decide(id(1), &Event{Type: "process_exit", Namespace: "a"})
	if d.Topic != "sec.a.process_exit" || d.Rule != "sampled-no-topic" || d.Default != d.Topic {
		t.Fatalf("got %+v", d)
	}
}

func TestDropRule(t *testing.T) {
	tb := mustParse(t, `
version: 1
rules:
  - name: keep-curl-in-prod
    match: {namespaces: [prod], binaries: [/usr/bin/curl]}
  - name: drop-curl
    match: {binaries: [/usr/bin/curl]}
    drop: true
`)
	d := tb.Decide(id(1), &Event{Type: "process_exec", Namespace: "monitoring", Binary: "/usr/bin/curl"})
	if d.Action != Drop || d.Reason != ReasonDrop || d.Rule != "drop-curl" || d.Topic != "" {
		t.Fatalf("got %+v, want drop", d)
	}
	d = tb.Decide(id(1), &Event{Type: "process_kprobe", Namespace: "monitoring", Binary: "/usr/bin/curl", Enforced: true})
	if d.Action != Drop || d.Reason != ReasonDropEnforced {
		t.Fatalf("enforced: got %+v, want drop with reason %s", d, ReasonDropEnforced)
	}
	// A rule without action shields its events from later rules.
	d = tb.Decide(id(1), &Event{Type: "process_exec", Namespace: "prod", Binary: "/usr/bin/curl"})
	if d.Action != Emit || d.Rule != "keep-curl-in-prod" || d.Topic != "tetragon.process_exec" {
		t.Fatalf("got %+v, want emit by keep-curl-in-prod", d)
	}
}

const sampleRules = `
version: 1
rules:
  - name: tenth
    match: {types: [process_kprobe]}
    sample: 0.1
  - name: tenth-too
    match: {types: [process_lsm]}
    sample: 0.1
  - name: half
    match: {types: [process_exit]}
    sample: 0.5
`

func TestSamplingRatioAndDeterminism(t *testing.T) {
	const n = 100_000
	a, b := mustParse(t, sampleRules), mustParse(t, sampleRules)
	for _, c := range []struct {
		typ   string
		ratio float64
	}{{"process_kprobe", 0.1}, {"process_exit", 0.5}, {"process_exec", 1}} {
		kept := 0
		for i := range n {
			ev := Event{Type: c.typ, Namespace: "x"}
			da := a.Decide(id(i), &ev)
			if again := a.Decide(id(i), &ev); again != da {
				t.Fatalf("same table, same id %s: %+v then %+v", id(i), da, again)
			}
			if db := b.Decide(id(i), &ev); db != da {
				t.Fatalf("two tables disagree on %s: %+v vs %+v", id(i), da, db)
			}
			switch da.Action {
			case Emit:
				kept++
			case SampledOut:
				if da.Reason != ReasonSampled || da.Topic != "" {
					t.Fatalf("sampled out: %+v", da)
				}
			default:
				t.Fatalf("unexpected %+v", da)
			}
		}
		got := float64(kept) / n
		if tol := 0.01; got < c.ratio-tol || got > c.ratio+tol {
			t.Errorf("%s: kept %.4f, want %.2f +- %.2f", c.typ, got, c.ratio, tol)
		}
	}
}

// Two rules with the same ratio keep different ids: the seed is the rule name.
func TestSamplingIndependentPerRule(t *testing.T) {
	tb := mustParse(t, sampleRules)
	const n = 100_000
	both, a := 0, 0
	for i := range n {
		ka := tb.Decide(id(i), &Event{Type: "process_kprobe"}).Action == Emit
		kb := tb.Decide(id(i), &Event{Type: "process_lsm"}).Action == Emit
		if ka {
			a++
		}
		if ka && kb {
			both++
		}
	}
	// Independent: about 1% kept by both; correlated would be about 10%.
	if got := float64(both) / n; got < 0.007 || got > 0.013 {
		t.Fatalf("kept by both rules: %.4f of events (kept by one: %d), want ~0.01", got, a)
	}
}

func TestEnforcedNeverSampledOut(t *testing.T) {
	tb := mustParse(t, sampleRules)
	for i := range 20_000 {
		d := tb.Decide(id(i), &Event{Type: "process_kprobe", Enforced: true})
		if d.Action != Emit {
			t.Fatalf("enforced event %s: %+v", id(i), d)
		}
	}
}

func TestMalformedIDStillDeterministic(t *testing.T) {
	tb := mustParse(t, sampleRules)
	kept := 0
	for i := range 10_000 {
		bad := fmt.Sprint("not-hex-", i)
		d1 := tb.Decide(bad, &Event{Type: "process_exit"})
		if d2 := tb.Decide(bad, &Event{Type: "process_exit"}); d1 != d2 {
			t.Fatalf("%q: %+v then %+v", bad, d1, d2)
		}
		if d1.Action == Emit {
			kept++
		}
	}
	if kept < 4500 || kept > 5500 {
		t.Fatalf("kept %d of 10000 malformed ids at ratio 0.5", kept)
	}
}

func TestTemplateRendering(t *testing.T) {
	tb := mustParse(t, `
version: 1
rules:
  - name: ns
    match: {types: [process_exec]}
    topic: "tetragon.{namespace}.{type}"
  - name: node
    match: {types: [process_exit]}
    topic: "nodes.{node}.{type}"
`)
	long := strings.Repeat("a", 240)
	cases := []struct {
		name   string
		ev     Event
		topic  string
		reason string
	}{
		{"namespace", Event{Type: "process_exec", Namespace: "team-a"}, "tetragon.team-a.process_exec", ""},
		{"host placeholder", Event{Type: "process_exec"}, "tetragon._host.process_exec", ""},
		{"node with dots", Event{Type: "process_exit", Node: "ip-10-0-0-1.ec2.internal"}, "nodes.ip-10-0-0-1.ec2.internal.process_exit", ""},
		{"namespace with slash", Event{Type: "process_exec", Namespace: "a/b"}, "tetragon.process_exec", ReasonTopicInvalid},
		{"namespace with dot", Event{Type: "process_exec", Namespace: "evil.process_exec"}, "tetragon.process_exec", ReasonTopicInvalid},
		{"namespace dotdot", Event{Type: "process_exec", Namespace: ".."}, "tetragon.process_exec", ReasonTopicInvalid},
		{"namespace with space", Event{Type: "process_exec", Namespace: "a b"}, "tetragon.process_exec", ReasonTopicInvalid},
		{"namespace unicode", Event{Type: "process_exec", Namespace: "tëam"}, "tetragon.process_exec", ReasonTopicInvalid},
		{"namespace NUL", Event{Type: "process_exec", Namespace: "a\x00b"}, "tetragon.process_exec", ReasonTopicInvalid},
		{"namespace too long", Event{Type: "process_exec", Namespace: long}, "tetragon.process_exec", ReasonTopicInvalid},
		{"node leading dot", Event{Type: "process_exit", Node: ".n1"}, "tetragon.process_exit", ReasonTopicInvalid},
		{"node double dot", Event{Type: "process_exit", Node: "a..b"}, "tetragon.process_exit", ReasonTopicInvalid},
		{"node empty", Event{Type: "process_exit"}, "tetragon.process_exit", ReasonTopicInvalid},
		{"node slash", Event{Type: "process_exit", Node: "../../etc"}, "tetragon.process_exit", ReasonTopicInvalid},
		{"bad type, default", Event{Type: "x/y", Namespace: "a"}, "tetragon.unknown", ReasonTopicInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for range 2 { // second round from the cache
				d := tb.Decide(id(1), &c.ev)
				if d.Action != Emit || d.Topic != c.topic || d.Reason != c.reason {
					t.Fatalf("got %+v, want topic %q reason %q", d, c.topic, c.reason)
				}
				if !ValidTopic(d.Topic) || !ValidTopic(d.Default) {
					t.Fatalf("invalid topic in %+v", d)
				}
			}
		})
	}
}

// The configured default can fail too (it uses {node}); the last resort
// tetragon.{type} cannot.
func TestDefaultTemplateFallback(t *testing.T) {
	tb := mustParse(t, "version: 1\ndefaults: {topic: \"by-node.{node}\", max_topics: 3}\n")
	d := tb.Decide(id(1), &Event{Type: "process_exec", Node: "n/1"})
	want := Decision{Action: Emit, Topic: "tetragon.process_exec", Template: DefaultTopic, Default: "tetragon.process_exec", Rule: DefaultRule, Reason: ReasonTopicInvalid}
	if d != want {
		t.Fatalf("got %+v, want %+v", d, want)
	}
}

func TestTemplateCacheBounded(t *testing.T) {
	tmpl, err := parseTemplate("t.{node}", DefaultHostNamespace)
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxCached + 10 {
		if got, want := tmpl.render("", "", fmt.Sprint("n", i)), fmt.Sprint("t.n", i); got != want {
			t.Fatalf("render %q, want %q", got, want)
		}
	}
	if n := len(tmpl.cache.dirty); n > maxCached {
		t.Fatalf("cache holds %d entries, bound %d", n, maxCached)
	}
}

func TestTemplateMatcher(t *testing.T) {
	m, err := TemplateMatcher("tetragon.{namespace}.{type}")
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]bool{
		"tetragon.team-a.process_exec":   true,
		"tetragon._host.process_kprobe":  true,
		"tetragon.team-a.unknown":        true,
		"tetragon.process_exec":          false,
		"tetragon.raw":                   false,
		"tetragon.team-a.process_execx":  false,
		"tetragon.a.b.process_exec":      false,
		"xtetragon.team-a.process_exec":  false,
		"tetragon.team-a.process_exec.x": false,
	} {
		if got := m(topic); got != want {
			t.Errorf("%s: %v, want %v", topic, got, want)
		}
	}
	if _, err := TemplateMatcher("t.{pod}"); err == nil {
		t.Fatal("unknown variable accepted")
	}
}

var wantRe = regexp.MustCompile(`^# want: (\d+): (.*)\n`)

// Every invalid file says on its first line which line the error must name.
func TestInvalidFilesNameTheLine(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sm := wantRe.FindSubmatch(data)
			if sm == nil {
				t.Fatalf("%s lacks a '# want: LINE: text' first line", f)
			}
			_, err = Load(f)
			if err == nil {
				t.Fatal("loaded without error")
			}
			prefix := fmt.Sprintf("%s:%s: ", f, sm[1])
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), string(sm[2])) {
				t.Fatalf("error %q\nwant prefix %q and text %q", err, prefix, sm[2])
			}
		})
	}
}

func TestSeveralErrorsAllReported(t *testing.T) {
	_, err := Parse("r.yaml", []byte(`version: 1
rules:
  - name: a
    match: {types: [nope]}
    sample: 7
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"r.yaml:4: ", "unknown event type", "r.yaml:5: ", "sample 7"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if err == nil || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Fatalf("got %v", err)
	}
}

func TestExampleFiles(t *testing.T) {
	for _, f := range []string{"../../deployments/local/routes.example.yaml", "testdata/routes.yaml"} {
		tb, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(tb.Rules()) == 0 || tb.File() != f || tb.DefaultTemplate() != DefaultTopic {
			t.Fatalf("%s: rules %v file %q", f, tb.Rules(), tb.File())
		}
	}
	tb := mustLoad(t, "../../deployments/local/routes.example.yaml")
	cases := []struct {
		ev           Event
		action       Action
		rule, reason string
		topic        string
	}{
		{Event{Type: "process_loader", Node: "n1"}, Emit, "host-loaders", "", "tetragon.host.process_loader"},
		{Event{Type: "process_exec", Namespace: "monitoring", Binary: "/usr/bin/curl"}, Drop, "drop-health-checks", ReasonDrop, ""},
		{Event{Type: "process_exec", Namespace: "team-a-dev"}, Emit, "team-namespaces", "", "tetragon.team-a-dev.process_exec"},
		{Event{Type: "process_exec", Namespace: "x", Labels: map[string]string{"team": "payments"}}, Emit, "payments", "", "tetragon.payments.process_exec"},
		{Event{Type: "process_kprobe", Namespace: "kube-system", Enforced: true}, Emit, "noisy-kprobes", "", "tetragon.process_kprobe"},
	}
	for _, c := range cases {
		d := tb.Decide(id(3), &c.ev)
		if d.Action != c.action || d.Rule != c.rule || d.Reason != c.reason || d.Topic != c.topic {
			t.Errorf("%+v: got %+v", c.ev, d)
		}
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{Emit: "emit", Drop: "drop", SampledOut: "sampled_out", 9: "invalid"} {
		if a.String() != want {
			t.Errorf("%d: %q", a, a.String())
		}
	}
}

func TestRerender(t *testing.T) {
	cases := []struct {
		topic, from, to, want string
		ok                    bool
	}{
		{"tetragon.team-a.process_exec", "tetragon.{namespace}.{type}", DefaultTopic, "tetragon.process_exec", true},
		{"tetragon._host.process_kprobe", "tetragon.{namespace}.{type}", "sec.{namespace}.{type}", "sec._host.process_kprobe", true},
		{"n.ip-1.ec2.internal.process_exit", "n.{node}.{type}", "by-node.{node}", "by-node.ip-1.ec2.internal", true},
		{"tetragon.team-a.all", "tetragon.{namespace}.all", DefaultTopic, "", false},
		{"other.process_exec", "tetragon.{namespace}.{type}", DefaultTopic, "", false},
		{"x.process_exec.process_exit", "x.{type}.{type}", DefaultTopic, "", false},
	}
	for _, c := range cases {
		got, ok := Rerender(c.topic, c.from, c.to)
		if got != c.want || ok != c.ok {
			t.Errorf("Rerender(%q, %q, %q) = %q %v, want %q %v", c.topic, c.from, c.to, got, ok, c.want, c.ok)
		}
	}
}

// A template rendering values from the events ({namespace}, {node}) is
// capped at DefaultMaxTopics unless max_topics says otherwise (0: no cap);
// one of {type} and literals only is bounded by the event types and is not.
func TestDefaultTopicCap(t *testing.T) {
	tb := mustParse(t, `
version: 1
defaults: {topic: "sec.{namespace}.{type}"}
rules:
  - name: by-node
    match: {namespaces: [a]}
    topic: "n.{node}"
  - name: by-type
    match: {namespaces: [b]}
    topic: "t.{type}"
  - name: uncapped
    match: {namespaces: [c]}
    topic: "c.{namespace}.{type}"
    max_topics: 0
  - name: capped
    match: {namespaces: [d]}
    topic: "d.{namespace}"
    max_topics: 7
`)
	for _, c := range []struct {
		ns   string
		want int
	}{{"a", DefaultMaxTopics}, {"b", 0}, {"c", 0}, {"d", 7}, {"other", DefaultMaxTopics}} {
		d := tb.Decide(id(1), &Event{Type: "process_exec", Namespace: c.ns, Node: "node-1"})
		if d.Action != Emit || d.MaxTopics != c.want {
			t.Errorf("namespace %s: %+v, want MaxTopics %d", c.ns, d, c.want)
		}
	}
	// No routes file: tetragon.{type}, bounded by the types, no cap.
	if d := Default().Decide(id(1), &Event{Type: "process_exec", Namespace: "x"}); d.MaxTopics != 0 {
		t.Errorf("no routes file: %+v, want no cap", d)
	}
	tb = mustParse(t, "version: 1\ndefaults: {topic: \"by-node.{node}\", max_topics: 0}\n")
	if d := tb.Decide(id(1), &Event{Type: "process_exec", Node: "n1"}); d.MaxTopics != 0 {
		t.Errorf("defaults.max_topics 0: %+v, want no cap", d)
	}
}
