package linux

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/kernel/unwind"
)

// StackTracer unwinds the stacks of one kernel's tasks: the ORC tables and
// the kernel facts the walks need, read once.
type StackTracer struct {
	prog *object.Program
	ORC  *ORC
	u    unwind.Unwinder
	// inactive_task_frame: its size and where bp and ret_addr are.
	frameSize, bpOff, retOff uint64
	retFromFork              uint64
	sched, lock              [2]uint64

	// walks keeps each sleeping task's walk, by task address: its
	// /proc/PID/stack, wchan (in its own file and in ps) and bt_blocked
	// all start from the same switch frame, and a task that is not
	// running does not move in a dump.
	mu    sync.Mutex
	walks map[uint64]sleepingWalk
}

type sleepingWalk struct {
	tr  unwind.Trace
	err error
}

// MaxStackTraceDepth is MAX_STACK_TRACE_DEPTH of fs/proc/base.c: the most
// entries /proc/PID/stack shows.
const MaxStackTraceDepth = 64

// NewStackTracer loads the ORC tables (from vmlinux when given, see
// OpenORC) and probes the kernel; modules lists the loaded modules
// (Symbolizer.Modules).
func NewStackTracer(p *object.Program, vmlinux io.ReaderAt, kaslr uint64, modules func() ([]*ModuleKallsyms, error)) (*StackTracer, error) {
	o, err := OpenORC(p, vmlinux, kaslr, modules)
	if err != nil {
		return nil, err
	}
	t := &StackTracer{prog: p, ORC: o, u: unwind.Unwinder{Mem: p.Mem, Code: o, NewSPIndirect: NewSPIndirect(p)}}
	ft, err := p.Type("struct inactive_task_frame")
	if err != nil {
		return nil, err
	}
	if t.frameSize, err = ktype.Sizeof(ft); err != nil {
		return nil, err
	}
	if t.bpOff, err = ktype.MemberOffset(ft, "bp"); err != nil {
		return nil, err
	}
	if t.retOff, err = ktype.MemberOffset(ft, "ret_addr"); err != nil {
		return nil, err
	}
	// v6.6 moved the fork return into ret_from_fork_asm (3aec4ecb3d1f);
	// __unwind_start compares ret_addr with it.
	if t.retFromFork, err = p.Syms.Addr("ret_from_fork_asm"); err != nil {
		if t.retFromFork, err = p.Syms.Addr("ret_from_fork"); err != nil {
			return nil, err
		}
	}
	for _, r := range []struct {
		dst        *[2]uint64
		start, end string
	}{{&t.sched, "__sched_text_start", "__sched_text_end"}, {&t.lock, "__lock_text_start", "__lock_text_end"}} {
		a, err1 := p.Syms.Addr(r.start)
		b, err2 := p.Syms.Addr(r.end)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		*r.dst = [2]uint64{a, b}
	}
	return t, nil
}

// Unwinder is the underlying unwinder.
func (t *StackTracer) Unwinder() *unwind.Unwinder { return &t.u }

// InSchedFunctions is in_sched_functions() of kernel/sched/core.c: the
// scheduler's and the lock functions' text, which stack traces of sleeping
// tasks leave out.
func (t *StackTracer) InSchedFunctions(addr uint64) bool {
	return in(t.sched, addr) || in(t.lock, addr)
}

// TaskOnCPU is task->on_cpu: the task was running when the kernel stopped.
func TaskOnCPU(task object.Object) (bool, error) {
	v, err := task.Member("on_cpu").Int()
	return v != 0, err
}

// SleepingStart is where __unwind_start begins for a task that is not
// running: its switch frame at thread.sp (struct inactive_task_frame),
// returning into __schedule, or into ret_from_fork for a new task.
func (t *StackTracer) SleepingStart(task object.Object) (unwind.Start, error) {
	sp, err := task.Member("thread").Member("sp").Uint()
	if err != nil {
		return unwind.Start{}, err
	}
	b := make([]byte, t.frameSize)
	if _, err := t.prog.Mem.ReadVirtAt(b, sp); err != nil {
		return unwind.Start{}, fmt.Errorf("switch frame at %#x: %w", sp, err)
	}
	word := func(off uint64) uint64 {
		var v uint64
		for i := range uint64(8) {
			v |= uint64(b[off+i]) << (8 * i)
		}
		return v
	}
	ip := word(t.retOff)
	return unwind.Start{IP: ip, SP: sp + t.frameSize, BP: word(t.bpOff), Signal: ip == t.retFromFork}, nil
}

