package normalize

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const schemaFile = "schema/event.v1.schema.json"

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// compiledSchema compiles the checked-in JSON Schema with format
// assertions on (date-time is checked, not just noted).
func compiledSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		c.AssertContent()
		schema, schemaErr = c.Compile(schemaFile)
	})
	if schemaErr != nil {
		t.Fatalf("compile %s: %v", schemaFile, schemaErr)
	}
	return schema
}

func validateSchema(t testing.TB, name string, out []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("%s: output is not JSON: %v\n%s", name, err, out)
	}
	if err := compiledSchema(t).Validate(inst); err != nil {
		t.Errorf("%s: output violates %s: %v\n%s", name, schemaFile, err, out)
	}
}

// TestGolden runs every fixture line and hand-built event through Decode
// and Append and checks the output: byte-equal to the checked-in golden,
// valid JSON, valid against the schema, and (where protojson can express
// the event) equal in content to protojson's rendering of the same event.
func TestGolden(t *testing.T) {
	cases := loadCases(t)
	got := map[string][]byte{}
	for _, c := range cases {
		var ev tetragon.GetEventsResponse
		if err := Decode(c.raw, &ev); err != nil {
			t.Fatalf("%s: Decode: %v", c.name, err)
		}
		out := Append(nil, &ev, c.meta())
		if !json.Valid(out) {
			t.Fatalf("%s: invalid JSON:\n%s", c.name, out)
		}
		validateSchema(t, c.name, out)
		if c.ref != nil {
			agreeWithProtojson(t, c, out)
		}
		got[c.group] = append(append(got[c.group], out...), '\n')
	}
	want := map[string]bool{}
	for _, g := range groups(cases) {
		path := goldenPath(g)
		want[filepath.Base(path)] = true
		if *update {
			if err := os.WriteFile(path, got[g], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		golden, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(golden, got[g]) {
			t.Errorf("%s differs from the output (go test -update rewrites it):\n%s", path, firstDiff(golden, got[g]))
		}
	}
	// A golden no case produces any more is stale: fail rather than keep it.
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	for _, f := range files {
		if !want[filepath.Base(f)] {
			t.Errorf("stale golden file %s", f)
		}
	}
}

func firstDiff(want, got []byte) string {
	wl, gl := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			return "line " + strconv.Itoa(i+1) + ":\n want " + string(w) + "\n got  " + string(g)
		}
	}
	return ""
}

// --- protojson cross-check -------------------------------------------------
//
// expectFromRef rebuilds, from protojson's rendering of the reference event,
// what schema v1 should contain, using only renames written out here (not
// the encoder's code), and the test compares it with the encoder's output
// as parsed JSON. Numbers are compared as their decimal text, because
// protojson writes 64-bit integers as strings.

// oneofNames are the GetEventsResponse event keys (proto names) and the
// schema's type-object key for each.
var oneofNames = map[string]string{
	"process_exec": "exec", "process_exit": "exit", "process_kprobe": "kprobe",
	"process_tracepoint": "tracepoint", "process_loader": "loader", "process_uprobe": "uprobe",
	"process_throttle": "throttle", "process_lsm": "lsm", "process_usdt": "usdt",
	"test": "test", "rate_limit_info": "rate_limit_info",
}

// A type added to the eventtype table after the list above: its row's
// Object key (TestTypeObjectKeys checks Append uses it).
func init() {
	for _, row := range eventtype.Table() {
		if _, ok := oneofNames[row.Name]; !ok {
			oneofNames[row.Name] = row.Object
		}
	}
}

func agreeWithProtojson(t *testing.T, c testCase, out []byte) {
	t.Helper()
	refJSON, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(c.ref)
	if err != nil {
		t.Fatalf("%s: protojson: %v", c.name, err)
	}
	ref := parseJSON(t, refJSON).(map[string]any)
	want := expectFromRef(t, ref, c.meta())
	gotV := parseJSON(t, out)
	if !reflect.DeepEqual(want, gotV) {
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(gotV)
		t.Errorf("%s: output disagrees with protojson reference\nwant %s\ngot  %s", c.name, wj, gj)
	}
}

// parseJSON decodes with numbers as their decimal text.
func parseJSON(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("parse %s: %v", b, err)
	}
	return numbersToText(v)
}

