package route

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// The file as written. Pointers tell "absent" from a zero value; nil and
// empty slices differ the same way (yaml.v3 makes a slice for "[]").
type fileRoutes struct {
	Version  *int         `yaml:"version"`
	Defaults fileDefaults `yaml:"defaults"`
	Rules    []fileRule   `yaml:"rules"`
}

type fileDefaults struct {
	Topic         *string `yaml:"topic"`
	HostNamespace *string `yaml:"host_namespace"`
	MaxTopics     *int    `yaml:"max_topics"`
}

type fileRule struct {
	Name      string     `yaml:"name"`
	Match     *fileMatch `yaml:"match"`
	Topic     *string    `yaml:"topic"`
	Sample    *float64   `yaml:"sample"`
	MaxTopics *int       `yaml:"max_topics"`
	Drop      bool       `yaml:"drop"`
}

type fileMatch struct {
	Types      []string          `yaml:"types"`
	Namespaces []string          `yaml:"namespaces"`
	Labels     map[string]string `yaml:"labels"`
	Policies   []string          `yaml:"policies"`
	Binaries   []string          `yaml:"binaries"`
}

// Load reads and checks the routes file at path. An empty path means no
// file: every event goes to tetragon.{type}.
func Load(path string) (*Table, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("routes file: %w", err)
	}
	return Parse(path, data)
}

// Default is the table without a routes file.
func Default() *Table {
	t, err := Parse("(default)", []byte("version: 1\n"))
	if err != nil {
		panic(err) // a constant input
	}
	return t
}

// DefaultMaxTopics is the cap on the topics a template may create when its
// rule (or defaults, for the default topic) sets no max_topics, for a
// template that renders {namespace} or {node}: their values come from the
// events, so without a cap one topic per namespace or node (times the event
// types) is created, and a cluster of 1,000 nodes would get 15,000 topics
// of OUTPUT_TOPIC_PARTITIONS partitions each, enough to take the Kafka
// cluster down. 100 topics (1,200 partitions at the default 12) is what a
// mid-sized cluster holds without trouble, and above the demand of most
// per-team layouts; beyond it events go to the default topic, counted
// (fanout_events_rerouted_total{reason="topic_cap"}), so nothing is lost.
// Raise it, or set max_topics: 0 (no cap) for a template whose values you
// control. A template of {type} and literals only is bounded by the event
// types (about 15) and gets no cap: counting would also count unrelated
// topics it happens to match (tetragon.raw matches tetragon.{type}).
const DefaultMaxTopics = 100

// topicCap is the cap of a template: the max_topics set, else
// DefaultMaxTopics for a template with values from the events, else none.
func topicCap(set *int, t *template) int {
	switch {
	case set != nil:
		return max(*set, 0)
	case t != nil && (t.uses[varNamespace] || t.uses[varNode]):
		return DefaultMaxTopics
	}
	return 0
}

// Parse checks a routes file; name is used in error messages, which all
// have the form "name:LINE: what is wrong".
func Parse(name string, data []byte) (*Table, error) {
	var f fileRoutes
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d: more than one YAML document; keep one", name, extra.Line)
	}
	// The same bytes as a node tree, only to find the lines of values that
	// decode well but mean nothing (a ratio of 2, a bad glob).
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	c := checker{file: name, root: &root}
	t := c.compile(&f)
	if len(c.errs) > 0 {
		sort.SliceStable(c.errs, func(i, j int) bool { return c.errs[i].line < c.errs[j].line })
		errs := make([]error, len(c.errs))
		for i, e := range c.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// yaml.v3 says "line 3: field foo not found in type route.fileMatch"; say
// "name:3: unknown field foo in match" instead.
var (
	yamlLineRe    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknownRe = regexp.MustCompile(`field (\S+) not found in type route\.(\w+)`)
	yamlTypeNames = strings.NewReplacer(
		"route.fileRoutes", "the top level", "route.fileDefaults", "defaults",
		"route.fileRule", "a rule", "route.fileMatch", "match",
		"into int", "into an integer", "into float64", "into a number", "into string", "into a string",
		"into []string", "into a list of strings", "into map[string]string", "into a map of strings",
		"into bool", "into true or false",
	)
	sectionNames = map[string]string{"fileRoutes": "the top level", "fileDefaults": "defaults", "fileRule": "a rule", "fileMatch": "match"}
)

func yamlError(name string, data []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		// A syntax error. yaml.v3 (3.0.1) reports the line where the broken
		// construct starts, and for parser errors a 0-based one: find the
		// first line at which the text stops parsing instead.
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if sm := yamlLineRe.FindStringSubmatch(msg); sm != nil {
			msg = sm[2]
		}
		return fmt.Errorf("%s:%d: %s", name, syntaxErrorLine(data), msg)
	}
	errs := make([]error, 0, len(te.Errors))
	for _, m := range te.Errors {
		m = yamlUnknownRe.ReplaceAllStringFunc(m, func(s string) string {
			sm := yamlUnknownRe.FindStringSubmatch(s)
			return fmt.Sprintf("unknown field %q in %s", sm[1], sectionNames[sm[2]])
		})
		m = yamlTypeNames.Replace(m)
		if sm := yamlLineRe.FindStringSubmatch(m); sm != nil {
			errs = append(errs, fmt.Errorf("%s:%s: %s", name, sm[1], sm[2]))
		} else {
			errs = append(errs, fmt.Errorf("%s: %s", name, m))
		}
	}
	return errors.Join(errs...)
}

