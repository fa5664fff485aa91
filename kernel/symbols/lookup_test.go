package symbols

import (
	"cmp"
	"debug/elf"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// TestKallsymsLookupSourcesAgree resolves every kallsyms symbol's address
// (and one byte into it) through the vmlinux .symtab and through the
// kallsyms tables the same vmlinux carries: the kernel's own table is the
// ground truth for the alias chosen and the %pS size. (Also checked by hand
// on Debian's 5.10.0-32 vmlinux, whose table lists __kstrtab_* and .L
// labels: 96,664 addresses, none differ.)
func TestKallsymsLookupSourcesAgree(t *testing.T) {
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
			f, err := elf.NewFile(fh)
			if err != nil {
				t.Fatal(err)
			}
			ks, err := FromKallsyms(elfMemory{f}, kallsymsAddrsOf(t, elfTab))
			if err != nil {
				t.Fatal(err)
			}
			checked, bad := 0, 0
			prev := uint64(0)
			for i, sym := range ks.All() {
				// One lookup per address: aliases answer alike, and 5.10
				// has ~8,600 __kstrtabns_ aliases of one empty string.
				if sym.Addr == prev {
					continue
				}
				prev = sym.Addr
				if i%997 == 0 { // the index answers as a plain scan of every symbol
					for _, tab := range []*Table{ks, elfTab} {
						b1, n1 := tab.kallsymsScan(sym.Addr + 3)
						b2, n2 := tab.kallsymsSearch(sym.Addr + 3)
						if b1 != b2 || n1 != n2 {
							t.Errorf("%s %#x: scan %d/%#x, search %d/%#x", tab.Source(), sym.Addr+3, b1, n1, b2, n2)
						}
					}
				}
				for _, a := range []uint64{sym.Addr, sym.Addr + 1} {
					ws, woff, wsize, wok := ks.KallsymsLookup(a)
					hs, hoff, hsize, hok := elfTab.KallsymsLookup(a)
					if !wok {
						continue
					}
					checked++
					if !hok || hs.Name != ws.Name || hoff != woff || hsize != wsize {
						if bad < 20 {
							t.Errorf("%#x: .symtab %s+%#x/%#x (%v), kallsyms %s+%#x/%#x", a, hs.Name, hoff, hsize, hok, ws.Name, woff, wsize)
						}
						bad++
					}
				}
			}
			t.Logf("%d addresses, %d differ", checked, bad)
			if checked < 50000 {
				t.Errorf("only %d addresses checked", checked)
			}
		})
	}
}

// TestKallsymsLookupSynthetic: aliases ordered as scripts/kallsyms.c
// orders them, skipped helper symbols, the size to the next symbol or to
// _end, and nothing outside [_stext, _end).
func TestKallsymsLookupSynthetic(t *testing.T) {
	var names string
	var syms []entry
	add := func(name string, addr uint64, typ byte) {
		syms = append(syms, entry{addr: addr, nameOff: uint32(len(names)), nameLen: uint32(len(name)), typ: typ})
		names += name + "\x00"
	}
	add("_stext", 0x1000, 'T')
	add("weak_fn", 0x1100, 'W')      // weak: after the others at 0x1100
	add("__pfx_fn", 0x1100, 't')     // more underscores: after fn
	add("fn", 0x1100, 'T')           // the kernel's choice
	add("__crc_fn", 0x1180, 'A')     // absolute and a CRC: not in kallsyms
	add("__kstrtab_fn", 0x1190, 'r') // left out by kallsyms
	add("other", 0x1200, 't')
	add("_end", 0x2000, 'B')
	tab := newTable(names, syms, sourceSymtab)
	for _, c := range []struct {
		addr      uint64
		name      string
		off, size uint64
		ok        bool
	}{
		{0x1100, "fn", 0, 0x100, true},
		{0x1195, "fn", 0x95, 0x100, true},
		{0x1fff, "other", 0xdff, 0xe00, true},
		{0xfff, "", 0, 0, false},
		{0x2000, "", 0, 0, false},
	} {
		for pass := range 2 { // the scan, then the sorted search
			if pass == 1 {
				tab.addrIndex()
			}
			s, off, size, ok := tab.KallsymsLookup(c.addr)
			if s.Name != c.name || off != c.off || size != c.size || ok != c.ok {
				t.Errorf("pass %d %#x: %s+%#x/%#x %v, want %s+%#x/%#x %v", pass, c.addr, s.Name, off, size, ok, c.name, c.off, c.size, c.ok)
			}
		}
	}
}

// kallsymsScan is the reference kallsymsSearch is checked against: one
// pass over every symbol in the source's order.
func (t *Table) kallsymsScan(addr uint64) (best int32, next uint64) {
	best = -1
	for i := range t.syms {
		e := &t.syms[i]
		if e.addr > addr || !t.kallsymsKeeps(e) {
			continue
		}
		if best < 0 || e.addr > t.syms[best].addr || (e.addr == t.syms[best].addr && t.kallsymsBefore(int32(i), best)) {
			best = int32(i)
		}
	}
	if best < 0 {
		return -1, 0
	}
	start := t.syms[best].addr
	for i := range t.syms {
		e := &t.syms[i]
		if e.addr > start && (next == 0 || e.addr < next) && t.kallsymsKeeps(e) {
			next = e.addr
		}
	}
	return best, next
}

// TestSortByAddr: the radix sort orders as a stable comparison sort, on
// addresses that differ in scattered bytes, with duplicates.
func TestSortByAddr(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 100, 5000} {
		syms := make([]entry, n)
		for i := range syms {
			syms[i].addr = 0xffffffff81000000 + rng.Uint64N(1<<20)<<(8*rng.Uint64N(3)) + rng.Uint64N(3)
			if i > 0 && rng.IntN(4) == 0 {
				syms[i].addr = syms[i-1].addr
			}
		}
		idx := make([]int32, n)
		for i := range idx {
			idx[i] = int32(i)
		}
		want := slices.Clone(idx)
		slices.SortStableFunc(want, func(a, b int32) int { return cmp.Compare(syms[a].addr, syms[b].addr) })
		sortByAddr(syms, idx)
		if !slices.Equal(idx, want) {
			t.Errorf("%d symbols: radix order differs from a stable sort", n)
		}
		sortByAddr(syms, idx) // already sorted: unchanged
		if !slices.Equal(idx, want) {
			t.Errorf("%d symbols: sorting sorted symbols changed them", n)
		}
	}
}

// TestFamilyFirstBytes: family looks at ignoredPrefixes only for names
// starting with '$' or '_', and at kallsymsTables only for "kallsyms_".
func TestFamilyFirstBytes(t *testing.T) {
	for _, p := range ignoredPrefixes {
		if p == "" || (p[0] != '$' && p[0] != '_') {
			t.Errorf("ignored prefix %q does not start with '$' or '_'", p)
		}
	}
	for name := range kallsymsTables {
		if !strings.HasPrefix(name, "kallsyms_") {
			t.Errorf("kallsyms table %q does not start with kallsyms_", name)
		}
	}
}
