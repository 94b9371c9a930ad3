package route

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
)

// MaxTopicLen is Kafka's limit on a topic name.
const MaxTopicLen = kafkaclient.MaxTopicLen

// DefaultTopic is the topic template used without a routes file, and the
// last resort when a configured default cannot render an event.
const DefaultTopic = "tetragon.{type}"

// DefaultHostNamespace is what {namespace} renders for a host process.
const DefaultHostNamespace = "_host"

// Template variables.
const (
	varType = iota
	varNamespace
	varNode
	numVars
)

var varNames = [numVars]string{"type", "namespace", "node"}

type segment struct {
	lit string
	v   int // -1 for a literal
}

// template is a parsed topic template with a cache of rendered names: the
// set of (type, namespace, node) values is small in a real cluster, so after
// warm-up rendering neither allocates nor builds strings.
type template struct {
	src  string
	segs []segment
	uses [numVars]bool
	host string // what an empty namespace renders as

	cache renderCache
}

type renderKey struct{ typ, ns, node string }

// maxCached bounds the cache so hostile values (a node name per event) cost
// rendering time, not memory.
const maxCached = 8192

func parseTemplate(src, host string) (*template, error) {
	t := &template{src: src, host: host}
	if src == "" {
		return nil, fmt.Errorf("empty topic template")
	}
	rest := src
	static := 0
	for rest != "" {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			t.segs = append(t.segs, segment{lit: rest, v: -1})
			static += len(rest)
			break
		}
		if i > 0 {
			t.segs = append(t.segs, segment{lit: rest[:i], v: -1})
			static += i
		}
		if rest[i] == '}' {
			return nil, fmt.Errorf("topic template %q: unmatched \"}\"", src)
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("topic template %q: unclosed \"{\"", src)
		}
		name := rest[i+1 : i+j]
		v := -1
		for k, n := range varNames {
			if n == name {
				v = k
			}
		}
		if v < 0 {
			return nil, fmt.Errorf("topic template %q: unknown variable {%s} (want {type}, {namespace} or {node})", src, name)
		}
		t.segs = append(t.segs, segment{v: v})
		t.uses[v] = true
		rest = rest[i+j+1:]
	}
	for _, s := range t.segs {
		if s.v < 0 && !validTopicChars(s.lit) {
			return nil, fmt.Errorf("topic template %q: %q holds characters Kafka does not allow in a topic name (want [a-zA-Z0-9._-])", src, s.lit)
		}
	}
	if static > MaxTopicLen {
		return nil, fmt.Errorf("topic template %q is longer than %d characters", src, MaxTopicLen)
	}
	if len(t.segs) == 1 && (src == "." || src == "..") {
		return nil, fmt.Errorf("topic template %q is not a valid topic name", src)
	}
	return t, nil
}

// render returns the topic for the values, or "" if they cannot form a valid,
// unsurprising topic name.
func (t *template) render(typ, ns, node string) string {
	k := renderKey{}
	if t.uses[varType] {
		k.typ = typ
	}
	if t.uses[varNamespace] {
		k.ns = ns
	}
	if t.uses[varNode] {
		k.node = node
	}
	if s, ok := t.cache.get(k); ok {
		return s
	}
	return t.cache.add(k, t.build)
}

// renderCache is read by every partition goroutine for every event: reads
// are one atomic load of an immutable map (no lock, no shared write, so no
// cache-line bouncing between cores). New keys go to a mutex-guarded dirty
// map that is published as the new read map once it has missed as often as
// it is large, so copying costs O(1) per miss amortized (sync.Map's idea,
// without boxing keys into interfaces, which allocates).
type renderCache struct {
	read   atomic.Pointer[map[renderKey]string]
	mu     sync.Mutex
	dirty  map[renderKey]string // every cached key; "" caches "cannot render"
	misses int
}

func (c *renderCache) get(k renderKey) (string, bool) {
	if m := c.read.Load(); m != nil {
		s, ok := (*m)[k]
		return s, ok
	}
	return "", false
}

func (c *renderCache) add(k renderKey, build func(renderKey) string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.dirty[k]; ok {
		c.miss()
		return s
	}
	if c.dirty == nil || len(c.dirty) >= maxCached {
		c.dirty = make(map[renderKey]string)
		c.read.Store(nil)
		c.misses = 0
	}
	s := build(k)
	// The values may alias a whole raw message (the decoder does not copy
	// strings); a cached key must not keep that message alive.
	k = renderKey{typ: strings.Clone(k.typ), ns: strings.Clone(k.ns), node: strings.Clone(k.node)}
	c.dirty[k] = s
	c.miss()
	return s
}

