// Package source defines what the simulator sends: an event already encoded
// as GetEventsResponse protobuf bytes, plus the few fields that per-client
// filters and test bookkeeping need, so neither has to decode the bytes.
// It also holds the identity rules both event sources share: per-node
// strictly increasing times and exec_ids that carry a per-start nonce.
package source

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"strconv"

	"github.com/cilium/tetragon/api/v1/tetragon"
)

// Event is one encoded GetEventsResponse and its routing metadata.
// Bytes is never modified after the source returns it: the server shares
// it between clients.
type Event struct {
	Bytes []byte
	// Kind is Tetragon's enum for the oneof field; Type our spelling of it.
	Kind tetragon.EventType
	Type string
	Node string
	// Time is the event time in unix nanoseconds.
	Time int64
	// ExecID and Tid of the event's process ("" and 0 when it has none).
	ExecID string
	Tid    uint32
	// HasProcess is false for throttle and rate_limit_info events.
	HasProcess bool
	// HasPod is false for host processes; Namespace and Pod are then "".
	HasPod    bool
	Namespace string
	Pod       string
	Binary    string
	Policy    string
}

// Source produces events forever (or until its input is exhausted, then
// it returns an error); the server bounds the count.
type Source interface {
	Next() (Event, error)
}

// NodeClock hands out strictly increasing times for one node: wall-clock
// time when it moves forward, one nanosecond after the previous event
// otherwise, so no two events of a node share a time.
type NodeClock struct{ last int64 }

// Stamp returns the time for the next event given the current time.
func (c *NodeClock) Stamp(now int64) int64 {
	if now <= c.last {
		now = c.last + 1
	}
	c.last = now
	return now
}

// NonceBits is how many high bits of an exec_id's ktime hold the nonce.
const NonceBits = 24

const seqBits = 64 - NonceBits

// NewNonce returns a random non-zero nonce of NonceBits bits. Two simulator
// starts with different nonces never produce the same exec_id.
func NewNonce() uint32 {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic("crypto/rand: " + err.Error()) // cannot happen on Linux
		}
		n := binary.LittleEndian.Uint32(b[:]) & (1<<NonceBits - 1)
		if n != 0 {
			return n
		}
	}
}

// Ktime composes the ktime part of an exec_id: the nonce in the high bits,
// a per-node sequence number in the low bits. Real Tetragon uses the
// process start in ns since boot; ours only has to be unique.
func Ktime(nonce uint32, seq uint64) uint64 {
	return uint64(nonce)<<seqBits | seq&(1<<seqBits-1)
}

// ExecID encodes an exec_id the way Tetragon does: base64("node:ktime:pid").
func ExecID(node string, ktime uint64, pid uint32) string {
	b := make([]byte, 0, len(node)+32)
	b = append(b, node...)
	b = append(b, ':')
	b = strconv.AppendUint(b, ktime, 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(pid), 10)
	return base64.StdEncoding.EncodeToString(b)
}
