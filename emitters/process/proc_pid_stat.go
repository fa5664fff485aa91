package process

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/{pid}/stat",
		Each:    emit.PerPID,
		Mirrors: "do_task_stat() in fs/proc/array.c (proc_tgid_stat)",
		Desc:    "process status in one line: 52 fields of ids, state, faults, times, memory, signals",
		Tracker: emit.Done,
		Run: func(c *emit.Context, pid int64, out *emit.Output) error {
			task, err := c.TaskByPID(pid)
			if err != nil {
				return err
			}
			s, err := readTaskStat(c, task, true, out)
			if err != nil {
				return err
			}
			if s.pendingCPU {
				out.Partial("utime/stime: a thread ran on a nohz_full CPU; its time since the last vtime update is not in the dump")
			}
			out.WriteString(s.format())
			return nil
		},
	})
}

// readTimes reads faults and CPU times: of the whole thread group (signal
// totals plus each thread) or of the one task.
func (s *taskStat) readTimes(task, sig object.Object, whole bool) error {
	var err error
	for _, f := range []struct {
		member string
		dst    *uint64
	}{{"cmin_flt", &s.cminFlt}, {"cmaj_flt", &s.cmaj}, {"cutime", &s.cutime}, {"cstime", &s.cstime}, {"cgtime", &s.cgtime}} {
		if *f.dst, err = sig.Member(f.member).Uint(); err != nil {
			return err
		}
	}
	if whole {
		if err := s.sumThreads(task, sig); err != nil {
			return err
		}
		s.utime, s.stime, s.pendingCPU, err = linux.ThreadGroupCputimeAdjusted(task)
		return err
	}
	for _, f := range []struct {
		member string
		dst    *uint64
	}{{"min_flt", &s.minFlt}, {"maj_flt", &s.majFlt}, {"gtime", &s.gtime}} {
		if *f.dst, err = task.Member(f.member).Uint(); err != nil {
			return err
		}
	}
	s.utime, s.stime, s.pendingCPU, err = linux.TaskCputimeAdjusted(task)
	return err
}

// readSched reads the scheduling fields, start time, signal masks and
// block I/O delay.
func (s *taskStat) readSched(task object.Object) error {
	var err error
	if s.prio, err = linux.TaskPrio(task); err != nil {
		return err
	}
	if s.nice, err = linux.TaskNice(task); err != nil {
		return err
	}
	if s.cpu, err = linux.TaskCPU(task); err != nil {
		return err
	}
	if s.exitSignal, err = task.Member("exit_signal").Int(); err != nil {
		return err
	}
	for _, f := range []struct {
		member string
		dst    *uint64
	}{
		{"start_boottime", &s.startTime}, {"rt_priority", &s.rtPrio}, {"policy", &s.policy},
		{"pending.signal.sig[0]", &s.sigPnd}, {"blocked.sig[0]", &s.sigBlk},
	} {
		if *f.dst, err = task.Member(f.member).Uint(); err != nil {
			return err
		}
	}
	if s.euid, err = task.Member("real_cred").Member("euid.val").Uint(); err != nil {
		return err
	}
	// delayacct_blkio_ticks(): 0 while delay accounting keeps no record.
	if task.HasMember("delays") {
		if d, err := task.Member("delays").Uint(); err != nil {
			return err
		} else if d != 0 {
			if s.blkio, err = task.Member("delays").Member("blkio_delay").Uint(); err != nil {
				return err
			}
		}
	}
	return nil
}

// format prints the line as do_task_stat() does.
func (s *taskStat) format() string {
	ck := linux.NsecToClockT
	var b strings.Builder
	fmt.Fprintf(&b, "%d (%s) %c %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d 0 %d %d %d %d",
		s.pid, s.name, s.state, s.ppid, s.pgid, s.sid, s.ttyNr, s.tpgid, s.flags,
		s.minFlt, s.cminFlt, s.majFlt, s.cmaj, ck(s.utime), ck(s.stime), ck(s.cutime), ck(s.cstime),
		s.prio, s.nice, s.threads, ck(s.startTime), s.vsize, s.rss, s.rsslim)
	startCode, endCode := s.mmFields[0], s.mmFields[1]
	fmt.Fprintf(&b, " %d %d %d %d %d %d %d %d %d %d 0 0 %d %d %d %d %d %d %d",
		startCode, endCode, s.mmFields[2], s.esp, s.eip,
		s.sigPnd&0x7fffffff, s.sigBlk&0x7fffffff, s.sigIgn&0x7fffffff, s.sigCgt&0x7fffffff, s.wchan,
		s.exitSignal, s.cpu, s.rtPrio, s.policy, ck(s.blkio), ck(s.gtime), ck(s.cgtime))
	for _, v := range s.mmData {
		fmt.Fprintf(&b, " %d", v)
	}
	fmt.Fprintf(&b, " %d\n", s.exitCode)
	return b.String()
}
