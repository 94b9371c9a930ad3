package deploycheck_test

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfiles checks what can be checked without a Docker engine: each
// image builds its binary's main package with the workspace, static and
// stamped, and runs distroless as uid 65532; the .dockerignore keeps every
// file the build needs in the context.
func TestDockerfiles(t *testing.T) {
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(readRepoFile(t, "go.work"))
	if goVersion == nil {
		t.Fatal("go.work: no go version")
	}
	if !regexp.MustCompile(`(?m)^var Version = `).Match(readRepoFile(t, "shared", "buildinfo", "buildinfo.go")) {
		t.Fatal("shared/buildinfo: no var Version for -ldflags -X")
	}
	for name, pkg := range mains {
		df := string(readRepoFile(t, "deployments", "docker", name+".Dockerfile"))
		for _, want := range []string{
			"ARG GO_VERSION=" + string(goVersion[1]) + "\n",
			"FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build",
			"CGO_ENABLED=0", "GOOS=$TARGETOS GOARCH=$TARGETARCH", "go build -trimpath",
			"-X github.com/tetragon-fanout/tetragon-fanout/shared/buildinfo.Version=${VERSION}",
			"-o /out/" + name + " " + pkg + "\n",
			"FROM gcr.io/distroless/static-debian12:nonroot",
			"USER 65532:65532",
			`ENTRYPOINT ["/usr/local/bin/` + name + `"]`,
		} {
			if !strings.Contains(df, want) {
				t.Errorf("%s.Dockerfile: missing %q", name, want)
			}
		}
		if _, err := os.Stat(repoPath(pkg, "main.go")); err != nil {
			t.Logf("%s.Dockerfile builds %s, which has no main.go yet", name, pkg)
		}
	}

	// Every file `go build` reads must survive the .dockerignore.
	patterns := dockerignore(t)
	needed := 0
	for _, mod := range []string{"shared", "ingester", "fanout"} {
		err := filepath.WalkDir(repoPath(mod), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			n := d.Name()
			if (strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go")) || n == "go.mod" || n == "go.sum" {
				rel, _ := filepath.Rel(root, path)
				needed++
				if ignored(patterns, filepath.ToSlash(rel)) {
					t.Errorf(".dockerignore excludes %s, which the image build needs", rel)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"go.work", "go.work.sum"} {
		if ignored(patterns, f) {
			t.Errorf(".dockerignore excludes %s", f)
		}
	}
	for _, f := range []string{".git/HEAD", ".local/kafka/data/x", "bin/ingester", "deployments/k8s/base/kustomization.yaml"} {
		if !ignored(patterns, f) {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}
	if needed < 50 {
		t.Errorf("only %d source files found; the walk is broken", needed)
	}
}

type ignorePattern struct {
	re     *regexp.Regexp
	negate bool
}

// dockerignore reads the patterns (Go filepath.Match syntax plus **; a
// pattern matching a directory excludes what is below it).
func dockerignore(t *testing.T) []ignorePattern {
	t.Helper()
	var out []ignorePattern
	sc := bufio.NewScanner(bytes.NewReader(readRepoFile(t, ".dockerignore")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := ignorePattern{}
		if strings.HasPrefix(line, "!") {
			p.negate, line = true, line[1:]
		}
		line = strings.Trim(filepath.ToSlash(filepath.Clean(line)), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case c == '*' && i+1 < len(line) && line[i+1] == '*':
				re.WriteString(".*")
				i++
				if i+1 < len(line) && line[i+1] == '/' {
					i++
					re.WriteString("/?")
				}
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("(/.*)?$")
		p.re = regexp.MustCompile(re.String())
		out = append(out, p)
	}
	return out
}

func ignored(ps []ignorePattern, path string) bool {
	out := false
	for _, p := range ps {
		if p.re.MatchString(path) {
			out = !p.negate
		}
	}
	return out
}
