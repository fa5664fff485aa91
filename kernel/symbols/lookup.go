package symbols

import (
	"strings"
)

// KallsymsLookup resolves a core-kernel address the way kallsyms_lookup()
// in kernel/kallsyms.c does for the kernel image: ok only for
// is_ksym_addr() addresses (with CONFIG_KALLSYMS_ALL, [_stext, _end)); the
// symbol is the first of its aliases in kallsyms order (get_symbol_pos()
// steps back over symbols at the same address), and size is the distance
// to the next symbol at a higher address, or to _einittext/_end when there
// is none. That size is what %pS prints, not the ELF st_size.
//
// Both sources answer alike: a kallsyms table is already in the kernel's
// order; a vmlinux .symtab is filtered and ordered as scripts/kallsyms.c
// does when it builds that table (see kallsymsKeeps, kallsymsBefore).
func (t *Table) KallsymsLookup(addr uint64) (sym Symbol, off, size uint64, ok bool) {
	b := t.kernelBounds()
	if !b.ok || addr < b.stext || addr >= b.end {
		return Symbol{}, 0, 0, false
	}
	t.mu.Lock()
	scan := t.byAddr == nil && t.scans < scansBeforeIndex
	if scan {
		t.scans++
	}
	t.mu.Unlock()
	var best int32
	var end uint64
	if scan {
		best, end = t.kallsymsScan(addr)
	} else {
		best, end = t.kallsymsSearch(addr)
	}
	if best < 0 {
		return Symbol{}, 0, 0, false
	}
	start := t.syms[best].addr
	if end == 0 {
		// get_symbol_pos(): no next symbol, so the end of the section.
		if b.sinittext != 0 && addr >= b.sinittext && addr < b.einittext {
			end = b.einittext
		} else {
			end = b.end
		}
	}
	if t.lostIn(start, end) {
		// A lost symbol lies between this one and the next kept one:
		// addr may be in it, and the size is not known.
		return Symbol{}, 0, 0, false
	}
	return t.symbol(best), addr - start, end - start, true
}

// kallsymsSearch finds, in the address order, the kernel's choice among
// the kept symbols at the highest address <= addr, and the next kept
// symbol's address (0 if none).
func (t *Table) kallsymsSearch(addr uint64) (best int32, next uint64) {
	idx := t.addrIndex()
	lo, hi := 0, len(idx)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.syms[idx[m]].addr <= addr {
			lo = m + 1
		} else {
			hi = m
		}
	}
	best = -1
	i := lo - 1
	for ; i >= 0; i-- {
		if t.kallsymsKeeps(&t.syms[idx[i]]) {
			break
		}
	}
	if i < 0 {
		return -1, 0
	}
	start := t.syms[idx[i]].addr
	for j := i; j >= 0 && t.syms[idx[j]].addr == start; j-- {
		if t.kallsymsKeeps(&t.syms[idx[j]]) && (best < 0 || t.kallsymsBefore(idx[j], best)) {
			best = idx[j]
		}
	}
	for j := lo; j < len(idx); j++ {
		if e := &t.syms[idx[j]]; e.addr > start && t.kallsymsKeeps(e) {
			return best, e.addr
		}
	}
	return best, 0
}

// kallsymsScan answers as kallsymsSearch with one pass over the symbols in
// the source's order, for the first few lookups (sorting ~150k symbols
// costs more than a few scans in WebAssembly).
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

type kernelBounds struct {
	ok                               bool
	stext, end, sinittext, einittext uint64
}

// kernelBounds reads _stext, _end, _sinittext and _einittext once.
func (t *Table) kernelBounds() kernelBounds {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.boundsDone {
		t.boundsDone = true
		get := func(n string) uint64 {
			s, _ := t.Lookup(n)
			return s.Addr
		}
		b := kernelBounds{stext: get("_stext"), end: get("_end"), sinittext: get("_sinittext"), einittext: get("_einittext")}
		b.ok = b.stext != 0 && b.end > b.stext
		t.bounds = b
		t.kallsymsFams = t.kallsymsFamilies()
	}
	return t.bounds
}

// kallsymsKeeps says whether the kernel's kallsyms table holds the symbol:
// scripts/kallsyms.c never keeps undefined, debugging or absolute symbols,
// __crc_ and a few other helpers (is_ignored_symbol()); the optional
// families (symFamilies) depend on the kernel. A kallsyms table holds only
// kept symbols already.
func (t *Table) kallsymsKeeps(e *entry) bool {
	if t.source != sourceSymtab {
		return true
	}
	f, ok := t.family(e)
	return ok && (f == 0 || t.kallsymsFams&f != 0)
}

// symFamilies is a set of symbol families that some kernels' kallsyms
// tables hold and others leave out.
type symFamilies uint8

