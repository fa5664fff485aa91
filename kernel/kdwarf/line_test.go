package kdwarf

import (
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/binary"
	"io"
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

// traceFuncs are functions the 6.1 fixture's traces pass through (the
// panic, the idle loop, sleeping tasks): each in its own unit, as the
// line lookups of a report's bt outputs meet them.
var traceFuncs = []string{"sysrq_handle_crash", "panic", "__schedule", "schedule", "do_nanosleep", "hrtimer_nanosleep",
	"futex_wait", "pipe_read", "ep_poll", "do_sys_poll", "vfs_read", "vfs_write", "do_syscall_64", "kthread",
	"worker_thread", "smpboot_thread_fn", "rcu_gp_kthread", "do_idle", "default_idle", "schedule_timeout"}

// BenchmarkLineForPC6_1 opens the 6.1 vmlinux's line tables and looks up
// a trace's functions, each unit read for the first time, as a report's
// bt outputs do.
func BenchmarkLineForPC6_1(b *testing.B) {
	k := vmlinux61(b)
	f, err := os.Open(k.path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	syms, err := symbols.FromELF(f, 0)
	if err != nil {
		b.Fatal(err)
	}
	var pcs []uint64
	for _, fn := range traceFuncs {
		if a, err := syms.Addr(fn); err == nil {
			pcs = append(pcs, a+16)
		}
	}
	b.ResetTimer()
	for range b.N {
		l, err := OpenLines(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, pc := range pcs {
			if _, _, err := l.LineForPC(pc); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// programOrderSorted is the table as line.go built it before it placed
// sequences and decoded by index: every row in program order from the
// cursor's state machine, then a stable sort by address.
func programOrderSorted(t *testing.T, lp *lineProgram) []lineRow {
	p := &cursor{b: lp.prog}
	var rows []lineRow
	var addr uint64
	file, line := uint32(1), int64(1)
	emit := func(end bool) {
		r := lineRow{addr: addr, file: file, line: uint32(line)}
		if end {
			r.file = endFile
		}
		rows = append(rows, r)
	}
	for len(p.b) > 0 && p.err == nil {
		op := p.u8()
		switch {
		case op >= lp.opBase:
			adj := uint64(op - lp.opBase)
			addr += adj / lp.lineRange * lp.minInst
			line += lp.lineBase + int64(adj%lp.lineRange)
			emit(false)
		case op == 0:
			n := p.uleb()
			if n == 0 || n > uint64(len(p.b)) {
				p.err = io.ErrUnexpectedEOF
				break
			}
			ext := p.b[:n]
			p.b = p.b[n:]
			switch ext[0] {
			case 1:
				emit(true)
				addr, file, line = 0, 1, 1
			case 2:
				if len(ext) >= 9 {
					addr = binary.LittleEndian.Uint64(ext[1:])
				}
			}
		case op == 1:
			emit(false)
		case op == 2:
			addr += p.uleb() * lp.minInst
		case op == 3:
			line += p.sleb()
		case op == 4:
			file = uint32(p.uleb())
		case op == 5, op == 12:
			p.uleb()
		case op == 6, op == 7, op == 10, op == 11:
		case op == 8:
			addr += uint64(255-lp.opBase) / lp.lineRange * lp.minInst
		case op == 9:
			addr += uint64(p.u16())
		default:
			for range lp.stdLens[op] {
				p.uleb()
			}
		}
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	slices.SortStableFunc(rows, func(a, b lineRow) int { return cmp.Compare(a.addr, b.addr) })
	return rows
}

// TestLineRowsPlaced: every unit of the 6.1 vmlinux gets the table a
// stable sort of its rows gives.
func TestLineRowsPlaced(t *testing.T) {
	k := vmlinuxRelease(t, "6.1.")
	f, err := os.Open(k.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := OpenLines(f)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	units, multi := 0, 0
	for _, a := range l.aranges {
		if seen[a.cu] {
			continue
		}
		seen[a.cu] = true
		stmt, _, err := l.unitStmt(a.cu, unitHeadMax, abbrevHeadMax)
		if err != nil {
			t.Fatal(err)
		}
		var lt lineTable
		lp, err := l.program(stmt, "", &lt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := lp.rows()
		if err != nil {
			t.Fatal(err)
		}
		if want := programOrderSorted(t, lp); !slices.Equal(got, want) {
			t.Fatalf("unit at %#x: %d rows differ from the stable sort's", a.cu, len(got))
		}
		if seqs, _, _ := lp.run(nil, nil); len(seqs) > 1 {
			multi++
		}
		units++
	}
	t.Logf("%d units (%d with more than one sequence)", units, multi)
}

// TestLineRowsOutOfOrder: sequences out of address order, one meeting the
// next at an address, and rows going back within a sequence all give the
// stable sort's table.
func TestLineRowsOutOfOrder(t *testing.T) {
	// Opcode base 13, line_base -5, line_range 14: special opcode 13+14*a
	// advances the address by a and the line by -5.
	setAddr := func(a uint64) []byte {
		b := []byte{0, 9, 2}
		return binary.LittleEndian.AppendUint64(b, a)
	}
	end := []byte{0, 1, 1}
	var prog []byte
	// Sequence 1 at 0x2000, sequence 2 at 0x1000 ending at 0x2000 (ties
	// with sequence 1's start), sequence 3 going back (0x3010 then 0x3000).
	prog = append(prog, setAddr(0x2000)...)
	prog = append(prog, 1, 13+14*4, 13+14*4)
	prog = append(prog, end...)
	prog = append(prog, setAddr(0x1000)...)
	prog = append(prog, 1, 2, 0x80, 0x20) // copy; advance_pc 0x1000
	prog = append(prog, end...)
	prog = append(prog, setAddr(0x3010)...)
	prog = append(prog, 1)
	prog = append(prog, setAddr(0x3000)...)
	prog = append(prog, 1)
	prog = append(prog, end...)
	stdLens := []uint8{0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1}
	for _, p := range [][]byte{prog, prog[:len(prog)-len(end)]} {
		lp := &lineProgram{prog: p, minInst: 1, lineBase: -5, lineRange: 14, opBase: 13, stdLens: stdLens}
		got, err := lp.rows()
		if err != nil {
			t.Fatal(err)
		}
		if want := programOrderSorted(t, lp); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}

// hintReader records the ranges it is asked to prefetch and the reads it
// serves.
type hintReader struct {
	r            io.ReaderAt
	hints, reads [][2]int64
}

func (h *hintReader) ReadAt(p []byte, off int64) (int, error) {
	h.reads = append(h.reads, [2]int64{off, int64(len(p))})
	return h.r.ReadAt(p, off)
}

func (h *hintReader) Prefetch(off, n int64) { h.hints = append(h.hints, [2]int64{off, n}) }

// TestLinesPrefetch: after Prefetch, the lookups of a trace read only
// ranges it asked for (a browser serves them from memory), and answer as
// without it.
func TestLinesPrefetch(t *testing.T) {
	k := vmlinuxRelease(t, "6.1.")
	f, err := os.Open(k.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := symbols.FromELF(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pcs []uint64
	for _, fn := range traceFuncs {
		if a, err := syms.Addr(fn); err == nil {
			pcs = append(pcs, a+16)
		}
	}
	plain, err := OpenLines(f)
	if err != nil {
		t.Fatal(err)
	}
	h := &hintReader{r: f}
	l, err := OpenLines(h)
	if err != nil {
		t.Fatal(err)
	}
	l.Prefetch(pcs)
	if len(h.hints) < 4*len(pcs)/2 {
		t.Fatalf("%d hints for %d lookups", len(h.hints), len(pcs))
	}
	h.reads = nil
	for _, pc := range pcs {
		file, line, err := l.LineForPC(pc)
		wantFile, wantLine, wantErr := plain.LineForPC(pc)
		if file != wantFile || line != wantLine || (err == nil) != (wantErr == nil) {
			t.Errorf("%#x: %s:%d, %v; without Prefetch %s:%d, %v", pc, file, line, err, wantFile, wantLine, wantErr)
		}
	}
	str := l.strSec
	for _, r := range h.reads {
		if str != nil && uint64(r[0]) >= str.Offset && uint64(r[0]) < str.Offset+str.Size {
			continue // DWARF 4's comp_dir strings are read as met
		}
		if !slices.ContainsFunc(h.hints, func(p [2]int64) bool { return r[0] >= p[0] && r[0]+r[1] <= p[0]+p[1] }) {
			t.Errorf("read of %d bytes at %#x was not prefetched", r[1], r[0])
		}
	}
	t.Logf("%d lookups: %d hints, %d reads after them", len(pcs), len(h.hints), len(h.reads))
}
