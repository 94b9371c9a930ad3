package deploycheck_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

var (
	composeOnce sync.Once
	composeProj *types.Project
	composeErr  error
)

// compose loads docker-compose.yml as `docker compose --profile '*'` would:
// validated against the compose specification's schema, interpolated with
// an empty environment (every ${VAR:-default} takes its default).
func compose(t *testing.T) *types.Project {
	t.Helper()
	composeOnce.Do(func() {
		file := repoPath("docker-compose.yml")
		b, err := os.ReadFile(file)
		if err != nil {
			composeErr = err
			return
		}
		composeProj, composeErr = loader.LoadWithContext(context.Background(), types.ConfigDetails{
			WorkingDir:  root,
			ConfigFiles: []types.ConfigFile{{Filename: file, Content: b}},
			Environment: types.Mapping{},
		}, func(o *loader.Options) {
			o.Profiles = []string{"*"}
			o.ResolvePaths = true
		})
	})
	if composeErr != nil {
		t.Fatalf("docker-compose.yml: %v", composeErr)
	}
	return composeProj
}

// ourImage reports services that run one of our binaries.
func ourBinary(s types.ServiceConfig) string {
	for _, b := range []string{"ingester", "fanout", "tetragon-sim"} {
		if s.Image == "tetragon-fanout/"+b+":dev" {
			return b
		}
	}
	return ""
}

func TestComposeServices(t *testing.T) {
	p := compose(t)
	for _, name := range []string{"kafka", "topic-init", "tetragon-sim", "ingester", "fanout", "tetragon", "ingester-tetragon", "prometheus", "grafana"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("compose: no service %s", name)
		}
	}
	for name, s := range p.Services {
		bin := ourBinary(s)
		if bin == "" {
			continue
		}
		if !s.ReadOnly || s.User != "65532:65532" || !slices.Equal(s.CapDrop, []string{"ALL"}) {
			t.Errorf("compose %s: want read_only, user 65532:65532 and cap_drop [ALL]; got %v, %q, %v", name, s.ReadOnly, s.User, s.CapDrop)
		}
		if s.Build != nil {
			if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Errorf("compose %s: dockerfile: %v", name, err)
			}
			if !strings.Contains(s.Build.Dockerfile, bin) {
				t.Errorf("compose %s: builds %s, not the %s image", name, s.Build.Dockerfile, bin)
			}
		}
	}
	if p.Services["tetragon"].Profiles == nil || p.Services["ingester-tetragon"].Profiles == nil {
		t.Error("compose: the real Tetragon and its ingester must be opt-in (profile tetragon)")
	}
	if tg := p.Services["tetragon"]; !tg.Privileged || tg.Pid != "host" {
		t.Error("compose tetragon: needs privileged and pid: host")
	}
	if r := p.Services["fanout"].Deploy; r == nil || r.Replicas == nil || *r.Replicas != 2 {
		t.Error("compose fanout: want deploy.replicas 2")
	}
	// Each replica's STATE_DIR is its own tmpfs.
	fanout := p.Services["fanout"]
	state := *fanout.Environment["STATE_DIR"]
	if !slices.ContainsFunc(fanout.Tmpfs, func(s string) bool { return strings.HasPrefix(s, state+":") || s == state }) {
		t.Errorf("compose fanout: STATE_DIR %s is not a tmpfs (the root filesystem is read-only)", state)
	}
}

// The compose broker runs the version the local script and the binaries' default use.
func TestComposeKafkaVersion(t *testing.T) {
	p := compose(t)
	script := string(readRepoFile(t, "deployments", "local", "kafka.sh"))
	m := regexp.MustCompile(`(?m)^readonly KAFKA_VERSION=(\S+)`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("deployments/local/kafka.sh: no KAFKA_VERSION")
	}
	for _, s := range []string{"kafka", "topic-init"} {
		if img := p.Services[s].Image; img != "apache/kafka:"+m[1] {
			t.Errorf("compose %s: image %s, the local broker is Kafka %s", s, img, m[1])
		}
	}
	if def := binaryVars(t, "ingester")["KAFKA_VERSION"].Default; def != m[1] {
		t.Errorf("binaries default KAFKA_VERSION=%s, the compose broker is %s", def, m[1])
	}
	// topic-init creates the raw topic with the partitions the binaries expect.
	cmd := strings.Join(p.Services["topic-init"].Command, " ")
	parts := binaryVars(t, "ingester")["RAW_TOPIC_PARTITIONS"].Default
	raw := binaryVars(t, "ingester")["RAW_TOPIC"].Default
	if !regexp.MustCompile(`--topic ` + regexp.QuoteMeta(raw) + `\s+\\?\s*--partitions ` + parts + `\b`).MatchString(cmd) {
		t.Errorf("compose topic-init does not create %s with %s partitions:\n%s", raw, parts, cmd)
	}
	if !strings.Contains(cmd, "--topic "+binaryVars(t, "fanout")["DLQ_TOPIC"].Default+" ") {
		t.Errorf("compose topic-init does not create the DLQ topic")
	}
}

