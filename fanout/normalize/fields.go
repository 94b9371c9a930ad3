package normalize

import (
	"github.com/cilium/tetragon/api/v1/tetragon"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// TypeUnknown is the type of an event this build does not know
// (shared/eventtype.Unknown). Known types are spelled by the eventtype
// table (Type.Name).
const TypeUnknown = eventtype.Unknown

// Fields are what routing and sampling match on. Strings are "" when the
// event has no such thing (Namespace and Pod are "" for host processes,
// PolicyName for exec/exit, everything but Type and Node for throttle).
type Fields struct {
	Type       string
	Node       string
	Namespace  string
	Pod        string
	Workload   string
	Binary     string
	PolicyName string
	// Labels is the pod's label map itself, not a copy: read it, never
	// write it.
	Labels map[string]string
	// Enforced is true when a policy acted on the process (see
	// IsEnforcement): such events must never be sampled out.
	Enforced bool
}

// Extract returns the routing fields of ev. It does not allocate.
func Extract(ev *tetragon.GetEventsResponse) Fields {
	f := Fields{Node: ev.GetNodeName(), Type: TypeUnknown}
	t := eventtype.Of(ev)
	if t == nil {
		return f
	}
	f.Type = t.Name
	p := t.Parts(ev)
	f.PolicyName = p.PolicyName
	// Types without an action (or a return action) read as UNKNOWN, which
	// is not enforcement.
	f.Enforced = IsEnforcement(p.Action) || IsEnforcement(p.ReturnAction)
	f.Binary = p.Process.GetBinary()
	if pod := p.Process.GetPod(); pod != nil {
		f.Namespace = pod.GetNamespace()
		f.Pod = pod.GetName()
		f.Workload = pod.GetWorkload()
		f.Labels = pod.GetPodLabels()
	}
	return f
}

// TypeOf names ev's type without allocating (same spelling as
// shared/eventtype.FromResponse).
func TypeOf(ev *tetragon.GetEventsResponse) string {
	if t := eventtype.Of(ev); t != nil {
		return t.Name
	}
	return TypeUnknown
}

// IsEnforcement reports whether a policy action changed what the process
// could do, rather than only observing it or keeping Tetragon's own books.
//
// Enforcement: SIGKILL (kills the process), OVERRIDE (replaces the call's
// return value, i.e. denies it), SIGNAL (sends a signal, usually to kill),
// NOTIFYENFORCER (hands the kill/override to the enforcer sensor at syscall
// exit), SET (writes into the traced program's USDT argument).
//
// Not enforcement: UNKNOWN (0, unset), POST, NOPOST, the fd bookkeeping
// FOLLOWFD/UNFOLLOWFD/COPYFD, socket bookkeeping TRACKSOCK/UNTRACKSOCK,
// CLEANUPENFORCERNOTIFICATION, and the side-channel notifications GETURL and
// DNSLOOKUP.
//
// An action number this build does not know counts as enforcement: these
// events are never sampled out, and keeping one too many is the safe error.
func IsEnforcement(a tetragon.KprobeAction) bool {
	switch a {
	case tetragon.KprobeAction_KPROBE_ACTION_SIGKILL,
		tetragon.KprobeAction_KPROBE_ACTION_OVERRIDE,
		tetragon.KprobeAction_KPROBE_ACTION_SIGNAL,
		tetragon.KprobeAction_KPROBE_ACTION_NOTIFYENFORCER,
		tetragon.KprobeAction_KPROBE_ACTION_SET:
		return true
	case tetragon.KprobeAction_KPROBE_ACTION_UNKNOWN,
		tetragon.KprobeAction_KPROBE_ACTION_POST,
		tetragon.KprobeAction_KPROBE_ACTION_FOLLOWFD,
		tetragon.KprobeAction_KPROBE_ACTION_UNFOLLOWFD,
		tetragon.KprobeAction_KPROBE_ACTION_COPYFD,
		tetragon.KprobeAction_KPROBE_ACTION_GETURL,
		tetragon.KprobeAction_KPROBE_ACTION_DNSLOOKUP,
		tetragon.KprobeAction_KPROBE_ACTION_NOPOST,
		tetragon.KprobeAction_KPROBE_ACTION_TRACKSOCK,
		tetragon.KprobeAction_KPROBE_ACTION_UNTRACKSOCK,
		tetragon.KprobeAction_KPROBE_ACTION_CLEANUPENFORCERNOTIFICATION:
		return false
	}
	return true
}
