package process

import (
	"fmt"
	"strings"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

const psNote = "checked against busybox ps (pid, user, command), not procps itself; user names, time zone and tty names are userspace data: uids are shown as numbers (as ps does for a uid without a passwd entry), times in UTC; a command line whose user pages are not in the dump is shown as the process name"

func init() {
	area.Register(&emit.Emitter{
		Path:    "sos_commands/process/ps_auxwww",
		Mirrors: "procps ps auxwww (format OL_u: user,pid,pcpu,pmem,vsz,rss,tname,stat,start_time,bsdtime,args; ps/output.c show_one_proc)",
		Desc:    "every process with CPU and memory use, state and command line, at the crash",
		Tracker: emit.Partial,
		Note:    psNote,
		Run:     psAux,
	})
	area.Register(&emit.Emitter{
		Path:    "sos_commands/process/ps_-elfL",
		Mirrors: "procps ps -elfL (SysV long and full format with threads: generate_sysv_list in ps/sortformat.c)",
		Desc:    "every thread with flags, state, ids, priority, size and command line, at the crash",
		Tracker: emit.Partial,
		Note:    psNote,
		Run:     psElfL,
	})
}

// psProc is one process as ps sees it: its /proc/PID/stat (whole) and,
// for -L, each thread's.
type psProc struct {
	stat    *taskStat
	threads []*taskStat
	args    string
}

// psData is what both ps outputs share, read once per run.
type psData struct {
	procs    []psProc
	now      time.Time   // the crash, CLOCK_REALTIME
	boot     int64       // btime, seconds since the epoch
	uptime   float64     // CLOCK_BOOTTIME seconds at the crash
	memKB    uint64      // MemTotal
	pidWidth int         // procps_pid_length(): digits of pid_max
	missing  int         // processes whose command line is not in the dump
	reason   error       // why, for the first of them
	notes    emit.Output // other partial reasons (its bytes are unused)
}

// readProc reads one process and its threads.
func (d *psData) readProc(c *emit.Context, pid int64) error {
	task, err := c.TaskByPID(pid)
	if err != nil {
		return err
	}
	var p psProc
	if p.stat, err = readTaskStat(c, task, true, &d.notes); err != nil {
		return err
	}
	for th, err := range linux.ForEachThread(task) {
		if err != nil {
			return fmt.Errorf("threads: %w", err)
		}
		ts, err := readTaskStat(c, th, false, &d.notes)
		if err != nil {
			return fmt.Errorf("thread: %w", err)
		}
		p.threads = append(p.threads, ts)
	}
	cmd, missing, err := taskCmdline(c, task)
	if err != nil {
		return fmt.Errorf("cmdline: %w", err)
	}
	p.args = psArgs(cmd, p.stat.name, p.stat.state)
	if missing != nil && len(cmd) == 0 {
		p.args = psEscape(p.stat.name)
		if d.missing++; d.reason == nil {
			d.reason = missing
		}
	}
	d.procs = append(d.procs, p)
	return nil
}

func readPS(c *emit.Context) (*psData, error) {
	return emit.Once(c, "emitters/ps", func() (*psData, error) {
		d := &psData{}
		real, err := linux.KtimeGetReal(c.Prog)
		if err != nil {
			return nil, err
		}
		d.now = time.Unix(0, real).UTC()
		bt, err := linux.GetBoottime64(c.Prog)
		if err != nil {
			return nil, err
		}
		d.boot = bt / 1e9
		up, err := linux.KtimeGetBoottime(c.Prog)
		if err != nil {
			return nil, err
		}
		d.uptime = float64(up) / 1e9
		pages, err := linux.TotalramPages(c.Prog)
		if err != nil {
			return nil, err
		}
		d.memKB = pages << (pageShift - 10)
		pidMax, err := linux.PidMax(c.Prog)
		if err != nil {
			return nil, err
		}
		d.pidWidth = len(fmt.Sprint(pidMax))
		t := c.Processes()
		for _, pid := range t.PIDs {
			// A process that cannot be read is left out and named.
			if err := d.readProc(c, pid); err != nil {
				d.notes.Partial("pid %d left out: %v", pid, err)
			}
		}
		if t.Err != nil {
			d.notes.Partial("task list read only in part: %v", t.Err)
		}
		return d, nil
	})
}

func (d *psData) partial(c *emit.Context, out *emit.Output) {
	for _, r := range d.notes.PartialReasons() {
		out.Partial("%s", r)
	}
	if d.missing > 0 {
		var o emit.Output
		userMemoryPartial(c, &o, d.reason)
		out.Partial("COMMAND of %d processes is their name: %s", d.missing, strings.Join(o.PartialReasons(), "; "))
	}
}
