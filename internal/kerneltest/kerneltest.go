// Package kerneltest opens fixture dumps as kernels for tests.
package kerneltest

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel"
)

// Mode is how a test opens a dump.
type Mode string

// The three ways to read a kernel: types from the vmlinux's BTF, from its
// DWARF only, or everything from the dump alone (kallsyms + in-memory BTF).
const (
	BTF      Mode = "vmlinux-btf"
	DWARF    Mode = "vmlinux-dwarf"
	DumpOnly Mode = "dump-only"
)

// Modes lists every mode, for tests that run under each.
var Modes = []Mode{BTF, DWARF, DumpOnly}

// Open opens the dump of set s with the given role (every part of a split
// dump), with the set's vmlinux (BTF types) or from the dump alone, as
// OpenMode. Files close when the test ends.
func Open(tb testing.TB, s *fixtures.Set, role string, withVmlinux bool) (*kernel.Kernel, bool) {
	tb.Helper()
	if withVmlinux {
		return OpenMode(tb, s, role, BTF)
	}
	return OpenMode(tb, s, role, DumpOnly)
}

// OpenMode opens the dump of set s with the given role in mode m.
//
// From the dump alone, a kernel whose VMCOREINFO records no kallsyms tables
// (before v6.0) is refused with kernel.ErrNeedVmlinux, by design: OpenMode
// then checks the refusal (RefusedAlone) and returns false, and the caller
// ends that mode's test there, passed (`k, ok := OpenMode(…); if !ok {
// return }`). Any other error fails tb.
func OpenMode(tb testing.TB, s *fixtures.Set, role string, m Mode) (*kernel.Kernel, bool) {
	tb.Helper()
	withVmlinux := m != DumpOnly
	var parts []kernel.File
	for _, f := range s.Parts(role) {
		fh, err := os.Open(f.Path)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { fh.Close() })
		parts = append(parts, kernel.File{Name: f.Name, R: fh, Size: f.Size})
	}
	if len(parts) == 0 {
		tb.Fatalf("%s: no dump with role %s", s.Manifest.ID, role)
	}
	var opt kernel.Options
	if withVmlinux {
		fh, err := os.Open(s.Manifest.Vmlinux.Path)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { fh.Close() })
		opt.Vmlinux = &kernel.File{Name: "vmlinux", R: fh, Size: s.Manifest.Vmlinux.Size}
		if m == DWARF {
			opt.Types = kernel.TypesDWARF
		}
	}
	k, err := kernel.Open(context.Background(), parts, opt)
	if m == DumpOnly {
		if RefusedAlone(tb, s, err) {
			tb.Logf("%s %s: refused from the dump alone, as its VMCOREINFO calls for: %v", s.Manifest.ID, role, err)
			return nil, false
		}
	}
	if err != nil {
		tb.Fatalf("%s %s (%s): %v", s.Manifest.ID, role, m, err)
	}
	return k, true
}

// OpenAlone opens the dump of set s from the dump alone where the kernel
// allows it, else (the refusal checked as OpenMode does) with the set's
// vmlinux and its BTF: for tests of what is read, not of where the symbols
// and types come from.
func OpenAlone(tb testing.TB, s *fixtures.Set, role string) *kernel.Kernel {
	tb.Helper()
	if k, ok := OpenMode(tb, s, role, DumpOnly); ok {
		return k
	}
	k, _ := OpenMode(tb, s, role, BTF)
	return k
}

// RefusedAlone checks err, what kernel.Open returned for a dump of set s
// opened alone, against an independent reading of the set's VMCOREINFO note
// (fixtures.Set.NeedsVmlinux, with debug/elf): a *kernel.NeedVmlinuxError
// naming the first kallsyms symbol the note lacks exactly when it lacks one.
// It reports whether err is that refusal; on a mismatch it fails tb.
func RefusedAlone(tb testing.TB, s *fixtures.Set, err error) bool {
	tb.Helper()
	missing := s.NeedsVmlinux(tb)
	var need *kernel.NeedVmlinuxError
	refused := errors.As(err, &need)
	switch {
	case missing == "" && refused:
		tb.Fatalf("%s: refused from the dump alone, though its VMCOREINFO note has every kallsyms symbol: %v", s.Manifest.ID, err)
	case missing != "" && !refused:
		tb.Fatalf("%s: its VMCOREINFO note has no SYMBOL(%s), yet opening the dump alone gave %v, not kernel.ErrNeedVmlinux", s.Manifest.ID, missing, err)
	case refused && need.Missing != missing:
		tb.Fatalf("%s: refused for SYMBOL(%s); the note's first missing kallsyms symbol is %s", s.Manifest.ID, need.Missing, missing)
	case refused && !errors.Is(err, kernel.ErrNeedVmlinux):
		tb.Fatalf("%s: %v does not wrap kernel.ErrNeedVmlinux", s.Manifest.ID, err)
	}
	return refused
}
