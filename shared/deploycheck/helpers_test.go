package deploycheck_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// root is the repository root (this package is shared/deploycheck).
var root = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}()

func repoPath(parts ...string) string { return filepath.Join(append([]string{root}, parts...)...) }

func readRepoFile(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(repoPath(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The binaries whose configuration the deployment files set, and their
// main packages (the Makefile's CMDS).
var mains = map[string]string{
	"ingester":     "./ingester/cmd/ingester",
	"fanout":       "./fanout/cmd/fanout",
	"tetragon-sim": "./shared/cmd/tetragon-sim",
}

var (
	buildOnce sync.Once
	binDir    string
	binPaths  map[string]string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds the named binary once per test run (plain `go build`, as
// `make build` does, so CI's build cache makes it a link step) and returns
// its path. A main package that does not exist yet skips the caller.
func binary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "deploycheck-bin-")
		if buildErr != nil {
			return
		}
		binPaths = map[string]string{}
		args := []string{"build", "-o", binDir + string(os.PathSeparator)}
		for n, pkg := range mains {
			if _, err := os.Stat(repoPath(pkg)); err == nil {
				args = append(args, pkg)
				binPaths[n] = filepath.Join(binDir, n)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	p, ok := binPaths[name]
	if !ok {
		t.Skipf("%s: main package %s does not exist yet", name, mains[name])
	}
	return p
}

// envVar is one line of a binary's --help configuration list.
type envVar struct{ Name, Default string }

var (
	helpMu    sync.Mutex
	helpCache = map[string]map[string]envVar{}
)

var helpLine = regexp.MustCompile(`^  ([A-Z][A-Z0-9_]*)\s{2,}(\S+)`)

// binaryVars lists the environment variables a binary reads, from its
// --help (shared/envconfig.Usage over its real config struct).
func binaryVars(t *testing.T, name string) map[string]envVar {
	t.Helper()
	helpMu.Lock()
	defer helpMu.Unlock()
	if v, ok := helpCache[name]; ok {
		return v
	}
	out, err := exec.Command(binary(t, name), "--help").Output()
	if err != nil {
		t.Fatalf("%s --help: %v", name, err)
	}
	vars := map[string]envVar{}
	inConfig := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Configuration (environment variables):") {
			inConfig = true
			continue
		}
		if m := helpLine.FindStringSubmatch(line); inConfig && m != nil {
			def := m[2]
			if def == "(unset)" {
				def = ""
			}
			vars[m[1]] = envVar{Name: m[1], Default: def}
		}
	}
	if len(vars) < 10 {
		t.Fatalf("%s --help lists %d variables; the parser no longer understands it:\n%s", name, len(vars), out)
	}
	helpCache[name] = vars
	return vars
}

// runtimeVars are read by the Go runtime, not by the binaries' config.
var runtimeVars = map[string]bool{"GOMEMLIMIT": true, "GOGC": true, "GOMAXPROCS": true, "GODEBUG": true}

// checkVarNames reports every variable of env the binary does not read.
func checkVarNames(t *testing.T, where, bin string, env map[string]string) {
	t.Helper()
	known := binaryVars(t, bin)
	for _, name := range sortedKeys(env) {
		if _, ok := known[name]; !ok && !runtimeVars[name] {
			t.Errorf("%s: %s is not a variable of %s (see %s --help)", where, name, bin, bin)
		}
	}
}

// sentinel is an invalid setting added to every validation run: the binary
// must stop at its configuration check (exit 2, before touching Kafka or
// Tetragon) and name only this variable if every other value is valid.
const sentinelVar, sentinelVal = "KAFKA_PRODUCE_RETRIES", "-1"

// checkVarValues starts the binary with exactly env (plus the sentinel) and
// reports every variable its validation rejects.
func checkVarValues(t *testing.T, where, bin string, env map[string]string) {
	t.Helper()
	if _, ok := env[sentinelVar]; ok {
		t.Fatalf("%s sets %s, the sentinel of this check: choose another sentinel", where, sentinelVar)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t, bin))
	cmd.Env = []string{sentinelVar + "=" + sentinelVal}
	for _, k := range sortedKeys(env) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("%s: %s with the sentinel %s=%s should exit 2 at its config check, got %v\n%s",
			where, bin, sentinelVar, sentinelVal, err, stderr.String())
		return
	}
	named := false
	for _, line := range strings.Split(stderr.String(), "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, sentinelVar+":") {
			named = true
			continue
		}
		t.Errorf("%s: %s rejects a value: %s", where, bin, line)
	}
	if !named {
		t.Errorf("%s: %s did not name the sentinel %s:\n%s", where, bin, sentinelVar, stderr.String())
	}
}

// promtool returns promtool's path; missing, it fails in CI and skips locally.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is missing (Debian package prometheus); .ci/run installs it")
		}
		t.Skip("promtool is missing (apt-get install prometheus); CI runs this check")
	}
	return p
}

func runPromtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// parseDuration reads a Go duration as the binaries do (time.ParseDuration).
func parseDuration(t *testing.T, what, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return d
}
