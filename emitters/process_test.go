package emitters

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
	"github.com/vmcore-report/vmcore-report/kernel"
)

// Ground-truth rules of the per-process files. The capture read them a few
// seconds before the crash; what moved in between, and why, is stated next
// to each rule. comparablePIDs (truth_test.go) leaves out the kworkers,
// whose names carry the workqueue of their last work item.

func init() {
	pidChecks["proc/{pid}/status"] = checkStatus
	pidChecks["proc/{pid}/stat"] = checkStat
	pidChecks["proc/{pid}/statm"] = checkStatm
	pidChecks["proc/{pid}/comm"] = exactPID("comm")
	pidChecks["proc/{pid}/limits"] = exactPID("limits")
	// The harness dump (lzo-d31) has no user pages: user processes get an
	// empty file (and a partial reason, TestCmdlineNeedsUserPages); kernel
	// threads and zombies have an empty command line in any dump. The
	// content is compared byte for byte on the lzo-d1 dump by
	// TestCmdlineFromUserPages.
	pidChecks["proc/{pid}/cmdline"] = func(t *testing.T, s *fixtures.Set, pid int64, got string) {
		if want := truth(t, s, fmt.Sprintf("proc/%d/cmdline", pid)); got != "" && got != want {
			t.Errorf("pid %d cmdline %q, want %q (or empty without user pages)", pid, got, want)
		}
	}
}

func exactPID(file string) pidCheck {
	return func(t *testing.T, s *fixtures.Set, pid int64, got string) {
		want := truth(t, s, fmt.Sprintf("proc/%d/%s", pid, file))
		if got != want {
			t.Errorf("pid %d %s differs:\n%s", pid, file, lineDiff(want, got))
		}
	}
}

// isKthread tells a kernel thread by the ground truth's status (PPid 2, or
// kthreadd itself).
func isKthread(t *testing.T, s *fixtures.Set, pid int64) bool {
	st := truth(t, s, fmt.Sprintf("proc/%d/status", pid))
	return pid == 2 || strings.Contains(st, "\nPPid:\t2\n")
}

// within reports whether have is within frac (0.10 = 10 %) of want.
func within(have, want string, frac float64) bool {
	h, err1 := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(have), "kB")), 64)
	w, err2 := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(want), "kB")), 64)
	if err1 != nil || err2 != nil {
		return false
	}
	return h >= w*(1-frac) && h <= w*(1+frac)
}

// pid1Slack is how far pid 1's memory figures may be from the
// crash-instant capture's, in kB: after that capture the shell (pid 1)
// only forks the tar | dd pipeline that writes it and writes
// sysrq-trigger; a fork moves no page of the parent's resident set, and
// measured, every Vm*/Rss* figure was equal on four kernels; four pages
// for a page of heap or stack the shell may touch forking. (10 % of its
// VmRSS, ~1800 kB, is 45 pages.)
const pid1Slack = 16

// pid1Crash is pid 1's file (status, stat or statm) in the crash-instant
// capture; ok is false for a set without one (a kdump scenario: there pid 1
// kept forking and allocating between the capture and the crash, and its
// memory is compared with the capture's within 10 %).
func pid1Crash(t *testing.T, s *fixtures.Set, file string) (string, bool) {
	if s.Manifest.CrashTruth.Dir == "" {
		return "", false
	}
	return s.CrashTruth(t, "proc/1/"+file), true
}

// pid1MemOK compares one of pid 1's memory figures (kB, or pages with
// unit 4) with the crash-instant capture's within pid1Slack, or without
// one with the capture's within 10 %.
func pid1MemOK(have, capture string, crash string, haveCrash bool, unit int64) bool {
	if !haveCrash {
		return within(have, capture, 0.10)
	}
	h, c := atoi64(strings.TrimSuffix(strings.TrimSpace(have), "kB")), atoi64(strings.TrimSuffix(strings.TrimSpace(crash), "kB"))
	return (h-c)*unit <= pid1Slack && (c-h)*unit <= pid1Slack
}

