package route

import (
	"fmt"
	"path"
	"strings"
)

// strMatcher matches a value against a list of exact strings and globs (OR).
type strMatcher struct {
	exact []string
	globs []glob
	empty bool // "" was listed: matches an empty value
}

type glob struct {
	pat string
	// tree: the pattern ended in "/**"; pat is the directory part and the
	// glob matches anything strictly below a directory matching it.
	tree bool
	// Fast paths for the common shapes "lit*" and "*lit" (path.Match costs
	// tens of ns per call, and a long file calls it per rule per event).
	prefix, suffix string
	simple         bool
}

const globMeta = `*?[\`

func compileStrings(list []string) (strMatcher, error) {
	var m strMatcher
	for _, p := range list {
		if p == "" {
			m.empty = true
			continue
		}
		g, isGlob, err := compileGlob(p)
		if err != nil {
			return m, err
		}
		if isGlob {
			m.globs = append(m.globs, g)
		} else {
			m.exact = append(m.exact, p)
		}
	}
	return m, nil
}

func compileGlob(p string) (g glob, isGlob bool, err error) {
	if dir, ok := strings.CutSuffix(p, "/**"); ok {
		if strings.Contains(dir, "**") {
			return g, false, fmt.Errorf("bad glob %q: \"**\" is allowed only as a final \"/**\"", p)
		}
		if _, err := path.Match(dir, ""); err != nil {
			return g, false, fmt.Errorf("bad glob %q: %w", p, err)
		}
		return glob{pat: dir, tree: true}, true, nil
	}
	if strings.Contains(p, "**") {
		return g, false, fmt.Errorf("bad glob %q: \"**\" is allowed only as a final \"/**\"", p)
	}
	if !strings.ContainsAny(p, globMeta) {
		return g, false, nil
	}
	// path.Match checks the whole pattern even when the name does not match.
	if _, err := path.Match(p, ""); err != nil {
		return g, false, fmt.Errorf("bad glob %q: %w", p, err)
	}
	g = glob{pat: p}
	if lit, ok := strings.CutSuffix(p, "*"); ok && !strings.ContainsAny(lit, globMeta) {
		g.prefix, g.simple = lit, true
	} else if lit, ok := strings.CutPrefix(p, "*"); ok && !strings.ContainsAny(lit, globMeta) {
		g.suffix, g.simple = lit, true
	}
	return g, true, nil
}

func (g *glob) match(s string) bool {
	if g.simple {
		// "*" matches any run of characters but "/".
		return len(s) >= len(g.prefix)+len(g.suffix) &&
			strings.HasPrefix(s, g.prefix) && strings.HasSuffix(s, g.suffix) &&
			strings.IndexByte(s[len(g.prefix):len(s)-len(g.suffix)], '/') < 0
	}
	if !g.tree {
		ok, _ := path.Match(g.pat, s)
		return ok
	}
	if !strings.ContainsAny(g.pat, globMeta) {
		// Literal directory: one comparison instead of a loop over prefixes.
		return len(s) > len(g.pat)+1 && s[len(g.pat)] == '/' && s[:len(g.pat)] == g.pat
	}
	// Some prefix of s that ends before a "/" (with something after it)
	// matches the directory part.
	for i := 1; i < len(s)-1; i++ {
		if s[i] != '/' {
			continue
		}
		if ok, _ := path.Match(g.pat, s[:i]); ok {
			return true
		}
	}
	return false
}

func (m *strMatcher) match(s string) bool {
	if s == "" {
		return m.empty
	}
	for _, e := range m.exact {
		if e == s {
			return true
		}
	}
	for i := range m.globs {
		if m.globs[i].match(s) {
			return true
		}
	}
	return false
}