func (c *renderCache) miss() {
	c.misses++
	if c.misses < len(c.dirty) && c.read.Load() != nil {
		return
	}
	m := make(map[renderKey]string, len(c.dirty))
	for k, v := range c.dirty {
		m[k] = v
	}
	c.read.Store(&m)
	c.misses = 0
}

func (t *template) build(k renderKey) string {
	if k.ns == "" {
		k.ns = t.host
	}
	vals := [numVars]string{k.typ, k.ns, k.node}
	if t.uses[varType] && !validWord(k.typ) ||
		t.uses[varNamespace] && !validWord(k.ns) ||
		t.uses[varNode] && !validNode(k.node) {
		return ""
	}
	n := 0
	for _, s := range t.segs {
		if s.v < 0 {
			n += len(s.lit)
		} else {
			n += len(vals[s.v])
		}
	}
	if n > MaxTopicLen {
		return ""
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range t.segs {
		if s.v < 0 {
			b.WriteString(s.lit)
		} else {
			b.WriteString(vals[s.v])
		}
	}
	out := b.String()
	if out == "." || out == ".." {
		return ""
	}
	return out
}

func isTopicChar(c byte) bool { return kafkaclient.IsTopicChar(c) }

func validTopicChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTopicChar(s[i]) {
			return false
		}
	}
	return true
}

// validWord: a {type} or {namespace} value: topic characters without dots,
// so a value can never look like two components of the name.
func validWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '.' || !isTopicChar(c) {
			return false
		}
	}
	return true
}

// validNode: a {node} value: words separated by single dots, as in a
// DNS name.
func validNode(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	return validTopicChars(s)
}

// ValidTopic reports whether name is a legal Kafka topic name
// (kafkaclient.ValidTopic, the one check).
func ValidTopic(name string) bool { return kafkaclient.ValidTopic(name) }

// TemplateMatcher returns a predicate that reports whether an existing topic
// could have been rendered from tmpl. The topics package uses it to count,
// cluster-wide, the topics a template has created. {type} matches only known
// type names.
func TemplateMatcher(tmpl string) (func(topic string) bool, error) {
	t, err := parseTemplate(tmpl, DefaultHostNamespace)
	if err != nil {
		return nil, err
	}
	rx, _ := t.regexp()
	return rx.MatchString, nil
}

// Rerender returns the topic template to renders for the values that topic
// was rendered with from template from: the default topic of an event the
// caller knows only by its topic. ok is false when topic does not match
// from, or to needs a variable that from does not have.
func Rerender(topic, from, to string) (string, bool) {
	f, err := parseTemplate(from, DefaultHostNamespace)
	if err != nil {
		return "", false
	}
	tt, err := parseTemplate(to, DefaultHostNamespace)
	if err != nil {
		return "", false
	}
	rx, vars := f.regexp()
	sm := rx.FindStringSubmatch(topic)
	if sm == nil {
		return "", false
	}
	var k renderKey
	var set [numVars]bool
	vals := [numVars]*string{&k.typ, &k.ns, &k.node}
	for i, v := range vars {
		if set[v] && *vals[v] != sm[i+1] {
			return "", false // {type} twice with two values
		}
		*vals[v], set[v] = sm[i+1], true
	}
	for v := range numVars {
		if tt.uses[v] && !set[v] {
			return "", false
		}
	}
	out := tt.build(k)
	return out, out != ""
}

// regexp matches what t renders; group i+1 captures variable vars[i].
func (t *template) regexp() (*regexp.Regexp, []int) {
	types := append(eventtype.All(), eventtype.Unknown)
	for i := range types {
		types[i] = regexp.QuoteMeta(types[i])
	}
	var re strings.Builder
	var vars []int
	re.WriteString("^")
	for _, s := range t.segs {
		switch s.v {
		case -1:
			re.WriteString(regexp.QuoteMeta(s.lit))
			continue
		case varType:
			re.WriteString("(" + strings.Join(types, "|") + ")")
		case varNamespace:
			re.WriteString("([a-zA-Z0-9_-]+)")
		case varNode:
			re.WriteString(`([a-zA-Z0-9_-]+(?:\.[a-zA-Z0-9_-]+)*)`)
		}
		vars = append(vars, s.v)
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()), vars
}