// oomSwaps says the set is the OOM scenario: its memory pressure swapped
// the processes' pages out after the capture, so their resident and
// swapped memory (RSS, VmRSS, VmHWM, VmSwap, Rss*, statm's resident and
// shared pages) are not the capture's; drgn's rules compare them exactly
// (pidOracleChecks, oraclePS). Measured: VmRSS 9104 -> 840 kB, VmSwap 0
// -> 8264 kB for the fixture's threaded process on 6.1.
func oomSwaps(s *fixtures.Set) bool {
	return s.Manifest.Crash != nil && s.Manifest.Crash.Kind == "oom"
}

// notLess reports whether the counter have has not gone below want.
func notLess(have, want string) bool {
	h, err1 := strconv.ParseUint(strings.TrimSpace(have), 10, 64)
	w, err2 := strconv.ParseUint(strings.TrimSpace(want), 10, 64)
	return err1 == nil && err2 == nil && h >= w
}

func atoi64(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n
}

func checkStatus(t *testing.T, s *fixtures.Set, pid int64, got string) {
	want := truth(t, s, fmt.Sprintf("proc/%d/status", pid))
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(wl) != len(gl) {
		t.Errorf("pid %d status: %d lines, want %d:\n%s", pid, len(gl), len(wl), lineDiff(want, got))
		return
	}
	kthread := isKthread(t, s, pid)
	var crash map[string]string
	crashText, haveCrash := "", false
	if pid == 1 {
		crashText, haveCrash = pid1Crash(t, s, "status")
		crash = map[string]string{}
		for _, l := range strings.Split(crashText, "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				crash[k] = v
			}
		}
	}
	for i := range wl {
		wk, wv, _ := strings.Cut(wl[i], ":")
		gk, gv, _ := strings.Cut(gl[i], ":")
		pid1Mem := pid == 1 && (strings.HasPrefix(wk, "Vm") || strings.HasPrefix(wk, "Rss"))
		switch {
		case wk != gk:
			t.Errorf("pid %d status line %d is %q, want field %q", pid, i+1, gl[i], wk)
		case oomSwaps(s) && (strings.HasPrefix(wk, "Vm") || strings.HasPrefix(wk, "Rss")):
		// pid 1 is the shell that wrote to /proc/sysrq-trigger: it is the
		// running task of the panicking CPU, and in a kdump scenario it
		// kept forking and allocating after the capture: its memory is
		// compared with the crash-instant capture's (pid1Slack), or
		// without one moves by a few pages (10 %).
		case pid1Mem:
			if !pid1MemOK(gv, wv, crash[wk], haveCrash, 1) {
				t.Errorf("pid 1 status %s: %q, capture %q, crash-instant capture %q", wk, strings.TrimSpace(gv), strings.TrimSpace(wv), strings.TrimSpace(crash[wk]))
			}
		case wv == gv:
		// Context switch counts only grow (the tasks kept being scheduled),
		// by at most eventsPerSec over the capture window.
		case (wk == "voluntary_ctxt_switches" || wk == "nonvoluntary_ctxt_switches") && notLess(gv, wv) &&
			notLess(fmt.Sprint(int64(elapsed(t, s)*eventsPerSec)+atoi64(wv)), gv):
		// Kernel threads wake and sleep between the capture and the crash
		// (6.12's rcu_preempt was running on the CPU the panic stopped).
		case wk == "State" && kthread:
		case pid == 1 && wk == "State" && strings.HasPrefix(strings.TrimSpace(gv), "R"):
		default:
			t.Errorf("pid %d status %s: %q, want %q", pid, wk, strings.TrimSpace(gv), strings.TrimSpace(wv))
		}
	}
}

// statFields splits a stat line into its 52 fields, the name (which may
// hold spaces) kept whole.
func statFields(line string) []string {
	open, close := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || close < open {
		return nil
	}
	return append([]string{strings.TrimSpace(line[:open]), line[open+1 : close]}, strings.Fields(line[close+1:])...)
}

// statMoving are the stat fields (1-based, proc(5) numbering) that may
// only grow between capture and crash: fault counts, CPU times of the task
// and its reaped children, block I/O delay and guest times.
var statMoving = []int{10, 11, 12, 13, 14, 15, 16, 17, 42, 43, 44}

