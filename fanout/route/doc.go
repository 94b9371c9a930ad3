// Package route decides, for each normalized event, whether the fanout emits
// it and to which topic: the rules of ROUTES_FILE, first match wins.
//
// The processor calls it once per event:
//
//	t, err := route.Load(cfg.RoutesFile) // "" = no file: everything to tetragon.{type}
//	...
//	d := t.Decide(id, &route.Event{Type: ..., Namespace: ..., Enforced: ...})
//	switch d.Action {
//	case route.Emit:       // d.Reason != "": rerouted to the default topic (count it);
//	                       // topic, err := topicsManager.Ensure(d.Topic, d.Template, d.MaxTopics)
//	                       // (errors.Is(err, topics.ErrTopicCap): count, produce to topic or d.Default)
//	case route.SampledOut: // fanout_events_sampled_out_total{type}
//	case route.Drop:       // fanout_events_dropped_total{reason=d.Reason}
//	}
//
// # File shape (version 1)
//
//	version: 1                      # required
//	defaults:                       # optional
//	  topic: "tetragon.{type}"      # unmatched events, and rules without a topic
//	  host_namespace: "_host"       # what {namespace} renders for host processes
//	  max_topics: 100               # cap on topics the default template may create (0: none);
//	                                # unset: 100 if it renders {namespace} or {node}, else none
//	rules:                          # optional; first match wins
//	  - name: noisy-kprobes         # required, unique, not "default"
//	    match:                      # all present conditions must hold (AND);
//	      types: [process_kprobe]   # entries of one list are alternatives (OR)
//	      namespaces: ["kube-system", "team-*", ""]   # "" = host processes
//	      labels: {app: web, tier: "*"}               # every key must be present, value glob
//	      policies: ["block-*"]     # tracing policy name
//	      binaries: ["/usr/bin/curl", "/tmp/**"]      # process binary path
//	    topic: "tetragon.{namespace}.{type}"          # template: {type} {namespace} {node}
//	    max_topics: 50              # cluster-wide cap on topics this template creates
//	                                # (unset: DefaultMaxTopics, 100, if it renders
//	                                # {namespace} or {node}; 0: no cap)
//	    sample: 0.1                 # keep this share (0 < r <= 1)
//	  - name: drop-health-checks
//	    match: {binaries: ["/usr/bin/curl"], namespaces: ["monitoring"]}
//	    drop: true                  # never with topic, sample or max_topics
//
// A rule without match matches every event (later rules are then unreachable,
// which is an error). A rule without topic, sample or drop keeps its events on
// the default topic and shields them from later rules.
//
// Patterns (namespaces, label values, policies, binaries) are path.Match globs:
// "*" and "?" do not cross "/", [a-z] classes work, and a pattern ending in
// "/**" matches everything below that directory. An empty entry "" matches an
// empty value (a host process's namespace, an event without policy); globs
// never match an empty value, so namespaces: ["*"] means "any pod".
//
// # Sampling
//
// Deterministic on the event id: the first 64 bits of the 32-hex id (already
// a uniform hash), mixed with a seed derived from the rule name so rules
// sample independently. Every replica and every replay keeps the same events.
// Events with Enforced set (a kprobe/lsm action other than POST) are never
// sampled out.
//
// # Drop and enforcement
//
// An explicit drop rule applies to enforced events too (the operator asked for
// it), but with its own reason, ReasonDropEnforced, so a dashboard can alarm
// on enforcement events being discarded.
//
// # Topic names
//
// Rendered names must be valid Kafka topic names ([a-zA-Z0-9._-], at most 249
// characters) and must not be surprising: {type} and {namespace} values may
// hold only [a-zA-Z0-9_-] (Kubernetes namespaces never hold a dot, so a
// hostile "a.b" cannot impersonate another namespace's topic), {node} may add
// dots between labels. An event whose values cannot form a valid name is not
// sanitized (that could merge two sources into one topic): it goes to the
// default topic with ReasonTopicInvalid, and if the default template cannot
// render it either, to tetragon.{type} ("tetragon.unknown" for a bad type).
//
// Errors in the file name the file and the line ("routes.yaml:12: ...") so
// the fanout can exit 2 with them.
package route
