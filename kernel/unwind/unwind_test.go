package unwind

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// fakeMem is memory made of byte slices at addresses.
type fakeMem map[uint64][]byte

func (m fakeMem) ReadVirtAt(p []byte, va uint64) (int, error) {
	for base, b := range m {
		if va >= base && va-base+uint64(len(p)) <= uint64(len(b)) {
			return copy(p, b[va-base:]), nil
		}
	}
	return 0, fmt.Errorf("no memory at %#x", va)
}

func (m fakeMem) put(va, v uint64) {
	for base, b := range m {
		if va >= base && va-base+8 <= uint64(len(b)) {
			binary.LittleEndian.PutUint64(b[va-base:], v)
			return
		}
	}
	panic(fmt.Sprintf("no memory at %#x", va))
}

// fakeCode is one ORC table over text [0x1000, 0x2000).
type fakeCode struct{ t *Table }

func (c fakeCode) ORC(pc uint64) (Entry, error) {
	if pc < 0x1000 || pc >= 0x2000 {
		return Entry{}, ErrNoEntry
	}
	return c.t.Find(pc)
}
func (c fakeCode) IsText(pc uint64) bool { return pc >= 0x1000 && pc < 0x2000 }

// table builds a table whose ip array sits at 0x100000.
func table(t testing.TB, l Layout, ips []uint64, es []Entry) *Table {
	const base = 0x100000
	ipb := make([]byte, 4*len(ips))
	var orcs []byte
	for i, ip := range ips {
		binary.LittleEndian.PutUint32(ipb[4*i:], uint32(int32(int64(ip)-int64(base+4*i))))
		orcs = append(orcs, l.Encode(es[i])...)
	}
	tab, err := NewTable(base, ipb, orcs, l)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

var layouts = map[string]Layout{"v1 (<=6.2)": LayoutV1, "v2 (6.3)": LayoutV2, "v3 (>=6.4)": LayoutV3}

func TestLayoutRoundTrip(t *testing.T) {
	for name, l := range layouts {
		for _, e := range []Entry{
			{SPOffset: 16, SPReg: RegSP, BPOffset: -16, BPReg: RegPrevSP, Kind: KindCall},
			{SPOffset: 0, SPReg: RegSP, Kind: KindRegs, Signal: true},
			{SPOffset: 8, SPReg: RegSPIndirect, Kind: KindRegsPartial, Signal: true},
			{Kind: KindEndOfStack},
			{Kind: KindUndefined},
			{SPOffset: -32768, SPReg: RegBP, BPOffset: 32767, BPReg: RegBP, Kind: KindCall},
		} {
			if !l.HasSignal() {
				e.Signal = e.Kind == KindRegs || e.Kind == KindRegsPartial
			}
			if got := l.Decode(l.Encode(e)); got != e {
				t.Errorf("%s: %+v decodes as %+v", name, e, got)
			}
		}
	}
	// The same bytes mean different things across the v6.4 renumbering
	// (fb799447ae29): type 1 is REGS before, END_OF_STACK after.
	b := []byte{8, 0, 0, 0, byte(RegSP), 1}
	if k := LayoutV1.Decode(b).Kind; k != KindRegs {
		t.Errorf("v1 type 1 = %v, want regs", k)
	}
	if k := LayoutV3.Decode(b).Kind; k != KindEndOfStack {
		t.Errorf("v3 type 1 = %v, want end-of-stack", k)
	}
}

// orcType builds struct orc_entry as BTF/DWARF describe it.
func orcType(bits ...any) *ktype.Struct {
	s := &ktype.Struct{Name: "orc_entry", Size: 6, Members: []ktype.Member{
		{Name: "sp_offset", Offset: 0}, {Name: "bp_offset", Offset: 16},
	}}
	for i := 0; i < len(bits); i += 3 {
		s.Members = append(s.Members, ktype.Member{Name: bits[i].(string), Offset: ktype.Bits(bits[i+1].(int)), BitfieldSize: ktype.Bits(bits[i+2].(int))})
	}
	return s
}

func TestLayoutOf(t *testing.T) {
	for _, c := range []struct {
		name string
		typ  *ktype.Struct
		want Layout
	}{
		{"6.1", orcType("sp_reg", 32, 4, "bp_reg", 36, 4, "type", 40, 2, "end", 42, 1), LayoutV1},
		{"6.3", orcType("sp_reg", 32, 4, "bp_reg", 36, 4, "type", 40, 2, "signal", 42, 1, "end", 43, 1), LayoutV2},
		{"6.12", orcType("sp_reg", 32, 4, "bp_reg", 36, 4, "type", 40, 3, "signal", 43, 1), LayoutV3},
	} {
		got, err := LayoutOf(c.typ)
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	for name, typ := range map[string]*ktype.Struct{
		"no type":      orcType("sp_reg", 32, 4, "bp_reg", 36, 4, "end", 42, 1),
		"no end/sig":   orcType("sp_reg", 32, 4, "bp_reg", 36, 4, "type", 40, 2),
		"out of range": orcType("sp_reg", 44, 8, "bp_reg", 36, 4, "type", 40, 2, "end", 42, 1),
	} {
		if _, err := LayoutOf(typ); !errors.Is(err, ErrLayout) {
			t.Errorf("%s: %v, want ErrLayout", name, err)
		}
	}
}

const (
	taskLo, taskHi = 0x10000, 0x14000
	irqLo, irqHi   = 0x20000, 0x24000
)

var testStacks = StackList{
	{Kind: StackTask, Name: "task", Lo: taskLo, Hi: taskHi},
	{Kind: StackIRQ, Name: "IRQ", Lo: irqLo, Hi: irqHi},
}

func newMem() fakeMem {
	return fakeMem{taskLo: make([]byte, taskHi-taskLo), irqLo: make([]byte, irqHi-irqLo)}
}

// Functions of the synthetic text: A at 0x1000 (a frame of 16 bytes with
// a saved bp), B at 0x1100 (no frame), C at 0x1200 (the end of the
// stack), R at 0x1300 (an entry stub with pt_regs at its CFA), I at
// 0x1400 (an IRQ stack switch: sp = *sp + 8), and a hole at 0x1500.
func code(t testing.TB, l Layout, override map[uint64]Entry) fakeCode {
	ips := []uint64{0x1000, 0x1100, 0x1200, 0x1300, 0x1400, 0x1500}
	es := []Entry{
		{SPReg: RegSP, SPOffset: 16, BPReg: RegPrevSP, BPOffset: -16, Kind: KindCall},
		{SPReg: RegSP, SPOffset: 8, Kind: KindCall},
		{Kind: KindEndOfStack},
		{SPReg: RegSP, SPOffset: 0, Kind: KindRegs, Signal: true},
		{SPReg: RegSPIndirect, SPOffset: 8, Kind: KindCall},
		{Kind: KindUndefined},
	}
	for i, ip := range ips {
		if e, ok := override[ip]; ok {
			es[i] = e
		}
	}
	return fakeCode{table(t, l, ips, es)}
}

func ips(tr Trace) []uint64 {
	var out []uint64
	for _, f := range tr.Frames {
		out = append(out, f.IP)
	}
	return out
}

func TestWalkCallFrames(t *testing.T) {
	for name, l := range layouts {
		t.Run(name, func(t *testing.T) {
			m := newMem()
			sp := uint64(taskHi - 0x100)
			m.put(sp, 0xbb)      // A's saved bp at cfa-16
			m.put(sp+8, 0x1110)  // A returns into B
			m.put(sp+16, 0x1210) // B returns into C
			u := Unwinder{Mem: m, Code: code(t, l, nil), NewSPIndirect: true}
			tr := u.Walk(Start{IP: 0x1010, SP: sp, Signal: true}, testStacks)
			if tr.End != nil || fmt.Sprint(ips(tr)) != fmt.Sprint([]uint64{0x1010, 0x1110, 0x1210}) {
				t.Fatalf("frames %x, end %v", ips(tr), tr.End)
			}
			if tr.Frames[1].Slot != sp+8 || tr.Frames[2].SP != sp+24 {
				t.Errorf("frame 1 slot %#x, frame 2 sp %#x", tr.Frames[1].Slot, tr.Frames[2].SP)
			}
		})
	}
}

func TestWalkIRQStackToUserRegs(t *testing.T) {
	m := newMem()
	// On the IRQ stack: I switched stacks, the word at sp links back.
	isp := uint64(irqHi - 8)
	tsp := uint64(taskHi - 0x200)
	m.put(isp, tsp)
	// sp = *isp + 8 = tsp+8: I returns (read at tsp) into R, whose CFA
	// tsp+8 holds a user-mode pt_regs.
	m.put(tsp, 0x1310)
	regs := tsp + 8
	m.put(regs+8*RIP, 0x401000)
	m.put(regs+8*CS, 0x33)
	m.put(regs+8*RSP, 0x7ffd0000)
	u := Unwinder{Mem: m, Code: code(t, LayoutV3, nil), NewSPIndirect: true}
	tr := u.Walk(Start{IP: 0x1410, SP: isp, Signal: true}, testStacks)
	if tr.End != nil || len(tr.Frames) != 2 || tr.UserRegs == nil || tr.UserRegs[RIP] != 0x401000 {
		t.Fatalf("frames %x, end %v, user regs %v", ips(tr), tr.End, tr.UserRegs)
	}
	if tr.Frames[0].Stack.Kind != StackIRQ || tr.Frames[1].Stack.Kind != StackTask {
		t.Errorf("stacks %v, %v", tr.Frames[0].Stack, tr.Frames[1].Stack)
	}
	// Before v5.12, SP_INDIRECT is sp = *(sp + offset): the same stack
	// read 8 bytes higher, past the IRQ stack's end.
	u.NewSPIndirect = false
	tr = u.Walk(Start{IP: 0x1410, SP: isp, Signal: true}, testStacks)
	if !errors.Is(tr.End, ErrOffStack) {
		t.Errorf("old SP_INDIRECT: end %v, want ErrOffStack", tr.End)
	}
}

func TestWalkCorrupt(t *testing.T) {
	sp := uint64(taskHi - 0x100)
	for _, c := range []struct {
		name     string
		override map[uint64]Entry
		setup    func(m fakeMem)
		max      int
		want     error
	}{
		// A frame that does not move the stack pointer would loop.
		{"cycle", map[uint64]Entry{0x1000: {SPReg: RegSP, SPOffset: 0, Kind: KindCall}},
			func(m fakeMem) { m.put(sp-8, 0x1010) }, 0, ErrDirection},
		{"backwards", map[uint64]Entry{0x1000: {SPReg: RegSP, SPOffset: -64, Kind: KindCall}},
			func(m fakeMem) { m.put(sp-72, 0x1010) }, 0, ErrDirection},
		{"offset off the stack", map[uint64]Entry{0x1000: {SPReg: RegSP, SPOffset: 32000, Kind: KindCall}},
			nil, 0, ErrOffStack},
		{"bp off the stack", map[uint64]Entry{0x1000: {SPReg: RegBP, SPOffset: 16, Kind: KindCall}},
			nil, 0, ErrOffStack},
		{"undefined entry", nil, func(m fakeMem) { m.put(sp+8, 0x1510) }, 0, ErrUndefinedORC},
		{"bad register", map[uint64]Entry{0x1000: {SPReg: 12, SPOffset: 16, Kind: KindCall}}, nil, 0, ErrBadEntry},
		{"bad type", map[uint64]Entry{0x1000: {SPReg: RegSP, SPOffset: 16, Kind: 13}}, nil, 0, ErrBadEntry}, // type 3 of v1
		{"missing regs", map[uint64]Entry{0x1000: {SPReg: RegR10, Kind: KindCall}}, nil, 0, ErrMissingReg},
		{"not text", nil, func(m fakeMem) { m.put(sp+8, 0x9999) }, 0, ErrNotText},
		// Each frame returns into A one word higher: it only ends at the cap.
		{"frame cap", map[uint64]Entry{0x1000: {SPReg: RegSP, SPOffset: 8, Kind: KindCall}},
			func(m fakeMem) {
				for a := sp; a < taskHi; a += 8 {
					m.put(a, 0x1010)
				}
			}, 5, ErrMaxFrames},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newMem()
			if c.setup != nil {
				c.setup(m)
			}
			u := Unwinder{Mem: m, Code: code(t, LayoutV1, c.override), NewSPIndirect: true, MaxFrames: c.max}
			tr := u.Walk(Start{IP: 0x1010, SP: sp, Signal: true}, testStacks)
			if !errors.Is(tr.End, c.want) {
				t.Errorf("end %v, want %v (frames %x)", tr.End, c.want, ips(tr))
			}
		})
	}
}

