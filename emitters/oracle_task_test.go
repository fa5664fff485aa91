package emitters

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// Per-process counters against drgn's task list of the same dump: the
// fault counts, CPU times and context switches the capture bounds only
// loosely (they grew between the capture and the crash), exactly.

func init() {
	pidOracleChecks["proc/{pid}/stat"] = func(t *testing.T, s *fixtures.Set, pid int64, got string) {
		f := statFields(strings.TrimSuffix(got, "\n"))
		if len(f) != 52 {
			t.Fatalf("pid %d stat: %d fields, want 52 (%q)", pid, len(f), got)
		}
		oracleTaskStat(t, s, pid, f)
	}
	// The context switches and the memory lines.
	// Every one of them printed: where a scenario's capture rule does not
	// run (scenarioChanges), nothing else would miss a dropped line.
	pidOracleChecks["proc/{pid}/status"] = func(t *testing.T, s *fixtures.Set, pid int64, got string) {
		want := map[string]bool{"voluntary_ctxt_switches": true, "nonvoluntary_ctxt_switches": true}
		if kb, _, _, ok := oracleTaskMem(t, s, pid); ok {
			for k := range kb {
				want[k] = true
			}
		}
		for _, l := range strings.Split(got, "\n") {
			k, v, _ := strings.Cut(l, ":")
			delete(want, k)
			switch {
			case k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches":
				oracleTaskStatus(t, s, pid, k, v)
			case strings.HasPrefix(k, "Vm") || strings.HasPrefix(k, "Rss"):
				oracleTaskStatusMem(t, s, pid, k, v)
			}
		}
		for k := range want {
			t.Errorf("pid %d status: no %s line", pid, k)
		}
	}
	pidOracleChecks["proc/{pid}/statm"] = oracleTaskStatm
}

// oracleTaskStat: do_task_stat() for a whole process (fs/proc/array.c):
// minflt and majflt the signal struct's (exited threads') plus every
// thread's; cminflt, cmajflt, cutime and cstime the signal struct's
// (reaped children); utime and stime thread_group_cputime_adjusted()'s
// (oracleCputime); times in clock ticks. fields are the 52 fields of the
// emitted line (statFields).
func oracleTaskStat(t *testing.T, s *fixtures.Set, pid int64, fields []string) {
	o := oracleOf(t, s)
	w := o.taskByPID(t, pid)
	if w == nil || w.Signal == nil {
		t.Errorf("pid %d: drgn has no such process", pid)
		return
	}
	sig := w.Signal
	minflt, majflt := sig.MinFlt, sig.MajFlt
	for _, th := range o.tasks(t) {
		if th.TGID == w.TGID {
			minflt += th.MinFlt
			majflt += th.MajFlt
		}
	}
	want := map[int]uint64{10: minflt, 11: sig.CminFlt, 12: majflt, 13: sig.CmajFlt,
		16: clockT(sig.Cutime), 17: clockT(sig.Cstime)}
	// delayacct_blkio_ticks(): the task's own block I/O delay.
	if w.BlkioDelay != nil {
		want[42] = clockT(*w.BlkioDelay)
	}
	if ut, st, ok := oracleCputime(o, *w, true); ok {
		want[14], want[15] = clockT(ut), clockT(st)
	} else {
		t.Logf("pid %d ran on a nohz_full CPU: its times are not compared with drgn's", pid)
	}
	// vsize and rss (task_vsize(), get_mm_rss()), as task_mem() reads
	// them (oracleTaskMem).
	if kb, _, rss, ok := oracleTaskMem(t, s, pid); ok {
		want[23], want[24] = uint64(kb["VmSize"]*1024), uint64(rss)
	}
	// The task's own fields: pid, ppid (the real parent's tgid), flags,
	// priority (prio - MAX_RT_PRIO), nice (static_prio - 120), the
	// threads of its group, the start time in clock ticks, the policy;
	// its state letter (task_state_index()).
	threads := 0
	for _, th := range o.tasks(t) {
		if th.TGID == w.TGID {
			threads++
		}
	}
	text := map[int]string{3: string(taskStateLetter(w.State, w.ExitState))}
	for f, v := range map[int]int64{1: w.PID, 4: w.PPID, 18: w.Prio - 100, 19: w.StaticPrio - 120,
		20: int64(threads), 41: w.Policy} {
		text[f] = fmt.Sprint(v)
	}
	want[9], want[22] = w.Flags, clockT(w.StartBoottime)
	for f, v := range want {
		text[f] = fmt.Sprint(v)
	}
	for f, v := range text {
		if fields[f-1] != v {
			t.Errorf("pid %d stat field %d: %s, drgn's values give %s", pid, f, fields[f-1], v)
		}
	}
}

