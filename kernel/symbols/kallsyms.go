package symbols

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// VirtReader reads the crashed kernel's virtual memory.
type VirtReader interface {
	ReadVirtAt(p []byte, va uint64) (int, error)
}

// KallsymsAddrs are the (runtime) addresses of the kallsyms tables, as
// VMCOREINFO gives them since Linux 6.0 (SYMBOL(kallsyms_names), …).
// RelativeBase is 0 for a kernel without kallsyms_relative_base (commit
// a081b5789255, "kallsyms: Get rid of kallsyms relative base", 7.x):
// there each kallsyms_offsets[] entry is a signed offset from the entry's
// own address (offset_to_ptr() in kallsyms_sym_address()).
type KallsymsAddrs struct {
	Names, NumSyms, TokenTable, TokenIndex, Offsets, RelativeBase uint64
}

// Bounds on what a kallsyms table may claim; a real x86_64 kernel with
// KALLSYMS_ALL has ~150k–250k symbols and names under 2 MiB.
const (
	maxKallsyms      = 4 << 20
	maxNameBytes     = 64 << 20
	maxTokenTable    = 64 << 10
	kallsymsNameMax  = 512 // KSYM_NAME_LEN is 512 since 6.1
	kallsymsReadSize = 256 << 10
	kallsymsPrealloc = 1 << 18
)