func TestWalkStackRecursion(t *testing.T) {
	m := newMem()
	isp := uint64(irqHi - 8)
	tsp := uint64(taskHi - 0x200)
	// I on the IRQ stack links to the task stack, where I again links
	// back to the IRQ stack: a stack may be entered only once.
	m.put(isp, tsp)
	m.put(tsp, 0x1410)
	m.put(tsp+8, irqLo+0x100)
	m.put(irqLo+0x100, 0x1010)
	u := Unwinder{Mem: m, Code: code(t, LayoutV3, nil), NewSPIndirect: true}
	tr := u.Walk(Start{IP: 0x1410, SP: isp, Signal: true}, testStacks)
	if !errors.Is(tr.End, ErrRecursion) {
		t.Errorf("end %v, frames %x", tr.End, ips(tr))
	}
}

func TestUnsortedTable(t *testing.T) {
	e := Entry{SPReg: RegSP, SPOffset: 8, Kind: KindCall}
	tab := table(t, LayoutV1, []uint64{0x1000, 0x1200, 0x1100}, []Entry{e, e, e})
	if _, err := tab.Find(0x1150); !errors.Is(err, ErrTable) {
		t.Errorf("unsorted table: %v, want ErrTable", err)
	}
	m := newMem()
	u := Unwinder{Mem: m, Code: fakeCode{tab}, NewSPIndirect: true}
	tr := u.Walk(Start{IP: 0x1010, SP: taskHi - 0x100, Signal: true}, testStacks)
	if !errors.Is(tr.End, ErrTable) {
		t.Errorf("walk over an unsorted table ends with %v", tr.End)
	}
	if _, err := NewTable(0, make([]byte, 8), make([]byte, 6), LayoutV1); !errors.Is(err, ErrTable) {
		t.Errorf("mismatched table sizes: %v", err)
	}
}

