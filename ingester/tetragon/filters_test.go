package tetragon

import (
	"slices"
	"strings"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventid"
)

func TestParseFiltersBothSyntaxes(t *testing.T) {
	stream := `{"event_set":["PROCESS_EXEC","PROCESS_EXIT"]}
{"namespace":["kube-system"],"binaryRegex":["^/usr/bin/"]}`
	array := `[{"event_set":["PROCESS_EXEC","PROCESS_EXIT"]},{"namespace":["kube-system"],"binary_regex":["^/usr/bin/"]}]`
	a, err := ParseFilters(stream)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseFilters(array)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("parsed %d and %d filters", len(a), len(b))
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			t.Fatalf("filter %d differs: %v vs %v", i, a[i], b[i])
		}
	}
	if got := a[0].GetEventSet(); !slices.Equal(got, []tetragon.EventType{tetragon.EventType_PROCESS_EXEC, tetragon.EventType_PROCESS_EXIT}) {
		t.Fatalf("event_set = %v", got)
	}
	if f, err := ParseFilters("  "); err != nil || f != nil {
		t.Fatalf("empty = %v %v", f, err)
	}
}

func TestParseFiltersRejects(t *testing.T) {
	for name, s := range map[string]string{
		"not json":       `{event_set:}`,
		"unknown field":  `{"event_sets":["PROCESS_EXEC"]}`,
		"unknown type":   `{"event_set":["PROCESS_EXECC"]}`,
		"bad regex":      `{"binary_regex":["(unclosed"]}`,
		"not an object":  `"PROCESS_EXEC"`,
		"array of junk":  `[1,2]`,
		"bad pod regexp": `[{"pod_regex":["*"]}]`,
	} {
		if _, err := ParseFilters(s); err == nil {
			t.Errorf("%s: %s accepted", name, s)
		}
	}
}

