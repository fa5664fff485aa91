package unwind

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Memory reads the crashed kernel's virtual memory.
type Memory interface {
	ReadVirtAt(p []byte, va uint64) (int, error)
}

// Code answers for code addresses: the ORC entry covering pc (an error
// wrapping ErrNoEntry when there is none: the frame-pointer rule is used
// then), and whether pc is kernel or module text (__kernel_text_address).
type Code interface {
	ORC(pc uint64) (Entry, error)
	IsText(pc uint64) bool
}

// StackKind is the kind of a kernel stack (enum stack_type of
// arch/x86/include/asm/stacktrace.h).
type StackKind uint8

// Stack kinds.
const (
	StackUnknown   StackKind = iota
	StackTask                // the task's own stack (task->stack, THREAD_SIZE)
	StackIRQ                 // the CPU's hard-IRQ stack
	StackException           // one of the CPU's IST stacks (NMI, #DF, #MC, #DB, #VC)
	StackEntry               // the CPU's entry (trampoline) stack
)

// Stack is one stack a task may run on: [Lo, Hi). Name is what crash calls
// it ("IRQ", "NMI exception", …).
type Stack struct {
	Kind   StackKind
	Name   string
	Lo, Hi uint64
}

func (s Stack) contains(addr, n uint64) bool {
	return s.Kind != StackUnknown && addr >= s.Lo && addr+n >= addr && addr+n <= s.Hi
}

// Stacks finds the stack holding an address, for one task on one CPU
// (get_stack_info of arch/x86/kernel/dumpstack_64.c).
type Stacks interface {
	StackOf(addr uint64) (Stack, bool)
}

// StackList is a Stacks over a fixed set.
type StackList []Stack

// StackOf finds the stack of addr.
func (l StackList) StackOf(addr uint64) (Stack, bool) {
	for _, s := range l {
		if s.contains(addr, 1) {
			return s, true
		}
	}
	return Stack{}, false
}

// PtRegs is struct pt_regs of x86_64 (arch/x86/include/asm/ptrace.h), the
// layout the entry code pushes; it has not changed since x86_64 began.
type PtRegs [21]uint64

// Indices into PtRegs.
const (
	R15 = iota
	R14
	R13
	R12
	RBP
	RBX
	R11
	R10
	R9
	R8
	RAX
	RCX
	RDX
	RSI
	RDI
	OrigRAX
	RIP
	CS
	EFLAGS
	RSP
	SS
)

const (
	ptRegsSize      = 8 * len(PtRegs{})
	iretFrameOffset = 8 * RIP // IRET_FRAME_OFFSET = offsetof(struct pt_regs, ip)
	iretFrameSize   = 8 * (SS - RIP + 1)
)

// UserMode is user_mode(regs): the saved CS has a non-zero privilege level.
func (r *PtRegs) UserMode() bool { return r[CS]&3 != 0 }

// Frame is one entry of a trace, in the order stack_trace_save prints them.
type Frame struct {
	// IP is the frame's address: a return address, or for the first frame
	// and exception frames the interrupted instruction.
	IP uint64
	// SP is the stack pointer in the frame (the callee's CFA), and Slot
	// where IP was read from (0 when it came from registers).
	SP, Slot uint64
	// Stack is the stack SP lies on (Kind StackUnknown when none).
	Stack Stack
	// Regs, when not nil, are the registers saved at an interruption (an
	// exception, interrupt or syscall entry) found at RegsAt; Partial means
	// only the IRET frame (ip, cs, flags, sp, ss) is valid.
	Regs    *PtRegs
	RegsAt  uint64
	Partial bool
	// Signal: IP is not a return address (look it up as is, not IP-1).
	Signal bool
	// Guessed: ORC had no entry for the previous frame, so this one was
	// found with the frame-pointer rule (the kernel marks such a trace
	// unreliable).
	Guessed bool
}

// Trace is the result of a walk.
type Trace struct {
	Frames []Frame
	// End is nil when the walk reached the bottom (user-mode registers or
	// a kernel thread's end-of-stack entry), otherwise why it stopped.
	End error
	// UserRegs are the user-mode registers the kernel was entered with
	// (a syscall or an interrupt from user space), when the walk ended
	// there; UserRegsAt is where they are on the stack.
	UserRegs   *PtRegs
	UserRegsAt uint64
}

// Errors a walk ends with (wrapped with the address where it happened).
var (
	ErrNotText      = errors.New("address is not kernel text")
	ErrOffStack     = errors.New("address outside the task's stacks")
	ErrDirection    = errors.New("stack going in the wrong direction")
	ErrRecursion    = errors.New("stack entered twice")
	ErrMaxFrames    = errors.New("frame limit reached")
	ErrUndefinedORC = errors.New("ORC entry undefined (no unwind information)")
	ErrBadEntry     = errors.New("invalid ORC entry")
	ErrMissingReg   = errors.New("register not saved in a pt_regs")
	ErrMemory       = errors.New("stack memory unreadable")
)