func TestFramePointerFallback(t *testing.T) {
	m := newMem()
	sp := uint64(taskHi - 0x100)
	// pc 0x1f00 has an entry (the table's last one covers it) but 0x3000
	// has none: the frame-pointer rule finds the caller through bp.
	bp := sp + 0x20
	m.put(bp, sp+0x40)   // saved bp
	m.put(bp+8, 0x1110)  // return address into B
	m.put(bp+16, 0x1210) // B returns into C
	c := code(t, LayoutV3, nil)
	u := Unwinder{Mem: m, Code: fallbackCode{c}, NewSPIndirect: true}
	tr := u.Walk(Start{IP: 0x3000, SP: sp, BP: bp, Signal: true}, testStacks)
	if tr.End != nil || len(tr.Frames) != 3 || !tr.Frames[1].Guessed {
		t.Fatalf("frames %+v end %v", tr.Frames, tr.End)
	}
}

// fallbackCode also calls [0x3000, 0x4000) text, with no ORC.
type fallbackCode struct{ fakeCode }

func (c fallbackCode) IsText(pc uint64) bool {
	return c.fakeCode.IsText(pc) || pc >= 0x3000 && pc < 0x4000
}

// FuzzWalk feeds arbitrary tables and stack contents to the unwinder: it
// must end, within its frame cap, without panicking.
func FuzzWalk(f *testing.F) {
	f.Add([]byte{0, 0x10, 0, 0, 16, 0, 0xf0, 0xff, 0x15, 0}, []byte{0x10, 0x10, 0, 0, 0, 0, 0, 0}, uint16(0x100), uint8(0))
	f.Fuzz(func(t *testing.T, tab, stack []byte, spOff uint16, layout uint8) {
		l := []Layout{LayoutV1, LayoutV2, LayoutV3}[int(layout)%3]
		n := len(tab) / 10
		if n > 64 {
			n = 64
		}
		ipb := make([]byte, 4*n)
		var orcs []byte
		for i := range n {
			rec := tab[10*i : 10*i+10]
			ip := 0x1000 + uint64(binary.LittleEndian.Uint16(rec[0:]))%0x1000
			binary.LittleEndian.PutUint32(ipb[4*i:], uint32(int32(int64(ip)-int64(0x100000+4*i))))
			orcs = append(orcs, rec[4:10]...)
		}
		tb, err := NewTable(0x100000, ipb, orcs, l)
		if err != nil {
			t.Fatal(err)
		}
		m := newMem()
		copy(m[taskLo], stack)
		copy(m[irqLo], stack)
		u := Unwinder{Mem: m, Code: fakeCode{tb}, NewSPIndirect: layout&4 == 0, MaxFrames: 64}
		tr := u.Walk(Start{IP: 0x1010, SP: taskLo + uint64(spOff)%(taskHi-taskLo), Signal: true}, testStacks)
		if len(tr.Frames) > 64 {
			t.Fatalf("%d frames past the cap", len(tr.Frames))
		}
	})
}

