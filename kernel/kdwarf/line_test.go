package kdwarf

import (
	"os"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel/symbols"
)

// TestLineForPC looks up functions of each fixture vmlinux: the line of a
// function's first instruction is in the file that defines it.
func TestLineForPC(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			f, err := os.Open(s.Manifest.Vmlinux.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			l, err := OpenLines(f)
			if err != nil {
				t.Fatal(err)
			}
			syms, err := symbols.FromELF(f, 0)
			if err != nil {
				t.Fatal(err)
			}
			for fn, file := range map[string]string{
				"sysrq_handle_crash": "drivers/tty/sysrq.c",
				"do_syscall_64":      "arch/x86/entry/common.c",
				"vfs_write":          "fs/read_write.c",
				"panic":              "kernel/panic.c",
			} {
				a, err := syms.Addr(fn)
				if err != nil {
					t.Fatal(err)
				}
				got, line, err := l.LineForPC(a + 4)
				if err != nil || !strings.HasSuffix(got, file) || line <= 0 {
					t.Errorf("%s: %s:%d, %v; want %s", fn, got, line, err, file)
				}
			}
		})
	}
}