// DefaultMaxFrames caps a walk: kernel stacks are 16 KiB, and the kernel
// itself keeps at most 64 entries for /proc/PID/stack.
const DefaultMaxFrames = 256

// Unwinder walks stacks of one kernel.
type Unwinder struct {
	Mem  Memory
	Code Code
	// NewSPIndirect: SP_INDIRECT means sp = *sp + offset (v5.12+, commit
	// 87ccc826bf1c "x86/unwind/orc: Change REG_SP_INDIRECT"); before, sp =
	// *(sp + offset).
	NewSPIndirect bool
	// MaxFrames caps a walk (DefaultMaxFrames when 0).
	MaxFrames int
}

// Start is where a walk begins.
type Start struct {
	IP, SP, BP uint64
	// Signal: IP is not a return address (a sleeping task's ret_addr is
	// ret_from_fork).
	Signal bool
	// Regs, when set, are a CPU's saved registers: the walk starts as the
	// kernel's does from regs (IP, SP, BP are taken from them).
	Regs *PtRegs
}

// The kernel's built-in entries (unwind_orc.c): for ip 0 (a call through
// a NULL pointer), and the frame-pointer rule used when ORC has no entry.
var (
	nullEntry = Entry{SPReg: RegSP, SPOffset: 8, BPReg: RegUndefined, Kind: KindCall}
	fpEntry   = Entry{SPReg: RegBP, SPOffset: 16, BPReg: RegPrevSP, BPOffset: -16, Kind: KindCall}
)

type state struct {
	ip, sp, bp uint64
	signal     bool
	regs       *PtRegs // last pt_regs (a copy), nil after a call frame
	regsAt     uint64
	full       bool    // regs is a full pt_regs, not only an IRET frame
	prev       *PtRegs // the full regs before an IRET-only frame
	stack      Stack
	visited    []Stack
	stacks     Stacks
	guessed    bool
	cpuRegs    bool // the walk starts at a CPU's saved registers, not yet stepped
}

// Walk unwinds from start over the given stacks.
func (u *Unwinder) Walk(start Start, stacks Stacks) Trace {
	max := u.MaxFrames
	if max <= 0 {
		max = DefaultMaxFrames
	}
	st := &state{ip: start.IP, sp: start.SP, bp: start.BP, signal: start.Signal, stacks: stacks}
	if start.Regs != nil {
		r := *start.Regs
		if r.UserMode() {
			// the_end: the CPU ran user code, nothing of the kernel is on
			// the stack.
			return Trace{UserRegs: &r}
		}
		st.ip, st.sp, st.bp = r[RIP], r[RSP], r[RBP]
		st.regs, st.full, st.signal, st.cpuRegs = &r, true, true, true
	}
	s, ok := stacks.StackOf(st.sp)
	if !ok {
		// As __unwind_start: a stack overflowed into its guard page
		// continues on the next page up.
		if s, ok = stacks.StackOf((st.sp + 4095) &^ 4095); !ok {
			return Trace{End: fmt.Errorf("sp %#x: %w", st.sp, ErrOffStack)}
		}
	}
	st.stack, st.visited = s, []Stack{s}
	var tr Trace
	for {
		if !u.Code.IsText(st.ip) && (len(tr.Frames) > 0 || start.Regs == nil) {
			if st.regs == nil || !st.regs.UserMode() {
				tr.End = fmt.Errorf("ip %#x: %w", st.ip, ErrNotText)
			} else {
				r := *st.regs
				tr.UserRegs, tr.UserRegsAt = &r, st.regsAt
			}
			return tr
		}
		f := Frame{IP: st.ip, SP: st.sp, Signal: st.signal, Guessed: st.guessed}
		if fs, ok := stacks.StackOf(st.sp); ok {
			f.Stack = fs
		}
		if st.regs != nil && len(tr.Frames) > 0 {
			r := *st.regs
			f.Regs, f.RegsAt, f.Partial = &r, st.regsAt, !st.full
		}
		if st.regs == nil && len(tr.Frames) > 0 {
			f.Slot = st.sp - 8
		}
		tr.Frames = append(tr.Frames, f)
		if len(tr.Frames) >= max {
			tr.End = fmt.Errorf("after %d frames: %w", max, ErrMaxFrames)
			return tr
		}
		done, err := u.step(st)
		if done {
			tr.End = err
			return tr
		}
	}
}

// read reads a word of stack memory, moving to the stack that holds it as
// stack_access_ok() does (each stack is entered at most once).
func (u *Unwinder) read(st *state, addr uint64, n int) ([]byte, error) {
	if !st.stack.contains(addr, uint64(n)) {
		s, ok := st.stacks.StackOf(addr)
		if !ok || !s.contains(addr, uint64(n)) {
			return nil, fmt.Errorf("%#x: %w", addr, ErrOffStack)
		}
		for _, v := range st.visited {
			if v == s {
				return nil, fmt.Errorf("%s stack at %#x: %w", s.Name, addr, ErrRecursion)
			}
		}
		st.visited = append(st.visited, s)
		st.stack = s
	}
	b := make([]byte, n)
	if _, err := u.Mem.ReadVirtAt(b, addr); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMemory, err)
	}
	return b, nil
}

