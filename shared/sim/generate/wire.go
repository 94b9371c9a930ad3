package generate

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// Events are assembled from pre-encoded fragments instead of being built
// and marshalled as messages: a process is encoded once when it starts and
// reused by every event that names it, hook details are encoded once per
// pod. Only the event time, the tid and the exit time are encoded per
// event. Protobuf allows this: a message is the concatenation of its
// fields, and fragments are laid out in field-number order so the result
// matches what proto.Marshal would produce.

// Field numbers of GetEventsResponse outside the oneof.
const (
	fieldNodeName    = 1000
	fieldTime        = 1001
	fieldClusterName = 1003
	fieldProcessTid  = 16
	fieldInInitTree  = 20
)

// procSize is the encoded size of a Process message with the given tid.
func procSize(p *proc, tid uint32) int {
	return len(p.pre) + u32WrapperFieldSize(fieldProcessTid, tid) + len(p.post)
}

func procFieldSize(num protowire.Number, p *proc, tid uint32) int {
	if p == nil {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeBytes(procSize(p, tid))
}

// appendProc appends p as message field num, with tid spliced in between
// the fields below 16 (pre) and above (post).
func appendProc(b []byte, num protowire.Number, p *proc, tid uint32) []byte {
	if p == nil {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(procSize(p, tid)))
	b = append(b, p.pre...)
	b = appendU32Wrapper(b, fieldProcessTid, tid)
	return append(b, p.post...)
}

// google.protobuf.UInt32Value as field num.
func u32WrapperFieldSize(num protowire.Number, v uint32) int {
	inner := 0
	if v != 0 {
		inner = 1 + protowire.SizeVarint(uint64(v))
	}
	return protowire.SizeTag(num) + protowire.SizeBytes(inner)
}

func appendU32Wrapper(b []byte, num protowire.Number, v uint32) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	if v == 0 {
		return protowire.AppendVarint(b, 0)
	}
	b = protowire.AppendVarint(b, uint64(1+protowire.SizeVarint(uint64(v))))
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

// google.protobuf.Timestamp from unix ns, as field num.
func tsInnerSize(ns int64) int {
	sec, nsec := ns/1e9, ns%1e9
	n := 0
	if sec != 0 {
		n += 1 + protowire.SizeVarint(uint64(sec))
	}
	if nsec != 0 {
		n += 1 + protowire.SizeVarint(uint64(nsec))
	}
	return n
}

func tsFieldSize(num protowire.Number, ns int64) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(tsInnerSize(ns))
}

func appendTs(b []byte, num protowire.Number, ns int64) []byte {
	sec, nsec := ns/1e9, ns%1e9
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(tsInnerSize(ns)))
	if sec != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(sec))
	}
	if nsec != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(nsec))
	}
	return b
}

// appendEnvelope appends the oneof field header for a body of bodyLen
// bytes; the caller appends the body, then appendTrailer.
func appendEnvelope(b []byte, oneof protowire.Number, bodyLen int) []byte {
	b = protowire.AppendTag(b, oneof, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(bodyLen))
}

// appendTrailer appends node_name, time and cluster_name.
func appendTrailer(b []byte, node string, ns int64, cluster string) []byte {
	b = protowire.AppendTag(b, fieldNodeName, protowire.BytesType)
	b = protowire.AppendString(b, node)
	b = appendTs(b, fieldTime, ns)
	if cluster != "" {
		b = protowire.AppendTag(b, fieldClusterName, protowire.BytesType)
		b = protowire.AppendString(b, cluster)
	}
	return b
}

// podWire is a pod's Pod message, pre-encoded around the one field that
// differs per process: container.pid.
type podWire struct {
	head     []byte // Pod fields 1-3: namespace, name, uid
	contHead []byte // Container fields 1-4: id, name, image, start_time
	contTail []byte // Container fields after pid: security_context
	tail     []byte // Pod fields 5-7: pod_labels, workload, workload_kind
}

func (w *podWire) containerSize(cpid uint32) int {
	return len(w.contHead) + u32WrapperFieldSize(5, cpid) + len(w.contTail)
}

func (w *podWire) size(cpid uint32) int {
	return len(w.head) + protowire.SizeTag(4) + protowire.SizeBytes(w.containerSize(cpid)) + len(w.tail)
}

func (w *podWire) append(b []byte, cpid uint32) []byte {
	b = append(b, w.head...)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(w.containerSize(cpid)))
	b = append(b, w.contHead...)
	b = appendU32Wrapper(b, 5, cpid)
	b = append(b, w.contTail...)
	return append(b, w.tail...)
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b // proto3: empty strings are not encoded
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// processFields are the Process fields 1..12 of one process; encodePre
// writes them as proto.Marshal would (tested against it).
type processFields struct {
	execID, cwd, binary, args, flags, docker, parentExecID string
	pid, uid, auid                                         uint32
	start                                                  int64
	pod                                                    *podWire
	cpid                                                   uint32
}

func (f *processFields) encodePre() []byte {
	n := 160 + len(f.execID) + len(f.cwd) + len(f.binary) + len(f.args) + len(f.flags) + len(f.docker) + len(f.parentExecID)
	if f.pod != nil {
		n += f.pod.size(f.cpid)
	}
	b := make([]byte, 0, n)
	b = appendStringField(b, 1, f.execID)
	b = appendU32Wrapper(b, 2, f.pid)
	b = appendU32Wrapper(b, 3, f.uid)
	b = appendStringField(b, 4, f.cwd)
	b = appendStringField(b, 5, f.binary)
	b = appendStringField(b, 6, f.args)
	b = appendStringField(b, 7, f.flags)
	b = appendTs(b, 8, f.start)
	b = appendU32Wrapper(b, 9, f.auid)
	if f.pod != nil {
		b = protowire.AppendTag(b, 10, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(f.pod.size(f.cpid)))
		b = f.pod.append(b, f.cpid)
	}
	b = appendStringField(b, 11, f.docker)
	return appendStringField(b, 12, f.parentExecID)
}
