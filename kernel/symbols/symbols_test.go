package symbols

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// elfMemory serves a vmlinux's link-time virtual addresses from its PT_LOAD
// segments: the kallsyms tables are initialised data, so they can be decoded
// from the file exactly as from a dump, with unrelocated addresses.
type elfMemory struct{ f *elf.File }

func (m elfMemory) ReadVirtAt(p []byte, va uint64) (int, error) {
	for _, pr := range m.f.Progs {
		if pr.Type == elf.PT_LOAD && va >= pr.Vaddr && va+uint64(len(p)) <= pr.Vaddr+pr.Filesz {
			return pr.ReadAt(p, int64(va-pr.Vaddr))
		}
	}
	return 0, fmt.Errorf("va %#x+%d not in a PT_LOAD", va, len(p))
}

func readSystemMap(t *testing.T, path string) map[string][]uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string][]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 {
			continue
		}
		a, err := strconv.ParseUint(fs[0], 16, 64)
		if err != nil {
			t.Fatalf("System.map line %q: %v", sc.Text(), err)
		}
		m[fs[2]] = append(m[fs[2]], a)
	}
	return m
}

// kallsymsAddrsOf gives the addresses of the kallsyms tables from a
// vmlinux's symbol table (a dump gives them in VMCOREINFO).
func kallsymsAddrsOf(tb testing.TB, tab *Table) KallsymsAddrs {
	tb.Helper()
	addr := func(n string) uint64 {
		a, err := tab.Addr(n)
		if err != nil {
			tb.Fatal(err)
		}
		return a
	}
	a := KallsymsAddrs{
		Names: addr("kallsyms_names"), NumSyms: addr("kallsyms_num_syms"),
		TokenTable: addr("kallsyms_token_table"), TokenIndex: addr("kallsyms_token_index"),
		Offsets: addr("kallsyms_offsets"),
	}
	// 7.x has none (its offsets are place-relative): RelativeBase stays 0.
	if _, ok := tab.Lookup("kallsyms_relative_base"); ok {
		a.RelativeBase = addr("kallsyms_relative_base")
	}
	return a
}

func TestELFAndKallsymsAgreeWithSystemMap(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			fh, err := os.Open(s.Manifest.Vmlinux.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			elfTab, err := FromELF(fh, 0)
			if err != nil {
				t.Fatal(err)
			}
			sysmap := readSystemMap(t, s.Manifest.Extra["system_map"])
			for _, name := range []string{"init_task", "init_uts_ns", "start_kernel", "page_offset_base", "linux_banner"} {
				sym, ok := elfTab.Lookup(name)
				if !ok || len(sysmap[name]) == 0 || sysmap[name][0] != sym.Addr {
					t.Errorf("%s: .symtab %#x (found %v), System.map %x", name, sym.Addr, ok, sysmap[name])
				}
			}
			if sym, _ := elfTab.Lookup("start_kernel"); sym.Type != 'T' || sym.Size == 0 {
				t.Errorf("start_kernel: type %c size %d, want T and a size", sym.Type, sym.Size)
			}

			f, err := elf.NewFile(fh)
			if err != nil {
				t.Fatal(err)
			}
			ks, err := FromKallsyms(elfMemory{f}, kallsymsAddrsOf(t, elfTab))
			if err != nil {
				t.Fatal(err)
			}
			if ks.Len() < 50000 {
				t.Fatalf("kallsyms decoded only %d symbols", ks.Len())
			}
			mismatch := 0
			for _, sym := range ks.All() {
				if strings.HasPrefix(sym.Name, ".L") {
					// Assembler-local labels (5.10 lists .LC* rodata
					// labels): scripts/mksysmap leaves every " .L" symbol
					// out of System.map, kallsyms keeps them.
					continue
				}
				addrs := sysmap[sym.Name]
				found := false
				for _, a := range addrs {
					found = found || a == sym.Addr
				}
				if !found {
					if mismatch < 10 {
						t.Errorf("kallsyms %c %s @ %#x: System.map has %x", sym.Type, sym.Name, sym.Addr, addrs)
					}
					mismatch++
				}
			}
			if mismatch > 0 {
				t.Errorf("%d of %d kallsyms symbols disagree with System.map", mismatch, ks.Len())
			}
			// A per-cpu symbol reads as System.map has it (runqueues: per-cpu
			// in every kernel): a small offset where the per-cpu section is
			// linked at 0, the template's kernel address in 7.x (no
			// KALLSYMS_ABSOLUTE_PERCPU there).
			if rq, ok := ks.Lookup("runqueues"); !ok || !slices.Contains(sysmap["runqueues"], rq.Addr) {
				t.Errorf("per-cpu runqueues: %#x (found %v), System.map %x", rq.Addr, ok, sysmap["runqueues"])
			}
			startKernel, _ := elfTab.Lookup("start_kernel")
			if name := ks.String(startKernel.Addr + 5); name != "start_kernel+0x5" {
				t.Errorf("symbolize start_kernel+5: %q", name)
			}
			t.Logf("%s: %d kallsyms symbols, %d in .symtab", s.Manifest.ID, ks.Len(), elfTab.Len())
		})
	}
}

