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
	best, end := t.kallsymsSearch(addr)
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

// kallsymsSearch finds the kernel's choice among the kept symbols at the
// highest address <= addr, and the next kept symbol's address (0 if none).
// Among aliases the first in the source's order wins unless another sorts
// strictly before it (kallsymsBefore).
func (t *Table) kallsymsSearch(addr uint64) (best int32, next uint64) {
	idx := t.kallsymsIndex()
	lo, hi := 0, len(idx)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.syms[idx[m]].addr <= addr {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return -1, 0
	}
	start := t.syms[idx[lo-1]].addr
	first := lo - 1
	for first > 0 && t.syms[idx[first-1]].addr == start {
		first--
	}
	best = idx[first]
	for _, j := range idx[first+1 : lo] {
		if t.kallsymsBefore(j, best) {
			best = j
		}
	}
	if lo < len(idx) {
		next = t.syms[idx[lo]].addr
	}
	return best, next
}

// kallsymsIndex is, built once, the symbols the kernel's kallsyms table
// holds (kallsymsKeeps) in address order, aliases in the source's order:
// one pass and a radix sort. (Scanning all ~150k symbols for each of the
// first lookups, as this did before stack traces made lookups many, cost
// ~80 ms per report natively and several times that in WebAssembly.)
func (t *Table) kallsymsIndex() []int32 {
	t.kernelBounds() // decides kallsymsFams, which kallsymsKeeps reads
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.keptDone {
		t.keptDone = true
		kept := make([]int32, 0, len(t.syms))
		for i := range t.syms {
			if t.kallsymsKeeps(&t.syms[i]) {
				kept = append(kept, int32(i))
			}
		}
		sortByAddr(t.syms, kept)
		t.kept = kept
	}
	return t.kept
}

// sortByAddr sorts idx by the address of its symbols, stably: an LSD radix
// sort of (address, index) pairs, read and written in sequence, over the
// bytes in which the addresses differ (kernel addresses share their top
// bytes); nothing at all when idx is already in order (a kallsyms table).
// A comparison sort of a vmlinux's symbols costs several times more in
// WebAssembly.
func sortByAddr(syms []entry, idx []int32) {
	if len(idx) < 2 {
		return
	}
	src := make([]addrPair, len(idx))
	sorted := true
	var diff uint64
	for k, i := range idx {
		src[k] = addrPair{syms[i].addr, i}
		diff |= src[k].addr ^ src[0].addr
		if k > 0 && src[k].addr < src[k-1].addr {
			sorted = false
		}
	}
	if sorted {
		return
	}
	dst := make([]addrPair, len(idx))
	for shift := uint(0); shift < 64; shift += 8 {
		if (diff>>shift)&0xff == 0 {
			continue // the same byte in every address
		}
		radixPass(src, dst, shift)
		src, dst = dst, src
	}
	for k := range src {
		idx[k] = src[k].i
	}
}

type addrPair struct {
	addr uint64
	i    int32
}

// radixPass moves src into dst ordered by one byte of the address, stably.
func radixPass(src, dst []addrPair, shift uint) {
	var pos [256]int
	for _, p := range src {
		pos[(p.addr>>shift)&0xff]++
	}
	n := 0
	for b, c := range pos {
		pos[b] = n
		n += c
	}
	for _, p := range src {
		b := (p.addr >> shift) & 0xff
		dst[pos[b]] = p
		pos[b]++
	}
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
	// Every 150,000 symbols of a vmlinux pass here twice per run: the
	// first byte settles most of them before any prefix or map lookup
	// (wasm hashes strings slowly).
	if name == "" {
		return 0, true
	}
	switch name[0] {
	case '$', '_':
		for _, p := range ignoredPrefixes {
			if strings.HasPrefix(name, p) {
				return 0, false
			}
		}
		if strings.HasPrefix(name, "__kstrtab_") || strings.HasPrefix(name, "__kstrtabns_") {
			return famKstrtab, true
		}
	case 'k':
		if strings.HasPrefix(name, "kallsyms_") && kallsymsTables[name] {
			return famTables, true
		}
	case '.':
		if strings.HasPrefix(name, ".L") {
			return famLocalLabels, true
		}
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
// scripts/kallsyms.c keeps (each starts with '$' or '_': family relies on
// it).
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