const (
	// famTables: the kallsyms_* arrays themselves (left out by 5.10 and
	// 6.1, listed by 6.12).
	famTables symFamilies = 1 << iota
	// famKstrtab: EXPORT_SYMBOL's __kstrtab_*/__kstrtabns_* strings
	// (listed by 5.10; ignored since "kallsyms: ignore __kstrtab_* and
	// __kstrtabns_* symbols", 6.1).
	famKstrtab
	// famLocalLabels: compiler .L labels (5.10 lists some; later kernels
	// drop them in scripts/mksysmap).
	famLocalLabels
	allFamilies = famTables | famKstrtab | famLocalLabels
)

// defaultFamilies answer when the kernel's count cannot decide (6.12's).
const defaultFamilies = famTables

// family classifies e: ok false when no kernel keeps it, else its
// optional family (0: every kernel keeps it).
func (t *Table) family(e *entry) (symFamilies, bool) {
	switch e.typ {
	case 'U', 'u', 'N', 'n', 'A', 'a':
		return 0, false
	}
	name := t.name(e)
	for _, p := range ignoredPrefixes {
		if strings.HasPrefix(name, p) {
			return 0, false
		}
	}
	switch {
	case kallsymsTables[name]:
		return famTables, true
	case strings.HasPrefix(name, "__kstrtab_"), strings.HasPrefix(name, "__kstrtabns_"):
		return famKstrtab, true
	case strings.HasPrefix(name, ".L"):
		return famLocalLabels, true
	}
	return 0, true
}

// kallsymsTables are the arrays scripts/kallsyms.c generates.
var kallsymsTables = map[string]bool{
	"kallsyms_addresses": true, "kallsyms_offsets": true, "kallsyms_relative_base": true,
	"kallsyms_num_syms": true, "kallsyms_names": true, "kallsyms_markers": true,
	"kallsyms_token_table": true, "kallsyms_token_index": true, "kallsyms_seqs_of_names": true,
}

// kallsymsFamilies finds which optional families the kernel's table holds:
// the combination whose size, added to the symbols every kernel keeps,
// equals the kernel's own kallsyms_num_syms. The caller holds t.mu.
func (t *Table) kallsymsFamilies() symFamilies {
	if t.source != sourceSymtab || t.kallsymsNum == 0 {
		return defaultFamilies
	}
	var base int
	var count [allFamilies + 1]int
	for i := range t.syms {
		f, ok := t.family(&t.syms[i])
		switch {
		case !ok:
		case f == 0:
			base++
		default:
			count[f]++
		}
	}
	// The default first, so families absent from this vmlinux (a zero
	// count either way) keep it.
	for _, m := range append([]symFamilies{defaultFamilies}, 0, famKstrtab, famLocalLabels, famKstrtab|famLocalLabels,
		famTables|famKstrtab, famTables|famLocalLabels, allFamilies) {
		n := base
		for _, f := range []symFamilies{famTables, famKstrtab, famLocalLabels} {
			if m&f != 0 {
				n += count[f]
			}
		}
		if n == int(t.kallsymsNum) {
			return m
		}
	}
	return defaultFamilies
}

// ignoredPrefixes are the x86-relevant name prefixes no kernel's
// scripts/kallsyms.c keeps.
var ignoredPrefixes = []string{"$", "__crc_", "__efistub_", "__typeid__"}

// kallsymsBefore says whether symbol a sorts before b at the same address
// in the kernel's table: compare_symbols() in scripts/kallsyms.c puts weak
// symbols last, then linker-script PROVIDE()-like names, then more leading
// underscores; what remains is `nm -n` order, by name. A kallsyms table is
// already in that order.
func (t *Table) kallsymsBefore(a, b int32) bool {
	if t.source != sourceSymtab {
		return a < b
	}
	ea, eb := &t.syms[a], &t.syms[b]
	if wa, wb := isWeak(ea.typ), isWeak(eb.typ); wa != wb {
		return wb
	}
	na, nb := t.name(ea), t.name(eb)
	if pa, pb := mayBeProvided(na), mayBeProvided(nb); pa != pb {
		return pb
	}
	if ua, ub := leadingUnderscores(na), leadingUnderscores(nb); ua != ub {
		return ua < ub
	}
	return na < nb
}

// isWeak: compare_symbols() tests the letters w and W only.
func isWeak(typ byte) bool { return typ == 'w' || typ == 'W' }

// mayBeProvided mirrors may_be_linker_script_provide_symbol().
func mayBeProvided(s string) bool {
	if len(s) < 8 || !strings.HasPrefix(s, "__") {
		return false
	}
	r := s[2:]
	return strings.HasPrefix(r, "start_") || strings.HasPrefix(r, "stop_") || strings.HasPrefix(r, "end_") ||
		strings.HasSuffix(s, "_start") || strings.HasSuffix(s, "_end")
}

func leadingUnderscores(s string) int {
	n := 0
	for n < len(s) && s[n] == '_' {
		n++
	}
	return n
}
