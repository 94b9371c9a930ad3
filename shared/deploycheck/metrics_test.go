package deploycheck_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/tetragon-fanout/tetragon-fanout/shared/telemetry"
)

var (
	metricsOnce sync.Once
	metricNames map[string]string // series name -> where it is defined
	metricDocs  = map[string]metricDoc{}
	metricsErr  error
)

// exportedMetrics lists every series name the binaries can export: the
// names in the metric definitions of the ingester's and fanout's production
// sources (prometheus.*Opts{Name: ...} literals and prometheus.NewDesc
// calls; histograms add _bucket, _sum and _count), plus what
// telemetry.NewRegistry registers in every binary (Go and process
// collectors). Reading the definitions rather than scraping a running
// binary sees labelled series that have not been observed yet.
func exportedMetrics(t *testing.T) map[string]string {
	t.Helper()
	metricsOnce.Do(func() {
		metricNames = map[string]string{}
		for _, dir := range []string{"ingester", "fanout", "shared"} {
			err := filepath.WalkDir(repoPath(dir), func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() && (d.Name() == "testdata" || d.Name() == "deploycheck") {
					return filepath.SkipDir
				}
				if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
					return nil
				}
				return scanMetrics(path)
			})
			if err != nil {
				metricsErr = err
				return
			}
		}
		mfs, err := telemetry.NewRegistry().Gather()
		if err != nil {
			metricsErr = err
			return
		}
		for _, mf := range mfs {
			addSeries(mf.GetName(), mf.GetType().String(), "telemetry.NewRegistry")
		}
	})
	if metricsErr != nil {
		t.Fatal(metricsErr)
	}
	return metricNames
}

func addSeries(name, typ, where string) {
	metricNames[name] = where
	switch strings.ToUpper(typ) {
	case "HISTOGRAM", "HISTOGRAMOPTS":
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			metricNames[name+s] = where
		}
	case "SUMMARY", "SUMMARYOPTS":
		for _, s := range []string{"_sum", "_count"} {
			metricNames[name+s] = where
		}
	}
}

func scanMetrics(path string) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(root, path)
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CompositeLit:
			sel, ok := x.Type.(*ast.SelectorExpr)
			if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
				return true
			}
			parts := map[string]string{}
			for _, e := range x.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, _ := kv.Key.(*ast.Ident)
				if key == nil {
					continue
				}
				if s, ok := stringLit(kv.Value); ok {
					parts[key.Name] = s
				}
			}
			if parts["Name"] == "" {
				return true
			}
			var name []string
			for _, k := range []string{"Namespace", "Subsystem", "Name"} {
				if parts[k] != "" {
					name = append(name, parts[k])
				}
			}
			full := strings.Join(name, "_")
			addSeries(full, sel.Sel.Name, rel)
			metricDocs[full] = metricDoc{kind: strings.TrimSuffix(sel.Sel.Name, "Opts"), help: parts["Help"], where: rel}
		case *ast.CallExpr:
			sel, ok := x.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "NewDesc" || len(x.Args) == 0 {
				return true
			}
			if s, ok := stringLit(x.Args[0]); ok {
				addSeries(s, "", rel)
			}
		}
		return true
	})
	return nil
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// The metric contract of the design page: dashboards and alerts rely on it.
var contractMetrics = []string{
	"ingester_events_received_total", "ingester_events_published_total", "ingester_events_dropped_total",
	"ingester_queue_depth", "ingester_tetragon_connected", "ingester_tetragon_reconnects_total",
	"ingester_publish_latency_seconds_bucket",
	"fanout_events_consumed_total", "fanout_events_emitted_total", "fanout_duplicates_dropped_total",
	"fanout_events_sampled_out_total", "fanout_events_dlq_total", "fanout_normalize_seconds_bucket",
	"fanout_end_to_end_latency_seconds_bucket", "fanout_partitions_assigned", "fanout_consumer_lag",
	"fanout_table_entries", "fanout_table_recovery_seconds_bucket",
	"process_resident_memory_bytes", "go_goroutines",
}

func TestContractMetricsExported(t *testing.T) {
	got := exportedMetrics(t)
	for _, m := range contractMetrics {
		if _, ok := got[m]; !ok {
			t.Errorf("%s (architecture.md) is not defined in the sources", m)
		}
	}
}