// Stacks are the stacks a walk of task may use: its own, and those of cpu
// when it ran there (cpu < 0: none).
func (t *StackTracer) Stacks(task object.Object, cpu int) (unwind.StackList, error) {
	ts, err := TaskStackBounds(task)
	if err != nil {
		return nil, err
	}
	out := unwind.StackList{ts}
	if cpu >= 0 {
		cs, err := CPUStacks(t.prog, cpu)
		out = append(out, cs...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// WalkSleeping unwinds a task that is not on a CPU, once per task: later
// calls return the same trace (its Frames are shared: read only). A walk
// that could not start is made again for each caller, so that its error
// is the caller's whatever the order of the outputs (report.Share runs
// them in another order in its helper).
func (t *StackTracer) WalkSleeping(task object.Object) (unwind.Trace, error) {
	key, addressed := task.Address()
	if !addressed {
		return t.walkSleeping(task)
	}
	t.mu.Lock()
	w, ok := t.walks[key]
	t.mu.Unlock()
	if ok && w.err == nil {
		return w.tr, nil
	}
	if ok {
		// Walked again for this caller's own error: it names the path the
		// task was reached by, whichever output asked first.
		return t.walkSleeping(task)
	}
	tr, err := t.walkSleeping(task)
	t.mu.Lock()
	if t.walks == nil {
		t.walks = map[uint64]sleepingWalk{}
	}
	t.walks[key] = sleepingWalk{tr, err}
	t.mu.Unlock()
	return tr, err
}

func (t *StackTracer) walkSleeping(task object.Object) (unwind.Trace, error) {
	start, err := t.SleepingStart(task)
	if err != nil {
		return unwind.Trace{}, err
	}
	stacks, err := t.Stacks(task, -1)
	if err != nil {
		return unwind.Trace{}, err
	}
	return t.u.Walk(start, stacks), nil
}

// WalkRegs unwinds task from a CPU's saved registers (a crash note).
func (t *StackTracer) WalkRegs(task object.Object, cpu int, regs *unwind.PtRegs) (unwind.Trace, error) {
	stacks, err := t.Stacks(task, cpu)
	tr := t.u.Walk(unwind.Start{Regs: regs}, stacks)
	if err != nil && tr.End != nil {
		// The walk still goes as far as the stacks that are known (the
		// CPU's IRQ stacks); where it stops, the unreadable task stack is
		// the cause, and the end says so.
		tr.End = fmt.Errorf("%w: the task's stack is unknown (%w)", tr.End, err)
	}
	return tr, err
}

// ErrStackFreed is returned for a dead task whose stack was freed
// (try_get_task_stack fails): the kernel shows no entries.
var ErrStackFreed = errors.New("task stack freed")

// ErrTaskRunning is returned for a task that was running on a CPU: the
// kernel refuses to unwind those from another task (task_on_another_cpu).
var ErrTaskRunning = errors.New("task running on a CPU")

// StackTraceSaveTsk is stack_trace_save_tsk(task, …, MAX_STACK_TRACE_DEPTH,
// 0) as /proc/PID/stack calls it (arch_stack_walk with
// stack_trace_consume_entry_nosched): the return addresses outside the
// scheduler and lock functions. A running task gives ErrTaskRunning, a
// task whose stack is gone ErrStackFreed: the file is empty for both. The trace's End says why the walk stopped.
func (t *StackTracer) StackTraceSaveTsk(task object.Object) ([]uint64, unwind.Trace, error) {
	if onCPU, err := TaskOnCPU(task); err != nil {
		return nil, unwind.Trace{}, err
	} else if onCPU {
		return nil, unwind.Trace{}, ErrTaskRunning
	}
	if task.HasMember("stack_refcount") {
		// try_get_task_stack(): a dead task's stack is freed.
		if n, err := task.Member("stack_refcount").Member("refs").Member("counter").Int(); err == nil && n == 0 {
			return nil, unwind.Trace{}, ErrStackFreed
		}
	}
	tr, err := t.WalkSleeping(task)
	if err != nil {
		return nil, tr, err
	}
	var out []uint64
	for _, f := range tr.Frames {
		if t.InSchedFunctions(f.IP) {
			continue
		}
		if len(out) == MaxStackTraceDepth {
			break
		}
		out = append(out, f.IP)
	}
	return out, tr, nil
}

// taskWaking is TASK_WAKING of include/linux/sched.h.
const taskWaking = 0x200

// GetWchan is get_wchan() of kernel/sched/core.c (v5.16+; before, the same
// walk in arch/x86/kernel/process.c): for a blocked task that is not on a
// run queue, the first entry of its stack trace outside the scheduler
// (__get_wchan); 0 otherwise.
func (t *StackTracer) GetWchan(task object.Object) (uint64, error) {
	member := "__state" // "state" before 5.14 (2f064a59a11f)
	if !task.HasMember(member) {
		member = "state"
	}
	state, err := task.Member(member).Uint()
	if err != nil {
		return 0, err
	}
	onRQ, err := task.Member("on_rq").Int()
	if err != nil {
		return 0, err
	}
	if state == 0 || state == taskWaking || onRQ != 0 {
		return 0, nil
	}
	addrs, _, err := t.StackTraceSaveTsk(task)
	switch {
	case errors.Is(err, ErrTaskRunning) || errors.Is(err, ErrStackFreed):
		return 0, nil
	case err != nil:
		// A stack the dump cannot give (a page it lacks) is no "0": the
		// kernel prints 0 only for a stack it walked.
		return 0, err
	case len(addrs) == 0:
		return 0, nil
	}
	return addrs[0], nil
}
