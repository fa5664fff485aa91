// Package unwind is an x86_64 ORC stack unwinder for a crashed kernel: the
// algorithm of arch/x86/kernel/unwind_orc.c (unwind_next_frame), run over a
// dump's memory instead of the live stack.
//
// The package knows nothing of dumps, symbols or types beyond what it is
// handed: memory (Memory), ORC tables and text ranges (Code), and the stacks
// a task may run on (Stacks). kernel/linux builds those from a kernel.
//
// Security: tables and stacks come from a possibly corrupt dump. Every
// table size is checked before allocating, every read is bounded to a known
// stack, and every walk is capped (frame count, a stack may only grow, each
// stack is entered once); a walk that cannot go on ends with a reason.
package unwind

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// Kind is what an ORC entry says about its frame, the same for every layout
// (the kernel renumbered the types in v6.4, see Layout).
type Kind uint8

// Entry kinds.
const (
	KindUndefined   Kind = iota // no unwind information: an error to reach
	KindEndOfStack              // the bottom of a kernel thread's stack
	KindCall                    // an ordinary call frame
	KindRegs                    // a full struct pt_regs at the CFA
	KindRegsPartial             // an IRET frame (ip, cs, flags, sp, ss) at the CFA
)

func (k Kind) String() string {
	switch k {
	case KindUndefined:
		return "undefined"
	case KindEndOfStack:
		return "end-of-stack"
	case KindCall:
		return "call"
	case KindRegs:
		return "regs"
	case KindRegsPartial:
		return "regs-partial"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Reg is an ORC base register, numbered as arch/x86/include/asm/orc_types.h
// has them from v4.14 to v7.0.
type Reg uint8

// ORC_REG_* values.
const (
	RegUndefined  Reg = 0
	RegPrevSP     Reg = 1
	RegDX         Reg = 2
	RegDI         Reg = 3
	RegBP         Reg = 4
	RegSP         Reg = 5
	RegR10        Reg = 6
	RegR13        Reg = 7
	RegBPIndirect Reg = 8
	RegSPIndirect Reg = 9
	// RegAX has no number in the old numbering: 7.x's ORC_REG_AX (1).
	RegAX Reg = 16
)

// regsRenumbered maps 7.x's ORC_REG_* numbers (arch/x86/include/asm/
// orc_types.h of 7.2: UNDEFINED 0, AX 1, DX 2, SP 3, BP 4, DI 5, R10 6,
// R13 7, PREV_SP 8, SP_INDIRECT 9, BP_INDIRECT 10; ORC_REG_AX came with
// 96f3b16a9de5, "objtool: Support Clang RAX DRAP sequence") to the Reg
// values above.
var regsRenumbered = [16]Reg{RegUndefined, RegAX, RegDX, RegSP, RegBP, RegDI, RegR10, RegR13,
	RegPrevSP, RegSPIndirect, RegBPIndirect, 11, 12, 13, 14, 15}

// Raw register numbers of a function's first instruction (CFA = SP + 8),
// in each numbering: what ProbeRegNumbering tells them apart by.
const (
	rawSPOld = 5
	rawSPNew = 3
)

// Entry is one decoded struct orc_entry.
type Entry struct {
	SPOffset, BPOffset int16
	SPReg, BPReg       Reg
	Kind               Kind
	// Signal: the frame's ip is not a return address (no ip-1 when looking
	// up the caller). Only layouts with a signal bit (v6.3+) set it per
	// entry; before, REGS and REGS_PARTIAL imply it.
	Signal bool
}

// EntrySize is sizeof(struct orc_entry): s16, s16 and a 16-bit flags word.
const EntrySize = 6

// field is a bitfield of the flags word (bits 32–47 of the entry).
type field struct{ shift, width uint8 }

func (f field) get(w uint16) uint8 {
	if f.width == 0 {
		return 0
	}
	return uint8(w>>f.shift) & (1<<f.width - 1)
}

// Layout is the bit layout of struct orc_entry's flags word in one kernel,
// read from the type (BTF or DWARF), never from the version:
//
//	≤ v6.2  sp_reg:4 bp_reg:4 type:2 end:1
//	v6.3    sp_reg:4 bp_reg:4 type:2 signal:1 end:1   (ffb1b4a41016)
//	≥ v6.4  sp_reg:4 bp_reg:4 type:3 signal:1         (fb799447ae29)
//
// fb799447ae29 ("x86,objtool: Split UNWIND_HINT_EMPTY in two") removed
// `end` and renumbered the types (UNDEFINED 0, END_OF_STACK 1, CALL 2, REGS
// 3, REGS_PARTIAL 4; before: CALL 0, REGS 1, REGS_PARTIAL 2, and "sp_reg
// undefined" meant the end of the stack when `end` was set, an error when
// not). So the presence of `end` decides the numbering.
type Layout struct {
	spReg, bpReg, typ, signal, end field
	// renumberedRegs: the registers are numbered as in 7.x
	// (regsRenumbered), which no type tells: ProbeRegNumbering finds it
	// from the table itself.
	renumberedRegs bool
}

// WithRenumberedRegs is l decoding 7.x's register numbers.
func (l Layout) WithRenumberedRegs() Layout {
	l.renumberedRegs = true
	return l
}

// ProbeRegNumbering says whether the table's registers are numbered as in
// 7.x, from the entry at fn, the first instruction of a C function (its
// CFA is SP + 8 in every kernel: sp_reg is ORC_REG_SP, 5 before, 3 since).
// t must decode with a layout that does not renumber (LayoutOf's).
func ProbeRegNumbering(t *Table, fn uint64) (renumbered bool, err error) {
	e, err := t.Find(fn)
	if err != nil {
		return false, err
	}
	if e.Kind != KindCall || e.SPOffset != 8 {
		return false, fmt.Errorf("%w: entry at function start %#x is %v sp%+d, not a call frame at sp+8", ErrBadEntry, fn, e.Kind, e.SPOffset)
	}
	switch raw := e.SPReg; raw {
	case rawSPOld:
		return false, nil
	case rawSPNew:
		return true, nil
	default:
		return false, fmt.Errorf("%w: sp base register %d at function start %#x", ErrBadEntry, raw, fn)
	}
}

// ErrLayout is wrapped when struct orc_entry has an unknown shape.
var ErrLayout = errors.New("unknown struct orc_entry layout")

// LayoutOf reads the layout from the kernel's struct orc_entry.
func LayoutOf(t ktype.Type) (Layout, error) {
	var l Layout
	s, ok := ktype.As[*ktype.Struct](t)
	if !ok {
		return l, fmt.Errorf("%w: %v is not a struct", ErrLayout, t)
	}
	if s.Size != EntrySize {
		return l, fmt.Errorf("%w: size %d, want %d", ErrLayout, s.Size, EntrySize)
	}
	found := map[string]bool{}
	for _, m := range s.Members {
		var dst *field
		switch m.Name {
		case "sp_reg":
			dst = &l.spReg
		case "bp_reg":
			dst = &l.bpReg
		case "type":
			dst = &l.typ
		case "signal":
			dst = &l.signal
		case "end":
			dst = &l.end
		case "sp_offset", "bp_offset":
			if m.Offset != 0 && m.Offset != 16 {
				return l, fmt.Errorf("%w: %s at bit %d", ErrLayout, m.Name, m.Offset)
			}
			found[m.Name] = true
			continue
		default:
			continue // big-endian padding ("unused") and future members
		}
		w := uint64(m.BitfieldSize)
		if w == 0 || w > 8 || m.Offset < 32 || uint64(m.Offset)+w > 48 {
			return l, fmt.Errorf("%w: %s is %d bits at bit %d", ErrLayout, m.Name, w, m.Offset)
		}
		*dst = field{shift: uint8(m.Offset - 32), width: uint8(w)}
		found[m.Name] = true
	}
	for _, need := range []string{"sp_offset", "bp_offset", "sp_reg", "bp_reg", "type"} {
		if !found[need] {
			return l, fmt.Errorf("%w: no member %s", ErrLayout, need)
		}
	}
	if !found["end"] && !found["signal"] {
		return l, fmt.Errorf("%w: neither end nor signal", ErrLayout)
	}
	return l, nil
}

// The three layouts the kernel has had, for tests and tools.
var (
	LayoutV1 = Layout{spReg: field{0, 4}, bpReg: field{4, 4}, typ: field{8, 2}, end: field{10, 1}}
	LayoutV2 = Layout{spReg: field{0, 4}, bpReg: field{4, 4}, typ: field{8, 2}, signal: field{10, 1}, end: field{11, 1}}
	LayoutV3 = Layout{spReg: field{0, 4}, bpReg: field{4, 4}, typ: field{8, 3}, signal: field{11, 1}}
)

// HasSignal says whether entries carry their own signal bit (v6.3+).
func (l Layout) HasSignal() bool { return l.signal.width != 0 }

// renumbered: the v6.4 type numbering (no `end` bit).
func (l Layout) renumbered() bool { return l.end.width == 0 }

// Decode decodes one 6-byte entry.
func (l Layout) Decode(b []byte) Entry {
	w := binary.LittleEndian.Uint16(b[4:])
	e := Entry{
		SPOffset: int16(binary.LittleEndian.Uint16(b[0:])),
		BPOffset: int16(binary.LittleEndian.Uint16(b[2:])),
		SPReg:    Reg(l.spReg.get(w)),
		BPReg:    Reg(l.bpReg.get(w)),
		Signal:   l.signal.get(w) != 0,
	}
	if l.renumberedRegs {
		e.SPReg, e.BPReg = regsRenumbered[e.SPReg&15], regsRenumbered[e.BPReg&15]
	}
	t := l.typ.get(w)
	if l.renumbered() {
		e.Kind = Kind(t) // above 4: unknown, the walk stops on it
		return e
	}
	switch {
	case e.SPReg == RegUndefined && l.end.get(w) != 0:
		e.Kind = KindEndOfStack
	case e.SPReg == RegUndefined:
		e.Kind = KindUndefined
	case t == 0:
		e.Kind = KindCall
	case t == 1:
		e.Kind = KindRegs
	case t == 2:
		e.Kind = KindRegsPartial
	default:
		e.Kind = Kind(10 + t) // unknown
	}
	if !l.HasSignal() {
		e.Signal = e.Kind == KindRegs || e.Kind == KindRegsPartial
	}
	return e
}

// Encode is Decode's inverse, for building tables in tests.
func (l Layout) Encode(e Entry) []byte {
	b := make([]byte, EntrySize)
	binary.LittleEndian.PutUint16(b[0:], uint16(e.SPOffset))
	binary.LittleEndian.PutUint16(b[2:], uint16(e.BPOffset))
	var t, end uint16
	if l.renumbered() {
		t = uint16(e.Kind)
	} else {
		switch e.Kind {
		case KindCall:
			t = 0
		case KindRegs:
			t = 1
		case KindRegsPartial:
			t = 2
		case KindEndOfStack:
			end = 1
		default:
			if e.Kind >= 10 { // an unknown type, as Decode reports it
				t = uint16(e.Kind - 10)
			}
		}
	}
	w := uint16(e.SPReg)<<l.spReg.shift | uint16(e.BPReg)<<l.bpReg.shift | t<<l.typ.shift
	if l.end.width != 0 {
		w |= end << l.end.shift
	}
	if l.signal.width != 0 && e.Signal {
		w |= 1 << l.signal.shift
	}
	binary.LittleEndian.PutUint16(b[4:], w)
	return b
}

// Table is one sorted ORC table: .orc_unwind_ip (int32 offsets, entry i
// covers from &ip[i] + ip[i]) and .orc_unwind, kept raw and decoded on use.
type Table struct {
	ipBase   uint64 // address of ip[0]
	ips      []byte
	orcs     []byte
	n        int
	layout   Layout
	unsorted int // index of the first entry out of order, or -1
}

// WithLayout is the same table decoded with l (after ProbeRegNumbering).
func (t *Table) WithLayout(l Layout) *Table {
	c := *t
	c.layout = l
	return &c
}

// MaxTableBytes bounds a table read from a dump (the 6.1 vmlinux's is 3.7 MB).
const MaxTableBytes = 64 << 20

// ErrTable is wrapped by every error about a corrupt or absent table.
var ErrTable = errors.New("bad ORC table")

// NewTable checks and wraps raw tables: ips holds n int32s, orcs n entries.
func NewTable(ipBase uint64, ips, orcs []byte, l Layout) (*Table, error) {
	if len(ips)%4 != 0 || len(orcs)%EntrySize != 0 || len(ips)/4 != len(orcs)/EntrySize {
		return nil, fmt.Errorf("%w: %d bytes of ips and %d of entries do not pair up", ErrTable, len(ips), len(orcs))
	}
	t := &Table{ipBase: ipBase, ips: ips, orcs: orcs, n: len(ips) / 4, layout: l, unsorted: -1}
	for i := 1; i < t.n; i++ {
		if t.IP(i) < t.IP(i-1) {
			t.unsorted = i
			break
		}
	}
	return t, nil
}

// ReadTable reads a table from memory: [ipStart, ipStop) and [start, stop).
func ReadTable(r io.ReaderAt, ipStart, ipStop, start, stop uint64, l Layout) (*Table, error) {
	if ipStop < ipStart || stop < start || ipStop-ipStart > MaxTableBytes || stop-start > MaxTableBytes {
		return nil, fmt.Errorf("%w: ips %#x-%#x, entries %#x-%#x", ErrTable, ipStart, ipStop, start, stop)
	}
	if (ipStop-ipStart)/4 != (stop-start)/EntrySize {
		return nil, fmt.Errorf("%w: %d ips, %d entries", ErrTable, (ipStop-ipStart)/4, (stop-start)/EntrySize)
	}
	ips, err := readGrow(r, ipStop-ipStart, ipStart)
	if err != nil {
		return nil, fmt.Errorf("ORC ips at %#x: %w", ipStart, err)
	}
	orcs, err := readGrow(r, stop-start, start)
	if err != nil {
		return nil, fmt.Errorf("ORC entries at %#x: %w", start, err)
	}
	return NewTable(ipStart, ips, orcs, l)
}

// readGrow reads n bytes at off a MiB at a time, so that memory follows
// what r holds rather than the bounds the kernel's symbols claim.
func readGrow(r io.ReaderAt, n, off uint64) ([]byte, error) {
	const step = 1 << 20
	b := make([]byte, 0, min(n, step))
	for uint64(len(b)) < n {
		k := int(min(n-uint64(len(b)), step))
		b = slices.Grow(b, k)
		if _, err := r.ReadAt(b[len(b):len(b)+k], int64(off)+int64(len(b))); err != nil {
			return nil, err
		}
		b = b[:len(b)+k]
	}
	return b, nil
}

// Len is the number of entries.
func (t *Table) Len() int { return t.n }

// IP is the first address entry i covers.
func (t *Table) IP(i int) uint64 {
	off := int32(binary.LittleEndian.Uint32(t.ips[4*i:]))
	return t.ipBase + uint64(4*i) + uint64(int64(off))
}

// Entry decodes entry i.
func (t *Table) Entry(i int) Entry { return t.layout.Decode(t.orcs[EntrySize*i:]) }

// Range is the first and last address the table has an entry for.
func (t *Table) Range() (lo, hi uint64) {
	if t.n == 0 {
		return 1, 0
	}
	return t.IP(0), t.IP(t.n - 1)
}

// ErrNoEntry is wrapped when no entry covers an address.
var ErrNoEntry = errors.New("no ORC entry")

// Find is __orc_find(): the rightmost entry whose address is at or below pc
// (of duplicates the rightmost: the kernel sorts the weak section
// terminators to the left of real entries).
func (t *Table) Find(pc uint64) (Entry, error) {
	if t.unsorted >= 0 {
		return Entry{}, fmt.Errorf("%w: entries out of order at index %d (%#x after %#x)", ErrTable, t.unsorted, t.IP(t.unsorted), t.IP(t.unsorted-1))
	}
	lo, hi, found := 0, t.n-1, -1
	for lo <= hi {
		mid := lo + (hi-lo)/2
		if t.IP(mid) <= pc {
			found = mid
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	if found < 0 {
		return Entry{}, fmt.Errorf("%w for %#x", ErrNoEntry, pc)
	}
	return t.Entry(found), nil
}
