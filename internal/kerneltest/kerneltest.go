// Package kerneltest opens fixture dumps as kernels for tests.
package kerneltest

import (
	"os"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel"
)

// Open opens the dump of set s with the given role (every part of a split
// dump), with the set's vmlinux or from the dump alone. Files close when
// the test ends.
func Open(tb testing.TB, s *fixtures.Set, role string, withVmlinux bool) *kernel.Kernel {
	tb.Helper()
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
	}
	k, err := kernel.Open(parts, opt)
	if err != nil {
		tb.Fatalf("%s %s (vmlinux %v): %v", s.Manifest.ID, role, withVmlinux, err)
	}
	return k
}
