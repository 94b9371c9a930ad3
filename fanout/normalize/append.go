package normalize

import (
	"encoding/base64"
	"strconv"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// SchemaVersion is the value of every object's "schema_version" field.
const SchemaVersion = 1

// Meta is what the normalizer needs beyond the event itself.
type Meta struct {
	// EventID is the raw message's Kafka key (shared/eventid).
	EventID string
	// Cluster is written as "cluster" when the event carries no
	// cluster_name of its own (Tetragon sets it only when configured).
	Cluster string
}

// Append appends ev as one schema v1 JSON object (no trailing newline) to
// dst and returns the extended buffer. It never fails: anything it does not
// understand comes out as type "unknown" or an arg of type "unknown". With a
// reused dst of sufficient capacity it does not allocate, except to sort a
// map of more than 32 keys.
//
// Key order is fixed: schema_version, event_id, type, time, node, cluster,
// node_labels, namespace, pod, container, workload, workload_kind,
// aggregation, process, parent, ancestors, <type object>, unknown_fields.
// Fields that are unset (nil, or the proto3 zero value where proto3 cannot
// tell zero from unset) are omitted; see the schema for the exceptions.
func Append(dst []byte, ev *tetragon.GetEventsResponse, m Meta) []byte {
	b := append(dst, `{"schema_version":1,"event_id":`...)
	b = appendString(b, m.EventID)
	t := eventtype.Of(ev)
	typ := TypeUnknown
	if t != nil {
		typ = t.Name
	}
	b = append(b, `,"type":"`...)
	b = append(b, typ...) // constant, needs no escaping
	b = append(b, '"')
	b = fTime(b, "time", ev.GetTime())
	b = fStr(b, "node", ev.GetNodeName())
	cluster := ev.GetClusterName()
	if cluster == "" {
		cluster = m.Cluster
	}
	b = fStr(b, "cluster", cluster)
	b = fMap(b, "node_labels", ev.GetNodeLabels())

	proc, parent, ancestors := processes(t, ev)
	if pod := proc.GetPod(); pod != nil {
		b = fStr(b, "namespace", pod.GetNamespace())
		b = fStr(b, "pod", pod.GetName())
		b = fStr(b, "container", pod.GetContainer().GetName())
		b = fStr(b, "workload", pod.GetWorkload())
		b = fStr(b, "workload_kind", pod.GetWorkloadKind())
	}
	if ag := ev.GetAggregationInfo(); ag != nil {
		b = append(key(b, "aggregation"), '{')
		b = fU64(b, "count", ag.GetCount())
		b = append(b, '}')
	}
	if proc != nil {
		b = appendProcess(key(b, "process"), proc)
	}
	if parent != nil {
		b = appendProcess(key(b, "parent"), parent)
	}
	if len(ancestors) > 0 {
		b = append(key(b, "ancestors"), '[')
		for _, a := range ancestors {
			b = appendProcess(elem(b), a)
		}
		b = append(b, ']')
	}
	b = appendTypeObject(b, ev)
	if ev != nil {
		b = appendUnknownFields(b, ev.ProtoReflect().GetUnknown())
	}
	return append(b, '}')
}

// processes returns the process, parent and ancestors of any event type
// that has them (t is eventtype.Of(ev)).
func processes(t *eventtype.Type, ev *tetragon.GetEventsResponse) (proc, parent *tetragon.Process, anc []*tetragon.Process) {
	if t != nil {
		p := t.Parts(ev)
		return p.Process, p.Parent, p.Ancestors
	}
	return nil, nil, nil
}

// appendTypeObject writes the one type-specific object. It is present for
// every known type, even when empty (exec has nothing beyond process and
// parent), so consumers can test for it.
func appendTypeObject(b []byte, ev *tetragon.GetEventsResponse) []byte {
	switch x := ev.GetEvent().(type) {
	case *tetragon.GetEventsResponse_ProcessExec:
		b = append(key(b, "exec"), '{')
	case *tetragon.GetEventsResponse_ProcessExit:
		e := x.ProcessExit
		b = append(key(b, "exit"), '{')
		b = fStr(b, "signal", e.GetSignal())
		// Always written: status 0 is a successful exit, not "unset".
		b = strconv.AppendUint(key(b, "status"), uint64(e.GetStatus()), 10)
		b = fTime(b, "time", e.GetTime())
	case *tetragon.GetEventsResponse_ProcessKprobe:
		k := x.ProcessKprobe
		b = append(key(b, "kprobe"), '{')
		b = fStr(b, "function", k.GetFunctionName())
		b = fStr(b, "policy", k.GetPolicyName())
		b = fEnum(b, "action", int32(k.GetAction()), kprobeActionNames)
		b = fEnum(b, "return_action", int32(k.GetReturnAction()), kprobeActionNames)
		b = fStr(b, "message", k.GetMessage())
		b = fStrs(b, "tags", k.GetTags())
		b = fArgs(b, "args", k.GetArgs())
		if r := k.GetReturn(); r != nil {
			b = appendArg(key(b, "return"), r)
		}
		b = fArgs(b, "data", k.GetData())
		b = fStack(b, "kernel_stack_trace", k.GetKernelStackTrace())
		b = fStack(b, "user_stack_trace", k.GetUserStackTrace())
	case *tetragon.GetEventsResponse_ProcessTracepoint:
		t := x.ProcessTracepoint
		b = append(key(b, "tracepoint"), '{')
		b = fStr(b, "subsys", t.GetSubsys())
		b = fStr(b, "event", t.GetEvent())
		b = fStr(b, "policy", t.GetPolicyName())
		b = fEnum(b, "action", int32(t.GetAction()), kprobeActionNames)
		b = fStr(b, "message", t.GetMessage())
		b = fStrs(b, "tags", t.GetTags())
		b = fArgs(b, "args", t.GetArgs())
	case *tetragon.GetEventsResponse_ProcessLoader:
		l := x.ProcessLoader
		b = append(key(b, "loader"), '{')
		b = fStr(b, "path", l.GetPath())
		b = fHex(b, "buildid", l.GetBuildid())
	case *tetragon.GetEventsResponse_ProcessUprobe:
		u := x.ProcessUprobe
		b = append(key(b, "uprobe"), '{')
		b = fStr(b, "path", u.GetPath())
		b = fStr(b, "symbol", u.GetSymbol())
		b = fU64(b, "offset", u.GetOffset())
		b = fU64(b, "ref_ctr_offset", u.GetRefCtrOffset())
		b = fStr(b, "policy", u.GetPolicyName())
		b = fEnum(b, "action", int32(u.GetAction()), kprobeActionNames)
		b = fStr(b, "message", u.GetMessage())
		b = fStrs(b, "tags", u.GetTags())
		b = fArgs(b, "args", u.GetArgs())
		b = fArgs(b, "data", u.GetData())
	case *tetragon.GetEventsResponse_ProcessThrottle:
		t := x.ProcessThrottle
		b = append(key(b, "throttle"), '{')
		b = fEnum(b, "type", int32(t.GetType()), throttleNames)
		b = fStr(b, "cgroup", t.GetCgroup())
	case *tetragon.GetEventsResponse_ProcessLsm:
		l := x.ProcessLsm
		b = append(key(b, "lsm"), '{')
		b = fStr(b, "function", l.GetFunctionName())
		b = fStr(b, "policy", l.GetPolicyName())
		b = fEnum(b, "action", int32(l.GetAction()), kprobeActionNames)
		b = fStr(b, "message", l.GetMessage())
		b = fStrs(b, "tags", l.GetTags())
		b = fArgs(b, "args", l.GetArgs())
		b = fStr(b, "ima_hash", l.GetImaHash())
	case *tetragon.GetEventsResponse_ProcessUsdt:
		u := x.ProcessUsdt
		b = append(key(b, "usdt"), '{')
		b = fStr(b, "path", u.GetPath())
		b = fStr(b, "provider", u.GetProvider())
		b = fStr(b, "name", u.GetName())
		b = fStr(b, "policy", u.GetPolicyName())
		b = fEnum(b, "action", int32(u.GetAction()), kprobeActionNames)
		b = fStr(b, "message", u.GetMessage())
		b = fStrs(b, "tags", u.GetTags())
		b = fArgs(b, "args", u.GetArgs())
		b = fStr(b, "flags", u.GetFlags())
	case *tetragon.GetEventsResponse_Test:
		t := x.Test
		b = append(key(b, "test"), '{')
		b = fU64(b, "arg0", t.GetArg0())
		b = fU64(b, "arg1", t.GetArg1())
		b = fU64(b, "arg2", t.GetArg2())
		b = fU64(b, "arg3", t.GetArg3())
	case *tetragon.GetEventsResponse_RateLimitInfo:
		b = append(key(b, "rate_limit_info"), '{')
		b = fU64(b, "number_of_dropped_process_events", x.RateLimitInfo.GetNumberOfDroppedProcessEvents())
	default:
		return b
	}
	return append(b, '}')
}

func fStack(b []byte, k string, st []*tetragon.StackTraceEntry) []byte {
	if len(st) == 0 {
		return b
	}
	b = append(key(b, k), '[')
	for _, e := range st {
		b = append(elem(b), '{')
		b = fHexU64(b, "address", e.GetAddress())
		b = fU64(b, "offset", e.GetOffset())
		b = fStr(b, "symbol", e.GetSymbol())
		b = fStr(b, "module", e.GetModule())
		b = append(b, '}')
	}
	return append(b, ']')
}

// maxUnknownNumbers bounds the field numbers listed for unknown fields; the
// raw bytes still carry all of them.
const maxUnknownNumbers = 16

// appendUnknownFields writes the top-level fields this build does not know
// (a newer Tetragon's event type, a removed legacy one, a new top-level
// field): their distinct field numbers, and their exact wire bytes in
// base64, so a consumer with a newer schema can still decode them. Unknown
// fields nested deeper (inside a known message) are not carried.
func appendUnknownFields(b []byte, raw []byte) []byte {
	if len(raw) == 0 {
		return b
	}
	var arr [maxUnknownNumbers]protowire.Number
	nums := arr[:0]
	for rest := raw; len(rest) > 0 && len(nums) < maxUnknownNumbers; {
		num, _, n := protowire.ConsumeField(rest)
		if n < 0 {
			break
		}
		rest = rest[n:]
		seen := false
		for _, x := range nums {
			if x == num {
				seen = true
				break
			}
		}
		if !seen {
			nums = append(nums, num)
		}
	}
	b = append(key(b, "unknown_fields"), '{')
	if len(nums) > 0 {
		b = append(key(b, "field_numbers"), '[')
		for _, n := range nums {
			b = strconv.AppendInt(elem(b), int64(n), 10)
		}
		b = append(b, ']')
	}
	b = append(key(b, "raw"), '"')
	b = base64.StdEncoding.AppendEncode(b, raw)
	return append(b, '"', '}')
}
