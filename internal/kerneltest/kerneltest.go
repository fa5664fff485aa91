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
// dump), with the set's vmlinux (BTF types) or from the dump alone. Files
// close when the test ends.
func Open(tb testing.TB, s *fixtures.Set, role string, withVmlinux bool) *kernel.Kernel {
	tb.Helper()
	if withVmlinux {
		return OpenMode(tb, s, role, BTF)
	}
	return OpenMode(tb, s, role, DumpOnly)
}

// OpenMode opens the dump of set s with the given role in mode m.
func OpenMode(tb testing.TB, s *fixtures.Set, role string, m Mode) *kernel.Kernel {
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
	if errors.Is(err, kernel.ErrNeedVmlinux) && m == DumpOnly {
		// Not applicable, for a reason the kernel gives (its VMCOREINFO
		// lacks the kallsyms tables): the report says so in one sentence.
		tb.Skipf("%s %s: %v", s.Manifest.ID, role, err)
	}
	if err != nil {
		tb.Fatalf("%s %s (%s): %v", s.Manifest.ID, role, m, err)
	}
	return k
}
