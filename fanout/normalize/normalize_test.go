package normalize

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func allTypes() []string { return eventtype.All() }

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// oneOfEach returns a response of every type of the eventtype table, each
// with an empty event message.
func oneOfEach() []*tetragon.GetEventsResponse {
	var out []*tetragon.GetEventsResponse
	for _, row := range eventtype.Table() {
		r := &tetragon.GetEventsResponse{}
		m := r.ProtoReflect()
		fd := m.Descriptor().Fields().ByNumber(protoreflect.FieldNumber(row.Number))
		m.Set(fd, m.NewField(fd))
		out = append(out, r)
	}
	return out
}

func TestTypeNamesAgreeWithEventtype(t *testing.T) {
	evs := oneOfEach()
	if len(evs) != len(eventtype.All()) {
		t.Fatalf("%d types here, eventtype knows %d: a type was added to the API", len(evs), len(eventtype.All()))
	}
	for _, ev := range evs {
		want := eventtype.FromResponse(ev)
		if got := TypeOf(ev); got != want {
			t.Errorf("TypeOf = %q, eventtype says %q", got, want)
		}
		if got := Extract(ev).Type; got != want {
			t.Errorf("Extract().Type = %q, eventtype says %q", got, want)
		}
	}
	if got := TypeOf(&tetragon.GetEventsResponse{}); got != eventtype.Unknown {
		t.Errorf("empty response: %q", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := proto.Marshal(&tetragon.GetEventsResponse{NodeName: "n"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		raw    []byte
		reason string
	}{
		{"garbage", []byte{0xff, 0xff, 0xff, 0xff}, ReasonUndecodable},
		{"truncated", good[:len(good)-1], ReasonUndecodable},
		{"bad wire type", []byte{0x0f}, ReasonUndecodable},
		// Field 1000 (node_name) with an invalid UTF-8 byte.
		{"invalid utf8", []byte{0xc2, 0x3e, 0x01, 0xff}, ReasonUndecodable},
		{"nil", nil, ReasonEmpty},
		{"empty", []byte{}, ReasonEmpty},
		// An exec whose message is empty is still an exec: not an error.
		{"empty exec", []byte{0x0a, 0x00}, ""},
		// A field this build does not know is an unknown event: not an error.
		{"unknown field only", []byte{0x90, 0x03, 0x01}, ""},
	} {
		var ev tetragon.GetEventsResponse
		err := Decode(tc.raw, &ev)
		if got := Reason(err); got != tc.reason {
			t.Errorf("%s: Reason = %q (err %v), want %q", tc.name, got, err, tc.reason)
		}
		if err == nil {
			continue
		}
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: %T is not a *DecodeError", tc.name, err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, tc.reason) || strings.ContainsRune(msg, '\u00a0') || len(msg) > 200 {
			t.Errorf("%s: error text %q is not a short stable reason", tc.name, msg)
		}
		if tc.reason == ReasonUndecodable && !strings.HasPrefix(msg, "undecodable: ") {
			t.Errorf("%s: error text %q", tc.name, msg)
		}
	}
	if Reason(errors.New("other")) != "" {
		t.Error("Reason of a foreign error must be empty")
	}
}

// TestDecodeResets checks that a reused message does not keep fields of
// the previous event.
func TestDecodeResets(t *testing.T) {
	first, _ := proto.Marshal(&tetragon.GetEventsResponse{NodeName: "a", ClusterName: "c",
		Event: &tetragon.GetEventsResponse_ProcessExec{ProcessExec: &tetragon.ProcessExec{Process: &tetragon.Process{Binary: "/x"}}}})
	second, _ := proto.Marshal(&tetragon.GetEventsResponse{NodeName: "b"})
	var ev tetragon.GetEventsResponse
	if err := Decode(first, &ev); err != nil {
		t.Fatal(err)
	}
	if err := Decode(second, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetClusterName() != "" || ev.GetEvent() != nil || ev.GetNodeName() != "b" {
		t.Fatalf("Decode kept old fields: %v", &ev)
	}
}

// TestLegacyFixtureLines: the 11 legacy lines (process_connect, _close,
// _listen) come out as type "unknown" with their node and time, not as an
// error and not as a crash.
func TestLegacyFixtureLines(t *testing.T) {
	n := 0
	for _, c := range loadCases(t) {
		if !c.legacy {
			continue
		}
		n++
		var ev tetragon.GetEventsResponse
		if err := Decode(c.raw, &ev); err != nil {
			t.Fatalf("%s: legacy line rejected: %v", c.name, err)
		}
		var got map[string]any
		if err := json.Unmarshal(Append(nil, &ev, c.meta()), &got); err != nil {
			t.Fatal(err)
		}
		if got["type"] != TypeUnknown || got["node"] == nil || got["time"] == nil || got["process"] != nil {
			t.Errorf("%s: %v", c.name, got)
		}
		if f := Extract(&ev); f.Type != TypeUnknown || f.Node == "" || f.Enforced {
			t.Errorf("%s: Extract = %+v", c.name, f)
		}
	}
	if n != 11 {
		t.Errorf("%d legacy lines, PROVENANCE.md says 11", n)
	}
}

// TestFutureEvents: what a newer Tetragon could send.
func TestFutureEvents(t *testing.T) {
	for _, c := range futureCases(t) {
		var ev tetragon.GetEventsResponse
		if err := Decode(c.raw, &ev); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got map[string]any
		if err := json.Unmarshal(Append(nil, &ev, c.meta()), &got); err != nil {
			t.Fatal(err)
		}
		switch c.name {
		case "future:type":
			if got["type"] != TypeUnknown || got["node"] != "node-future" || got["cluster"] != "future-cluster" ||
				got["time"] != "2030-01-02T03:04:05.678Z" {
				t.Errorf("%s: %v", c.name, got)
			}
			uf := got["unknown_fields"].(map[string]any)
			if !reflect.DeepEqual(uf["field_numbers"], []any{50.0, 51.0}) {
				t.Errorf("field_numbers = %v", uf["field_numbers"])
			}
			raw, err := base64.StdEncoding.DecodeString(uf["raw"].(string))
			if err != nil || !strings.Contains(string(raw), "ZnV0dXJlOjE6Mg==") {
				t.Errorf("raw unknown fields lost: %q %v", raw, err)
			}
		case "future:arg":
			kp := got["kprobe"].(map[string]any)
			if kp["action"] != "99" {
				t.Errorf("unnamed action = %v, want \"99\"", kp["action"])
			}
			args := kp["args"].([]any)
			last := args[1].(map[string]any)
			if last["type"] != ArgUnknown || last["label"] != "from-the-future" || last["raw"] == nil {
				t.Errorf("unknown arg = %v", last)
			}
			if !Extract(&ev).Enforced {
				t.Error("an unknown action must count as enforcement")
			}
		}
	}
}

func TestAppendString(t *testing.T) {
	for in, want := range map[string]string{
		"":                    `""`,
		"plain":               `"plain"`,
		`q"b\`:                `"q\"b\\"`,
		"\n\r\t\b\f":          `"\n\r\t\b\f"`,
		"\x00\x01\x1f\x7f":    `"\u0000\u0001\u001f` + "\x7f" + `"`,
		"ünï 日本 🙂":            `"ünï 日本 🙂"`,
		"\u2028\u2029":        `"\u2028\u2029"`,
		"a\xffb":              `"a\ufffdb"`,
		"\xc3":                `"\ufffd"`,
		"\xe6\x97":            `"\ufffd\ufffd"`,
		"</script>&<>":        `"</script>&<>"`,
		"\xed\xa0\x80":        `"\ufffd\ufffd\ufffd"`, // a UTF-16 surrogate is not UTF-8
		"ok\xf4\x90\x80\x80x": `"ok\ufffd\ufffd\ufffd\ufffdx"`,
	} {
		if got := string(appendString(nil, in)); got != want {
			t.Errorf("appendString(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestAppendStringMatchesEncodingJSON: for random byte strings, what a JSON
// parser reads back equals what it reads back from encoding/json's
// encoding of the same string (both turn each invalid byte into U+FFFD).
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("a\"\\\n\x00\x1f\x7f\xc3\xa9\xe2\x80\xa8\xff\xf0\x9f\x99\x82 ")
	for range 5000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		ours := appendString(nil, s)
		if !json.Valid(ours) {
			t.Fatalf("%q -> invalid JSON %s", s, ours)
		}
		theirs, _ := json.Marshal(s)
		var a, b2 string
		if err := json.Unmarshal(ours, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(theirs, &b2); err != nil {
			t.Fatal(err)
		}
		if a != b2 || !utf8.ValidString(a) {
			t.Fatalf("%q: ours reads back %q, encoding/json %q", s, a, b2)
		}
	}
}

func TestTimeFormat(t *testing.T) {
	for _, tc := range []struct {
		ts   *timestamppb.Timestamp
		want string
	}{
		{&timestamppb.Timestamp{Seconds: 0}, `{"t":"1970-01-01T00:00:00Z"}`},
		{&timestamppb.Timestamp{Seconds: 1714557600, Nanos: 123456789}, `{"t":"2024-05-01T10:00:00.123456789Z"}`},
		{&timestamppb.Timestamp{Seconds: 1714557600, Nanos: 120000000}, `{"t":"2024-05-01T10:00:00.12Z"}`},
		{&timestamppb.Timestamp{Seconds: maxTimestamp + 1}, `{}`},
		{&timestamppb.Timestamp{Seconds: minTimestamp - 1}, `{}`},
		{&timestamppb.Timestamp{Nanos: -1}, `{}`},
		{&timestamppb.Timestamp{Nanos: 1e9}, `{}`},
		{nil, `{}`},
	} {
		got := string(append(fTime([]byte{'{'}, "t", tc.ts), '}'))
		if got != tc.want {
			t.Errorf("%v: %s, want %s", tc.ts, got, tc.want)
		}
	}
}

func TestIsEnforcement(t *testing.T) {
	want := map[tetragon.KprobeAction]bool{
		tetragon.KprobeAction_KPROBE_ACTION_SIGKILL:        true,
		tetragon.KprobeAction_KPROBE_ACTION_OVERRIDE:       true,
		tetragon.KprobeAction_KPROBE_ACTION_SIGNAL:         true,
		tetragon.KprobeAction_KPROBE_ACTION_NOTIFYENFORCER: true,
		tetragon.KprobeAction_KPROBE_ACTION_SET:            true,
	}
	// Every value the API names is decided, so a new one fails here
	// until someone classifies it.
	for v := range tetragon.KprobeAction_name {
		a := tetragon.KprobeAction(v)
		if got := IsEnforcement(a); got != want[a] {
			t.Errorf("IsEnforcement(%v) = %v", a, got)
		}
	}
	if !IsEnforcement(tetragon.KprobeAction(1000)) {
		t.Error("an unknown action must count as enforcement")
	}
}

func TestExtract(t *testing.T) {
	labels := map[string]string{"app": "api"}
	kp := &tetragon.GetEventsResponse{
		NodeName: "n1",
		Event: &tetragon.GetEventsResponse_ProcessKprobe{ProcessKprobe: &tetragon.ProcessKprobe{
			Process: &tetragon.Process{Binary: "/bin/sh", Pod: &tetragon.Pod{
				Namespace: "ns1", Name: "p1", Workload: "w1", PodLabels: labels}},
			PolicyName:   "pol",
			Action:       tetragon.KprobeAction_KPROBE_ACTION_POST,
			ReturnAction: tetragon.KprobeAction_KPROBE_ACTION_OVERRIDE,
		}},
	}
	f := Extract(kp)
	if f.Type != "process_kprobe" || f.Node != "n1" || f.Namespace != "ns1" || f.Pod != "p1" || f.Workload != "w1" ||
		f.Binary != "/bin/sh" || f.PolicyName != "pol" || !f.Enforced {
		t.Errorf("kprobe: %+v", f)
	}
	if reflect.ValueOf(f.Labels).UnsafePointer() != reflect.ValueOf(labels).UnsafePointer() {
		t.Error("Labels is a copy, want the event's own map")
	}
	host := &tetragon.GetEventsResponse{Event: &tetragon.GetEventsResponse_ProcessLsm{ProcessLsm: &tetragon.ProcessLsm{
		Process: &tetragon.Process{Binary: "/usr/bin/curl"}, PolicyName: "p", Action: tetragon.KprobeAction_KPROBE_ACTION_POST}}}
	if f := Extract(host); f.Namespace != "" || f.Pod != "" || f.Labels != nil || f.Enforced || f.Binary != "/usr/bin/curl" || f.PolicyName != "p" {
		t.Errorf("host lsm: %+v", f)
	}
	for _, ev := range oneOfEach() {
		_ = Extract(ev) // nil inner messages: no panic
	}
	if n := testing.AllocsPerRun(100, func() { _ = Extract(kp) }); n != 0 {
		t.Errorf("Extract allocates %v times", n)
	}
}

// TestAppendDeterministic: map iteration order is random in Go; the output
// must not be.
func TestAppendDeterministic(t *testing.T) {
	labels := map[string]string{}
	for i := range 40 { // more than smallMap keys: the allocating path too
		labels[string(rune('a'+i%26))+strings.Repeat("x", i)] = "v"
	}
	ev := &tetragon.GetEventsResponse{
		NodeLabels: map[string]string{"z": "1", "a": "2", "m": "3"},
		Event: &tetragon.GetEventsResponse_ProcessExec{ProcessExec: &tetragon.ProcessExec{
			Process: &tetragon.Process{Pod: &tetragon.Pod{PodLabels: labels, PodAnnotations: map[string]string{"b": "1", "a": "2"}}}}},
	}
	first := string(Append(nil, ev, Meta{}))
	for range 50 {
		if got := string(Append(nil, ev, Meta{})); got != first {
			t.Fatalf("output changed between runs:\n%s\n%s", first, got)
		}
	}
	if !strings.Contains(first, `"node_labels":{"a":"2","m":"3","z":"1"}`) {
		t.Errorf("node labels not sorted: %s", first)
	}
}

// TestAppendNoAllocs: with a reused buffer Append allocates nothing.
func TestAppendNoAllocs(t *testing.T) {
	for _, c := range loadCases(t) {
		var ev tetragon.GetEventsResponse
		if err := Decode(c.raw, &ev); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 0, 64<<10)
		m := c.meta()
		if n := testing.AllocsPerRun(20, func() { buf = Append(buf[:0], &ev, m) }); n != 0 {
			t.Errorf("%s: Append allocates %v times per event", c.name, n)
		}
	}
}

// TestAppendNilSafe: hand-built events with nil messages where the API
// allows pointers must not crash the encoder.
func TestAppendNilSafe(t *testing.T) {
	evs := oneOfEach()
	evs = append(evs,
		nil,
		&tetragon.GetEventsResponse{Event: &tetragon.GetEventsResponse_ProcessExec{}},
		&tetragon.GetEventsResponse{Event: &tetragon.GetEventsResponse_ProcessKprobe{ProcessKprobe: &tetragon.ProcessKprobe{
			Args:             []*tetragon.KprobeArgument{nil, {Arg: &tetragon.KprobeArgument_SockArg{}}, {Arg: &tetragon.KprobeArgument_SyscallId{}}},
			Return:           &tetragon.KprobeArgument{},
			Ancestors:        []*tetragon.Process{nil, {Pod: &tetragon.Pod{Container: &tetragon.Container{Image: &tetragon.Image{}}}}},
			KernelStackTrace: []*tetragon.StackTraceEntry{nil},
			Process: &tetragon.Process{
				EnvironmentVariables: []*tetragon.EnvVar{nil},
				Ns:                   &tetragon.Namespaces{},
				ProcessCredentials:   &tetragon.ProcessCredentials{UserNs: &tetragon.UserNamespace{}},
				BinaryProperties:     &tetragon.BinaryProperties{File: &tetragon.FileProperties{}},
				InInitTree:           wrapperspb.Bool(false),
			},
		}}},
	)
	for i, ev := range evs {
		out := Append(nil, ev, Meta{EventID: "e"})
		if !json.Valid(out) {
			t.Errorf("%d: invalid JSON %s", i, out)
		}
		validateSchema(t, "nil-safe", out)
		_ = Extract(ev)
	}
}

func TestClusterFallback(t *testing.T) {
	ev := &tetragon.GetEventsResponse{NodeName: "n"}
	if got := string(Append(nil, ev, Meta{EventID: "id", Cluster: "conf"})); !strings.Contains(got, `"cluster":"conf"`) {
		t.Errorf("fallback cluster missing: %s", got)
	}
	ev.ClusterName = "own"
	if got := string(Append(nil, ev, Meta{EventID: "id", Cluster: "conf"})); !strings.Contains(got, `"cluster":"own"`) {
		t.Errorf("event's own cluster not preferred: %s", got)
	}
	if got := string(Append(nil, &tetragon.GetEventsResponse{}, Meta{})); got != `{"schema_version":1,"event_id":"","type":"unknown"}` {
		t.Errorf("empty: %s", got)
	}
}

// TestAppendAppends: Append extends dst, it does not overwrite it.
func TestAppendAppends(t *testing.T) {
	ev := &tetragon.GetEventsResponse{NodeName: "n"}
	out := Append([]byte("prefix\n"), ev, Meta{EventID: "a"})
	if !strings.HasPrefix(string(out), "prefix\n{") || !json.Valid(out[len("prefix\n"):]) {
		t.Errorf("%s", out)
	}
}

// TestNeedsEscape checks the 8-bytes-at-a-time scan against the plain
// rule for every byte value in every position.
func TestNeedsEscape(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	for pos := range 8 {
		for c := range 256 {
			var w uint64
			for i := range 8 {
				b := byte('a')
				if i == pos {
					b = byte(c)
				}
				w |= uint64(b) << (8 * i)
			}
			if got := needsEscape(w); got == plain(byte(c)) {
				t.Fatalf("needsEscape(byte %#x at %d) = %v", c, pos, got)
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		w := r.Uint64()
		want := false
		for i := range 8 {
			want = want || !plain(byte(w>>(8*i)))
		}
		if needsEscape(w) != want {
			t.Fatalf("needsEscape(%#x) = %v", w, !want)
		}
	}
}
