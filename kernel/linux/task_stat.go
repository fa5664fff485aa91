package linux

import (
	"errors"
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Priority constants of include/linux/sched/prio.h.
const (
	maxRTPrio     = 100 // MAX_RT_PRIO
	defaultPrio   = 120 // DEFAULT_PRIO: static_prio of nice 0
	pageSize      = 4096
	threadSizeStd = 4 * pageSize // THREAD_SIZE on x86_64 (THREAD_SIZE_ORDER 2)
)

// TaskCPU mirrors task_cpu() in include/linux/sched.h: the CPU the task
// last ran on, task->thread_info.cpu on x86 since 5.16, task->cpu before.
func TaskCPU(task object.Object) (int64, error) {
	if task.HasMember("thread_info.cpu") {
		return task.Member("thread_info.cpu").Int()
	}
	return task.Member("cpu").Int()
}

// TaskPrio mirrors task_prio() in kernel/sched/core.c: p->prio -
// MAX_RT_PRIO, -100..-1 for real-time tasks and 0..39 for the others.
func TaskPrio(task object.Object) (int64, error) {
	v, err := task.Member("prio").Int()
	return v - maxRTPrio, err
}

// TaskNice mirrors task_nice(): PRIO_TO_NICE(p->static_prio).
func TaskNice(task object.Object) (int64, error) {
	v, err := task.Member("static_prio").Int()
	return v - defaultPrio, err
}

// TaskIsRunning mirrors task_is_running(): the state word is TASK_RUNNING.
func TaskIsRunning(task object.Object) (bool, error) {
	member := "__state"
	if !task.HasMember(member) {
		member = "state"
	}
	v, err := task.Member(member).Uint()
	return v == 0, err
}

// TaskPtRegs mirrors task_pt_regs() for x86_64 with try_get_task_stack():
// the struct pt_regs a task saved on entry to the kernel, at the top of its
// stack. ok is false when the stack is already released (stack_refcount 0).
// THREAD_SIZE doubles with KASAN; FRED (6.9) reserves 16 bytes above the
// registers.
func TaskPtRegs(task object.Object) (regs object.Object, ok bool, err error) {
	p := task.Prog()
	if task.HasMember("stack_refcount") {
		ref, err := task.Member("stack_refcount.refs.counter").Uint()
		if err != nil || ref == 0 {
			return object.Object{}, false, err
		}
	}
	stack, err := task.Member("stack").Uint()
	if err != nil || stack == 0 {
		return object.Object{}, false, err
	}
	t, err := p.Type("struct pt_regs")
	if err != nil {
		return object.Object{}, false, err
	}
	size, err := ktype.Sizeof(t)
	if err != nil {
		return object.Object{}, false, err
	}
	top := stack + threadSizeStd
	if hasSymbol(p, "kasan_flag_enabled") || hasSymbol(p, "__asan_load8") {
		top = stack + 2*threadSizeStd
	}
	if hasSymbol(p, "asm_fred_entrypoint_user") {
		top -= 16 // TOP_OF_KERNEL_STACK_PADDING with CONFIG_X86_FRED
	}
	return p.Object(t, top-size, fmt.Sprintf("task_pt_regs(%s)", task.Path())), true, nil
}

// StatWchanIsRunningFlag reports whether field 35 of /proc/<pid>/stat is
// !task_is_running() (v5.16, "proc: Use task_is_running() for wchan in
// /proc/$pid/stat", in the series that added __get_wchan(), whose symbol
// is the probe); before, it is whether get_wchan() found a wchan.
func StatWchanIsRunningFlag(p *object.Program) bool {
	return HasSymbol(p, "__get_wchan")
}

// threadSize is THREAD_SIZE on x86_64 without KASAN: 4 pages.
const threadSize = 16 << 10

// maxWchanFrames is get_wchan()'s bound on the frames it follows.
const maxWchanFrames = 16

// GetWchanFP mirrors x86_64 get_wchan() before v5.16 (arch/x86/kernel/
// process.c): from the task's saved stack pointer, the struct
// inactive_task_frame's bp, then up the frame-pointer chain to the first
// return address outside the scheduler and lock functions; 0 when a frame
// leaves the task's stack (kernels built without frame pointers mostly
// give 0). The caller has checked the task is not running.
func GetWchanFP(task object.Object) (uint64, error) {
	p := task.Prog()
	start, err := task.Member("stack").Uint()
	if err != nil || start == 0 {
		return 0, err
	}
	top := start + threadSize - 2*8 // no TOP_OF_KERNEL_STACK_PADDING on x86_64
	sp, err := task.Member("thread.sp").Uint()
	if err != nil {
		return 0, err
	}
	if sp < start || sp > top {
		return 0, nil
	}
	frameT, err := p.Type("struct inactive_task_frame")
	if err != nil {
		return 0, err
	}
	word, err := p.Type("unsigned long")
	if err != nil {
		return 0, err
	}
	var ranges [2][2]uint64
	for i, r := range [][2]string{{"__sched_text_start", "__sched_text_end"}, {"__lock_text_start", "__lock_text_end"}} {
		a, err1 := p.Syms.Addr(r[0])
		b, err2 := p.Syms.Addr(r[1])
		if err := errors.Join(err1, err2); err != nil {
			return 0, err
		}
		ranges[i] = [2]uint64{a, b}
	}
	fp, err := p.Object(frameT, sp, "inactive_task_frame").Member("bp").Uint()
	if err != nil {
		return 0, err
	}
	for range maxWchanFrames + 1 {
		if fp < start || fp > top {
			return 0, nil
		}
		ip, err := p.Object(word, fp+8, "return address").Uint()
		if err != nil {
			return 0, err
		}
		if !(ip >= ranges[0][0] && ip < ranges[0][1]) && !(ip >= ranges[1][0] && ip < ranges[1][1]) {
			return ip, nil
		}
		if fp, err = p.Object(word, fp, "saved frame pointer").Uint(); err != nil {
			return 0, err
		}
	}
	return 0, nil
}
