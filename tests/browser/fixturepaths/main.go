// Command fixturepaths prints, as JSON, where the real-dump fixtures of the
// current generation are (internal/fixtures), for the browser tests:
// [{id, kernel_release, vmlinux, roles: {role: [paths in part order]},
// crash}]: every kernel's set, then every kdump scenario's (id
// "<kernel>/kdump-<scenario>", with its crash record), then the
// many-tasks set when it is built.
// It exits 3 when the fixtures are not built.
//
// With -sample it prints instead the cmd/devserver arguments that offer the
// 6.1 fixture's LZO -d 31 dump and its vmlinux as the page's sample, or
// nothing when the fixtures are not built (make run).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

type set struct {
	ID            string              `json:"id"`
	KernelRelease string              `json:"kernel_release"`
	Vmlinux       string              `json:"vmlinux"`
	Roles         map[string][]string `json:"roles"`
	// Crash is a kdump scenario's record of its crash (nil for a kernel's
	// QEMU-dumped set): what the triage view must show.
	Crash *fixtures.Crash `json:"crash,omitempty"`
}

func main() {
	sampleArgs := flag.Bool("sample", false, "print cmd/devserver's -sample arguments")
	flag.Parse()
	sets, err := fixtures.Load()
	if *sampleArgs {
		printSample(os.Stdout, sets, err)
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "fixturepaths: %v\n", err)
		os.Exit(3)
	}
	out := []set{}
	for _, s := range sets {
		out = append(out, pathsOf(s))
	}
	// Then the kdump scenarios, as "<kernel id>/kdump-<scenario>".
	for _, s := range sets {
		for _, sc := range s.Scenarios {
			out = append(out, pathsOf(sc))
		}
	}
	// The many-tasks set when `make bench-fixtures` built it (the benchmark
	// uses it; the tests never do).
	if b, err := fixtures.LoadBench(); err == nil {
		out = append(out, pathsOf(b))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "fixturepaths: %v\n", err)
		os.Exit(1)
	}
}

// printSample prints -sample DUMP -sample VMLINUX -sample-title T for the
// bookworm-6.1 set, shell-quoted, or nothing.
func printSample(w io.Writer, sets []*fixtures.Set, err error) {
	if err != nil {
		return
	}
	for _, s := range sets {
		if s.Manifest.ID != "bookworm-6.1" {
			continue
		}
		d := s.Role("lzo-d31")
		if d == nil || s.Manifest.Vmlinux.Path == "" {
			return
		}
		title := fmt.Sprintf("Linux %s, a sysrq-triggered panic, with its vmlinux", s.Manifest.KernelRelease)
		fmt.Fprintln(w, strings.Join([]string{"-sample", quote(d.Path), "-sample", quote(s.Manifest.Vmlinux.Path), "-sample-title", quote(title)}, " "))
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func pathsOf(s *fixtures.Set) set {
	o := set{ID: s.Manifest.ID, KernelRelease: s.Manifest.KernelRelease, Vmlinux: s.Manifest.Vmlinux.Path, Roles: map[string][]string{}, Crash: s.Manifest.Crash}
	for _, f := range s.Manifest.Files {
		if _, done := o.Roles[f.Role]; done {
			continue
		}
		for _, p := range s.Parts(f.Role) {
			o.Roles[f.Role] = append(o.Roles[f.Role], p.Path)
		}
	}
	return o
}
