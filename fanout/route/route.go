package route

// Event is what rules match on, filled by the processor from the normalized
// event. Decide neither keeps nor modifies it.
type Event struct {
	// Type in shared/eventtype spelling: "process_exec", ..., "unknown".
	Type string
	// Namespace of the pod; "" for host processes.
	Namespace string
	Pod       string
	Node      string
	// Labels are the pod labels, read in place (never copied).
	Labels map[string]string
	// Policy is the tracing policy name ("" when the event has none).
	Policy string
	// Binary is the process binary path.
	Binary string
	// Enforced: the event carries an enforcement action (kprobe/lsm action
	// other than POST). Never sampled out.
	Enforced bool
}

// Action is what the processor does with an event.
type Action uint8

const (
	// Emit: produce the event to Decision.Topic.
	Emit Action = iota
	// Drop: an explicit drop rule matched; count by Decision.Reason.
	Drop
	// SampledOut: the rule's sample ratio did not keep this event id.
	SampledOut
)

func (a Action) String() string {
	switch a {
	case Emit:
		return "emit"
	case Drop:
		return "drop"
	case SampledOut:
		return "sampled_out"
	}
	return "invalid"
}

// Reasons, usable as metric label values as they are.
const (
	// ReasonDrop: a drop rule matched (Action Drop).
	ReasonDrop = "route_drop"
	// ReasonDropEnforced: a drop rule matched an enforced event (Action Drop).
	ReasonDropEnforced = "route_drop_enforced"
	// ReasonSampled: the sample ratio did not keep the event (Action SampledOut).
	ReasonSampled = "sampled"
	// ReasonTopicInvalid: the rule's template could not render a valid topic
	// from the event's values; the event is emitted to the default topic.
	ReasonTopicInvalid = "topic_invalid"
)

// DefaultRule is Decision.Rule when no rule matched.
const DefaultRule = "default"

// Decision is the outcome of Table.Decide.
type Decision struct {
	Action Action
	// Topic is the rendered output topic (Emit only).
	Topic string
	// Template is the template Topic was rendered from, MaxTopics the cap on
	// how many topics it may create cluster-wide (0: none). The topics
	// package needs both.
	Template  string
	MaxTopics int
	// Default is this event's default topic: where it goes when Topic cannot
	// be created (topic cap). Equal to Topic when no rule topic applied.
	Default string
	// Rule is the name of the matching rule, or DefaultRule.
	Rule string
	// Reason: why the event is not emitted (Drop, SampledOut), or for Emit
	// why it was rerouted to the default topic ("" when it was not).
	Reason string
}
