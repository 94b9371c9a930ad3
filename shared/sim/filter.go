package sim

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/cilium/tetragon/api/v1/tetragon"

	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/source"
)

// Request filters, with Tetragon's semantics (pkg/filters): an event
// passes if it matches at least one allow filter (or there are none) and
// no deny filter; within a filter every set field must match, within a
// field any value. Fields are evaluated on the event's metadata, so the
// per-client cost is a few comparisons, not a decode. Filter fields the
// simulator does not implement are refused, never silently ignored.

type filterSet struct {
	allow, deny []*matcher
}

type matcher struct {
	types      []tetragon.EventType
	namespaces []string
	setNS      bool
	nsRegex    []*regexp.Regexp
	binary     []*regexp.Regexp
	pod        []*regexp.Regexp
	policies   []string
}

// compileFilters returns nil when the request filters nothing.
func compileFilters(req *tetragon.GetEventsRequest) (*filterSet, error) {
	if len(req.GetAllowList()) == 0 && len(req.GetDenyList()) == 0 {
		return nil, nil
	}
	fs := &filterSet{}
	for i, f := range req.AllowList {
		m, err := compileFilter(f)
		if err != nil {
			return nil, fmt.Errorf("allow_list[%d]: %w", i, err)
		}
		fs.allow = append(fs.allow, m)
	}
	for i, f := range req.DenyList {
		m, err := compileFilter(f)
		if err != nil {
			return nil, fmt.Errorf("deny_list[%d]: %w", i, err)
		}
		fs.deny = append(fs.deny, m)
	}
	return fs, nil
}

func compileFilter(f *tetragon.Filter) (*matcher, error) {
	if name := unsupportedField(f); name != "" {
		return nil, fmt.Errorf("filter field %q is not supported by tetragon-sim (supported: event_set, namespace, namespace_regex, binary_regex, pod_regex, policy_names)", name)
	}
	m := &matcher{types: f.EventSet, namespaces: f.Namespace, setNS: f.Namespace != nil, policies: f.PolicyNames}
	var err error
	if m.nsRegex, err = compileAll("namespace_regex", f.NamespaceRegex); err != nil {
		return nil, err
	}
	if m.binary, err = compileAll("binary_regex", f.BinaryRegex); err != nil {
		return nil, err
	}
	if m.pod, err = compileAll("pod_regex", f.PodRegex); err != nil {
		return nil, err
	}
	return m, nil
}

func compileAll(field string, pats []string) ([]*regexp.Regexp, error) {
	if pats == nil {
		return nil, nil
	}
	out := make([]*regexp.Regexp, 0, len(pats))
	for _, p := range pats {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", field, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func unsupportedField(f *tetragon.Filter) string {
	switch {
	case f.HealthCheck != nil:
		return "health_check"
	case f.Pid != nil:
		return "pid"
	case f.PidSet != nil:
		return "pid_set"
	case f.ArgumentsRegex != nil:
		return "arguments_regex"
	case f.Labels != nil:
		return "labels"
	case f.Capabilities != nil:
		return "capabilities"
	case f.ParentBinaryRegex != nil:
		return "parent_binary_regex"
	case f.CelExpression != nil:
		return "cel_expression"
	case f.ParentArgumentsRegex != nil:
		return "parent_arguments_regex"
	case f.ContainerId != nil:
		return "container_id"
	case f.InInitTree != nil:
		return "in_init_tree"
	case f.AncestorBinaryRegex != nil:
		return "ancestor_binary_regex"
	case f.ContainerNameRegex != nil:
		return "container_name_regex"
	}
	return ""
}

func (fs *filterSet) match(ev *source.Event) bool {
	if fs == nil {
		return true
	}
	if len(fs.allow) > 0 && !slices.ContainsFunc(fs.allow, func(m *matcher) bool { return m.match(ev) }) {
		return false
	}
	return !slices.ContainsFunc(fs.deny, func(m *matcher) bool { return m.match(ev) })
}

func (m *matcher) match(ev *source.Event) bool {
	if m.types != nil && !slices.Contains(m.types, ev.Kind) {
		return false
	}
	if m.setNS {
		// Tetragon: no process never matches; a host process matches "".
		if !ev.HasProcess || !slices.Contains(m.namespaces, ev.Namespace) {
			return false
		}
	}
	if m.nsRegex != nil && (!ev.HasPod || !anyMatch(m.nsRegex, ev.Namespace)) {
		return false
	}
	if m.binary != nil && (!ev.HasProcess || !anyMatch(m.binary, ev.Binary)) {
		return false
	}
	if m.pod != nil && (!ev.HasPod || !anyMatch(m.pod, ev.Pod)) {
		return false
	}
	if m.policies != nil && (ev.Policy == "" || !slices.Contains(m.policies, ev.Policy)) {
		return false
	}
	return true
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