// TestWalkCrashSetupRegs: a kdump panicking CPU's registers point where ORC
// has no entry (crash_setup_regs' _THIS_IP_ in __crash_kexec); the walk
// goes on from the return address of the call into that function, found
// on the stack, and not from a text address that follows no such call.
func TestWalkCrashSetupRegs(t *testing.T) {
	m := newMem()
	// Text: the hole at 0x1500 (KindUndefined) plays __crash_kexec; B
	// calls it at 0x1120 (e8 rel32), returning to 0x1125.
	text := make([]byte, 0x1000)
	text[0x120] = 0xe8
	binary.LittleEndian.PutUint32(text[0x121:], uint32(int32(0x1500-0x1125)))
	m[0x1000] = text
	sp := uint64(taskHi - 0x200)
	m.put(sp+0x10, 0x1300) // text, but not after a call: skipped
	m.put(sp+0x30, 0x1125) // the return into B
	m.put(sp+0x38, 0x1210) // B (no frame) returns into C, the end
	var regs PtRegs
	regs[RIP], regs[RSP], regs[CS] = 0x1540, sp, 0x10
	u := Unwinder{Mem: m, Code: code(t, LayoutV3, nil), NewSPIndirect: true}
	tr := u.Walk(Start{Regs: &regs}, testStacks)
	if tr.End != nil || fmt.Sprint(ips(tr)) != fmt.Sprint([]uint64{0x1540, 0x1125, 0x1210}) || !tr.Frames[1].Guessed {
		t.Fatalf("frames %x, end %v", ips(tr), tr.End)
	}
	if tr.Frames[1].Slot != sp+0x30 {
		t.Errorf("caller read at %#x, want %#x", tr.Frames[1].Slot, sp+0x30)
	}
	// A sleeping task's walk (no CPU registers) still stops there.
	tr = u.Walk(Start{IP: 0x1540, SP: sp, Signal: true}, testStacks)
	if !errors.Is(tr.End, ErrUndefinedORC) {
		t.Errorf("without CPU registers: frames %x, end %v", ips(tr), tr.End)
	}
	// No call into the function on the stack: the walk stops as before.
	m.put(sp+0x30, 0)
	tr = u.Walk(Start{Regs: &regs}, testStacks)
	if !errors.Is(tr.End, ErrUndefinedORC) {
		t.Errorf("no caller: frames %x, end %v", ips(tr), tr.End)
	}
}
