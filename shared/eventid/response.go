package eventid

import (
	"crypto/sha256"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// FromResponse computes the id of a decoded event; it equals FromBytes of
// the bytes r was decoded from (or of proto.Marshal(r)). A nil r is an
// empty response.
func FromResponse(r *tetragon.GetEventsResponse) ID {
	var f fields[string]
	f.node = r.GetNodeName()
	f.seconds = r.GetTime().GetSeconds()
	f.nanos = r.GetTime().GetNanos()
	switch t := eventtype.Of(r); {
	case r.GetEvent() == nil:
		unknownFromUnknownFields(&f, r)
	case t != nil:
		f.typ, f.spec = t.Number, specFor(protowire.Number(t.Number))
		if t.IDProcess {
			p := t.Parts(r).Process
			f.execID = p.GetExecId()
			f.pid = p.GetPid().GetValue()
			f.tid = p.GetTid().GetValue()
		}
		m := t.Message(r).ProtoReflect()
		ns, ni := 0, 0
		for _, fd := range t.IDFields {
			if fd.IsString() {
				f.strs[ns] = fd.Str(m)
				ns++
			} else {
				f.ints[ni] = fd.Uint(m)
				ni++
			}
		}
	default:
		unknownFromOneof(&f, r)
	}
	return f.id()
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
