package route

// Table is a checked routes file. It is immutable apart from its topic
// caches and safe for concurrent use by every partition goroutine.
type Table struct {
	file    string
	rules   []rule
	def     *template // defaults.topic
	defMax  int
	builtin *template // tetragon.{type}: when def cannot render an event
}

type rule struct {
	name string

	hasTypes, hasNamespaces, hasPolicies, hasBinaries bool

	types      []string
	namespaces strMatcher
	policies   strMatcher
	binaries   strMatcher
	labels     []labelSel

	topic     *template // nil: the default topic
	maxTopics int
	sample    sampler
	drop      bool
}

type labelSel struct {
	key string
	any bool // "*": the key is present, any value (even empty)
	val strMatcher
}

func (r *rule) matches(ev *Event) bool {
	if r.hasTypes && !containsString(r.types, ev.Type) {
		return false
	}
	if r.hasNamespaces && !r.namespaces.match(ev.Namespace) {
		return false
	}
	if r.hasPolicies && !r.policies.match(ev.Policy) {
		return false
	}
	if r.hasBinaries && !r.binaries.match(ev.Binary) {
		return false
	}
	for i := range r.labels {
		l := &r.labels[i]
		v, ok := ev.Labels[l.key]
		if !ok || !l.any && !l.val.match(v) {
			return false
		}
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// Decide routes one event. id is the event id (32 hex characters); sampling
// depends on it alone, so the choice is the same on every replica and replay.
func (t *Table) Decide(id string, ev *Event) Decision {
	var r *rule
	for i := range t.rules {
		if t.rules[i].matches(ev) {
			r = &t.rules[i]
			break
		}
	}
	d := Decision{Action: Emit, Rule: DefaultRule}
	if r != nil {
		d.Rule = r.name
		if r.drop {
			d.Action, d.Reason = Drop, ReasonDrop
			if ev.Enforced {
				d.Reason = ReasonDropEnforced
			}
			return d
		}
		if !ev.Enforced && !r.sample.keep(id) {
			d.Action, d.Reason = SampledOut, ReasonSampled
			return d
		}
	}

	d.Template, d.MaxTopics = t.def.src, t.defMax
	d.Default = t.def.render(ev.Type, ev.Namespace, ev.Node)
	if d.Default == "" {
		// The configured default needs a value this event lacks (say
		// {node} on an event without one): the last resort cannot fail.
		d.Template, d.MaxTopics = t.builtin.src, 0
		d.Default = t.builtin.render(safeType(ev.Type), "", "")
		d.Reason = ReasonTopicInvalid
	}
	d.Topic = d.Default
	if r != nil && r.topic != nil {
		if s := r.topic.render(ev.Type, ev.Namespace, ev.Node); s != "" {
			d.Topic, d.Template, d.MaxTopics, d.Reason = s, r.topic.src, r.maxTopics, ""
		} else {
			d.Reason = ReasonTopicInvalid
		}
	}
	return d
}

func safeType(s string) string {
	if validWord(s) {
		return s
	}
	return "unknown"
}

// File is the name the table was parsed from, for the start-up log.
func (t *Table) File() string { return t.file }

// Rules lists the rule names in order, for the start-up log.
func (t *Table) Rules() []string {
	out := make([]string, len(t.rules))
	for i := range t.rules {
		out[i] = t.rules[i].name
	}
	return out
}

// DefaultTemplate is the default topic template (defaults.topic, or
// DefaultTopic), for topics.New.
func (t *Table) DefaultTemplate() string { return t.def.src }