// FromKallsyms decodes the kernel's compressed kallsyms tables from memory
// (kernel/kallsyms.c: kallsyms_expand_symbol, kallsyms_sym_address), giving
// runtime addresses with no vmlinux needed.
func FromKallsyms(mem VirtReader, a KallsymsAddrs) (*Table, error) {
	rd := func(what string, va uint64, n int) ([]byte, error) {
		b := make([]byte, n)
		if _, err := mem.ReadVirtAt(b, va); err != nil {
			return nil, fmt.Errorf("kallsyms: read %s at %#x: %w", what, va, err)
		}
		return b, nil
	}
	b, err := rd("kallsyms_num_syms", a.NumSyms, 4)
	if err != nil {
		return nil, err
	}
	num := binary.LittleEndian.Uint32(b)
	if num == 0 || num > maxKallsyms {
		return nil, fmt.Errorf("kallsyms: kallsyms_num_syms = %d, not plausible", num)
	}
	idxb, err := rd("kallsyms_token_index", a.TokenIndex, 512)
	if err != nil {
		return nil, err
	}
	var tokenIndex [256]uint16
	maxIdx := 0
	for i := range tokenIndex {
		tokenIndex[i] = binary.LittleEndian.Uint16(idxb[2*i:])
		maxIdx = max(maxIdx, int(tokenIndex[i]))
	}
	tokens, err := readTokenTable(rd, a.TokenTable, maxIdx)
	if err != nil {
		return nil, err
	}
	var decoded [256]string
	for i := range decoded {
		t := tokens[tokenIndex[i]:]
		end := 0
		for end < len(t) && t[end] != 0 {
			end++
		}
		decoded[i] = string(t[:end])
	}

	offs, err := rd("kallsyms_offsets", a.Offsets, int(num)*4)
	if err != nil {
		return nil, err
	}
	placeRelative := a.RelativeBase == 0
	var base uint64
	if !placeRelative {
		b, err = rd("kallsyms_relative_base", a.RelativeBase, 8)
		if err != nil {
			return nil, err
		}
		base = binary.LittleEndian.Uint64(b)
	}
	// With CONFIG_KALLSYMS_ABSOLUTE_PERCPU (x86_64 SMP) image symbols are
	// stored as negative offsets from base-1 and per-cpu ones as absolute
	// values; without it every offset is unsigned and relative. A kernel
	// image is far smaller than 2 GiB, so any negative value tells.
	absolutePercpu := false
	for i := uint32(0); i < num && !placeRelative; i++ {
		if int32(binary.LittleEndian.Uint32(offs[4*i:])) < 0 {
			absolutePercpu = true
			break
		}
	}

	addrOf := func(i uint32) uint64 {
		off := int32(binary.LittleEndian.Uint32(offs[4*i:]))
		switch {
		case placeRelative:
			return a.Offsets + 4*uint64(i) + uint64(int64(off))
		case !absolutePercpu:
			return base + uint64(uint32(off))
		case off >= 0:
			return uint64(off)
		default:
			return base - 1 - uint64(int64(off))
		}
	}

	names := &chunkReader{rd: rd, va: a.Names}
	// Sized for a real kernel at most: a garbled kallsyms_num_syms must not
	// reserve memory for symbols that the names never deliver.
	syms := make([]entry, 0, min(num, kallsymsPrealloc))
	var (
		buf      []byte
		allNames strings.Builder // names average ~20 bytes
	)
	allNames.Grow(int(min(num, kallsymsPrealloc)) * 24)
	// A page of kallsyms_names that cannot be read, or that holds garbage,
	// ends the decoding: the names are variable-length and nothing marks
	// where the next one starts, but those before the damage are sound.
	// Damage comes a page at a time, so after garbage the symbols whose
	// names start in the page before the failing one's are dropped too:
	// garbage there may have decoded as plausible names.
	var (
		cut    error
		starts []uint64 // where each kept symbol's name starts, for garbage
	)
	stop := func(i uint32, err error, garbage bool) error {
		if garbage {
			failed := a.Names + uint64(names.start0)
			keepBelow := (failed&^4095 - min(failed&^4095, 4096))
			k := len(starts)
			for k > 0 && starts[k-1] >= keepBelow {
				k--
			}
			syms, starts = syms[:k], starts[:k]
		}
		if len(syms) == 0 {
			return err
		}
		cut = fmt.Errorf("decoded %d of %d symbols: %w", len(syms), num, err)
		return nil
	}
	// one decodes symbol i from names' position: an error, and whether it
	// is garbage (bytes that read but do not decode) rather than a read
	// that failed.
	one := func(i uint32) (error, bool) {
		names.start0 = names.pos
		n, err := names.byte()
		if err != nil {
			return err, false
		}
		length := int(n)
		if n&0x80 != 0 { // a "big" symbol: the length takes two bytes
			hi, err := names.byte()
			if err != nil {
				return err, false
			}
			length = int(n&0x7f) | int(hi)<<7
		}
		if length == 0 || names.pos+length > maxNameBytes {
			return fmt.Errorf("kallsyms: symbol %d: bad compressed length %d", i, length), true
		}
		codes, err := names.next(length)
		if err != nil {
			return err, false
		}
		buf = buf[:0]
		for _, c := range codes {
			buf = append(buf, decoded[c]...)
		}
		if len(buf) < 2 || len(buf) > kallsymsNameMax {
			return fmt.Errorf("kallsyms: symbol %d: implausible name length %d", i, len(buf)), true
		}
		starts = append(starts, a.Names+uint64(names.start0))
		syms = append(syms, entry{addr: addrOf(i), typ: buf[0], nameOff: uint32(allNames.Len()), nameLen: uint32(len(buf) - 1)})
		allNames.Write(buf[1:])
		return nil, false
	}
	var failedAt int // where in kallsyms_names the first run failed
	for i := uint32(0); i < num; i++ {
		if err, garbage := one(i); err != nil {
			failedAt = names.start0
			if err := stop(i, err, garbage); err != nil {
				return nil, err
			}
			break
		}
	}
	// kept[j] is the symbol index of syms[j] when a resync leaves a gap.
	var kept []uint32
	if cut != nil {
		kept = resync(rd, a, num, starts, failedAt, names, one, &syms, &starts)
		if kept != nil {
			cut = fmt.Errorf("decoded %d of %d symbols (those in %s lost): %w", len(syms), num, gaps(kept, num), errors.Unwrap(cut))
		}
	}
	t := newTable(allNames.String(), syms, "kallsyms")
	t.incomplete = cut
	if cut != nil {
		// The symbols lost are those from the first not kept on; their
		// addresses are known, so that no address of one of them is put
		// down to the kept symbol below it.
		t.lost = make([]uint64, 0, num-uint32(len(syms)))
		next := 0 // into kept
		for i := uint32(0); i < num; i++ {
			switch {
			case kept == nil && i < uint32(len(syms)):
			case kept != nil && next < len(kept) && kept[next] == i:
				next++
			default:
				t.lost = append(t.lost, addrOf(i))
			}
		}
		slices.Sort(t.lost)
	}
	return t, nil
}

