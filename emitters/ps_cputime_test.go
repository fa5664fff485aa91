package emitters

import (
	"fmt"
	"math"
	"math/bits"
)

// ps's CPU-time columns against drgn: TIME, %CPU (ps aux) and C (ps -L)
// come from utime and stime as /proc/<pid>/stat gives them, which the
// kernel computes when the file is read: cputime_adjust()
// (kernel/sched/cputime.c) splits the precise run time (sum_exec_runtime)
// in the ratio of the tick-sampled utime and stime, never below the split
// it reported last (prev_cputime); a process's are its threads' summed
// with those its exited threads left in the signal struct
// (thread_group_cputime_adjusted()), a thread's its own
// (task_cputime_adjusted()). Applied here to drgn's raw values, exactly.

// cputimeAdjusted is cputime_adjust()'s arithmetic (5.10 to 7.x: the
// stime share by mul_u64_u64_div_u64(), since 5.9's "sched/cputime:
// Improve cputime_adjust()").
func cputimeAdjusted(rtime, utime, stime uint64, prev [2]uint64) (ut, st uint64) {
	prevU, prevS := prev[0], prev[1]
	if prevS+prevU >= rtime {
		return prevU, prevS
	}
	switch {
	case stime == 0:
		utime = rtime
	case utime == 0:
		stime = rtime
	default:
		hi, lo := bits.Mul64(stime, rtime)
		if d := stime + utime; hi < d {
			stime, _ = bits.Div64(hi, lo, d)
		} else {
			stime = math.MaxUint64
		}
		stime = min(stime, rtime)
	}
	stime = max(stime, prevS)
	utime = rtime - stime
	if utime < prevU {
		utime = prevU
		stime = rtime - utime
	}
	return utime, stime
}

// oracleCputime is the utime and stime (ns) /proc/<pid>/stat shows for
// drgn's task w: the whole process's when group (thread_group_cputime():
// the signal struct's plus every thread's, adjusted against
// signal->prev_cputime), else the thread's own. ok is false when a thread
// ran on a nohz_full CPU (vtime state VTIME_SYS or later): the time the
// kernel would add then needs the clock of the moment.
func oracleCputime(o *oracleData, w oracleTask, group bool) (ut, st uint64, ok bool) {
	const vtimeSys = 2
	if !group {
		if w.Vtime != nil && w.Vtime.State >= vtimeSys {
			return 0, 0, false
		}
		ut, st = cputimeAdjusted(w.SumExecRuntime, w.Utime, w.Stime, w.PrevCputime)
		return ut, st, true
	}
	if w.Signal == nil {
		return 0, 0, false
	}
	ut, st, rt := w.Signal.Utime, w.Signal.Stime, w.Signal.SumSchedRuntime
	for _, th := range o.Tasks {
		if th.TGID != w.TGID {
			continue
		}
		if th.Vtime != nil && th.Vtime.State >= vtimeSys {
			return 0, 0, false
		}
		ut += th.Utime
		st += th.Stime
		rt += th.SumExecRuntime
	}
	ut, st = cputimeAdjusted(rt, ut, st, w.Signal.PrevCputime)
	return ut, st, true
}

// clockT is nsec_to_clock_t() at USER_HZ 100.
func clockT(ns uint64) uint64 { return ns / 1e7 }

// oracleTicks is utime + stime in clock ticks, each converted as
// /proc/<pid>/stat prints it (see oracleCputime).
func oracleTicks(o *oracleData, w oracleTask, group bool) (ticks uint64, ok bool) {
	ut, st, ok := oracleCputime(o, w, group)
	return clockT(ut) + clockT(st), ok
}

// psUtilization is procps' CPU use of a task, in percent: its CPU ticks
// over the ticks elapsed since it started (the boot-time clock at the
// crash, drgn's, less its start_boottime in ticks), scaled by scale (10
// for %CPU's tenths); both integer parts a float's rounding may give.
func psUtilization(o *oracleData, w oracleTask, ticks uint64, scale float64) (lo, hi uint64) {
	elapsed := float64(o.BoottimeNs)/1e9*100 - float64(w.StartBoottime/1e7)
	if elapsed <= 0 {
		return 0, 0
	}
	x := float64(ticks) * 100 * scale / elapsed
	return uint64(max(x-1e-6, 0)), uint64(x + 1e-6)
}

// psCPUOK checks ps aux's %CPU against the utilization in tenths (procps
// pr_pcpu(): "%u.%u", or whole percents from 100 % up).
func psCPUOK(v string, lo, hi uint64) bool {
	for _, p := range []uint64{lo, hi} {
		want := fmt.Sprintf("%d.%d", p/10, p%10)
		if p > 999 {
			want = fmt.Sprint(p / 10)
		}
		if v == want {
			return true
		}
	}
	return false
}
