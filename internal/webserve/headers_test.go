package webserve

import (
	"strings"
	"testing"
)

// The _headers file must say exactly what Headers say, in the format
// static hosts read: a path line, then indented "Name: value" lines.
func TestHeadersFile(t *testing.T) {
	var rules, paths []string
	for _, l := range strings.Split(HeadersFile(), "\n") {
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "  "):
			rules = append(rules, strings.TrimPrefix(l, "  "))
		default:
			paths = append(paths, l)
		}
	}
	if len(paths) != 1 || paths[0] != "/*" {
		t.Errorf("paths %q, want one /* covering every response", paths)
	}
	if len(rules) != len(Headers) {
		t.Fatalf("%d header lines, want %d", len(rules), len(Headers))
	}
	for i, h := range Headers {
		name, value, ok := strings.Cut(rules[i], ": ")
		if !ok || name != h[0] || value != h[1] {
			t.Errorf("line %d %q, want %s: %s", i, rules[i], h[0], h[1])
		}
	}
}

// What the policy must keep saying: the app loads only its own files,
// compiles WebAssembly, and cannot be framed or sniffed.
func TestSecurityHeaders(t *testing.T) {
	got := map[string]string{}
	for _, h := range Headers {
		got[h[0]] = h[1]
	}
	if got["Content-Security-Policy"] != CSP {
		t.Errorf("CSP header %q is not CSP", got["Content-Security-Policy"])
	}
	if got["X-Content-Type-Options"] != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", got["X-Content-Type-Options"])
	}
	directives := map[string]string{}
	for _, d := range strings.Split(CSP, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		if _, dup := directives[name]; dup {
			t.Errorf("CSP repeats %s", name)
		}
		directives[name] = value
	}
	for name, want := range map[string]string{
		"default-src":     "'self'",
		"script-src":      "'self' 'wasm-unsafe-eval'",
		"object-src":      "'none'",
		"frame-ancestors": "'none'",
		"connect-src":     "'self'",
	} {
		if directives[name] != want {
			t.Errorf("CSP %s is %q, want %q", name, directives[name], want)
		}
	}
	if strings.Contains(CSP, "'unsafe-inline'") || strings.Contains(CSP, "'unsafe-eval'") {
		t.Error("CSP allows inline or eval'd script")
	}
}
