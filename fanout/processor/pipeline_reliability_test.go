package processor

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/topics"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
	"github.com/tetragon-fanout/tetragon-fanout/shared/headers"
)

// TestRefusedTopicGoesToDefault: a topic Kafka refuses for good sends the
// event to its default topic (counted by reason); if the default is refused
// too, to the DLQ. Either way it is committed and the partition goes on.
func TestRefusedTopicGoesToDefault(t *testing.T) {
	h := newHarness(t, testRoutes)
	h.topics.refuse = map[string]bool{"tetragon.team-a.process_exec": true}
	k, r := testEvent(1, "team-a")
	h.consume(k, r, nil)
	if n := len(h.sink.sent("tetragon.process_exec")); n != 1 {
		t.Fatalf("%d outputs on the default topic, want 1", n)
	}
	if got := testutil.ToFloat64(h.metrics.Rerouted.WithLabelValues(topics.ReasonTopicRefused)); got != 1 {
		t.Errorf("rerouted{topic_refused} %v, want 1", got)
	}

	h.topics.refuse["tetragon.process_exec"] = true
	k, r = testEvent(2, "team-a")
	h.consume(k, r, nil)
	dlq := h.sink.sent(testDLQ)
	if len(dlq) != 1 || header(dlq[0], headers.ErrorReason) != ReasonTopicUnavailable {
		t.Fatalf("DLQ %v, want the event as topic_unavailable", dlq)
	}
	// the stream goes on
	k, r = testEvent(3, "team-b")
	h.consume(k, r, nil)
	if n := len(h.sink.sent("tetragon.team-b.process_exec")); n != 1 {
		t.Fatalf("%d outputs after the refusals, want 1", n)
	}
}

// TestInvalidEventIDGoesToDLQ: a raw key that is not an event id never
// becomes an output's event_id nor a table key.
func TestInvalidEventIDGoesToDLQ(t *testing.T) {
	h := newHarness(t, "")
	_, raw := testEvent(1, "")
	for _, key := range []string{"not-an-id", strings.Repeat("A", eventid.Len), strings.Repeat("0", 4096)} {
		h.consume(key, raw, nil)
		if e := h.entry(key); e != nil {
			t.Errorf("key %.40q recorded in the table", key)
		}
	}
	dlq := h.sink.sent(testDLQ)
	if len(dlq) != 3 {
		t.Fatalf("%d DLQ records, want 3", len(dlq))
	}
	for _, m := range dlq {
		if r := header(m, headers.ErrorReason); r != ReasonInvalidID {
			t.Errorf("DLQ reason %q, want %s", r, ReasonInvalidID)
		}
	}
	if n := len(h.sink.sent("tetragon.process_exec")); n != 0 {
		t.Fatalf("%d outputs for invalid ids", n)
	}
}

// unknownTypeEvent is a GetEventsResponse whose event is a field number no
// Tetragon release uses: it decodes, as type unknown.
func unknownTypeEvent(t *testing.T) (string, []byte) {
	t.Helper()
	ev := &tetragon.GetEventsResponse{NodeName: "node-7", Time: timestamppb.New(time.Unix(1700000000, 0))}
	raw, err := proto.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	inner := protowire.AppendTag(nil, 1, protowire.BytesType)
	inner = protowire.AppendString(inner, "x")
	raw = protowire.AppendTag(raw, 99, protowire.BytesType)
	raw = protowire.AppendBytes(raw, inner)
	return "0123456789abcdef0123456789abcdef", raw
}

// TestOutputHeadersDescribeTheOutput: an event that decodes as unknown does
// not keep the raw producer's tf-type=process_exec, and tf-node is the
// event's node.
func TestOutputHeadersDescribeTheOutput(t *testing.T) {
	h := newHarness(t, "")
	k, raw := unknownTypeEvent(t)
	h.consume(k, raw, goka.Headers{headers.Type: []byte("process_exec"), headers.Node: []byte("forged"), "x-custom": []byte("v")})
	out := h.sink.sent("tetragon.unknown")
	if len(out) != 1 {
		t.Fatalf("%d outputs on tetragon.unknown, want 1 (DLQ: %v)", len(out), h.sink.sent(testDLQ))
	}
	m := out[0]
	if got := header(m, headers.Type); got != "unknown" {
		t.Errorf("tf-type %q on an unknown output, want unknown", got)
	}
	if got := header(m, headers.Node); got != "node-7" {
		t.Errorf("tf-node %q, want the event's node-7", got)
	}
	if got := header(m, "x-custom"); got != "v" {
		t.Errorf("x-custom %q: other headers are kept", got)
	}
	seen := map[string]int{}
	for _, hd := range m.Headers {
		seen[string(hd.Key)]++
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("header %s appears %d times", k, n)
		}
	}
}

// TestInvalidUTF8IsUndecodable: proto3 strings must be valid UTF-8, so bytes
// that are not are not a message Tetragon sent; they go to the DLQ
// unchanged, as docs/schema.md says, rather than being repaired.
func TestInvalidUTF8IsUndecodable(t *testing.T) {
	h := newHarness(t, "")
	k, raw := testEvent(1, "")
	bad := bytes.Replace(raw, []byte("/usr/bin/curl"), []byte("/usr/bin/cu\xffl"), 1)
	if bytes.Equal(bad, raw) {
		t.Fatal("binary not found in the encoded event")
	}
	h.consume(k, bad, nil)
	dlq := h.sink.sent(testDLQ)
	if len(dlq) != 1 || header(dlq[0], headers.ErrorReason) != "undecodable" {
		t.Fatalf("DLQ %v, want the event as undecodable", dlq)
	}
	if v, _ := dlq[0].Value.Encode(); !bytes.Equal(v, bad) {
		t.Error("the DLQ record is not the raw bytes")
	}
}

// TestReplayRewritesItsEntry: a replay writes its (unchanged) entry to the
// changelog again. goka writes local storage before the changelog: after a
// failed changelog write, a LevelDB replica finds the entry locally on
// replay while the changelog lacks it, and a replica that rebuilds the
// partition from the changelog would let a later duplicate through.
func TestReplayRewritesItsEntry(t *testing.T) {
	h := newHarness(t, "")
	k, r := testEvent(1, "")
	first := &dedup.Entry{Partition: 0, Offset: h.offset, SeenNS: h.now.Add(-time.Minute).UnixNano()}
	h.tt.SetTableValue(goka.Table(testTable), k, first)
	changelog := h.tt.NewQueueTracker(testTable)
	h.consume(k, r, nil)
	key, v, ok := changelog.Next()
	if !ok || key != k {
		t.Fatalf("no changelog write for the replay (got %q, %v)", key, ok)
	}
	if e, _ := v.(*dedup.Entry); e == nil || *e != *first {
		t.Fatalf("changelog value %+v, want the entry unchanged %+v", v, first)
	}
	if got := testutil.ToFloat64(h.metrics.Dedup.WithLabelValues("replay")); got != 1 {
		t.Errorf("replay verdicts %v, want 1", got)
	}
}
