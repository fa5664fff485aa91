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

// sumMembers adds one member over the signal struct and every thread.
func sumMembers(task object.Object, member string) (uint64, error) {
	sum, err := task.Member("signal").Member(member).Uint()
	if err != nil {
		return 0, err
	}
	for t, err := range linux.ForEachThread(task) {
		if err != nil {
			return 0, err
		}
		v, err := t.Member(member).Uint()
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// readTaskStat mirrors do_task_stat(m, ns, pid, task, whole) for the
// initial pid namespace and a reader allowed to ptrace (root). /proc/PID/stat
// and ps ask for the same tasks: the first answer is kept, with its
// partial reasons, which are given again to every out. The result must
// not be changed.
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
	for _, r := range a.reasons {
		out.Partial("%s", r)
	}
	return a.s, err
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
	sig := task.Member("signal")
	exitCode, err := task.Member("exit_code").Int()
	if err != nil {
		return nil, err
	}
	s.exitCode = exitCode
	if sighand, err := task.Member("sighand").Uint(); err != nil {
		return nil, err
	} else if sighand != 0 { // lock_task_sighand()
		if err := s.readSignalLocked(task, ns, whole); err != nil {
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
	if s.totalVM, err = mm.Member("total_vm").Uint(); err != nil {
		return err
	}
	s.vsize = s.totalVM << pageShift
	if s.rss, err = linux.GetMMRSS(mm); err != nil {
		return err
	}
	if s.lockedVM, err = mm.Member("locked_vm").Uint(); err != nil {
		return err
	}
	st, err := readMMStats(c, mm)
	if err != nil {
		return err
	}
	s.rssKB = (st.anon + st.file + st.shmem) << (pageShift - 10)
	for i, m := range []string{"start_code", "end_code", "start_stack"} {
		if s.mmFields[i], err = mm.Member(m).Uint(); err != nil {
			return err
		}
	}
	for i, m := range []string{"start_data", "end_data", "start_brk", "arg_start", "arg_end", "env_start", "env_end"} {
		if s.mmData[i], err = mm.Member(m).Uint(); err != nil {
			return err
		}
	}
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
