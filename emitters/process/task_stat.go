package process

import (
	"fmt"
	"strconv"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// taskStat holds the values of do_task_stat() (fs/proc/array.c) for one
// task: the process (whole, /proc/PID/stat) or one thread
// (/proc/PID/task/TID/stat). ps reads the same.
type taskStat struct {
	pid                            int64
	name                           string
	state                          byte
	ppid, pgid, sid, ttyNr, tpgid  int64
	tty                            string // tty->name, "" without a controlling tty
	flags                          uint64
	minFlt, cminFlt, majFlt, cmaj  uint64
	utime, stime, cutime, cstime   uint64 // nanoseconds
	prio, nice, threads            int64
	startTime                      uint64 // nanoseconds since boot
	vsize, rss, rsslim             uint64
	mmFields                       [3]uint64 // start_code, end_code, start_stack
	esp, eip                       uint64
	sigPnd, sigBlk, sigIgn, sigCgt uint64
	wchan                          uint64
	exitSignal, cpu                int64
	rtPrio, policy                 uint64
	blkio, gtime, cgtime           uint64
	mmData                         [7]uint64 // start_data … env_end, zero without mm
	exitCode                       int64
	euid                           uint64 // for ps
	lockedVM, totalVM, rssKB       uint64 // for ps: VmLck, VmSize (pages) and VmRSS in kB
	pendingCPU                     bool   // cputime of a nohz_full CPU not yet folded in
}

// sumThreads sets the faults and guest time of the whole thread group:
// the signal struct's totals (of the threads gone) plus each live
// thread's, in one walk of the threads.
func (s *taskStat) sumThreads(task, sig object.Object) error {
	var rd object.Reader
	s.minFlt = rd.Uint(sig.Member("min_flt"))
	s.majFlt = rd.Uint(sig.Member("maj_flt"))
	s.gtime = rd.Uint(sig.Member("gtime"))
	if err := rd.Err(); err != nil {
		return err
	}
	for t, err := range linux.ForEachThread(task) {
		if err != nil {
			return err
		}
		s.minFlt += rd.Uint(t.Member("min_flt"))
		s.majFlt += rd.Uint(t.Member("maj_flt"))
		s.gtime += rd.Uint(t.Member("gtime"))
		if err := rd.Err(); err != nil {
			return err
		}
	}
	return nil
}

// readTaskStat mirrors do_task_stat(m, ns, pid, task, whole) for the
// initial pid namespace and a reader allowed to ptrace (root). /proc/PID/stat
// and ps ask for the same tasks: the first complete answer is kept; one
// with an error or partial reasons is computed again for each out. The
// result must not be changed.
func readTaskStat(c *emit.Context, task object.Object, whole bool, out *emit.Output) (*taskStat, error) {
	addr, ok := task.Address()
	if !ok {
		return computeTaskStat(c, task, whole, out)
	}
	type answer struct {
		s       *taskStat
		reasons []string
	}
	key := "emitters/task-stat/" + strconv.FormatUint(addr, 16)
	if whole {
		key += "/process"
	}
	a, err := emit.Once(c, key, func() (answer, error) {
		var notes emit.Output
		s, err := computeTaskStat(c, task, whole, &notes)
		return answer{s, notes.PartialReasons()}, err
	})
	if err != nil || len(a.reasons) > 0 {
		// Read again for this caller's own error and reasons: they name
		// the path it reached the task by (a thread list, the process
		// table), whichever output asked first (a shared report's helper
		// asks in another order).
		return computeTaskStat(c, task, whole, out)
	}
	return a.s, nil
}

func computeTaskStat(c *emit.Context, task object.Object, whole bool, out *emit.Output) (*taskStat, error) {
	ns, ok := linux.InitPidNS(c.Prog).Address()
	if !ok {
		return nil, fmt.Errorf("init_pid_ns: no address")
	}
	s := &taskStat{ppid: 0, pgid: -1, sid: -1, tpgid: -1}
	var err error
	if s.pid, err = linux.PidNrNs(task.Member("thread_pid"), ns); err != nil {
		return nil, err
	}
	if s.name, err = procTaskName(c, task, out); err != nil {
		return nil, err
	}
	if s.state, err = linux.TaskStateToChar(task, linux.FrozenIsD); err != nil {
		return nil, err
	}
	if s.flags, err = task.Member("flags").Uint(); err != nil {
		return nil, err
	}
	if err := s.readMM(c, task); err != nil {
		return nil, fmt.Errorf("mm: %w", err)
	}
	sig := task.Member("signal").Settle()
	exitCode, err := task.Member("exit_code").Int()
	if err != nil {
		return nil, err
	}
	s.exitCode = exitCode
	if sighand, err := task.Member("sighand").Uint(); err != nil {
		return nil, err
	} else if sighand != 0 { // lock_task_sighand()
		if err := s.readSignalLocked(c, task, ns, whole); err != nil {
			return nil, err
		}
	}
	running, err := linux.TaskIsRunning(task)
	if err != nil {
		return nil, err
	}
	if !running && (!whole || s.threads < 2) {
		if linux.StatWchanIsRunningFlag(task.Prog()) {
			s.wchan = 1
		} else if w, err := linux.GetWchanFP(task); err != nil {
			return nil, err
		} else if w != 0 {
			s.wchan = 1
		}
	}
	if err := s.readTimes(task, sig, whole); err != nil {
		return nil, err
	}
	if err := s.readSched(task); err != nil {
		return nil, err
	}
	return s, nil
}

// readMM reads the memory fields; without an mm (kernel threads, zombies)
// they stay 0 as the kernel prints them.
func (s *taskStat) readMM(c *emit.Context, task object.Object) error {
	mm, hasMM, err := linux.GetTaskMM(task)
	if err != nil || !hasMM {
		return err
	}
	v, err := readMMValues(c, mm)
	if err != nil {
		return err
	}
	s.totalVM, s.vsize, s.rss, s.lockedVM, s.rssKB = v.totalVM, v.totalVM<<pageShift, v.rss, v.lockedVM, v.rssKB
	s.mmFields, s.mmData = v.fields, v.data
	// esp and eip only for a task dumping core or exiting.
	if s.flags&(linux.PFExiting|linux.PFDumpcore|linux.PFPostCoredmp) != 0 {
		regs, ok, err := linux.TaskPtRegs(task)
		if err != nil || !ok {
			return err
		}
		if s.eip, err = regs.Member("ip").Uint(); err != nil {
			return err
		}
		if s.esp, err = regs.Member("sp").Uint(); err != nil {
			return err
		}
	}
	return nil
}

// mmValues are the values do_task_stat() and ps take from one struct
// mm_struct.
type mmValues struct {
	totalVM, rss, lockedVM, rssKB uint64
	fields                        [3]uint64 // start_code, end_code, start_stack
	data                          [7]uint64 // start_data … env_end
}

// readMMValues reads them once per run and mm: the threads of a process
// share their mm, and ps reads each thread's stat.
func readMMValues(c *emit.Context, mm object.Object) (mmValues, error) {
	addr, ok := mm.Address()
	if !ok {
		return computeMMValues(c, mm)
	}
	v, err := emit.Once(c, "emitters/mm-values/"+strconv.FormatUint(addr, 16), func() (mmValues, error) {
		return computeMMValues(c, mm)
	})
	if err != nil {
		// Read again for this caller's own error (its path in the message).
		return computeMMValues(c, mm)
	}
	return v, nil
}

func computeMMValues(c *emit.Context, mm object.Object) (mmValues, error) {
	var v mmValues
	var err error
	if v.totalVM, err = mm.Member("total_vm").Uint(); err != nil {
		return v, err
	}
	if v.rss, err = linux.GetMMRSS(mm); err != nil {
		return v, err
	}
	if v.lockedVM, err = mm.Member("locked_vm").Uint(); err != nil {
		return v, err
	}
	st, err := readMMStats(c, mm)
	if err != nil {
		return v, err
	}
	v.rssKB = (st.anon + st.file + st.shmem) << (pageShift - 10)
	for i, m := range []string{"start_code", "end_code", "start_stack"} {
		if v.fields[i], err = mm.Member(m).Uint(); err != nil {
			return v, err
		}
	}
	for i, m := range []string{"start_data", "end_data", "start_brk", "arg_start", "arg_end", "env_start", "env_end"} {
		if v.data[i], err = mm.Member(m).Uint(); err != nil {
			return v, err
		}
	}
	return v, nil
}
