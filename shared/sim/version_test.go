package sim

import (
	"os"
	"regexp"
	"testing"
)

func TestAPIPinnedMatchesGoMod(t *testing.T) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/cilium/tetragon/api (v\S+)`).FindSubmatch(b)
	if m == nil || string(m[1]) != apiPinned {
		t.Fatalf("go.mod requires %q, apiPinned is %q", m, apiPinned)
	}
}