// kallsyms_markers (scripts/kallsyms.c) gives where in kallsyms_names the
// name of every 256th symbol starts. It is not in VMCOREINFO, but it lies
// after kallsyms_names and before kallsyms_token_table, and the offsets of
// the markers of the symbols decoded before a failure are known, so it is
// found by searching for them. Past the failure, decoding resumes at the
// first marker beyond the failing page; each block of 256 symbols is kept
// only if it ends exactly where the next marker says (the last one: just
// before the markers), so garbage that decodes as plausible names is not
// kept, and the indexes, hence the addresses, stay exact.
const markerEvery = 256

// resync decodes the symbols after the failure at failedAt (an offset in
// kallsyms_names) from the markers, appending them to syms and starts. It
// returns the symbol index of each entry of syms, or nil when the markers
// were not found (then syms is unchanged).
func resync(rd func(string, uint64, int) ([]byte, error), a KallsymsAddrs, num uint32, starts []uint64, failedAt int,
	names *chunkReader, one func(uint32) (error, bool), syms *[]entry, startsOut *[]uint64) []uint32 {
	known := (len(starts) + markerEvery - 1) / markerEvery
	if known < 3 || a.TokenTable <= a.Names {
		return nil // two markers past 0 at least, or a match means little
	}
	want := make([]uint64, known)
	for k := range want {
		want[k] = starts[k*markerEvery] - a.Names
	}
	nm := int(num+markerEvery-1) / markerEvery
	markers, at := findMarkers(rd, a.Names, a.Names+uint64(failedAt), a.TokenTable, want, nm)
	if markers == nil {
		return nil
	}
	namesEnd := at - a.Names
	firstRun := uint32(len(*syms))
	kept := make([]uint32, firstRun)
	for j := range kept {
		kept[j] = uint32(j)
	}
	// The first marker past the failing page.
	bad := (a.Names+uint64(failedAt))&^4095 + 4096 - a.Names
	for k := 0; k < nm; {
		if uint32(k*markerEvery) < firstRun || markers[k] < bad {
			k++
			continue
		}
		n0 := len(*syms)
		names.pos, names.buf, names.start = int(markers[k]), nil, int(markers[k])
		lo, hi := uint32(k*markerEvery), min(uint32((k+1)*markerEvery), num)
		ok := true
		for i := lo; i < hi && ok; i++ {
			if err, _ := one(i); err != nil {
				ok = false
			}
		}
		end := uint64(names.pos)
		switch {
		case !ok:
		case k+1 < nm:
			ok = end == markers[k+1]
		default:
			ok = end <= namesEnd && namesEnd-end < 8
		}
		if !ok {
			// Drop the block; go on past the page where it went wrong.
			*syms, *startsOut = (*syms)[:n0], (*startsOut)[:n0]
			bad = (a.Names+uint64(names.start0))&^4095 + 4096 - a.Names
			k++
			continue
		}
		for i := lo; i < hi; i++ {
			kept = append(kept, i)
		}
		k++
	}
	return kept
}

