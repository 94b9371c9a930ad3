package deploycheck_test

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/metrics.md from the metric definitions")

// metricDoc is one metric definition found in the binaries' sources.
type metricDoc struct{ kind, help, where string }

// docs/metrics.md is generated from the metric definitions themselves, so
// the table operators read cannot drift from what the binaries export.
// Regenerate with: cd shared && go test ./deploycheck -run TestMetricsDoc -update
func TestMetricsDoc(t *testing.T) {
	exportedMetrics(t)
	names := make([]string, 0, len(metricDocs))
	for n := range metricDocs {
		if strings.HasPrefix(n, "ingester_") || strings.HasPrefix(n, "fanout_") || strings.HasPrefix(n, "tetragon_sim_") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("no metric definitions found")
	}
	var b strings.Builder
	b.WriteString("# Metrics\n\nGenerated from the metric definitions in the sources by\n`cd shared && go test ./deploycheck -run TestMetricsDoc -update`; a test fails when this\nfile and the code disagree. Every binary also exports the Go runtime (`go_*`) and\nprocess (`process_*`) collectors.\n\n| metric | type | meaning | defined in |\n|---|---|---|---|\n")
	for _, n := range names {
		d := metricDocs[n]
		fmt.Fprintf(&b, "| `%s` | %s | %s | `%s` |\n", n, strings.ToLower(d.kind), strings.ReplaceAll(d.help, "|", "\\|"), d.where)
	}
	path := repoPath("docs/metrics.md")
	if *updateDocs {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with -update)", err)
	}
	if string(got) != b.String() {
		t.Fatalf("docs/metrics.md is out of date with the metric definitions; regenerate: cd shared && go test ./deploycheck -run TestMetricsDoc -update")
	}
}
