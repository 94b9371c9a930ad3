package replay

import (
	"encoding/base64"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/cilium/tetragon/api/v1/tetragon/codegen/helpers"
	"google.golang.org/protobuf/proto"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/source"
)

// Counts from testdata/PROVENANCE.md.
var fixtures = []struct {
	file        string
	events, bad int
	types       map[string]int
}{
	{"events.jsonl", 3, 0, map[string]int{"process_exec": 3}},
	{"docs-events.jsonl", 20, 0, map[string]int{"process_kprobe": 13, "process_exec": 4, "process_exit": 1, "process_throttle": 2}},
	{"legacy-book-events.jsonl", 29, 11, map[string]int{"process_exec": 18, "process_exit": 9, "process_kprobe": 2}},
}

func TestLoadEveryFixture(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.file, func(t *testing.T) {
			path := filepath.Join("testdata", f.file)
			set, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if set.Len() != f.events || len(set.Bad) != f.bad || set.Files[0] != (File{path, f.events, f.bad}) {
				t.Fatalf("events %d bad %d files %+v, want %d/%d", set.Len(), len(set.Bad), set.Files, f.events, f.bad)
			}
			types := map[string]int{}
			for _, m := range set.Events() {
				types[eventtype.FromResponse(m)]++
			}
			for typ, n := range f.types {
				if types[typ] != n {
					t.Errorf("%s: %d, want %d", typ, types[typ], n)
				}
			}
			for _, b := range set.Bad {
				if b.File != path || b.Line < 1 || !strings.Contains(b.Err.Error(), "unknown field") {
					t.Errorf("bad line report %q", b)
				}
				if !strings.HasPrefix(b.String(), path+":") {
					t.Errorf("report %q does not start with file:line", b)
				}
			}
		})
	}
}

func TestLoadLegacyLineNumbers(t *testing.T) {
	set, err := Load("testdata/legacy-book-events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	// Lines 1 and 2 are process_close and process_connect (see the file).
	if set.Bad[0].Line != 1 || set.Bad[1].Line != 2 {
		t.Fatalf("first bad lines %v, %v", set.Bad[0], set.Bad[1])
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("testdata/missing.jsonl"); err == nil {
		t.Fatal("missing file accepted")
	}
	if _, err := Load("testdata/PROVENANCE.md"); !errors.Is(err, ErrNoEvents) {
		t.Fatalf("file without events: %v", err)
	}
}

type ident struct {
	node, typ, exec string
	time            int64
}

func TestPassesAreDistinctAndLinked(t *testing.T) {
	paths := []string{"testdata/events.jsonl", "testdata/docs-events.jsonl", "testdata/legacy-book-events.jsonl"}
	set, err := Load(paths...)
	if err != nil {
		t.Fatal(err)
	}
	src := NewSource(set, 0x1234, nil)
	seen := map[ident]bool{}
	orig := set.Events()
	for pass := range 3 {
		ids := map[string]string{} // original -> replayed, within the pass
		for i := range set.Len() {
			ev, err := src.Next()
			if err != nil {
				t.Fatal(err)
			}
			var m tetragon.GetEventsResponse
			if err := proto.Unmarshal(ev.Bytes, &m); err != nil {
				t.Fatal(err)
			}
			if ev.Time != m.Time.AsTime().UnixNano() || ev.Type != eventtype.FromResponse(&m) || ev.Node != m.NodeName {
				t.Fatalf("metadata disagrees with event")
			}
			k := ident{m.NodeName, ev.Type, helpers.ResponseGetProcess(&m).GetExecId(), ev.Time}
			if seen[k] {
				t.Fatalf("pass %d event %d repeats identity %+v", pass, i, k)
			}
			seen[k] = true
			o, r := helpers.ResponseGetProcess(orig[i]), helpers.ResponseGetProcess(&m)
			if o == nil {
				continue
			}
			if r.ExecId == o.ExecId || r.ExecId == "" {
				t.Fatalf("exec_id not rewritten: %q", r.ExecId)
			}
			raw, _ := base64.StdEncoding.DecodeString(r.ExecId)
			parts := strings.Split(string(raw), ":")
			if len(parts) != 3 {
				t.Fatalf("exec_id %q is not node:ktime:pid", raw)
			}
			if kt, err := strconv.ParseUint(parts[1], 10, 64); err != nil || kt>>(64-source.NonceBits) != 0x1234 {
				t.Fatalf("exec_id %q does not carry the nonce", raw)
			}
			for _, pair := range [][2]string{{o.ExecId, r.ExecId}, {o.ParentExecId, r.ParentExecId}} {
				if prev, ok := ids[pair[0]]; ok && prev != pair[1] {
					t.Fatalf("exec_id %s mapped to %s and %s in one pass", pair[0], prev, pair[1])
				}
				ids[pair[0]] = pair[1]
			}
			// Content other than identity is unchanged.
			r2 := proto.CloneOf(r)
			r2.ExecId, r2.ParentExecId = o.ExecId, o.ParentExecId
			if !proto.Equal(r2, o) {
				t.Fatalf("process content changed")
			}
		}
	}
	if src.Pass() != 2 {
		t.Fatalf("pass %d", src.Pass())
	}
}