// findMarkers searches [from, to) for kallsyms_markers, whose first
// entries are want, as 32-bit or as 64-bit words, and returns its nm
// entries and address; nil if not found or not plausible. names is
// kallsyms_names' address.
func findMarkers(rd func(string, uint64, int) ([]byte, error), names, from, to uint64, want []uint64, nm int) ([]uint64, uint64) {
	head := want[:min(len(want), 16)] // searched for; the rest checked
	// The names are at most maxNameBytes: a token table address from
	// damaged memory must not make the search walk the address space.
	if lim := names + maxNameBytes + uint64(nm)*8; lim > names && lim < to {
		to = lim
	}
	for _, w := range []int{4, 8} {
		pat := make([]byte, len(head)*w)
		for k, v := range head {
			if w == 4 {
				binary.LittleEndian.PutUint32(pat[k*w:], uint32(v))
			} else {
				binary.LittleEndian.PutUint64(pat[k*w:], v)
			}
		}
		var prev []byte
		for pg := from &^ 4095; pg < to && pg >= from&^4095; pg += 4096 {
			b, err := rd("kallsyms_markers", pg, 4096)
			if err != nil {
				prev = nil
				continue
			}
			win := append(prev, b...)
			winAt := pg - uint64(len(prev))
			for off := 0; ; {
				i := bytes.Index(win[off:], pat)
				if i < 0 {
					break
				}
				va := winAt + uint64(off+i)
				off += i + 1
				if va%uint64(w) != 0 || va < from {
					continue
				}
				if m := readMarkers(rd, va, w, nm, to, names, want); m != nil {
					return m, va
				}
			}
			prev = b[len(b)-len(pat)+1:]
		}
	}
	return nil, 0
}

// readMarkers reads nm markers of w bytes at va, and checks that they
// begin with want, grow, and point before va (the names precede them).
func readMarkers(rd func(string, uint64, int) ([]byte, error), va uint64, w, nm int, to, names uint64, want []uint64) []uint64 {
	if va+uint64(nm*w) > to {
		return nil
	}
	b, err := rd("kallsyms_markers", va, nm*w)
	if err != nil {
		return nil
	}
	m := make([]uint64, nm)
	for k := range m {
		if w == 4 {
			m[k] = uint64(binary.LittleEndian.Uint32(b[k*w:]))
		} else {
			m[k] = binary.LittleEndian.Uint64(b[k*w:])
		}
		if k > 0 && m[k] <= m[k-1] || m[k] >= va-names || k < len(want) && m[k] != want[k] {
			return nil
		}
	}
	return m
}

// gaps describes the symbol indexes in [0, num) that kept lacks.
func gaps(kept []uint32, num uint32) string {
	var parts []string
	next := uint32(0)
	for _, i := range append(kept, num) {
		if i > next {
			parts = append(parts, fmt.Sprintf("%d-%d", next, i-1))
		}
		next = i + 1
	}
	return strings.Join(parts, ", ")
}

// readTokenTable reads the NUL-separated token strings far enough to hold the
// token at the highest index.
func readTokenTable(rd func(string, uint64, int) ([]byte, error), va uint64, maxIdx int) ([]byte, error) {
	for size := maxIdx + 64; ; size *= 2 {
		size = min(size, maxTokenTable)
		t, err := rd("kallsyms_token_table", va, size)
		if err != nil {
			return nil, err
		}
		for i := maxIdx; i < len(t); i++ {
			if t[i] == 0 {
				return t, nil
			}
		}
		if size == maxTokenTable {
			return nil, fmt.Errorf("kallsyms: token table at %#x has no end within %d bytes", va, size)
		}
	}
}

// chunkReader reads kallsyms_names sequentially in large pieces: its length
// is not recorded anywhere, and one read per byte would be ruinous in a browser.
type chunkReader struct {
	rd    func(string, uint64, int) ([]byte, error)
	va    uint64
	buf   []byte
	start int // offset of buf[0] from va
	pos   int // next offset to return
	// start0 is where the symbol being decoded starts.
	start0 int
}

func (c *chunkReader) byte() (byte, error) {
	b, err := c.next(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// next returns the next n bytes (n is at most a compressed name's length,
// far below kallsymsReadSize), refilling the chunk when they are not all
// in it.
func (c *chunkReader) next(n int) ([]byte, error) {
	if c.pos+n > c.start+len(c.buf) {
		b, err := c.rd("kallsyms_names", c.va+uint64(c.pos), kallsymsReadSize)
		if err != nil {
			// The table may end near the end of mapped memory: retry small.
			b, err = c.rd("kallsyms_names", c.va+uint64(c.pos), max(n, 64))
			if err != nil {
				return nil, err
			}
		}
		c.buf, c.start = b, c.pos
	}
	v := c.buf[c.pos-c.start : c.pos-c.start+n]
	c.pos += n
	return v, nil
}