// syntaxErrorLine is the first line whose addition makes the text
// unparsable. Quadratic, but only on the error path of a small file.
func syntaxErrorLine(data []byte) int {
	const maxLines = 5000
	data = bytes.TrimRight(data, "\n")
	n := 0
	for i := 0; i <= len(data) && n < maxLines; i++ {
		if i < len(data) && data[i] != '\n' {
			continue
		}
		n++
		var node yaml.Node
		if yaml.Unmarshal(data[:i], &node) != nil {
			return n
		}
	}
	return n
}

type lineError struct {
	file string
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg) }

type checker struct {
	file string
	root *yaml.Node
	errs []*lineError
}

// errorf records an error at the line of the value at path (keys and
// indexes from the document root), or of the closest ancestor present.
func (c *checker) errorf(path []any, format string, args ...any) {
	c.errs = append(c.errs, &lineError{file: c.file, line: c.line(path...), msg: fmt.Sprintf(format, args...)})
}

func (c *checker) line(path ...any) int {
	n := c.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	best := max(n.Line, 1)
	for _, step := range path {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch s := step.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == s {
						next = n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s < len(n.Content) {
				next = n.Content[s]
			}
		}
		if next == nil {
			return best
		}
		n = next
		best = n.Line
	}
	return best
}

// p builds a path; a helper so call sites read like the file.
func p(steps ...any) []any { return steps }

func (c *checker) compile(f *fileRoutes) *Table {
	t := &Table{file: c.file}
	switch {
	case f.Version == nil:
		c.errorf(p(), "missing \"version: 1\"")
	case *f.Version != 1:
		c.errorf(p("version"), "version %d is not supported (want 1)", *f.Version)
	}

	host := DefaultHostNamespace
	if d := f.Defaults.HostNamespace; d != nil {
		if !validWord(*d) {
			c.errorf(p("defaults", "host_namespace"), "host_namespace %q: want a non-empty name of [a-zA-Z0-9_-]", *d)
		} else {
			host = *d
		}
	}
	defSrc := DefaultTopic
	if d := f.Defaults.Topic; d != nil {
		defSrc = *d
	}
	var err error
	if t.def, err = parseTemplate(defSrc, host); err != nil {
		c.errorf(p("defaults", "topic"), "%v", err)
	}
	if d := f.Defaults.MaxTopics; d != nil && *d < 0 {
		c.errorf(p("defaults", "max_topics"), "max_topics %d: want 0 (no cap) or more", *d)
	}
	t.defMax = topicCap(f.Defaults.MaxTopics, t.def)
	t.builtin, _ = parseTemplate(DefaultTopic, host)

	names := map[string]int{}
	catchAll := -1
	for i := range f.Rules {
		fr := &f.Rules[i]
		at := func(steps ...any) []any { return append(p("rules", i), steps...) }
		if catchAll >= 0 {
			c.errorf(at(), "rule %q is unreachable: rule %q (line %d) before it matches every event", fr.Name, f.Rules[catchAll].Name, c.line("rules", catchAll))
		}
		r := rule{name: fr.Name, sample: sampler{all: true}}
		switch prev, dup := names[fr.Name]; {
		case fr.Name == "":
			c.errorf(at(), "rule without a name")
		case fr.Name == DefaultRule:
			c.errorf(at("name"), "rule name %q is reserved for unmatched events", fr.Name)
		case dup:
			c.errorf(at("name"), "rule name %q is already used at line %d", fr.Name, c.line("rules", prev, "name"))
		default:
			names[fr.Name] = i
		}
		if fr.Match == nil || fr.Match.empty() {
			catchAll = i
		} else {
			c.compileMatch(&r, fr.Match, at("match"))
		}
		if fr.Drop {
			for _, k := range []struct {
				set  bool
				name string
			}{{fr.Topic != nil, "topic"}, {fr.Sample != nil, "sample"}, {fr.MaxTopics != nil, "max_topics"}} {
				if k.set {
					c.errorf(at("drop"), "rule %q: drop cannot be combined with %s", fr.Name, k.name)
				}
			}
			r.drop = true
		}
		if fr.Topic != nil {
			if r.topic, err = parseTemplate(*fr.Topic, host); err != nil {
				c.errorf(at("topic"), "rule %q: %v", fr.Name, err)
			}
		}
		if fr.MaxTopics != nil {
			switch {
			case *fr.MaxTopics < 0:
				c.errorf(at("max_topics"), "rule %q: max_topics %d: want 0 (no cap) or more", fr.Name, *fr.MaxTopics)
			case fr.Topic == nil && !fr.Drop:
				c.errorf(at("max_topics"), "rule %q: max_topics without topic (the default topic's cap is defaults.max_topics)", fr.Name)
			}
		}
		r.maxTopics = topicCap(fr.MaxTopics, r.topic)
		if fr.Sample != nil {
			if s := *fr.Sample; !(s > 0 && s <= 1) {
				c.errorf(at("sample"), "rule %q: sample %v: want a share 0 < r <= 1 (use drop: true to discard everything)", fr.Name, s)
			} else {
				r.sample = newSampler(fr.Name, s)
			}
		}
		t.rules = append(t.rules, r)
	}
	return t
}

