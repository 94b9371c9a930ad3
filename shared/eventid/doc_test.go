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
func TestDocTable(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	var procLine string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		text := strings.TrimSpace(strings.TrimPrefix(line, "//"))
		switch {
		case strings.HasPrefix(text, "type ") && strings.Contains(text, "strings") && strings.Contains(text, "integers"):
			in = true
			continue
		case strings.HasPrefix(text, "| process part"):
			procLine = text
		}
		if in {
			if text == "" {
				in = false
				continue
			}
			rows = append(rows, strings.Join(strings.Fields(text), " "))
		}
	}
	var want []string
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
		if row.IDProcess {
			withProc = append(withProc, row.Object)
		}
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("doc.go's table:\n%s\nthe eventtype table says:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if w := "only for " + strings.Join(withProc, ", "); !strings.HasSuffix(procLine, w) {
		t.Errorf("doc.go: %q, want it to end %q", procLine, w)
	}
}