func TestParseFieldFiltersSnakeCase(t *testing.T) {
	ffs, err := ParseFieldFilters(`{"event_set":["PROCESS_KPROBE"],"fields":"args,return_action","action":"EXCLUDE"}
{"fields":"process.binary,process.arguments","action":"EXCLUDE","invert_event_set":true,"event_set":["PROCESS_EXEC"]}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := ffs[0].GetFields().GetPaths(); !slices.Equal(got, []string{"args", "return_action"}) {
		t.Fatalf("paths = %v", got)
	}
	if !ffs[1].GetInvertEventSet().GetValue() {
		t.Fatal("invert_event_set lost")
	}
}

func TestFieldFiltersThatBreakTheIDAreRefused(t *testing.T) {
	for _, tc := range []struct{ filter, want string }{
		{`{"fields":"process.pid","action":"EXCLUDE"}`, "process.pid"},
		{`{"fields":"process","action":"EXCLUDE","event_set":["PROCESS_EXEC"]}`, "process.exec_id of process_exec"},
		{`{"fields":"process.pid.value","action":"EXCLUDE"}`, "process.pid"},
		{`{"fields":"function_name","action":"EXCLUDE","event_set":["PROCESS_KPROBE"]}`, "function_name of process_kprobe"},
		{`{"fields":"policy_name","action":"EXCLUDE","event_set":["PROCESS_KPROBE"],"invert_event_set":true}`, "policy_name of process_tracepoint"},
		{`{"fields":"process.binary,process.exec_id,process.pid","action":"INCLUDE"}`, "process.tid"},
		{`{"fields":"process,function_name","action":"INCLUDE","event_set":["PROCESS_KPROBE"]}`, "policy_name of process_kprobe"},
		{`{"fields":"signal","action":"EXCLUDE","event_set":["PROCESS_EXIT"]}`, "signal of process_exit"},
	} {
		_, err := ParseFieldFilters(tc.filter)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want mention of %q", tc.filter, err, tc.want)
		}
	}
	for _, ok := range []string{
		`{"fields":"process.binary,process.arguments","action":"EXCLUDE"}`,
		`{"fields":"args","action":"EXCLUDE","event_set":["PROCESS_KPROBE"]}`,
		// policy_name matters for kprobes but this filter touches exec only.
		`{"fields":"policy_name","action":"EXCLUDE","event_set":["PROCESS_EXEC"]}`,
		`{"fields":"process,function_name,policy_name","action":"INCLUDE","event_set":["PROCESS_KPROBE"]}`,
		`{"fields":"","action":"INCLUDE"}`,
	} {
		if _, err := ParseFieldFilters(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
}

// The idFields table must be exactly what shared/eventid reads: clearing any
// listed field changes the id, and keeping only the listed fields (and
// node_name and time) keeps it.
func TestIDFieldsMatchEventID(t *testing.T) {
	resp := &tetragon.GetEventsResponse{}
	oneof := resp.ProtoReflect().Descriptor().Oneofs().ByName("event")
	for typ, paths := range idFields {
		fd := oneof.Fields().ByNumber(protoreflect.FieldNumber(typ))
		if fd == nil {
			t.Fatalf("no oneof field for %v", typ)
		}
		full := eventWith(fd, func(ev protoreflect.Message) { fillAll(ev, 0) })
		base := eventid.FromResponse(full)

		// Keep only the id fields: same id.
		only := eventWith(fd, func(ev protoreflect.Message) {
			src := full.ProtoReflect().Get(fd).Message()
			for _, p := range paths {
				copyPath(src, ev, strings.Split(p, "."))
			}
		})
		if got := eventid.FromResponse(only); got != base {
			t.Errorf("%v: keeping only %v changes the id: eventid reads a field the table misses", typ, paths)
		}
		// Clear one id field: different id.
		for _, p := range paths {
			cleared := proto.Clone(full).(*tetragon.GetEventsResponse)
			clearPath(cleared.ProtoReflect().Get(fd).Message(), strings.Split(p, "."))
			if eventid.FromResponse(cleared) == base {
				t.Errorf("%v: clearing %s leaves the id unchanged: the table lists a field eventid does not read", typ, p)
			}
		}
	}
}

func eventWith(fd protoreflect.FieldDescriptor, fill func(protoreflect.Message)) *tetragon.GetEventsResponse {
	r := &tetragon.GetEventsResponse{NodeName: "node-a", Time: timestamppb.New(timestamppb.Now().AsTime())}
	r.Time = &timestamppb.Timestamp{Seconds: 1700000000, Nanos: 123}
	fill(r.ProtoReflect().Mutable(fd).Message())
	return r
}

// fillAll sets every scalar field to a distinct non-zero value and recurses
// into message fields (two levels: event -> process -> pid wrapper).
func fillAll(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if o := fd.ContainingOneof(); o != nil && !o.IsSynthetic() && o.Fields().Get(0) != fd {
			continue
		}
		if fd.IsList() || fd.IsMap() {
			continue
		}
		switch fd.Kind() {
		case protoreflect.MessageKind, protoreflect.GroupKind:
			if depth < 2 {
				fillAll(m.Mutable(fd).Message(), depth+1)
			}
		default:
			m.Set(fd, scalar(fd, i+1))
		}
	}
}

func scalar(fd protoreflect.FieldDescriptor, n int) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString("v" + string(rune('a'+n%26)))
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte{byte(n), 1})
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vals.Get(vals.Len() - 1).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(n + 40))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(n + 40))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(n + 40))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(n + 40))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(n))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(float64(n))
	}
	panic(fd.Kind().String())
}

func copyPath(src, dst protoreflect.Message, path []string) {
	fd := src.Descriptor().Fields().ByName(protoreflect.Name(path[0]))
	if fd == nil {
		panic("no field " + path[0] + " in " + string(src.Descriptor().FullName()))
	}
	if len(path) == 1 {
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		}
		return
	}
	copyPath(src.Get(fd).Message(), dst.Mutable(fd).Message(), path[1:])
}

func clearPath(m protoreflect.Message, path []string) {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(path[0]))
	if fd == nil {
		panic("no field " + path[0])
	}
	if len(path) == 1 {
		m.Clear(fd)
		return
	}
	clearPath(m.Mutable(fd).Message(), path[1:])
}