// oracleTaskStatus: task_context_switch_counts(): the task's own nvcsw and
// nivcsw (proc/<pid>/status is the leader's, not summed).
func oracleTaskStatus(t *testing.T, s *fixtures.Set, pid int64, key, value string) {
	w := oracleOf(t, s).taskByPID(t, pid)
	if w == nil {
		t.Errorf("pid %d: drgn has no such task", pid)
		return
	}
	want := w.Nvcsw
	if key == "nonvoluntary_ctxt_switches" {
		want = w.Nivcsw
	}
	if strings.TrimSpace(value) != fmt.Sprint(want) {
		t.Errorf("pid %d %s: %s, drgn %d", pid, key, strings.TrimSpace(value), want)
	}
}

// oracleTaskMem is task_mem()'s lines (fs/proc/task_mmu.c) for drgn's
// process pid, in kB by status name, the pages task_statm() gives and
// stat's rss (see below): get_mm_counter() of each RSS counter (an atomic count before
// 6.2; since, the percpu_counter summed over the CPUs online while the
// guest ran, never below 0: Debian's 6.12 and 7.2 print the sum, their live
// status equals it where the shared counts alone read RssAnon 0), the
// high-water marks at least the current values, the executable pages split
// into text (the code's page span, at most exec_vm) and libraries.
func oracleTaskMem(t *testing.T, s *fixtures.Set, pid int64) (kb map[string]int64, statm [7]int64, rss int64, ok bool) {
	w := oracleOf(t, s).taskByPID(t, pid)
	if w == nil || w.Mm == nil || w.TotalVM == nil {
		return nil, statm, 0, false // a kernel thread: no memory lines
	}
	m := w.Mm
	live := liveCPUs(t, s)
	counter := func(name string) int64 {
		r, found := m.Rss[name]
		if !found {
			t.Fatalf("drgn has no %s counter", name)
		}
		v := r.Count
		for _, c := range live {
			v += r.PerCPU[strconv.Itoa(c)]
		}
		return max(v, 0)
	}
	const page = 4096
	anon, file, shmem, swap := counter("MM_ANONPAGES"), counter("MM_FILEPAGES"), counter("MM_SHMEMPAGES"), counter("MM_SWAPENTS")
	total := *w.TotalVM
	// stat's rss is get_mm_rss(): get_mm_counter(), the shared counts
	// alone (percpu_counter_read_positive()), not the sums task_mem() and
	// task_statm() print (measured on 6.12: stat 416 pages, status 454).
	for _, n := range []string{"MM_ANONPAGES", "MM_FILEPAGES", "MM_SHMEMPAGES"} {
		rss += max(m.Rss[n].Count, 0)
	}
	resident := anon + file + shmem
	text := (m.EndCode+page-1)&^(page-1) - m.StartCode&^(page-1)
	text = min(text, m.ExecVM*page)
	lib := m.ExecVM*page - text
	kb = map[string]int64{
		"VmPeak": max(total, m.HiwaterVM) * 4, "VmSize": total * 4, "VmLck": m.LockedVM * 4, "VmPin": m.PinnedVM * 4,
		"VmHWM": max(resident, m.HiwaterRSS) * 4, "VmRSS": resident * 4, "RssAnon": anon * 4, "RssFile": file * 4,
		"RssShmem": shmem * 4, "VmData": m.DataVM * 4, "VmStk": m.StackVM * 4, "VmExe": text >> 10,
		"VmLib": lib >> 10, "VmPTE": m.PgtablesBytes >> 10, "VmSwap": swap * 4,
	}
	// task_statm(): size, resident, shared (file + shmem), text, 0, data
	// (data_vm + stack_vm), 0.
	statm = [7]int64{total, resident, file + shmem, text / page, 0, m.DataVM + m.StackVM, 0}
	return kb, statm, rss, true
}

// oracleTaskStatusMem checks a status line's Vm*/Rss* value (kB) against
// oracleTaskMem.
func oracleTaskStatusMem(t *testing.T, s *fixtures.Set, pid int64, key, value string) {
	kb, _, _, ok := oracleTaskMem(t, s, pid)
	if !ok {
		return
	}
	w, known := kb[key]
	if !known {
		return // a line task_mem() does not print (HugetlbPages: hugetlb_report_usage())
	}
	if strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")) != fmt.Sprint(w) {
		t.Errorf("pid %d status %s: %s, drgn's mm gives %d kB", pid, key, strings.TrimSpace(value), w)
	}
}

// oracleTaskStatm checks /proc/<pid>/statm against oracleTaskMem; a task
// without an mm (a kernel thread) prints seven zeros (proc_pid_statm()).
func oracleTaskStatm(t *testing.T, s *fixtures.Set, pid int64, got string) {
	_, statm, _, ok := oracleTaskMem(t, s, pid)
	if !ok {
		if oracleOf(t, s).taskByPID(t, pid) == nil {
			t.Fatalf("pid %d: drgn has no such process", pid)
		}
	}
	var want []string
	for _, v := range statm {
		want = append(want, fmt.Sprint(v))
	}
	if strings.TrimSpace(got) != strings.Join(want, " ") {
		t.Errorf("pid %d statm %q, drgn's mm gives %q", pid, strings.TrimSpace(got), strings.Join(want, " "))
	}
}
