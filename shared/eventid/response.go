package eventid

import (
	"crypto/sha256"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// FromResponse computes the id of a decoded event; it equals FromBytes of
// the bytes r was decoded from (or of proto.Marshal(r)). A nil r is an
// empty response.
func FromResponse(r *tetragon.GetEventsResponse) ID {
	var f fields[string]
	f.node = r.GetNodeName()
	f.seconds = r.GetTime().GetSeconds()
	f.nanos = r.GetTime().GetNanos()
	switch e := r.GetEvent().(type) {
	case nil:
		unknownFromUnknownFields(&f, r)
	case *tetragon.GetEventsResponse_ProcessExec:
		setEvent(&f, typeExec, &specExec, e.ProcessExec.GetProcess())
	case *tetragon.GetEventsResponse_ProcessExit:
		ev := e.ProcessExit
		setEvent(&f, typeExit, &specExit, ev.GetProcess())
		f.strs[0] = ev.GetSignal()
		f.ints[0] = uint64(ev.GetStatus())
	case *tetragon.GetEventsResponse_ProcessKprobe:
		ev := e.ProcessKprobe
		setEvent(&f, typeKprobe, &specKprobe, ev.GetProcess())
		f.strs[0], f.strs[1] = ev.GetFunctionName(), ev.GetPolicyName()
	case *tetragon.GetEventsResponse_ProcessTracepoint:
		ev := e.ProcessTracepoint
		setEvent(&f, typeTracepoint, &specTracepoint, ev.GetProcess())
		f.strs[0], f.strs[1], f.strs[2] = ev.GetSubsys(), ev.GetEvent(), ev.GetPolicyName()
	case *tetragon.GetEventsResponse_ProcessLoader:
		ev := e.ProcessLoader
		setEvent(&f, typeLoader, &specLoader, ev.GetProcess())
		f.strs[0], f.strs[1] = ev.GetPath(), string(ev.GetBuildid())
	case *tetragon.GetEventsResponse_ProcessUprobe:
		ev := e.ProcessUprobe
		setEvent(&f, typeUprobe, &specUprobe, ev.GetProcess())
		f.strs[0], f.strs[1], f.strs[2] = ev.GetPath(), ev.GetSymbol(), ev.GetPolicyName()
	case *tetragon.GetEventsResponse_ProcessThrottle:
		ev := e.ProcessThrottle
		setEvent(&f, typeThrottle, &specThrottle, nil)
		f.strs[0] = ev.GetCgroup()
		f.ints[0] = uint64(uint32(ev.GetType()))
	case *tetragon.GetEventsResponse_ProcessLsm:
		ev := e.ProcessLsm
		setEvent(&f, typeLsm, &specLsm, ev.GetProcess())
		f.strs[0], f.strs[1] = ev.GetFunctionName(), ev.GetPolicyName()
	case *tetragon.GetEventsResponse_ProcessUsdt:
		ev := e.ProcessUsdt
		setEvent(&f, typeUsdt, &specUsdt, ev.GetProcess())
		f.strs[0], f.strs[1], f.strs[2], f.strs[3] = ev.GetPath(), ev.GetProvider(), ev.GetName(), ev.GetPolicyName()
	case *tetragon.GetEventsResponse_Test:
		ev := e.Test
		setEvent(&f, typeTest, &specTest, nil)
		f.ints = [maxDisc]uint64{ev.GetArg0(), ev.GetArg1(), ev.GetArg2(), ev.GetArg3()}
	case *tetragon.GetEventsResponse_RateLimitInfo:
		setEvent(&f, typeRateLimitInfo, &specRateLimitInfo, nil)
		f.ints[0] = e.RateLimitInfo.GetNumberOfDroppedProcessEvents()
	default:
		unknownFromOneof(&f, r)
	}
	return f.id()
}

// setEvent records the type and the process part.
func setEvent(f *fields[string], typ int32, s *spec, p *tetragon.Process) {
	f.typ, f.spec = typ, s
	f.execID = p.GetExecId()
	f.pid = p.GetPid().GetValue()
	f.tid = p.GetTid().GetValue()
}

// unknownFromUnknownFields finds an event of a type newer than the API this
// was built with: proto.Unmarshal keeps it among r's unknown fields, in the
// order the bytes had, so the rule of FromBytes applies unchanged.
func unknownFromUnknownFields(f *fields[string], r *tetragon.GetEventsResponse) {
	if r == nil {
		return
	}
	b := r.ProtoReflect().GetUnknown()
	var payload []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return // cannot happen: proto.Unmarshal stored these bytes
		}
		b = b[n:]
		if typ == protowire.BytesType && unknownCandidate(num) && specFor(num) == nil {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return
			}
			payload, f.typ = v, int32(num)
			b = b[m:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return
		}
		b = b[n:]
	}
	if f.typ != 0 {
		f.unknown = sha256.Sum256(payload)
	}
}

// unknownFromOneof handles a oneof member the Tetragon API knows but this
// package does not (the API was upgraded first). Re-marshalling cannot
// promise Tetragon's bytes, so this only agrees with FromBytes by luck; a
// test fails on every such member so that the package learns it.
func unknownFromOneof(f *fields[string], r *tetragon.GetEventsResponse) {
	m := r.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("event"))
	if fd == nil {
		return
	}
	f.typ = int32(fd.Number())
	payload, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m.Get(fd).Message().Interface())
	f.unknown = sha256.Sum256(payload)
}
