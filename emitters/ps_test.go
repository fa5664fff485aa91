package emitters

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// The ground truth's ps is busybox's (PID, USER, COMMAND), not procps: the
// rules compare what both print, row by row for the processes that lived
// until the crash, and check the procps layout (header, column count,
// field shapes) on its own. Full procps fidelity cannot be checked here.

func init() {
	checks["sos_commands/process/ps_auxwww"] = checkPS(func(w int) string {
		return "USER     " + padLeft("PID", max(w, 3)) + " %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"
	}, 10, 0, 1, 0)
	checks["sos_commands/process/ps_-elfL"] = checkPS(func(w int) string {
		return "F S UID      " + padLeft("PID", max(w, 3)) + " " + padLeft("PPID", max(w, 4)) + " " + padLeft("LWP", max(w, 3)) +
			"  C NLWP PRI  NI ADDR SZ WCHAN  STIME TTY          TIME CMD"
	}, 16, 2, 3, 5)
}

func padLeft(s string, w int) string { return fmt.Sprintf("%*s", w, s) }

// pidWidth is procps_pid_length(): the digits of the truth's pid_max, which
// set the width of the pid columns.
func pidWidth(t *testing.T, s *fixtures.Set) int {
	return len(strings.TrimSpace(truth(t, s, "proc/sys/kernel/pid_max")))
}

// busyboxPS parses busybox ps: "%5u %-8.8s %s" under "PID   USER     COMMAND".
func busyboxPS(t *testing.T, s *fixtures.Set) map[string][2]string {
	rows := map[string][2]string{}
	for i, l := range strings.Split(strings.TrimRight(truth(t, s, "commands/ps"), "\n"), "\n") {
		f := strings.Fields(l)
		if i == 0 || len(f) < 3 {
			continue
		}
		rows[f[0]] = [2]string{f[1], strings.Join(f[2:], " ")}
	}
	return rows
}

// sameCommand compares our COMMAND with busybox's. busybox shows a kernel
// thread or zombie as "[comm]" with comm cut to 15 bytes, and a process
// whose comm is not argv[0]'s base name as "{comm} args". Ours is "[full
// name]" (" <defunct>" for a zombie), the arguments, or — when the dump
// has no user pages — the name.
func sameCommand(ours, bb string) bool {
	if strings.HasPrefix(bb, "[") {
		return strings.HasPrefix(ours, strings.TrimSuffix(bb, "]"))
	}
	comm, args := "", bb
	if strings.HasPrefix(bb, "{") {
		if end := strings.Index(bb, "} "); end > 0 {
			comm, args = bb[1:end], bb[end+2:]
		}
	}
	if comm == "" {
		comm = path.Base(strings.Fields(args)[0])
	}
	return ours == args || ours == comm
}

// psStimeShape is pr_stime()'s: "%H:%M" on the day of the crash, "%b%d"
// before it (a guest that booted before midnight and crashed after), "%Y"
// in an earlier year.
var psStimeShape = regexp.MustCompile(`^(\d\d:\d\d|[A-Z][a-z][a-z]\d\d|\d{4})$`)

var psFieldShapes = map[string]*regexp.Regexp{
	"STAT":  regexp.MustCompile(`^[RSDTtXZPI][<N]?L?s?l?\+?$`),
	"S":     regexp.MustCompile(`^[RSDTtXZPI]$`),
	"START": psStimeShape, "STIME": psStimeShape,
	// bsdtime m:ss for aux, [dd-]hh:mm:ss for -l.
	"TIME": regexp.MustCompile(`^(\d+:\d\d|(\d+-)?\d\d:\d\d:\d\d)$`),
}

