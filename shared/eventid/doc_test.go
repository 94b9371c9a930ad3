package eventid

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// TestDocTable checks the scheme's table in doc.go (what other producers
// implement) against shared/eventtype's table (what this package runs).
// After adding a type to the table, regenerate the rows (and nothing else:
// -update also rewrites the id goldens of the other tests) with
// cd shared && go test ./eventid -run TestDocTable -update
func TestDocTable(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	var procLine string
	in := false
	lines := strings.Split(string(src), "\n")
	first, last, procAt := -1, -1, -1 // rows are lines[first:last]
	for i, line := range lines {
		text := strings.TrimSpace(strings.TrimPrefix(line, "//"))
		switch {
		case strings.HasPrefix(text, "type ") && strings.Contains(text, "strings") && strings.Contains(text, "integers"):
			in, first = true, i+1
			continue
		case strings.HasPrefix(text, "| process part"):
			procLine, procAt = text, i
		}
		if in {
			if text == "" {
				in, last = false, i
				continue
			}
			rows = append(rows, strings.Join(strings.Fields(text), " "))
		}
	}
	var want, render []string
	var withProc []string
	for _, row := range eventtype.Table() {
		var strs, ints []string
		for _, f := range row.IDFields {
			switch {
			case f.Kind == protoreflect.BytesKind:
				strs = append(strs, fmt.Sprintf("%s(%d, bytes)", f.Name, f.Number))
			case f.IsString():
				strs = append(strs, fmt.Sprintf("%s(%d)", f.Name, f.Number))
			default:
				ints = append(ints, fmt.Sprintf("%s(%d)", f.Name, f.Number))
			}
		}
		dash := func(s []string) string {
			if len(s) == 0 {
				return "-"
			}
			return strings.Join(s, " ")
		}
		want = append(want, fmt.Sprintf("%s %d %s %s", row.Name, row.Number, dash(strs), dash(ints)))
		render = append(render, fmt.Sprintf("//\t%-21s%5d   %-54s%s", row.Name, row.Number, dash(strs), dash(ints)))
		if row.IDProcess {
			withProc = append(withProc, row.Object)
		}
	}
	if *update && first > 0 && last > first && procAt >= 0 {
		at := strings.Index(lines[procAt], "only for ")
		lines[procAt] = lines[procAt][:at] + "only for " + strings.Join(withProc, ", ")
		out := append(append(append([]string{}, lines[:first]...), render...), lines[last:]...)
		if err := os.WriteFile("doc.go", []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("doc.go's table:\n%s\nthe eventtype table says:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if w := "only for " + strings.Join(withProc, ", "); !strings.HasSuffix(procLine, w) {
		t.Errorf("doc.go: %q, want it to end %q", procLine, w)
	}
}