// promqlNames extracts the series names a PromQL expression selects: bare
// identifiers that are not functions, keywords, label names (in {...} or in
// by/without/on/ignoring/group_* lists) or inside strings and ranges.
func promqlNames(expr string) []string {
	keywords := map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true, "inf": true, "nan": true}
	// Aggregations may be followed by a by/without clause before their "(".
	for _, agg := range []string{"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"} {
		keywords[agg] = true
	}
	grouping := map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	var out []string
	skipTo := func(i int, open, close byte) int {
		depth := 0
		for ; i < len(expr); i++ {
			switch expr[i] {
			case '"', '\'', '`':
				q := expr[i]
				for i++; i < len(expr) && expr[i] != q; i++ {
					if expr[i] == '\\' {
						i++
					}
				}
			case open:
				depth++
			case close:
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	isIdent := func(c byte, first bool) bool {
		return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || (!first && c >= '0' && c <= '9')
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '{':
			i = skipTo(i, '{', '}')
		case c == '[':
			i = skipTo(i, '[', ']')
		case c == '"' || c == '\'' || c == '`':
			i = skipTo(i, c, c)
			if i < len(expr) && expr[i-1] != c {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i], false) || expr[i] == '.') {
				i++ // numbers and durations (5m, 1e6)
			}
		case isIdent(c, true):
			j := i
			for j < len(expr) && isIdent(expr[j], false) {
				j++
			}
			word := expr[i:j]
			k := j
			for k < len(expr) && expr[k] == ' ' {
				k++
			}
			next := byte(0)
			if k < len(expr) {
				next = expr[k]
			}
			i = j
			switch {
			case grouping[strings.ToLower(word)]:
				if next == '(' {
					i = skipTo(k, '(', ')')
				}
			case keywords[strings.ToLower(word)], next == '(':
			default:
				out = append(out, word)
			}
		default:
			i++
		}
	}
	return out
}

func TestPromqlNames(t *testing.T) {
	got := promqlNames(`histogram_quantile(0.99, sum by (le) (rate(fanout_x_bucket{job="a",le!="1"}[$__rate_interval]))) / on (instance) group_left(node) b:rec offset 5m > 1e6 and c`)
	want := []string{"fanout_x_bucket", "b:rec", "c"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("promqlNames = %v, want %v", got, want)
	}
	exported := exportedMetrics(t)
	for name, want := range map[string]bool{"fanout_consumer_lag": true, "fanout_table_recovery_seconds_count": true, "fanout_consumer_lags": false, "go_goroutines": true} {
		if _, ok := exported[name]; ok != want {
			t.Errorf("exported[%s] = %v, want %v", name, ok, want)
		}
	}
}

// ruleGroups reads deployments/prometheus/rules.yml.
type ruleGroups struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Record string `json:"record,omitempty"`
			Alert  string `json:"alert,omitempty"`
			Expr   string `json:"expr"`
		} `json:"rules"`
	} `json:"groups"`
}

func loadRules(t *testing.T) (ruleGroups, map[string]bool) {
	t.Helper()
	var rg ruleGroups
	if err := yaml.Unmarshal(readRepoFile(t, "deployments", "prometheus", "rules.yml"), &rg); err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{}
	for _, g := range rg.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	return rg, recorded
}

// checkQueried reports series an expression selects that nothing exports.
func checkQueried(t *testing.T, where, expr string, recorded map[string]bool) {
	t.Helper()
	exported := exportedMetrics(t)
	names := promqlNames(expr)
	if len(names) == 0 {
		t.Errorf("%s: %q selects no series", where, expr)
	}
	for _, n := range names {
		if _, ok := exported[n]; !ok && !recorded[n] {
			t.Errorf("%s: %s is neither exported by the binaries nor a recording rule (%q)", where, n, expr)
		}
	}
}

// TestRules: rules.yml and the PrometheusRule hold the same groups, every
// series they query exists, and promtool accepts them and passes their
// unit tests (rules_test.yml).
func TestRules(t *testing.T) {
	rg, recorded := loadRules(t)
	for _, g := range rg.Groups {
		for _, r := range g.Rules {
			checkQueried(t, "rules.yml "+r.Record+r.Alert, r.Expr, recorded)
		}
	}

	var fromFile, fromCR any
	if err := yaml.Unmarshal(readRepoFile(t, "deployments", "prometheus", "rules.yml"), &fromFile); err != nil {
		t.Fatal(err)
	}
	r, ok := findResource(kustomize(t, "deployments/k8s/overlays/example"), "PrometheusRule", "tetragon-fanout")
	if !ok {
		t.Fatal("overlays/example has no PrometheusRule tetragon-fanout")
	}
	var cr struct {
		Spec any `json:"spec"`
	}
	if err := yaml.Unmarshal(r.YAML, &cr); err != nil {
		t.Fatal(err)
	}
	fromCR = cr.Spec
	if !reflect.DeepEqual(fromFile, fromCR) {
		t.Error("the PrometheusRule's spec differs from deployments/prometheus/rules.yml: edit both together")
	}
	// promtool checks the groups as taken from the PrometheusRule.
	dir := t.TempDir()
	spec, _ := yaml.Marshal(cr.Spec)
	if err := os.WriteFile(filepath.Join(dir, "prometheusrule-spec.yml"), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, dir, "check", "rules", "prometheusrule-spec.yml")
	runPromtool(t, repoPath("deployments", "prometheus"), "test", "rules", "rules_test.yml")
}