func TestFromELFRelocates(t *testing.T) {
	sets := fixtures.All(t)
	fh, err := os.Open(sets[0].Manifest.Vmlinux.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	plain, err := FromELF(fh, 0)
	if err != nil {
		t.Fatal(err)
	}
	const off = 0x1a000000
	moved, err := FromELF(fh, off)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := plain.Lookup("init_task")
	b, _ := moved.Lookup("init_task")
	if b.Addr != a.Addr+off {
		t.Errorf("init_task relocated to %#x, want %#x", b.Addr, a.Addr+off)
	}
	c, _ := plain.Lookup("runqueues")
	d, _ := moved.Lookup("runqueues")
	if c.Addr != d.Addr || c.Addr >= startKernelMap {
		t.Errorf("per-cpu runqueues moved from %#x to %#x", c.Addr, d.Addr)
	}
}

// The first Symbolize calls scan every symbol; later ones use the sorted
// address order. Both must give the same answers, ties included.
func TestSymbolizeScanAndIndexAgree(t *testing.T) {
	names := "alpha\x00beta\x00gamma\x00delta\x00percpu\x00zeta"
	mk := func(off, n uint32, addr, size uint64, typ byte) entry {
		return entry{addr: addr, size: size, nameOff: off, nameLen: n, typ: typ}
	}
	syms := []entry{
		mk(6, 4, 0x2000, 0, 'd'),     // beta: data at 0x2000
		mk(0, 5, 0x2000, 0, 'D'),     // alpha: data at the same address
		mk(11, 5, 0x3000, 0x10, 'T'), // gamma: sized text
		mk(17, 5, 0x1000, 0, 'T'),    // delta
		mk(23, 6, 0x10, 0, 'D'),      // percpu: a small per-cpu offset
		mk(30, 4, 0x3000, 0, 't'),    // zeta: text at gamma's address
	}
	tab := newTable(names, syms, "test")
	addrs := []uint64{0, 0x10, 0x18, 0xfff, 0x1000, 0x1fff, 0x2000, 0x2001, 0x3000, 0x300f, 0x3010, 0x9000}
	type answer struct {
		s   Symbol
		off uint64
		ok  bool
	}
	var scanned []answer
	for _, a := range addrs {
		s, off, ok := tab.Symbolize(a)
		scanned = append(scanned, answer{s, off, ok})
	}
	if tab.byAddr != nil {
		t.Fatal("the address index was built before scansBeforeIndex calls")
	}
	for range scansBeforeIndex {
		tab.Symbolize(0)
	}
	for i, a := range addrs {
		s, off, ok := tab.Symbolize(a)
		if got := (answer{s, off, ok}); got != scanned[i] {
			t.Errorf("%#x: indexed %+v, scanned %+v", a, got, scanned[i])
		}
	}
	if tab.byAddr == nil {
		t.Fatal("no address index after many calls")
	}
	want := map[uint64]string{0x18: "percpu+0x8", 0x2001: "beta+0x1", 0x300f: "gamma+0xf", 0x3010: "0x3010", 0x1fff: "delta+0xfff", 0: "0x0"}
	for a, w := range want {
		if got := tab.String(a); got != w {
			t.Errorf("String(%#x) = %q, want %q", a, got, w)
		}
	}
	if s, ok := tab.Lookup("alpha"); !ok || s.Addr != 0x2000 || s.Type != 'D' {
		t.Errorf("Lookup(alpha) = %+v, %v", s, ok)
	}
	if !tab.Is(0x3000, "gamma") || tab.Is(0x3001, "gamma") || tab.Is(0x3000, "nosuch") {
		t.Error("Is")
	}
}

// A name defined twice answers with the global definition, else the
// lowest address, whatever the order of the source.
func TestLookupPrefersGlobal(t *testing.T) {
	names := "dup"
	for _, order := range [][]entry{
		{{addr: 0x30, nameLen: 3, typ: 't'}, {addr: 0x20, nameLen: 3, typ: 'T'}, {addr: 0x10, nameLen: 3, typ: 't'}},
		{{addr: 0x10, nameLen: 3, typ: 't'}, {addr: 0x20, nameLen: 3, typ: 'T'}, {addr: 0x30, nameLen: 3, typ: 't'}},
	} {
		if s, _ := newTable(names, order, "test").Lookup("dup"); s.Addr != 0x20 {
			t.Errorf("dup -> %#x, want the global at 0x20", s.Addr)
		}
	}
	locals := []entry{{addr: 0x30, nameLen: 3, typ: 't'}, {addr: 0x10, nameLen: 3, typ: 't'}}
	if s, _ := newTable(names, locals, "test").Lookup("dup"); s.Addr != 0x10 {
		t.Errorf("two locals -> %#x, want the lower 0x10", s.Addr)
	}
}
