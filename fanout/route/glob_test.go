package route

import (
	"path"
	"testing"
)

// The fast paths must agree with path.Match, which defines the semantics.
func TestGlobFastPathsAgreeWithPathMatch(t *testing.T) {
	pats := []string{"team-*", "*-prod", "*", "/usr/bin/*", "*.sh", "a*", "*a"}
	vals := []string{"", "a", "team-", "team-a", "team-a/b", "x-prod", "-prod", "prod", "/usr/bin/x", "/usr/bin/x/y", "run.sh", "/tmp/run.sh", "aa", "ba"}
	for _, p := range pats {
		g, isGlob, err := compileGlob(p)
		if err != nil || !isGlob || !g.simple {
			t.Fatalf("%q: glob %v simple %v err %v", p, isGlob, g.simple, err)
		}
		for _, v := range vals {
			want, _ := path.Match(p, v)
			if got := g.match(v); got != want {
				t.Errorf("%q ~ %q: fast %v, path.Match %v", p, v, got, want)
			}
		}
	}
}
