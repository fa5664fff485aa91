package symbols

import (
	"encoding/binary"
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
	b, err = rd("kallsyms_relative_base", a.RelativeBase, 8)
	if err != nil {
		return nil, err
	}
	base := binary.LittleEndian.Uint64(b)
	// With CONFIG_KALLSYMS_ABSOLUTE_PERCPU (x86_64 SMP) image symbols are
	// stored as negative offsets from base-1 and per-cpu ones as absolute
	// values; without it every offset is unsigned and relative. A kernel
	// image is far smaller than 2 GiB, so any negative value tells.
	absolutePercpu := false
	for i := uint32(0); i < num; i++ {
		if int32(binary.LittleEndian.Uint32(offs[4*i:])) < 0 {
			absolutePercpu = true
			break
		}
	}

	addrOf := func(i uint32) uint64 {
		off := int32(binary.LittleEndian.Uint32(offs[4*i:]))
		switch {
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
names:
	for i := uint32(0); i < num; i++ {
		names.start0 = names.pos
		n, err := names.byte()
		if err != nil {
			if err := stop(i, err, false); err != nil {
				return nil, err
			}
			break names
		}
		length := int(n)
		if n&0x80 != 0 { // a "big" symbol: the length takes two bytes
			hi, err := names.byte()
			if err != nil {
				if err := stop(i, err, false); err != nil {
					return nil, err
				}
				break names
			}
			length = int(n&0x7f) | int(hi)<<7
		}
		if length == 0 || names.pos+length > maxNameBytes {
			if err := stop(i, fmt.Errorf("kallsyms: symbol %d: bad compressed length %d", i, length), true); err != nil {
				return nil, err
			}
			break names
		}
		codes, err := names.next(length)
		if err != nil {
			if err := stop(i, err, false); err != nil {
				return nil, err
			}
			break names
		}
		buf = buf[:0]
		for _, c := range codes {
			buf = append(buf, decoded[c]...)
		}
		if len(buf) < 2 || len(buf) > kallsymsNameMax {
			if err := stop(i, fmt.Errorf("kallsyms: symbol %d: implausible name length %d", i, len(buf)), true); err != nil {
				return nil, err
			}
			break names
		}
		starts = append(starts, a.Names+uint64(names.start0))
		syms = append(syms, entry{addr: addrOf(i), typ: buf[0], nameOff: uint32(allNames.Len()), nameLen: uint32(len(buf) - 1)})
		allNames.Write(buf[1:])
	}
	t := newTable(allNames.String(), syms, "kallsyms")
	t.incomplete = cut
	if cut != nil {
		// The symbols lost are those from the first not kept on; their
		// addresses are known, so that no address of one of them is put
		// down to the kept symbol below it.
		t.lost = make([]uint64, 0, num-uint32(len(syms)))
		for i := uint32(len(syms)); i < num; i++ {
			t.lost = append(t.lost, addrOf(i))
		}
		slices.Sort(t.lost)
	}
	return t, nil
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
