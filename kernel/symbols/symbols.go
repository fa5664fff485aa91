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
	"sort"
	"strings"
)

// ErrNotFound is wrapped by lookups of an unknown name.
var ErrNotFound = errors.New("symbol not found")

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
type Table struct {
	byAddr []Symbol         // sorted by Addr, then Name
	byName map[string]int32 // index into byAddr of the first global (else first) symbol of that name
	source string
}

func newTable(syms []Symbol, source string) *Table {
	slices.SortFunc(syms, func(a, b Symbol) int {
		if c := cmp.Compare(a.Addr, b.Addr); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	t := &Table{byAddr: syms, byName: make(map[string]int32, len(syms)), source: source}
	for i, s := range syms {
		prev, ok := t.byName[s.Name]
		// Prefer a global definition over a local one of the same name.
		if !ok || (isLocal(syms[prev].Type) && !isLocal(s.Type)) {
			t.byName[s.Name] = int32(i)
		}
	}
	return t
}

func isLocal(typ byte) bool { return typ >= 'a' && typ <= 'z' }

// Source says where the table came from ("vmlinux .symtab", "kallsyms").
func (t *Table) Source() string { return t.source }

// Len is the number of symbols.
func (t *Table) Len() int { return len(t.byAddr) }

// Lookup finds a symbol by name.
func (t *Table) Lookup(name string) (Symbol, bool) {
	i, ok := t.byName[name]
	if !ok {
		return Symbol{}, false
	}
	return t.byAddr[i], true
}

// Addr is the address of name, or an error wrapping ErrNotFound.
func (t *Table) Addr(name string) (uint64, error) {
	s, ok := t.Lookup(name)
	if !ok {
		return 0, fmt.Errorf("%s (%s): %w", name, t.source, ErrNotFound)
	}
	return s.Addr, nil
}

// All returns every symbol, sorted by address. The slice must not be changed.
func (t *Table) All() []Symbol { return t.byAddr }

// Symbolize finds the symbol containing addr: the last symbol at or below it
// (text symbols preferred on ties), and the offset into it. ok is false below
// the first symbol, or past a sized symbol's end.
func (t *Table) Symbolize(addr uint64) (sym Symbol, off uint64, ok bool) {
	i := sort.Search(len(t.byAddr), func(i int) bool { return t.byAddr[i].Addr > addr }) - 1
	if i < 0 {
		return Symbol{}, 0, false
	}
	best := i
	for j := i; j >= 0 && t.byAddr[j].Addr == t.byAddr[i].Addr; j-- {
		if strings.IndexByte("Tt", t.byAddr[j].Type) >= 0 {
			best = j
		}
	}
	s := t.byAddr[best]
	if s.Size != 0 && addr >= s.Addr+s.Size {
		return Symbol{}, 0, false
	}
	return s, addr - s.Addr, true
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
