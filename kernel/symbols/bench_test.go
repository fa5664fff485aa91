package symbols

import (
	"os"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// BenchmarkFromELF: reading and indexing the 6.1 vmlinux's .symtab.
func BenchmarkFromELF(b *testing.B) {
	sets, err := fixtures.Load()
	if err != nil {
		fixtures.Missing(b, err)
	}
	fh, err := os.Open(sets[0].Manifest.Vmlinux.Path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromELF(fh, 0); err != nil {
			b.Fatal(err)
		}
	}
}