// checkPS checks one ps output: the header exactly (its pid columns as wide
// as pid_max has digits: header(5) for 32768); each row cut into the header's columns; pid, user
// and command against busybox for the comparable processes. cmdCol is the
// column where COMMAND starts, userCol/pidCol those of the user and pid,
// lwpCol (ps -L) that of the thread id or 0.
func checkPS(headerOf func(pidWidth int) string, cmdCol, userCol, pidCol, lwpCol int) check {
	return func(t *testing.T, s *fixtures.Set, got string) {
		header := headerOf(pidWidth(t, s))
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		if lines[0] != header {
			t.Fatalf("header %q, want %q", lines[0], header)
		}
		heads := strings.Fields(header)
		ours := map[string][]string{}
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) <= cmdCol {
				t.Errorf("row %q has %d columns", l, len(f))
				continue
			}
			for i, h := range heads[:cmdCol] {
				if re := psFieldShapes[h]; re != nil && !re.MatchString(f[i]) {
					t.Errorf("row %q: %s %q", l, h, f[i])
				}
			}
			if lwpCol == 0 || f[lwpCol] == f[pidCol] {
				ours[f[pidCol]] = append(f[:cmdCol:cmdCol], strings.Join(f[cmdCol:], " "))
			}
		}
		bb := busyboxPS(t, s)
		for _, pid := range comparablePIDs(t, s) {
			p := fmt.Sprint(pid)
			row, ok := ours[p]
			want, inBB := bb[p]
			switch {
			case !ok:
				t.Errorf("pid %s missing", p)
			case !inBB:
			case row[userCol] != want[0] || !sameCommand(row[cmdCol], want[1]):
				t.Errorf("pid %s: user %q command %q, busybox %q %q", p, row[userCol], row[cmdCol], want[0], want[1])
			}
			if ok {
				checkPSColumns(t, s, pid, heads[:cmdCol], row)
			}
		}
		if lwpCol != 0 {
			// Threads: every task of the fixture's multi-threaded process.
			for _, pid := range comparablePIDs(t, s) {
				want := taskIDs(t, s, pid)
				var have []string
				for _, l := range lines[1:] {
					if f := strings.Fields(l); len(f) > lwpCol && f[pidCol] == fmt.Sprint(pid) {
						have = append(have, f[lwpCol])
					}
				}
				if len(want) > 0 && !slices.Equal(have, want) {
					t.Errorf("pid %d threads %v, want %v", pid, have, want)
				}
			}
		}
	}
}