func numbersToText(v any) any {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case map[string]any:
		for k, e := range x {
			x[k] = numbersToText(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbersToText(e)
		}
	}
	return v
}

func expectFromRef(t *testing.T, ref map[string]any, m Meta) map[string]any {
	out := map[string]any{"schema_version": "1", "event_id": m.EventID, "type": "unknown"}
	if v, ok := ref["time"]; ok {
		out["time"] = rfc3339(t, v)
	}
	copyKey(out, "node", ref, "node_name")
	out["cluster"] = m.Cluster
	copyKey(out, "cluster", ref, "cluster_name")
	copyKey(out, "node_labels", ref, "node_labels")
	if ag, ok := ref["aggregation_info"].(map[string]any); ok {
		out["aggregation"] = ag
	}
	for name, objKey := range oneofNames {
		ev, ok := ref[name].(map[string]any)
		if !ok {
			continue
		}
		out["type"] = name
		if p, ok := ev["process"].(map[string]any); ok {
			if pod, ok := p["pod"].(map[string]any); ok {
				copyKey(out, "namespace", pod, "namespace")
				copyKey(out, "pod", pod, "name")
				copyKey(out, "workload", pod, "workload")
				copyKey(out, "workload_kind", pod, "workload_kind")
				if c, ok := pod["container"].(map[string]any); ok {
					copyKey(out, "container", c, "name")
				}
			}
			out["process"] = expectProcess(t, p)
		}
		if p, ok := ev["parent"].(map[string]any); ok {
			out["parent"] = expectProcess(t, p)
		}
		if as, ok := ev["ancestors"].([]any); ok {
			var l []any
			for _, a := range as {
				l = append(l, expectProcess(t, a.(map[string]any)))
			}
			out["ancestors"] = l
		}
		delete(ev, "process")
		delete(ev, "parent")
		delete(ev, "ancestors")
		out[objKey] = expectTypeObject(t, name, ev)
	}
	return out
}

func copyKey(dst map[string]any, dk string, src map[string]any, sk string) {
	if v, ok := src[sk]; ok {
		dst[dk] = v
	}
}

func rename(m map[string]any, from, to string) {
	if v, ok := m[from]; ok {
		delete(m, from)
		m[to] = v
	}
}

func rfc3339(t *testing.T, v any) string {
	tm, err := time.Parse(time.RFC3339Nano, v.(string))
	if err != nil {
		t.Fatalf("reference time %v: %v", v, err)
	}
	return tm.UTC().Format(time.RFC3339Nano)
}

func expectProcess(t *testing.T, p map[string]any) map[string]any {
	if v, ok := p["start_time"]; ok {
		p["start_time"] = rfc3339(t, v)
	}
	rename(p, "cap", "caps")
	rename(p, "ns", "namespaces")
	rename(p, "process_credentials", "credentials")
	rename(p, "environment_variables", "environment")
	if env, ok := p["environment"].([]any); ok {
		for _, e := range env {
			e := e.(map[string]any)
			// protojson omits an empty Key/Value; the schema always has both.
			k, _ := e["Key"].(string)
			v, _ := e["Value"].(string)
			delete(e, "Key")
			delete(e, "Value")
			e["key"], e["value"] = k, v
		}
	}
	if pod, ok := p["pod"].(map[string]any); ok {
		rename(pod, "pod_labels", "labels")
		rename(pod, "pod_annotations", "annotations")
		if c, ok := pod["container"].(map[string]any); ok {
			if v, ok := c["start_time"]; ok {
				c["start_time"] = rfc3339(t, v)
			}
		}
	}
	return p
}

func expectTypeObject(t *testing.T, name string, ev map[string]any) map[string]any {
	rename(ev, "function_name", "function")
	rename(ev, "policy_name", "policy")
	for _, k := range []string{"args", "data"} {
		if l, ok := ev[k].([]any); ok {
			for i, a := range l {
				l[i] = expectArg(a.(map[string]any))
			}
		}
	}
	if r, ok := ev["return"].(map[string]any); ok {
		ev["return"] = expectArg(r)
	}
	for _, k := range []string{"kernel_stack_trace", "user_stack_trace"} {
		if l, ok := ev[k].([]any); ok {
			for _, e := range l {
				e := e.(map[string]any)
				if a, ok := e["address"].(string); ok {
					n, err := strconv.ParseUint(a, 10, 64)
					if err != nil {
						t.Fatal(err)
					}
					e["address"] = "0x" + strconv.FormatUint(n, 16)
				}
			}
		}
	}
	switch name {
	case "process_exit":
		if _, ok := ev["status"]; !ok {
			ev["status"] = "0"
		}
		if v, ok := ev["time"]; ok {
			ev["time"] = rfc3339(t, v)
		}
	case "process_loader":
		if v, ok := ev["buildid"].(string); ok {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Fatal(err)
			}
			ev["buildid"] = hex.EncodeToString(b)
		}
	}
	return ev
}

