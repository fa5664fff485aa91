package x86

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ReadKernelU64 reads the little-endian 64-bit value at va, such as a kernel
// variable at its (relocated) symbol address.
func ReadKernelU64(t *Translator, va uint64) (uint64, error) {
	var b [8]byte
	if _, err := t.ReadVirtAt(b[:], va); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// Layout holds the bases of the randomizable kernel regions
// (arch/x86/mm/kaslr.c: page_offset_base, vmalloc_base, vmemmap_base).
type Layout struct {
	PageOffset  uint64 // page_offset_base: start of the direct map
	VmallocBase uint64 // vmalloc_base
	VmemmapBase uint64 // vmemmap_base: the struct page array
}

// DefaultLayout is the layout when the regions are not randomized
// (CONFIG_RANDOMIZE_MEMORY off, or the variables absent).
func DefaultLayout(l5 bool) Layout {
	if l5 {
		return Layout{PageOffsetBaseL5, VmallocBaseL5, VmemmapBaseL5}
	}
	return Layout{PageOffsetBaseL4, VmallocBaseL4, VmemmapBaseL4}
}

// ReadLayout reads page_offset_base, vmalloc_base and vmemmap_base from the
// crashed kernel. sym returns a symbol's relocated address (from System.map
// plus KERNELOFFSET, kallsyms, or DWARF); a variable whose symbol is unknown
// keeps the non-randomized default, which is what the kernel uses when the
// variable does not exist (CONFIG_DYNAMIC_MEMORY_LAYOUT off).
func ReadLayout(t *Translator, sym func(name string) (uint64, bool)) (Layout, error) {
	l := DefaultLayout(t.cfg.L5)
	for _, v := range []struct {
		name string
		dst  *uint64
	}{
		{"page_offset_base", &l.PageOffset},
		{"vmalloc_base", &l.VmallocBase},
		{"vmemmap_base", &l.VmemmapBase},
	} {
		addr, ok := sym(v.name)
		if !ok {
			continue
		}
		val, err := ReadKernelU64(t, addr)
		if err != nil {
			return l, fmt.Errorf("read %s: %w", v.name, err)
		}
		*v.dst = val
	}
	return l, nil
}

// ErrPageOffsetNotFound is returned by FindPageOffset when no kernel-half
// mapping looks like the start of the direct map.
var ErrPageOffsetNotFound = errors.New("x86: direct map not found in page tables")

// directMapProbes are physical addresses that the direct map covers on any
// x86_64 machine (the first MiB is mapped with the rest since
// init_mem_mapping()), checked at the same offset from a candidate base.
var directMapProbes = [...]uint64{0, 1 << 20, 16 << 20}

// maxPageOffsetCandidates bounds FindPageOffset's work on corrupt tables.
const maxPageOffsetCandidates = 1 << 14

// FindPageOffset finds page_offset_base from the page tables alone, for
// when the variable's address is not known yet. The kernel places the direct
// map first of the randomized regions, aligned to 1 GiB
// (kernel_randomize_memory() in arch/x86/mm/kaslr.c), so it is the lowest
// 1 GiB-aligned kernel-half address whose probes translate to themselves:
// base+0 to physical 0, base+1 MiB to 1 MiB, base+16 MiB to 16 MiB (at
// least one mapped, none mapped elsewhere). Only the few mappings below it
// (the PTI LDT remap) are visited before it is found.
func (t *Translator) FindPageOffset() (uint64, error) {
	vaBits := uint(48)
	if t.levels == 5 {
		vaBits = 57
	}
	budget := maxPageOffsetCandidates
	return t.findDirectMap(t.levels-1, t.cfg.PGD, 0, vaBits, &budget)
}

// findDirectMap scans the table at physical address table (at level, 0 =
// pte) covering virtual addresses from base, descending to the 1 GiB level.
func (t *Translator) findDirectMap(level int, table, base uint64, vaBits uint, budget *int) (uint64, error) {
	shift := 12 + 9*uint(level)
	first := uint64(0)
	if level == t.levels-1 {
		first = 256 // the kernel half
	}
	for idx := first; idx < 512; idx++ {
		e, err := t.tables.entry(table, idx)
		if err != nil || e&pagePresent == 0 {
			continue
		}
		va := base | idx<<shift
		if level == t.levels-1 {
			va |= ^uint64(0) << (vaBits - 1) // sign-extend the kernel half
		}
		if level > 2 {
			if *budget <= 0 {
				return 0, ErrPageOffsetNotFound
			}
			if found, err := t.findDirectMap(level-1, e&t.addrMask, va, vaBits, budget); err == nil {
				return found, nil
			}
			continue
		}
		// level == 2: each entry covers one 1 GiB-aligned candidate.
		*budget--
		if *budget <= 0 {
			return 0, ErrPageOffsetNotFound
		}
		if va >= StartKernelMap {
			break // the kernel text and modules: past any direct map
		}
		if t.looksLikeDirectMap(va) {
			return va, nil
		}
	}
	return 0, ErrPageOffsetNotFound
}

func (t *Translator) looksLikeDirectMap(base uint64) bool {
	hits := 0
	for _, p := range directMapProbes {
		pa, _, err := t.walk(base + p)
		if err != nil {
			continue
		}
		if pa != p {
			return false
		}
		hits++
	}
	return hits > 0
}