func TestComposeEnv(t *testing.T) {
	p := compose(t)
	n := 0
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		bin := ourBinary(s)
		if bin == "" || bin == "tetragon-sim" {
			continue
		}
		n++
		env := map[string]string{}
		for k, v := range s.Environment {
			if v != nil {
				env[k] = *v
			}
		}
		where := "docker-compose.yml " + name
		checkVarNames(t, where, bin, env)
		checkVarValues(t, where, bin, localPaths(t, env, composeMounts(t, s)))
	}
	if n != 3 {
		t.Errorf("checked %d compose services, want ingester, ingester-tetragon, fanout", n)
	}
}

// composeMounts maps a service's container paths to local ones: bind mounts
// to their source, tmpfs and volumes to fresh directories.
func composeMounts(t *testing.T, s types.ServiceConfig) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind {
			m[v.Target] = v.Source
		} else {
			m[v.Target] = t.TempDir()
		}
	}
	for _, tmpfs := range s.Tmpfs {
		target, _, _ := strings.Cut(tmpfs, ":")
		m[target] = t.TempDir()
	}
	return m
}

// localPaths rewrites values under a container mount to the local path, so
// the binary's validation finds the files it names (ROUTES_FILE, STATE_DIR).
func localPaths(t *testing.T, env, mounts map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	targets := sortedKeys(mounts)
	for k, v := range env {
		out[k] = v
		for _, target := range targets {
			if v == target || strings.HasPrefix(v, target+"/") {
				out[k] = mounts[target] + strings.TrimPrefix(v, target)
			}
		}
	}
	return out
}

// TestComposeSimFlags: the simulator takes flags; each one the compose file
// passes must be one `tetragon-sim --help` lists.
func TestComposeSimFlags(t *testing.T) {
	p := compose(t)
	bin := binary(t, "tetragon-sim")
	out, _ := exec.Command(bin, "--help").CombinedOutput()
	help := string(out)
	args := p.Services["tetragon-sim"].Command
	if len(args) == 0 {
		t.Fatal("compose tetragon-sim: no command flags")
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !regexp.MustCompile(`(?m)^\s+--?` + regexp.QuoteMeta(name) + `\b`).MatchString(help) {
			t.Errorf("compose tetragon-sim: flag %s is not in tetragon-sim --help:\n%s", a, help)
		}
	}
}

// TestPrometheusConfig: the compose Prometheus scrapes every service that
// exports metrics, on the port HTTP_ADDR listens on, and its config is valid.
func TestPrometheusConfig(t *testing.T) {
	p := compose(t)
	var cfg struct {
		ScrapeConfigs []struct {
			JobName      string `json:"job_name"`
			DNSSDConfigs []struct {
				Names []string `json:"names"`
				Port  int      `json:"port"`
			} `json:"dns_sd_configs"`
		} `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deployments", "prometheus", "prometheus.yml"), &cfg); err != nil {
		t.Fatal(err)
	}
	scraped := map[string]int{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, d := range sc.DNSSDConfigs {
			for _, n := range d.Names {
				scraped[n] = d.Port
			}
		}
	}
	for name, s := range p.Services {
		if b := ourBinary(s); b != "ingester" && b != "fanout" {
			continue
		}
		addr := binaryVars(t, ourBinary(s))["HTTP_ADDR"].Default
		if v, ok := s.Environment["HTTP_ADDR"]; ok && v != nil {
			addr = *v
		}
		port, ok := scraped[name]
		if !ok {
			t.Errorf("prometheus.yml does not scrape compose service %s", name)
		} else if !strings.HasSuffix(addr, ":"+strconv.Itoa(port)) {
			t.Errorf("prometheus.yml scrapes %s on %d, HTTP_ADDR is %s", name, port, addr)
		}
	}
	// The simulator serves metrics where its --metrics-addr says.
	for _, a := range p.Services["tetragon-sim"].Command {
		if v, ok := strings.CutPrefix(a, "--metrics-addr="); ok && !strings.HasSuffix(v, ":"+strconv.Itoa(scraped["tetragon-sim"])) {
			t.Errorf("prometheus.yml scrapes tetragon-sim on %d, it serves metrics on %s", scraped["tetragon-sim"], v)
		}
	}
	runPromtool(t, repoPath("deployments", "prometheus"), "check", "config", "prometheus.yml")
}