func (m *fileMatch) empty() bool {
	return m.Types == nil && m.Namespaces == nil && m.Labels == nil && m.Policies == nil && m.Binaries == nil
}

func (c *checker) compileMatch(r *rule, m *fileMatch, at []any) {
	in := func(steps ...any) []any { return append(slices.Clone(at), steps...) }
	known := append(eventtype.All(), eventtype.Unknown)
	if m.Types != nil {
		if len(m.Types) == 0 {
			c.errorf(in("types"), "rule %q: empty types never match", r.name)
		}
		for j, ty := range m.Types {
			if !slices.Contains(known, ty) {
				c.errorf(in("types", j), "rule %q: unknown event type %q (known: %s)", r.name, ty, strings.Join(known, ", "))
			}
		}
		r.types = m.Types
		r.hasTypes = true
	}
	list := func(key string, vals []string, dst *strMatcher, has *bool) {
		if vals == nil {
			return
		}
		if len(vals) == 0 {
			c.errorf(in(key), "rule %q: empty %s never match", r.name, key)
		}
		for j, v := range vals {
			one, err := compileStrings([]string{v})
			if err != nil {
				c.errorf(in(key, j), "rule %q: %v", r.name, err)
				continue
			}
			dst.exact = append(dst.exact, one.exact...)
			dst.globs = append(dst.globs, one.globs...)
			dst.empty = dst.empty || one.empty
		}
		*has = true
	}
	list("namespaces", m.Namespaces, &r.namespaces, &r.hasNamespaces)
	list("policies", m.Policies, &r.policies, &r.hasPolicies)
	list("binaries", m.Binaries, &r.binaries, &r.hasBinaries)
	if m.Labels != nil {
		if len(m.Labels) == 0 {
			c.errorf(in("labels"), "rule %q: empty labels: list key: value pairs or remove labels", r.name)
		}
		keys := make([]string, 0, len(m.Labels))
		for k := range m.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys) // a stable order: errors and matching do not depend on map order
		for _, k := range keys {
			v := m.Labels[k]
			if k == "" {
				c.errorf(in("labels"), "rule %q: empty label key", r.name)
				continue
			}
			sel := labelSel{key: k}
			switch {
			case v == "*":
				sel.any = true
			default:
				var err error
				if sel.val, err = compileStrings([]string{v}); err != nil {
					c.errorf(in("labels", k), "rule %q: label %s: %v", r.name, k, err)
					continue
				}
			}
			r.labels = append(r.labels, sel)
		}
	}
}
