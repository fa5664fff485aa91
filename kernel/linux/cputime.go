package linux

import (
	"math/bits"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// UserHZ is USER_HZ, the tick rate of the clock_t values /proc prints.
const UserHZ = 100

// NsecToClockT mirrors nsec_to_clock_t() in kernel/time/time.c.
func NsecToClockT(ns uint64) uint64 { return ns / (1e9 / UserHZ) }

// TaskCputimes is struct task_cputime: user, system and scheduler run time,
// in nanoseconds.
type TaskCputimes struct {
	Utime, Stime, SumExecRuntime uint64
	// Pending is set when a task ran on a nohz_full CPU (VIRT_CPU_ACCOUNTING_GEN
	// active): the time since its last vtime update is not in the dump's
	// counters, so the kernel would have shown a little more.
	Pending bool
}

// vtimeSys is VTIME_SYS of enum vtime_state: states from it on have time
// pending in task->vtime.
const vtimeSys = 2

// TaskCputime mirrors task_cputime() (include/linux/sched/cputime.h, and
// kernel/sched/cputime.c with CONFIG_VIRT_CPU_ACCOUNTING_GEN): the task's
// utime and stime, plus what its vtime holds while it runs on a nohz_full
// CPU. The time since the last vtime update (vtime_delta, which needs the
// clock at the moment of reading) cannot be known from a dump.
func TaskCputime(t object.Object) (TaskCputimes, error) {
	var c TaskCputimes
	var err error
	if c.Utime, err = t.Member("utime").Uint(); err != nil {
		return c, err
	}
	if c.Stime, err = t.Member("stime").Uint(); err != nil {
		return c, err
	}
	if c.SumExecRuntime, err = t.Member("se.sum_exec_runtime").Uint(); err != nil {
		return c, err
	}
	if !t.HasMember("vtime") {
		return c, nil
	}
	state, err := t.Member("vtime.state").Uint()
	if err != nil || state < vtimeSys {
		return c, err
	}
	c.Pending = true
	if state == vtimeSys {
		v, err := t.Member("vtime.stime").Uint()
		c.Stime += v
		return c, err
	}
	v, err := t.Member("vtime.utime").Uint()
	c.Utime += v
	return c, err
}

// ThreadGroupCputime mirrors thread_group_cputime() in
// kernel/sched/cputime.c: the times of the exited threads (kept in the
// signal struct) plus those of every live thread of task's group.
func ThreadGroupCputime(task object.Object) (TaskCputimes, error) {
	var c TaskCputimes
	sig := task.Member("signal").Settle()
	var err error
	if c.Utime, err = sig.Member("utime").Uint(); err != nil {
		return c, err
	}
	if c.Stime, err = sig.Member("stime").Uint(); err != nil {
		return c, err
	}
	if c.SumExecRuntime, err = sig.Member("sum_sched_runtime").Uint(); err != nil {
		return c, err
	}
	for t, err := range ForEachThread(task) {
		if err != nil {
			return c, err
		}
		tc, err := TaskCputime(t)
		if err != nil {
			return c, err
		}
		c.Utime += tc.Utime
		c.Stime += tc.Stime
		c.SumExecRuntime += tc.SumExecRuntime
		c.Pending = c.Pending || tc.Pending
	}
	return c, nil
}

// mulDiv is mul_u64_u64_div_u64(a, b, c): a*b/c without overflow.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		// a*b >= c<<64: the quotient does not fit in 64 bits (or c is 0).
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// CputimeAdjust mirrors cputime_adjust() in kernel/sched/cputime.c: splits
// the precise run time (SumExecRuntime) between user and system in the
// ratio of the tick-sampled utime and stime, never going below what was
// reported before (the struct prev_cputime object prev). The kernel stores
// the result back into prev; reading a dump, we only compute it.
func CputimeAdjust(curr TaskCputimes, prev object.Object) (ut, st uint64, err error) {
	prevU, err := prev.Member("utime").Uint()
	if err != nil {
		return 0, 0, err
	}
	prevS, err := prev.Member("stime").Uint()
	if err != nil {
		return 0, 0, err
	}
	ut, st = cputimeAdjust(curr, prevU, prevS)
	return ut, st, nil
}

// cputimeAdjust is the arithmetic of cputime_adjust().
func cputimeAdjust(curr TaskCputimes, prevU, prevS uint64) (ut, st uint64) {
	rtime := curr.SumExecRuntime
	if prevS+prevU >= rtime {
		return prevU, prevS
	}
	stime, utime := curr.Stime, curr.Utime
	switch {
	case stime == 0:
		utime = rtime
	case utime == 0:
		stime = rtime
	default:
		stime = min(mulDiv(stime, rtime, stime+utime), rtime)
	}
	if stime < prevS {
		stime = prevS
	}
	utime = rtime - stime
	if utime < prevU {
		utime = prevU
		stime = rtime - utime
	}
	return utime, stime
}

// ThreadGroupCputimeAdjusted mirrors thread_group_cputime_adjusted(): the
// whole process's user and system time as /proc/PID/stat shows them.
func ThreadGroupCputimeAdjusted(task object.Object) (ut, st uint64, pending bool, err error) {
	c, err := ThreadGroupCputime(task)
	if err != nil {
		return 0, 0, false, err
	}
	ut, st, err = CputimeAdjust(c, task.Member("signal").Member("prev_cputime"))
	return ut, st, c.Pending, err
}

// TaskCputimeAdjusted mirrors task_cputime_adjusted(): one thread's user
// and system time, as /proc/PID/task/TID/stat shows them.
func TaskCputimeAdjusted(t object.Object) (ut, st uint64, pending bool, err error) {
	c, err := TaskCputime(t)
	if err != nil {
		return 0, 0, false, err
	}
	ut, st, err = CputimeAdjust(c, t.Member("prev_cputime"))
	return ut, st, c.Pending, err
}
