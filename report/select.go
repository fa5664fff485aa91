package report

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Filter selects archive paths, as --only and --skip do. A pattern is a
// path.Match glob over a path relative to the archive's top folder
// ("proc/meminfo", "proc/*/status", "sos_commands/kernel/*"); it selects a
// path when it matches the whole path or one of its leading directories
// ("proc" selects everything under proc/), or the emitter's path template
// ("proc/{pid}/status"). A path is kept when Only is empty or one of its
// patterns selects it, and no Skip pattern does.
type Filter struct {
	Only, Skip []string
}

// Validate reports the first malformed pattern.
func (f Filter) Validate() error {
	for _, p := range append(append([]string(nil), f.Only...), f.Skip...) {
		if _, err := path.Match(cleanPattern(p), ""); err != nil || cleanPattern(p) == "" {
			return fmt.Errorf("bad path pattern %q: want a glob like proc/meminfo, proc/*/status or sos_commands/kernel", p)
		}
	}
	return nil
}

// Selects says whether the output at p, made from template, is kept.
func (f Filter) Selects(p, template string) bool {
	if len(f.Only) > 0 && !anySelects(f.Only, p, template) {
		return false
	}
	return !anySelects(f.Skip, p, template)
}

func anySelects(patterns []string, p, template string) bool {
	for _, pat := range patterns {
		pat = cleanPattern(pat)
		if pat == template || matchesOrParent(pat, p) {
			return true
		}
	}
	return false
}

func cleanPattern(p string) string {
	p = strings.TrimPrefix(strings.TrimSpace(p), "./")
	return strings.TrimRight(p, "/")
}

// matchesOrParent matches pat against p and each of its leading
// directories.
func matchesOrParent(pat, p string) bool {
	for {
		if ok, _ := path.Match(pat, p); ok {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

// pathLess orders archive paths component by component, comparing
// components that are both decimal numbers by value, so that proc/2/…
// comes before proc/10/… and each directory's files stay together.
func pathLess(a, b string) bool {
	for a != "" && b != "" {
		ca, ra, _ := strings.Cut(a, "/")
		cb, rb, _ := strings.Cut(b, "/")
		if ca != cb {
			na, errA := strconv.ParseUint(ca, 10, 64)
			nb, errB := strconv.ParseUint(cb, 10, 64)
			if errA == nil && errB == nil && na != nb {
				return na < nb
			}
			return ca < cb
		}
		a, b = ra, rb
	}
	return a == "" && b != ""
}

// validPath says whether an emitter's path is a clean relative path.
func validPath(p string) bool {
	return p != "" && path.Clean(p) == p && !path.IsAbs(p) && p != "." &&
		!strings.HasPrefix(p, "../") && p != ".." && !strings.ContainsAny(p, "\\\x00")
}
