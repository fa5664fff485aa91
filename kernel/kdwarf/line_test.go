package kdwarf

import (
	"bytes"
	"debug/elf"
	"os"
	"slices"
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
			for fn, files := range map[string][]string{
				"sysrq_handle_crash": {"drivers/tty/sysrq.c"},
				// 7.2 defines it in arch/x86/entry/syscall_64.c.
				"do_syscall_64": {"arch/x86/entry/common.c", "arch/x86/entry/syscall_64.c"},
				"vfs_write":     {"fs/read_write.c"},
				"panic":         {"kernel/panic.c"},
			} {
				a, err := syms.Addr(fn)
				if err != nil {
					t.Fatal(err)
				}
				got, line, err := l.LineForPC(a + 4)
				if err != nil || !slices.ContainsFunc(files, func(f string) bool { return strings.HasSuffix(got, f) }) || line <= 0 {
					t.Errorf("%s: %s:%d, %v; want one of %v", fn, got, line, err, files)
				}
			}
		})
	}
}

// memSection is an ELF section held in memory.
func memSection(name string, b []byte) *elf.Section {
	return &elf.Section{SectionHeader: elf.SectionHeader{Name: name, Size: uint64(len(b))}, ReaderAt: bytes.NewReader(b)}
}

// FuzzLines feeds arbitrary unit headers, abbreviations and line programs
// to a lookup: it must answer or fail, never panic or loop.
func FuzzLines(f *testing.F) {
	// A DWARF 5 unit whose DIE (abbreviation 1) has only DW_AT_stmt_list,
	// and an empty version 5 line program.
	info := []byte{0, 0, 0, 0, 5, 0, 1, 8, 0, 0, 0, 0, 1, 0, 0, 0, 0}
	abbrev := []byte{1, 0x11, 0, 0x10, 0x17, 0, 0, 0}
	line := []byte{20, 0, 0, 0, 5, 0, 8, 0, 10, 0, 0, 0, 1, 1, 1, 0xfb, 14, 13, 0, 0, 0, 0, 0, 0}
	f.Add(info, abbrev, line)
	f.Fuzz(func(t *testing.T, info, abbrev, line []byte) {
		l := &Lines{info: memSection(".debug_info", info), abbrev: memSection(".debug_abbrev", abbrev),
			line: memSection(".debug_line", line), units: map[uint64]*lineTable{},
			aranges: []arange{{0x1000, 0x2000, 0}}}
		l.LineForPC(0x1800)
	})
}
