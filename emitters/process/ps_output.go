package process

import (
	"fmt"
	"strings"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// psAux prints ps auxwww: columns user, pid, %cpu, %mem, vsz, rss, tname,
// stat, start_time, bsdtime and args.
func psAux(c *emit.Context, _ int64, out *emit.Output) error {
	d, err := readPS(c)
	if err != nil {
		return err
	}
	cols := []psCol{
		{"USER", 8, psLeft}, {"PID", max(d.pidWidth, 3), psRight}, {"%CPU", 4, psRight},
		{"%MEM", 4, psRight}, {"VSZ", 6, psRight}, {"RSS", 5, psRight}, {"TTY", 8, psLeft},
		{"STAT", 4, psLeft}, {"START", 5, psRight}, {"TIME", 6, psRight}, {"COMMAND", 27, psLeft},
	}
	var b strings.Builder
	heads := make([]string, len(cols))
	for i, col := range cols {
		heads[i] = col.head
	}
	psLine(&b, cols, heads)
	for _, p := range d.procs {
		s := p.stat
		pcpu := uint64(d.utilization(s) * 10)
		cpu := fmt.Sprintf("%d.%d", pcpu/10, pcpu%10)
		if pcpu > 999 {
			cpu = fmt.Sprint(pcpu / 10)
		}
		pmem := min(s.rssKB*1000/max(d.memKB, 1), 999)
		secs := (linux.NsecToClockT(s.utime) + linux.NsecToClockT(s.stime)) / linux.UserHZ
		psLine(&b, cols, []string{
			psName(s.euid, 8), fmt.Sprint(s.pid), cpu, fmt.Sprintf("%2d.%d", pmem/10, pmem%10),
			fmt.Sprint(s.totalVM << (pageShift - 10)), fmt.Sprint(s.rssKB), psTTY(s.tty), psStat(s, s.pid),
			psStime(d.start(s), d.now), fmt.Sprintf("%3d:%02d", secs/60, secs%60), p.args,
		})
	}
	out.WriteString(b.String())
	d.partial(c, out)
	return nil
}

// psElfL prints ps -elfL: columns f, s, uid_hack, pid, ppid, lwp, c, nlwp,
// opri, ni, addr_1, sz, wchan, stime, tname, time and cmd, one row per
// thread.
func psElfL(c *emit.Context, _ int64, out *emit.Output) error {
	d, err := readPS(c)
	if err != nil {
		return err
	}
	w := max(d.pidWidth, 4)
	cols := []psCol{
		{"F", 1, psRight}, {"S", 1, psLeft}, {"UID", 8, psLeft}, {"PID", max(d.pidWidth, 3), psRight},
		{"PPID", w, psRight}, {"LWP", max(d.pidWidth, 3), psRight}, {"C", 2, psRight}, {"NLWP", 4, psRight},
		{"PRI", 3, psRight}, {"NI", 3, psRight}, {"ADDR", 1, psLeft}, {"SZ", 5, psRight},
		{"WCHAN", 6, psLeft}, {"STIME", 5, psRight}, {"TTY", 8, psLeft}, {"TIME", 8, psRight},
		{"CMD", 27, psLeft},
	}
	var b strings.Builder
	heads := make([]string, len(cols))
	for i, col := range cols {
		heads[i] = col.head
	}
	psLine(&b, cols, heads)
	wchans, werr := psWchans(c)
	if werr != nil {
		out.Partial("WCHAN: %v", werr)
	}
	for _, p := range d.procs {
		for _, t := range p.threads {
			util := min(uint64(d.utilization(t)), 99)
			secs := (linux.NsecToClockT(t.utime) + linux.NsecToClockT(t.stime)) / linux.UserHZ
			ni := fmt.Sprint(t.nice)
			if t.policy != 0 && t.policy != 3 { // SCHED_OTHER, SCHED_BATCH
				ni = "-"
			}
			wchan := "?" // procps' lookup_wchan() when /proc/PID/wchan is unreadable
			if w, ok := wchans[t.pid]; ok {
				wchan = w
			}
			psLine(&b, cols, []string{
				fmt.Sprintf("%o", t.flags>>6&7), string(t.state), psName(t.euid, 8), fmt.Sprint(p.stat.pid),
				fmt.Sprint(t.ppid), fmt.Sprint(t.pid), fmt.Sprintf("%2d", util), fmt.Sprint(p.stat.threads),
				fmt.Sprint(60 + t.prio), ni, "-", fmt.Sprint(t.totalVM), wchan,
				psStime(d.start(t), d.now), psTTY(t.tty),
				psTime(secs), p.args,
			})
		}
	}
	out.WriteString(b.String())
	d.partial(c, out)
	return nil
}

// psTime mirrors pr_time(): CPU time as [dd-]hh:mm:ss.
func psTime(secs uint64) string {
	s := fmt.Sprintf("%02d:%02d:%02d", secs/3600%24, secs/60%60, secs%60)
	if d := secs / 86400; d > 0 {
		s = fmt.Sprintf("%d-", d) + s
	}
	return s
}

// utilization is procps' UTILIZATION: CPU time per elapsed time since the
// task started, in percent.
func (d *psData) utilization(s *taskStat) float64 {
	ticks := float64(linux.NsecToClockT(s.utime) + linux.NsecToClockT(s.stime))
	elapsed := d.uptime*linux.UserHZ - float64(linux.NsecToClockT(s.startTime))
	if elapsed <= 0 {
		return 0
	}
	return ticks * 100 / elapsed
}

func (d *psData) start(s *taskStat) time.Time {
	return time.Unix(d.boot+int64(linux.NsecToClockT(s.startTime)/linux.UserHZ), 0).UTC()
}

// psStat mirrors pr_stat(): the state letter and BSD flags.
func psStat(s *taskStat, tgid int64) string {
	st := string(s.state)
	switch {
	case s.nice < 0:
		st += "<"
	case s.nice > 0:
		st += "N"
	}
	if s.lockedVM != 0 {
		st += "L"
	}
	if s.sid == tgid {
		st += "s"
	}
	if s.threads > 1 {
		st += "l"
	}
	if s.pgid == s.tpgid {
		st += "+"
	}
	return st
}

// psWchans is procps' WCHAN of every thread, by tid: lookup_wchan() reads
// /proc/TID/wchan, shows "0" as "-" and drops a leading '.' and
// underscores.
func psWchans(c *emit.Context) (map[int64]string, error) {
	return emit.Once(c, "emitters/ps-wchans", func() (map[int64]string, error) {
		out := map[int64]string{}
		// A thread whose wait channel cannot be read shows procps' "?",
		// and the output says which (never a silent "?").
		var unread []string
		for task, err := range linux.ForEachProcess(c.Prog) {
			if err != nil {
				return out, err
			}
			for th, err := range linux.ForEachThread(task) {
				if err != nil {
					return out, err
				}
				tid, err := th.Member("pid").Int()
				if err != nil {
					return out, err
				}
				name, err := wchanName(c, th)
				if err != nil {
					unread = append(unread, fmt.Sprintf("thread %d: %v", tid, err))
					continue
				}
				if name == "0" {
					name = "-"
				}
				out[tid] = strings.TrimLeft(strings.TrimPrefix(name, "."), "_")
			}
		}
		if len(unread) > 0 {
			return out, fmt.Errorf("%d threads shown as \"?\": %s", len(unread), strings.Join(unread[:min(len(unread), 3)], "; "))
		}
		return out, nil
	})
}