func (u *Unwinder) word(st *state, addr uint64) (uint64, error) {
	b, err := u.read(st, addr, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// reg is get_reg(): a register from the last full pt_regs, or from the one
// before an IRET-only frame.
func (st *state) reg(i int) (uint64, bool) {
	switch {
	case st.regs == nil:
		return 0, false
	case st.full:
		return st.regs[i], true
	case st.prev != nil:
		return st.prev[i], true
	}
	return 0, false
}

// step is unwind_next_frame(): done is true when the walk ends, with err
// nil at the bottom of the stack.
func (u *Unwinder) step(st *state) (done bool, err error) {
	origIP, prevSP, prevStack := st.ip, st.sp, st.stack
	at := func(e error) error { return fmt.Errorf("ip %#x: %w", origIP, e) }
	if st.regs != nil && st.regs.UserMode() {
		return true, nil
	}
	pc := st.ip
	if !st.signal {
		pc--
	}
	var e Entry
	if pc == 0 {
		e = nullEntry
	} else if e, err = u.Code.ORC(pc); err != nil {
		if !errors.Is(err, ErrNoEntry) {
			return true, at(err)
		}
		e, st.guessed = fpEntry, true
	} else {
		switch e.Kind {
		case KindUndefined:
			if ip, sp, ok := u.crashCaller(st); ok {
				st.ip, st.sp, st.regs, st.prev, st.signal, st.guessed, st.cpuRegs = ip, sp, nil, nil, false, true, false
				return false, nil
			}
			return true, at(ErrUndefinedORC)
		case KindEndOfStack:
			return true, nil
		}
	}
	st.signal, st.cpuRegs = e.Signal, false

	var sp uint64
	indirect := false
	switch e.SPReg {
	case RegSP:
		sp = st.sp + uint64(int64(e.SPOffset))
	case RegBP:
		sp = st.bp + uint64(int64(e.SPOffset))
	case RegSPIndirect:
		if u.NewSPIndirect {
			sp = st.sp
		} else {
			sp = st.sp + uint64(int64(e.SPOffset))
		}
		indirect = true
	case RegBPIndirect:
		sp = st.bp + uint64(int64(e.SPOffset))
		indirect = true
	case RegR10, RegR13, RegDI, RegDX, RegAX:
		i := map[Reg]int{RegR10: R10, RegR13: R13, RegDI: RDI, RegDX: RDX, RegAX: RAX}[e.SPReg]
		v, ok := st.reg(i)
		if !ok {
			return true, at(fmt.Errorf("%w (sp base register %d)", ErrMissingReg, e.SPReg))
		}
		sp = v
	default:
		return true, at(fmt.Errorf("%w: sp base register %d", ErrBadEntry, e.SPReg))
	}
	if indirect {
		if sp, err = u.word(st, sp); err != nil {
			return true, at(err)
		}
		if e.SPReg == RegSPIndirect && u.NewSPIndirect {
			sp += uint64(int64(e.SPOffset))
		}
	}

	switch e.Kind {
	case KindCall:
		ip, err := u.word(st, sp-8)
		if err != nil {
			return true, at(err)
		}
		st.ip, st.sp = ip, sp
		st.regs, st.prev = nil, nil
	case KindRegs:
		b, err := u.read(st, sp, ptRegsSize)
		if err != nil {
			return true, at(err)
		}
		var r PtRegs
		for i := range r {
			r[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		st.ip, st.sp = r[RIP], r[RSP]
		st.regs, st.regsAt, st.prev, st.full = &r, sp, nil, true
	case KindRegsPartial:
		b, err := u.read(st, sp, iretFrameSize)
		if err != nil {
			return true, at(err)
		}
		var r PtRegs
		for i := RIP; i <= SS; i++ {
			r[i] = binary.LittleEndian.Uint64(b[8*(i-RIP):])
		}
		st.ip, st.sp = r[RIP], r[RSP]
		if st.full {
			st.prev = st.regs
		}
		st.regs, st.regsAt, st.full = &r, sp-iretFrameOffset, false
	default:
		return true, at(fmt.Errorf("%w: type %v", ErrBadEntry, e.Kind))
	}

	switch e.BPReg {
	case RegUndefined:
		if v, ok := st.reg(RBP); ok {
			st.bp = v
		}
	case RegPrevSP:
		if st.bp, err = u.word(st, sp+uint64(int64(e.BPOffset))); err != nil {
			return true, at(err)
		}
	case RegBP:
		if st.bp, err = u.word(st, st.bp+uint64(int64(e.BPOffset))); err != nil {
			return true, at(err)
		}
	default:
		return true, at(fmt.Errorf("%w: bp base register %d", ErrBadEntry, e.BPReg))
	}

	// As the kernel: on one stack, the stack pointer must grow.
	if st.stack == prevStack && st.stack.contains(st.sp, 8) && st.sp <= prevSP {
		return true, at(ErrDirection)
	}
	return false, nil
}
