// Package symbols holds the crashed kernel's symbol table, from the vmlinux
// ELF .symtab (relocated by the KASLR offset) or, with no vmlinux at all, from
// the kallsyms tables in the dump's own memory (kernels >= 6.0 put their
// addresses in VMCOREINFO).
package symbols

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ErrNotFound is wrapped by lookups of an unknown name.
var ErrNotFound = errors.New("symbol not found")

// ErrLost is wrapped, instead of ErrNotFound, by a lookup that misses on a
// table read only in part (Incomplete): the name may be one of the symbols
// lost, so a probe must not take the miss for "the kernel has none".
var ErrLost = errors.New("symbol information lost")

// Symbol is one kernel symbol.
type Symbol struct {
	Name string
	Addr uint64
	Size uint64 // 0 when the source does not say (kallsyms)
	// Type is the kallsyms/nm letter: T/t text, D/d data, B/b bss, R/r
	// read-only, A absolute, V/W weak…; lower case means local.
	Type byte
}

// Table is an immutable set of symbols, by name and by address.
//
// A report looks up a few dozen names and symbolizes a handful of
// addresses, while a kernel has ~150k symbols, so the table is built for a
// cheap start: symbols stay in the source's order in one pointer-free
// slice (nothing for the garbage collector to scan), names are offsets
// into one string, the name index is an open-addressed table of int32,
// and the address order is only sorted once Symbolize is used often. In
// WebAssembly, sorting by address up front was a quarter of a report.
type Table struct {
	names  string  // every name, as offsets of entries
	syms   []entry // in the source's order
	slots  []int32 // name index: 1 + index into syms, 0 = free; len is a power of 2
	source string
	// incomplete says why the source could only be read in part; lost
	// holds the addresses of the symbols it lost, sorted (their names are
	// unknown, their addresses are not: kallsyms_offsets is whole).
	incomplete error
	lost       []uint64

	mu     sync.Mutex
	scans  int     // Symbolize calls answered by a linear scan
	byAddr []int32 // indices into syms by address, then name; nil until needed

	boundsDone bool
	bounds     kernelBounds // for KallsymsLookup
	keptDone   bool
	kept       []int32 // kallsymsIndex
	// kallsymsNum is the kernel's kallsyms_num_syms (a vmlinux .symtab
	// table; 0 if unknown), and kallsymsFams the optional families of
	// symbols the kernel's table holds, as that count shows.
	kallsymsNum  uint32
	kallsymsFams symFamilies
}

// sourceSymtab names a table read from a vmlinux .symtab.
const sourceSymtab = "vmlinux .symtab"

type entry struct {
	addr, size       uint64
	nameOff, nameLen uint32
	typ              byte
}

// scansBeforeIndex is how many Symbolize calls scan all symbols (a few ms
// in WebAssembly each) before the address order is sorted instead.
const scansBeforeIndex = 16

func (t *Table) name(e *entry) string { return t.names[e.nameOff : e.nameOff+e.nameLen] }

func (t *Table) symbol(i int32) Symbol {
	e := &t.syms[i]
	return Symbol{Name: t.name(e), Addr: e.addr, Size: e.size, Type: e.typ}
}

// newTable indexes syms, whose names are slices of names.
func newTable(names string, syms []entry, source string) *Table {
	size := 1
	for size < 2*len(syms) {
		size <<= 1
	}
	t := &Table{names: names, syms: syms, slots: make([]int32, size), source: source}
	mask := uint32(size - 1)
	for i := range syms {
		e := &syms[i]
		for h := nameHash(t.name(e)) & mask; ; h = (h + 1) & mask {
			s := t.slots[h]
			if s == 0 {
				t.slots[h] = int32(i) + 1
				break
			}
			if old := &syms[s-1]; t.name(old) == t.name(e) {
				if preferred(e, old) {
					t.slots[h] = int32(i) + 1
				}
				break
			}
		}
	}
	return t
}

// preferred says whether e should answer a lookup of its name rather than
// old: a global definition over a local one, then the lower address (the
// answer does not depend on the order of the source).
func preferred(e, old *entry) bool {
	if isLocal(e.typ) != isLocal(old.typ) {
		return isLocal(old.typ)
	}
	return e.addr < old.addr
}

// nameHash is 32-bit FNV-1a: inlined and cheap, where the runtime's string
// hash has no AES instructions to use in WebAssembly.
func nameHash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

func isLocal(typ byte) bool { return typ >= 'a' && typ <= 'z' }

// Source says where the table came from ("vmlinux .symtab", "kallsyms").
func (t *Table) Source() string { return t.source }

// Incomplete says why only part of the source's symbols are in the table
// (kallsyms cut short by an unreadable page), or nil when all are.
func (t *Table) Incomplete() error { return t.incomplete }

// Len is the number of symbols.
func (t *Table) Len() int { return len(t.syms) }

