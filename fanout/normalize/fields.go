package normalize

import (
	"github.com/cilium/tetragon/api/v1/tetragon"
)

// Event type names, spelled as shared/eventtype spells them (a test checks
// they agree). Constants here so the hot path does not lower-case a string
// per event.
const (
	TypeExec          = "process_exec"
	TypeExit          = "process_exit"
	TypeKprobe        = "process_kprobe"
	TypeTracepoint    = "process_tracepoint"
	TypeLoader        = "process_loader"
	TypeUprobe        = "process_uprobe"
	TypeThrottle      = "process_throttle"
	TypeLsm           = "process_lsm"
	TypeUsdt          = "process_usdt"
	TypeTest          = "test"
	TypeRateLimitInfo = "rate_limit_info"
	TypeUnknown       = "unknown"
)

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
	f := Fields{Node: ev.GetNodeName()}
	var proc *tetragon.Process
	switch x := ev.GetEvent().(type) {
	case *tetragon.GetEventsResponse_ProcessExec:
		f.Type = TypeExec
		proc = x.ProcessExec.GetProcess()
	case *tetragon.GetEventsResponse_ProcessExit:
		f.Type = TypeExit
		proc = x.ProcessExit.GetProcess()
	case *tetragon.GetEventsResponse_ProcessKprobe:
		k := x.ProcessKprobe
		f.Type = TypeKprobe
		proc = k.GetProcess()
		f.PolicyName = k.GetPolicyName()
		f.Enforced = IsEnforcement(k.GetAction()) || IsEnforcement(k.GetReturnAction())
	case *tetragon.GetEventsResponse_ProcessTracepoint:
		t := x.ProcessTracepoint
		f.Type = TypeTracepoint
		proc = t.GetProcess()
		f.PolicyName = t.GetPolicyName()
		f.Enforced = IsEnforcement(t.GetAction())
	case *tetragon.GetEventsResponse_ProcessLoader:
		f.Type = TypeLoader
		proc = x.ProcessLoader.GetProcess()
	case *tetragon.GetEventsResponse_ProcessUprobe:
		u := x.ProcessUprobe
		f.Type = TypeUprobe
		proc = u.GetProcess()
		f.PolicyName = u.GetPolicyName()
		f.Enforced = IsEnforcement(u.GetAction())
	case *tetragon.GetEventsResponse_ProcessThrottle:
		f.Type = TypeThrottle
	case *tetragon.GetEventsResponse_ProcessLsm:
		l := x.ProcessLsm
		f.Type = TypeLsm
		proc = l.GetProcess()
		f.PolicyName = l.GetPolicyName()
		f.Enforced = IsEnforcement(l.GetAction())
	case *tetragon.GetEventsResponse_ProcessUsdt:
		u := x.ProcessUsdt
		f.Type = TypeUsdt
		proc = u.GetProcess()
		f.PolicyName = u.GetPolicyName()
		f.Enforced = IsEnforcement(u.GetAction())
	case *tetragon.GetEventsResponse_Test:
		f.Type = TypeTest
	case *tetragon.GetEventsResponse_RateLimitInfo:
		f.Type = TypeRateLimitInfo
	default:
		f.Type = TypeUnknown
	}
	f.Binary = proc.GetBinary()
	if pod := proc.GetPod(); pod != nil {
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
	switch ev.GetEvent().(type) {
	case *tetragon.GetEventsResponse_ProcessExec:
		return TypeExec
	case *tetragon.GetEventsResponse_ProcessExit:
		return TypeExit
	case *tetragon.GetEventsResponse_ProcessKprobe:
		return TypeKprobe
	case *tetragon.GetEventsResponse_ProcessTracepoint:
		return TypeTracepoint
	case *tetragon.GetEventsResponse_ProcessLoader:
		return TypeLoader
	case *tetragon.GetEventsResponse_ProcessUprobe:
		return TypeUprobe
	case *tetragon.GetEventsResponse_ProcessThrottle:
		return TypeThrottle
	case *tetragon.GetEventsResponse_ProcessLsm:
		return TypeLsm
	case *tetragon.GetEventsResponse_ProcessUsdt:
		return TypeUsdt
	case *tetragon.GetEventsResponse_Test:
		return TypeTest
	case *tetragon.GetEventsResponse_RateLimitInfo:
		return TypeRateLimitInfo
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