// expectArg turns protojson's {"int_arg": 3, "label": "x"} into the
// schema's {"type": "int", "int": 3, "label": "x"}.
func expectArg(a map[string]any) map[string]any {
	out := map[string]any{"type": "unknown"}
	copyKey(out, "label", a, "label")
	for k, v := range a {
		if k == "label" {
			continue
		}
		kind := strings.TrimSuffix(k, "_arg")
		if kind == "sockaddrun" {
			kind = "sockaddr_un"
		}
		out["type"] = kind
		if obj, ok := v.(map[string]any); ok {
			v = snakeKeys(obj)
			if kind == "truncated_bytes" {
				rename(obj, "bytes_arg", "bytes")
			}
			if kind == "syscall_id" {
				if _, ok := obj["id"]; !ok {
					obj["id"] = "0"
				}
			}
		}
		out[kind] = v
	}
	return out
}

// snakeKeys renames the CamelCase fields a few Tetragon argument messages
// use (ProgType, KprobeFunc, Message) to snake_case.
func snakeKeys(m map[string]any) map[string]any {
	for k, v := range m {
		var sb strings.Builder
		for i, r := range k {
			if r >= 'A' && r <= 'Z' {
				if i > 0 {
					sb.WriteByte('_')
				}
				r += 'a' - 'A'
			}
			sb.WriteRune(r)
		}
		if s := sb.String(); s != k {
			delete(m, k)
			m[s] = v
		}
	}
	return m
}

// TestEveryTypeHasAGolden fails when an event type of the API has no
// golden coverage, e.g. after an API upgrade adds one.
func TestEveryTypeHasAGolden(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range loadCases(t) {
		var ev tetragon.GetEventsResponse
		if err := Decode(c.raw, &ev); err != nil {
			t.Fatal(err)
		}
		seen[TypeOf(&ev)] = true
	}
	for _, typ := range append(allTypes(), TypeUnknown) {
		if !seen[typ] {
			t.Errorf("no test event of type %s", typ)
		}
	}
}

// TestEveryArgKindCovered fails when KprobeArgument gains a kind the
// hand-built kprobe event does not exercise, or one the encoder writes as
// "unknown".
func TestEveryArgKindCovered(t *testing.T) {
	data, err := os.ReadFile("testdata/events/process_kprobe.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev tetragon.GetEventsResponse
	if err := protojson.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, a := range ev.GetProcessKprobe().GetArgs() {
		if f := a.ProtoReflect().WhichOneof(a.ProtoReflect().Descriptor().Oneofs().ByName("arg")); f != nil {
			set[string(f.Name())] = true
		}
	}
	fields := (&tetragon.KprobeArgument{}).ProtoReflect().Descriptor().Oneofs().ByName("arg").Fields()
	for i := range fields.Len() {
		if n := string(fields.Get(i).Name()); !set[n] {
			t.Errorf("testdata/events/process_kprobe.json has no %s argument", n)
		}
	}
	out := Append(nil, &ev, Meta{EventID: "x"})
	var parsed struct {
		Kprobe struct {
			Args []struct {
				Type  string `json:"type"`
				Label string `json:"label"`
			} `json:"args"`
		} `json:"kprobe"`
	}
	if err := json.Unmarshal(out, &parsed); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, a := range parsed.Kprobe.Args {
		if a.Type == ArgUnknown && a.Label != "no-value-set" {
			t.Errorf("argument %q came out as unknown", a.Label)
		}
		kinds = append(kinds, a.Type)
	}
	slices.Sort(kinds)
	if n := len(slices.Compact(kinds)); n != fields.Len()+1 {
		t.Errorf("%d distinct argument kinds in output, want %d (+1 unknown): %v", n, fields.Len(), kinds)
	}
}