// taskIDs lists /proc/PID/task of the ground truth, leader first.
func taskIDs(t *testing.T, s *fixtures.Set, pid int64) []string {
	var ids []string
	for _, f := range s.Manifest.Truth.Files {
		if rest, ok := strings.CutPrefix(f, fmt.Sprintf("proc/%d/task/", pid)); ok {
			if id, _, _ := strings.Cut(rest, "/"); id != "" && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	slices.SortFunc(ids, func(a, b string) int { return len(a)*1000 - len(b)*1000 + strings.Compare(a, b) })
	return ids
}

// checkPSColumns compares the numeric columns of one long-lived process's
// row with its /proc/<pid>/stat and status in the ground truth: PPID (stat
// 4), NI (stat 19), NLWP (Threads), VSZ and SZ (VmSize, kB and pages), RSS
// (VmRSS), %MEM (procps: RSS·1000/MemTotal, one decimal), the state letter
// (stat 3) and TIME (utime+stime, stat 14 and 15, in clock ticks). What
// moves between capture and crash, as the status rules say: the state of
// kernel threads and of pid 1 (the shell that wrote sysrq-trigger), pid 1's
// memory by a few pages, and CPU time, which only grows, by at most the
// ticks the time between capture and crash holds.
func checkPSColumns(t *testing.T, s *fixtures.Set, pid int64, heads, row []string) {
	t.Helper()
	stat := statFields(strings.TrimSpace(truth(t, s, fmt.Sprintf("proc/%d/stat", pid))))
	_, status := parseKV(truth(t, s, fmt.Sprintf("proc/%d/status", pid)))
	_, mem := parseKV(truth(t, s, "proc/meminfo"))
	if len(stat) != 52 {
		t.Fatalf("pid %d: ground-truth stat has %d fields", pid, len(stat))
	}
	num := func(x string) int64 { v, _ := strconv.ParseInt(x, 10, 64); return v }
	moves := pid == 1 || isKthread(t, s, pid)
	// pid 1's memory: against the crash-instant capture within
	// pid1Slack, or without one within 10 % (see checkStatus).
	crashText, haveCrash := "", false
	if pid == 1 {
		crashText, haveCrash = pid1Crash(t, s, "status")
	}
	_, crash := parseKV(crashText)
	memOK := func(have, want int64, field string, unit int64) bool {
		if pid == 1 {
			return pid1MemOK(fmt.Sprint(have), fmt.Sprint(want), fmt.Sprint(crash[field]/unit), haveCrash, unit)
		}
		return have == want
	}
	for i, h := range heads {
		v := row[i]
		bad := false
		switch h {
		case "RSS", "%MEM":
			if oomSwaps(s) {
				continue // see oomSwaps; oraclePS compares them
			}
		}
		switch h {
		case "PPID":
			bad = v != stat[3]
		case "NI":
			bad = v != stat[18] && !(v == "-" && moves) // "-" for a non-CFS policy
		case "NLWP":
			bad = num(v) != max(status["Threads"], 1)
		case "VSZ":
			bad = !memOK(num(v), status["VmSize"], "VmSize", 1)
		case "SZ":
			bad = !memOK(num(v), status["VmSize"]/4, "VmSize", 4)
		case "RSS":
			bad = !memOK(num(v), status["VmRSS"], "VmRSS", 1)
		case "%MEM":
			pm := status["VmRSS"] * 1000 / mem["MemTotal"]
			bad = pid != 1 && v != fmt.Sprintf("%d.%d", pm/10, pm%10)
		case "S", "STAT":
			// Under the OOM scenario's memory pressure a process may sleep
			// in D (reclaim, swap-in) at the crash; ps shows no stack to
			// tell why, so only D is accepted there (bt_blocked checks
			// the stack).
			bad = !moves && v[:1] != stat[2] && !(v[:1] == "D" && s.Manifest.Crash != nil && s.Manifest.Crash.Kind == "oom")
		case "TIME":
			ticks := num(stat[13]) + num(stat[14])
			if slices.Contains(heads, "LWP") {
				// ps -L: the row is the main thread's, its own times
				// (task/PID/stat), not the process's sum over threads.
				if ts := statFields(strings.TrimSpace(truth(t, s, fmt.Sprintf("proc/%d/task/%d/stat", pid, pid)))); len(ts) == 52 {
					ticks = num(ts[13]) + num(ts[14])
				}
			}
			secs := psSeconds(v)
			limit := elapsed(t, s) * float64(cpuCount(t, s))
			bad = secs < ticks/100 || float64(secs) > float64(ticks)/100+limit+1
		default:
			continue
		}
		if bad {
			t.Errorf("pid %d %s %q: the ground truth's stat/status disagree (stat %v, status Threads %d VmSize %d VmRSS %d)",
				pid, h, v, stat[2:5], status["Threads"], status["VmSize"], status["VmRSS"])
		}
	}
}

// psSeconds reads ps's TIME: m:ss, or [dd-]hh:mm:ss.
func psSeconds(v string) int64 {
	var d, h, m, sec int64
	if days, rest, ok := strings.Cut(v, "-"); ok {
		d, _ = strconv.ParseInt(days, 10, 64)
		v = rest
	}
	parts := strings.Split(v, ":")
	switch len(parts) {
	case 2:
		m, _ = strconv.ParseInt(parts[0], 10, 64)
		sec, _ = strconv.ParseInt(parts[1], 10, 64)
	case 3:
		h, _ = strconv.ParseInt(parts[0], 10, 64)
		m, _ = strconv.ParseInt(parts[1], 10, 64)
		sec, _ = strconv.ParseInt(parts[2], 10, 64)
	}
	return ((d*24+h)*60+m)*60 + sec
}

// taskStateLetter is the kernel's task_state_index() letter for a raw
// __state and exit_state ("RSDTtXZPI"; TASK_IDLE reads I, an rtlock
// waiter D).
func taskStateLetter(state, exitState uint64) byte {
	const report, idle, rtlockWait = 0x7f, 0x402, 0x1000
	st := (state | exitState) & report
	if state&idle == idle {
		st = report + 1
	}
	if state == rtlockWait {
		st = 2
	}
	fls := 0
	for st != 0 {
		fls++
		st >>= 1
	}
	return "RSDTtXZPI"[fls]
}

// oraclePS: every row of a ps output against drgn's task list of the same
// dump, exactly: the rows are drgn's processes (ps -L: its threads, as
// pid and lwp), in /proc's order (ascending pid, a process's threads
// leader first, then ascending); PPID the real parent's tgid; VSZ and SZ
// mm->total_vm (0 without an mm); RSS and %MEM task_mem()'s VmRSS (over
// MemTotal); NLWP the threads drgn lists for the tgid; NI static_prio - 120 ("-" for the
// real-time and deadline policies); the state letter task_state_index()'s;
// START/STIME getboottime64()'s whole seconds (drgn's timekeeper offsets)
// plus start_boottime in whole seconds (procps: btime + start_time /
// Hertz), as HH:MM, exactly; a kernel thread's command
// its comm in brackets; any other task's command procps' args of its
// command line by the kernel's rule, where drgn read it (oraclePSCommand).
func oraclePS(cmdCol, pidCol, lwpCol int) check {
	return func(t *testing.T, s *fixtures.Set, got string) {
		o := oracleOf(t, s)
		// getboottime64(): offs_real - offs_boot, as a timespec (whole
		// seconds rounded down), the btime procps adds start times to.
		btime := (o.RealtimeNs - o.BoottimeNs) / 1e9
		// drgn's rows, in /proc's order.
		var want []oracleTask
		for _, tk := range o.tasks(t) {
			if lwpCol != 0 || tk.PID == tk.TGID {
				want = append(want, tk)
			}
		}
		slices.SortFunc(want, func(a, b oracleTask) int {
			if a.TGID != b.TGID {
				return int(a.TGID - b.TGID)
			}
			if (a.PID == a.TGID) != (b.PID == b.TGID) {
				if a.PID == a.TGID {
					return -1
				}
				return 1
			}
			return int(a.PID - b.PID)
		})
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		heads := strings.Fields(lines[0])
		rows := lines[1:]
		if len(rows) != len(want) {
			t.Errorf("%d rows, drgn lists %d tasks", len(rows), len(want))
		}
		commands := 0
		defer func() { t.Logf("%d of %d rows' command lines compared with drgn's", commands, len(want)) }()
		for i := range min(len(rows), len(want)) {
			f := strings.Fields(rows[i])
			w := want[i]
			if len(f) <= cmdCol {
				t.Errorf("row %q: %d columns", rows[i], len(f))
				continue
			}
			if f[pidCol] != fmt.Sprint(w.TGID) || lwpCol != 0 && f[lwpCol] != fmt.Sprint(w.PID) {
				t.Errorf("row %d %q: drgn's task there is pid %d tgid %d (%s)", i+1, rows[i], w.PID, w.TGID, w.Comm)
				return // the rest would be shifted
			}
			var vm int64
			if w.TotalVM != nil {
				vm = *w.TotalVM
			}
			start := time.Unix(btime+int64(w.StartBoottime/1e9), 0).UTC()
			for j, h := range heads[:cmdCol] {
				v := f[j]
				ok := true
				switch h {
				case "PPID":
					ok = v == fmt.Sprint(w.PPID)
				case "VSZ":
					ok = v == fmt.Sprint(vm*4)
				case "SZ":
					ok = v == fmt.Sprint(vm)
				case "RSS", "%MEM":
					// VmRSS as task_mem() gives it (0 without an mm); %MEM
					// procps' tenths of it over MemTotal, capped at 99.9.
					var rss int64
					if kb, _, _, has := oracleTaskMem(t, s, w.PID); has {
						rss = kb["VmRSS"]
					}
					pmem := min(rss*1000/max(o.TotalRAM*4, 1), 999)
					ok = h == "RSS" && v == fmt.Sprint(rss) || h == "%MEM" && v == fmt.Sprintf("%d.%d", pmem/10, pmem%10)
				case "NLWP":
					n := 0
					for _, x := range o.tasks(t) {
						if x.TGID == w.TGID {
							n++
						}
					}
					ok = v == fmt.Sprint(n)
				case "NI":
					if w.Policy == 1 || w.Policy == 2 || w.Policy == 6 {
						ok = v == "-"
					} else {
						ok = v == fmt.Sprint(w.StaticPrio-120)
					}
				case "PRI":
					// procps' -l PRI: stat's priority (prio - MAX_RT_PRIO) + 60.
					ok = v == fmt.Sprint(w.Prio-100+60)
				case "S", "STAT":
					ok = v[0] == taskStateLetter(w.State, w.ExitState)
				case "START", "STIME":
					// pr_stime() against the crash's time (drgn's boottime):
					// the day's "%H:%M", an earlier day's "%b%d", an
					// earlier year's "%Y".
					now := time.Unix(btime+o.BoottimeNs/1e9, 0).UTC()
					want := start.Format("15:04")
					if start.YearDay() != now.YearDay() {
						want = start.Format("Jan02")
					}
					if start.Year() != now.Year() {
						want = start.Format("2006")
					}
					ok = v == want
				case "TIME", "%CPU", "C":
					// The process's times (ps aux), a thread's (-L).
					ticks, known := oracleTicks(o, w, lwpCol == 0)
					if !known {
						t.Logf("pid %d ran on a nohz_full CPU: its %s is not compared", w.PID, h)
						continue
					}
					lo, hi := psUtilization(o, w, ticks, 10)
					switch h {
					case "TIME":
						secs := ticks / 100
						ok = v == fmt.Sprintf("%d:%02d", secs/60, secs%60) || v == fmt.Sprintf("%02d:%02d:%02d", secs/3600%24, secs/60%60, secs%60)
					case "%CPU":
						ok = psCPUOK(v, lo, hi)
					case "C":
						ok = v == fmt.Sprint(min(lo/10, 99)) || v == fmt.Sprint(min(hi/10, 99))
					}
					if !ok {
						t.Errorf("pid %d (%s) %s %q: drgn's times give %d ticks, %d.%d %% of its %.2f s", w.PID, w.Comm, h, v, ticks, lo/10, lo%10,
							float64(o.BoottimeNs)/1e9-float64(w.StartBoottime)/1e9)
					}
					continue
				default:
					continue
				}
				if !ok {
					t.Errorf("pid %d (%s) %s %q: drgn reads ppid %d total_vm %d static_prio %d policy %d state %#x/%#x start_boottime %d",
						w.PID, w.Comm, h, v, w.PPID, vm, w.StaticPrio, w.Policy, w.State, w.ExitState, w.StartBoottime)
				}
			}
			if oraclePSCommand(t, &w, rows[i], cmdCol) {
				commands++
			}
			if cmd := strings.Join(f[cmdCol:], " "); w.Flags&pfKthread != 0 && !strings.HasPrefix(cmd, "["+w.Comm) {
				t.Errorf("pid %d: command %q, drgn's comm %q", w.PID, cmd, w.Comm)
			} else if q := w.Wq; q != nil && q.Pool && q.Desc != "" {
				// wq_worker_comm(): a pool worker's name ends with its
				// last work's description, "+" while it runs one.
				sign := map[bool]string{true: "+", false: "-"}[q.CurrentWork]
				if !strings.HasSuffix(cmd, sign+q.Desc+"]") {
					t.Errorf("pid %d: command %q, drgn's worker description %q", w.PID, cmd, sign+q.Desc)
				}
			}
		}
	}
}

func init() {
	oracleChecks["sos_commands/process/ps_auxwww"] = oraclePS(10, 1, 0)
	oracleChecks["sos_commands/process/ps_-elfL"] = oraclePS(16, 3, 5)
}