// Lookup finds a symbol by name.
func (t *Table) Lookup(name string) (Symbol, bool) {
	if len(t.slots) == 0 {
		return Symbol{}, false
	}
	mask := uint32(len(t.slots) - 1)
	for h := nameHash(name) & mask; ; h = (h + 1) & mask {
		s := t.slots[h]
		if s == 0 {
			return Symbol{}, false
		}
		if t.name(&t.syms[s-1]) == name {
			return t.symbol(s - 1), true
		}
	}
}

// Addr is the address of name, or an error wrapping ErrNotFound.
func (t *Table) Addr(name string) (uint64, error) {
	s, ok := t.Lookup(name)
	if !ok {
		if t.incomplete != nil {
			return 0, fmt.Errorf("%s (%s): not among the symbols that could be read (%v): %w", name, t.source, t.incomplete, ErrLost)
		}
		return 0, fmt.Errorf("%s (%s): %w", name, t.source, ErrNotFound)
	}
	return s.Addr, nil
}

// Is says whether addr is the address of the symbol name: how an emitter
// recognises a function pointer without symbolizing it.
func (t *Table) Is(addr uint64, name string) bool {
	s, ok := t.Lookup(name)
	return ok && s.Addr == addr
}

// All returns every symbol, sorted by address then name.
func (t *Table) All() []Symbol {
	idx := t.addrIndex()
	out := make([]Symbol, len(idx))
	for i, j := range idx {
		out[i] = t.symbol(j)
	}
	return out
}

// addrIndex sorts the address order once.
func (t *Table) addrIndex() []int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byAddr == nil {
		idx := make([]int32, len(t.syms))
		for i := range idx {
			idx[i] = int32(i)
		}
		slices.SortFunc(idx, func(a, b int32) int {
			ea, eb := &t.syms[a], &t.syms[b]
			if c := cmp.Compare(ea.addr, eb.addr); c != 0 {
				return c
			}
			return strings.Compare(t.name(ea), t.name(eb))
		})
		t.byAddr = idx
	}
	return t.byAddr
}

// Symbolize finds the symbol containing addr: the last symbol at or below it
// (of those at the same address, the first text symbol by name, else the
// last by name), and the offset into it. ok is false below the first
// symbol, or past a sized symbol's end.
func (t *Table) Symbolize(addr uint64) (sym Symbol, off uint64, ok bool) {
	t.mu.Lock()
	scan := t.byAddr == nil && t.scans < scansBeforeIndex
	if scan {
		t.scans++
	}
	t.mu.Unlock()
	var best int32 = -1
	if scan {
		best = t.scanFor(addr)
	} else {
		best = t.searchFor(addr)
	}
	if best < 0 {
		return Symbol{}, 0, false
	}
	s := t.symbol(best)
	if s.Size != 0 && addr >= s.Addr+s.Size {
		return Symbol{}, 0, false
	}
	if t.lostIn(s.Addr, addr+1) {
		// A lost symbol lies between: addr is not in s.
		return Symbol{}, 0, false
	}
	return s, addr - s.Addr, true
}

// lostIn reports whether a lost symbol's address lies in (lo, hi).
func (t *Table) lostIn(lo, hi uint64) bool {
	i, _ := slices.BinarySearch(t.lost, lo+1)
	return i < len(t.lost) && t.lost[i] < hi
}

// better says whether symbol a answers for its address rather than b, at
// the same address: text first, then the first text name or the last
// other name.
func (t *Table) better(a, b *entry) bool {
	ta, tb := isText(a.typ), isText(b.typ)
	if ta != tb {
		return ta
	}
	c := strings.Compare(t.name(a), t.name(b))
	if ta {
		return c < 0
	}
	return c > 0
}

func isText(typ byte) bool { return typ == 'T' || typ == 't' }

func (t *Table) scanFor(addr uint64) int32 {
	best := int32(-1)
	for i := range t.syms {
		e := &t.syms[i]
		if e.addr > addr {
			continue
		}
		if best < 0 {
			best = int32(i)
			continue
		}
		b := &t.syms[best]
		if e.addr > b.addr || (e.addr == b.addr && t.better(e, b)) {
			best = int32(i)
		}
	}
	return best
}

func (t *Table) searchFor(addr uint64) int32 {
	idx := t.addrIndex()
	i, _ := slices.BinarySearchFunc(idx, addr, func(j int32, a uint64) int {
		if t.syms[j].addr <= a {
			return -1
		}
		return 1
	})
	i-- // the last symbol at or below addr
	if i < 0 {
		return -1
	}
	best := idx[i]
	for j := i - 1; j >= 0 && t.syms[idx[j]].addr == t.syms[best].addr; j-- {
		if t.better(&t.syms[idx[j]], &t.syms[best]) {
			best = idx[j]
		}
	}
	return best
}

// String formats addr as "name+0xoff" (crash's and the kernel's %pS style,
// without the size), or as hex when no symbol covers it.
func (t *Table) String(addr uint64) string {
	s, off, ok := t.Symbolize(addr)
	if !ok {
		return fmt.Sprintf("%#x", addr)
	}
	if off == 0 {
		return s.Name
	}
	return fmt.Sprintf("%s+%#x", s.Name, off)
}