// statGrowthOK bounds a moving stat field's growth since the capture by the
// time to the crash (elapsed): CPU times and delays in clock ticks (100 per
// second on each CPU), fault counts at 20000 a second (above what a 2-CPU
// TCG guest reaches; see eventsPerSec).
func statGrowthOK(t *testing.T, s *fixtures.Set, f int, have, want string) bool {
	h, _ := strconv.ParseFloat(have, 64)
	w, _ := strconv.ParseFloat(want, 64)
	limit := elapsed(t, s) * ticksPerSecPerCPU * float64(cpuCount(t, s))
	if f >= 10 && f <= 13 {
		limit = elapsed(t, s) * eventsPerSec
	}
	return h-w <= limit
}

func checkStat(t *testing.T, s *fixtures.Set, pid int64, got string) {
	want := statFields(truth(t, s, fmt.Sprintf("proc/%d/stat", pid)))
	have := statFields(strings.TrimSuffix(got, "\n"))
	if len(have) != 52 || len(want) != 52 || !strings.HasSuffix(got, "\n") {
		t.Errorf("pid %d stat: %d fields, want 52 (%q)", pid, len(have), got)
		return
	}
	kthread := isKthread(t, s, pid)
	ranAtCrash := pid == 1 || kthread
	var crash []string
	crashText, haveCrash := "", false
	if pid == 1 {
		if crashText, haveCrash = pid1Crash(t, s, "stat"); haveCrash {
			if crash = statFields(strings.TrimSpace(crashText)); len(crash) != 52 {
				t.Fatalf("crash-instant /proc/1/stat has %d fields", len(crash))
			}
		}
	}
	for i := range want {
		f := i + 1
		switch w, h := want[i], have[i]; {
		case f == 24 && oomSwaps(s):
		// Reclaim after the OOM scenario's capture blocks kernel threads
		// outside their freezable sleep (5.10's khugepaged on the hog's
		// mmap lock: PF_FREEZER_SKIP and PF_NOFREEZE gone); drgn's rule
		// compares the flags exactly.
		case f == 9 && kthread && oomSwaps(s):
		// pid 1's resident set in pages (see checkStatus).
		case f == 24 && pid == 1:
			c := ""
			if haveCrash {
				c = crash[i]
			}
			if !pid1MemOK(h, w, c, haveCrash, 4) {
				t.Errorf("pid 1 stat rss %s, capture %s, crash-instant capture %s", h, w, c)
			}
		case w == h:
		case slices.Contains(statMoving, f) && notLess(h, w) && statGrowthOK(t, s, f, h, w):
		// State and wchan (0 while running) of the tasks that run between
		// capture and crash: kernel threads and pid 1 (see checkStatus).
		case (f == 3 || f == 35) && ranAtCrash:
		// The CPU a task last ran on changes whenever it runs.
		case f == 39 && (h == "0" || h == "1"):
		// ext4's journal thread commits every 5 s under a block plug:
		// PF_BLOCK_TS (0x20000000, "plug has ts that needs updating", 6.12's
		// include/linux/sched.h) is set while the plug caches a time and
		// cleared when it schedules (blk_plug_invalidate_ts()), so a capture
		// during a commit has it and the crash may not (seen on a
		// from-nothing 6.12 build). Only that bit, only for jbd2.
		case f == 9 && kthread && flagsDifferBy(h, w, 0x20000000) && strings.HasPrefix(statComm(want), "jbd2/"):
		default:
			t.Errorf("pid %d stat field %d: %s, want %s", pid, f, h, w)
		}
	}
}

// flagsDifferBy says whether two decimal flag words differ in bit alone.
func flagsDifferBy(a, b string, bit uint64) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && x^y == bit
}