// grafanaVars are the dashboard's macros, replaced to check its queries.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// TestDashboard: the dashboard is valid JSON with unique panel ids, every
// panel queries something, every series exists, and promtool parses every
// query (each becomes a recording rule of a scratch rules file).
func TestDashboard(t *testing.T) {
	var dash struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			GridPos struct {
				H, W, X, Y int
			} `json:"gridPos"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	b := readRepoFile(t, "deployments", "grafana", "dashboards", "tetragon-fanout.json")
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Error("dashboard: needs uid and title")
	}
	_, recorded := loadRules(t)
	ids := map[int]bool{}
	var exprs []string
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("dashboard: panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("dashboard: panel %q has no valid gridPos", p.Title)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("dashboard: panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			checkQueried(t, "dashboard panel "+strconv.Quote(p.Title), tg.Expr, recorded)
			exprs = append(exprs, grafanaVars.Replace(tg.Expr))
		}
	}
	// Panels the design asks for.
	all := strings.Join(exprs, "\n")
	for _, want := range []string{"fanout_end_to_end_latency_seconds_bucket", "fanout_consumer_lag", "fanout_partitions_assigned",
		"ingester_tetragon_reconnects_total", "fanout_table_entries", "fanout_table_recovery_seconds_bucket",
		"fanout_events_dlq_total", "fanout_duplicates_dropped_total", "fanout_events_sampled_out_total", "ingester_events_dropped_total"} {
		if !strings.Contains(all, want) {
			t.Errorf("dashboard: no panel queries %s", want)
		}
	}
	if !regexp.MustCompile(`histogram_quantile\(0\.99, sum by \(le\) \(rate\(fanout_end_to_end_latency_seconds_bucket`).MatchString(all) {
		t.Error("dashboard: no end-to-end p99")
	}

	rules := map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": func() []any {
		var rs []any
		for i, e := range exprs {
			rs = append(rs, map[string]any{"record": "dashboard:query_" + strconv.Itoa(i), "expr": e})
		}
		return rs
	}()}}}
	y, _ := yaml.Marshal(rules)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard-queries.yml"), y, 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, dir, "check", "rules", "dashboard-queries.yml")
}

// TestGrafanaProvisioning: compose mounts the provisioning and dashboards
// where the provider config looks, and the datasource uid is the default
// of the dashboard's datasource variable.
func TestGrafanaProvisioning(t *testing.T) {
	var provider struct {
		Providers []struct {
			Options struct {
				Path string `json:"path"`
			} `json:"options"`
		} `json:"providers"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deployments", "grafana", "provisioning", "dashboards", "tetragon-fanout.yml"), &provider); err != nil {
		t.Fatal(err)
	}
	var ds struct {
		Datasources []struct {
			UID string `json:"uid"`
			URL string `json:"url"`
		} `json:"datasources"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deployments", "grafana", "provisioning", "datasources", "prometheus.yml"), &ds); err != nil {
		t.Fatal(err)
	}
	if len(provider.Providers) != 1 || len(ds.Datasources) != 1 {
		t.Fatal("grafana provisioning: want one dashboard provider and one datasource")
	}
	g := compose(t).Services["grafana"]
	mounts := map[string]string{}
	for _, v := range g.Volumes {
		mounts[v.Target] = v.Source
	}
	if src := mounts[provider.Providers[0].Options.Path]; src != repoPath("deployments", "grafana", "dashboards") {
		t.Errorf("compose grafana: %s holds %q, want deployments/grafana/dashboards", provider.Providers[0].Options.Path, src)
	}
	if src := mounts["/etc/grafana/provisioning"]; src != repoPath("deployments", "grafana", "provisioning") {
		t.Errorf("compose grafana: /etc/grafana/provisioning holds %q", src)
	}
	if !strings.Contains(string(readRepoFile(t, "deployments", "grafana", "dashboards", "tetragon-fanout.json")), `"value": "`+ds.Datasources[0].UID+`"`) {
		t.Errorf("dashboard: datasource variable does not default to uid %s", ds.Datasources[0].UID)
	}
}