// statComm is the comm of stat fields (the second, without parentheses).
func statComm(f []string) string {
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

func checkStatm(t *testing.T, s *fixtures.Set, pid int64, got string) {
	want := truth(t, s, fmt.Sprintf("proc/%d/statm", pid))
	if oomSwaps(s) {
		// All but the resident and shared pages (see oomSwaps).
		w, h := strings.Fields(want), strings.Fields(got)
		if len(w) != 7 || len(h) != 7 {
			t.Fatalf("pid %d statm %q, want %q", pid, got, want)
		}
		w[1], w[2], h[1], h[2] = "", "", "", ""
		if pid == 1 {
			w[0], h[0] = "", "" // its size too (see checkStatus)
		}
		if !slices.Equal(w, h) {
			t.Errorf("pid %d statm %q, want %q but for the resident and shared pages", pid, got, want)
		}
		return
	}
	if pid != 1 {
		if got != want {
			t.Errorf("pid %d statm %q, want %q", pid, got, want)
		}
		return
	}
	// pid 1's pages (see checkStatus).
	crashText, haveCrash := pid1Crash(t, s, "statm")
	w, h, c := strings.Fields(want), strings.Fields(got), strings.Fields(crashText)
	if len(w) != 7 || len(h) != 7 || haveCrash && len(c) != 7 {
		t.Errorf("pid 1 statm %q, want %q (crash-instant capture %q)", got, want, crashText)
		return
	}
	for i := range w {
		cv := ""
		if haveCrash {
			cv = c[i]
		}
		if !pid1MemOK(h[i], w[i], cv, haveCrash, 4) {
			t.Errorf("pid 1 statm field %d: %s, capture %s, crash-instant capture %s", i+1, h[i], w[i], cv)
		}
	}
}

// runPID runs the emitter at path for pid (0 for a single file).
func runPID(t *testing.T, c *Context, path string, pid int64) Output {
	t.Helper()
	for _, e := range All() {
		if e.Path == path {
			var out Output
			if err := e.Run(c, pid, &out); err != nil {
				t.Fatalf("%s pid %d: %v", path, pid, err)
			}
			return out
		}
	}
	t.Fatalf("no emitter %s", path)
	return Output{}
}

// TestCmdlineFromUserPages reads command lines from the user pages of the
// dump made with makedumpfile -d 1, which keeps them: byte for byte what
// the guest's /proc/PID/cmdline held, for every comparable process (empty
// for kernel threads).
func TestCmdlineFromUserPages(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			k, _ := kerneltest.Open(t, s, "lzo-d1", true) // with a vmlinux: never refused
			c := NewContext(k)
			for _, pid := range comparablePIDs(t, s) {
				out := runPID(t, c, "proc/{pid}/cmdline", pid)
				want := truth(t, s, fmt.Sprintf("proc/%d/cmdline", pid))
				if out.String() != want || len(out.PartialReasons()) > 0 {
					t.Errorf("pid %d: %q %v, want %q", pid, out.String(), out.PartialReasons(), want)
				}
			}
			// ps shows the same command lines, NULs as spaces.
			ps := runPID(t, c, "sos_commands/process/ps_auxwww", 0)
			if r := ps.PartialReasons(); len(r) > 0 {
				t.Errorf("ps auxwww partial with user pages present: %v", r)
			}
			if !strings.Contains(ps.String(), " /lived hold /mnt/data/locks\n") {
				t.Errorf("ps auxwww lacks the fixture's command line:\n%s", ps.String())
			}
		})
	}
}

// TestCmdlineNeedsUserPages: without user pages (-d 31) a user process's
// command line is empty and the file says why; a kernel thread's is empty
// and complete. Where the lzo-d31 dump lacks kernel pages too (a
// makedumpfile that does not know the kernel: fixtures.File.MayLackKernelPages,
// 7.2 by sid's 1.7.8), a task whose own pages it lacks cannot be read at
// all: the emitter fails on the excluded page (which the report turns into
// the advice to re-make the dump; which tasks lose pages varies from one
// build of the fixture to the next), and never writes a command line it
// did not read.
func TestCmdlineNeedsUserPages(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			lacks := s.MustRole(t, "lzo-d31").MayLackKernelPages()
			c := NewContext(kerneltest.OpenAlone(t, s, "lzo-d31"))
			var cmdline *Emitter
			for _, e := range All() {
				if e.Path == "proc/{pid}/cmdline" {
					cmdline = e
				}
			}
			for _, tc := range []struct {
				pid     int64
				reasons []string
			}{
				{1, []string{"user pages not in this dump (dump level 31)"}},
				{2, nil}, // kthreadd: no user memory, nothing missing
			} {
				var out Output
				err := cmdline.Run(c, tc.pid, &out)
				switch {
				case lacks && errors.Is(err, kernel.ErrExcluded):
					t.Logf("pid %d: %v", tc.pid, err)
				case err != nil:
					t.Errorf("pid %d: %v", tc.pid, err)
				case out.String() != "" || !slices.Equal(out.PartialReasons(), tc.reasons):
					t.Errorf("pid %d: %q %v, want \"\" %v", tc.pid, out.String(), out.PartialReasons(), tc.reasons)
				}
			}
		})
	}
}
