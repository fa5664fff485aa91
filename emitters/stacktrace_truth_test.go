package emitters

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/emitters/vmcore"
	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
)

// stackSkipped says which processes' /proc/PID/stack could change between
// the capture and the crash, and why; every other one must match exactly.
func stackSkipped(t *testing.T, s *fixtures.Set, pid int64) string {
	if c := s.Manifest.Crash; c != nil && int64(c.Task.PID) == pid {
		return "the panicking task: running at the crash"
	}
	if pid == 1 {
		// The fixture's init shell captured the files while waiting for
		// its capture child (do_wait), then wrote sysrq-trigger itself: at
		// the crash it runs on the panic CPU, and the file is empty.
		return "init wrote sysrq-trigger: running at the crash"
	}
	if f := statFields(strings.TrimSpace(truth(t, s, "proc/"+itoa(pid)+"/stat"))); len(f) > 2 && f[2] == "R" {
		// Running or preempted while the capture read it: on a CPU the
		// kernel prints no stack, preempted it prints where; at the crash
		// it may be in the other case or asleep (seen: a 6.12 kdump-hung
		// user task preempted at the capture; 7.2's spinner running at the
		// capture and preempted in irqentry_exit at the crash).
		return "runnable at the capture"
	}
	comm := strings.TrimSpace(truth(t, s, "proc/"+itoa(pid)+"/comm"))
	if strings.HasPrefix(comm, "jbd2/") {
		// ext4's journal thread commits every 5 s (the default commit
		// interval): at the capture it may be in the commit
		// (jbd2_journal_commit_transaction), at the crash back in kjournald2
		// (seen on a from-nothing build).
		return "jbd2 commits the journal every 5 s"
	}
	if comm == "rcu_preempt" || comm == "rcu_sched" {
		// The RCU grace-period kthread wakes every few jiffies to force
		// quiescent states (rcu_gp_fqs_loop) or to wait for a new grace
		// period (rcu_gp_kthread): where it sleeps changes all the time.
		return "RCU grace-period kthread wakes every few jiffies"
	}
	if strings.HasPrefix(comm, "ksoftirqd/") {
		// ksoftirqd runs whenever softirqs pile up at an interrupt's exit
		// (invoke_softirq() hands them over under load): a crash while the
		// capture's I/O completes may find it runnable, wchan 0 (seen on a
		// from-nothing build's 5.10 set: ksoftirqd/1, captured in
		// smpboot_thread_fn).
		return "ksoftirqd runs when softirqs pile up"
	}
	if strings.HasPrefix(comm, "kcompactd") {
		// kcompactd wakes every 500 ms (HPAGE_FRAG_CHECK_INTERVAL_MSEC,
		// proactive compaction since 5.9) to check fragmentation; a crash
		// just after a wake finds it runnable (seen on a from-nothing
		// build's 5.10 kdump-hung set, which crashes tens of seconds after
		// the capture: wchan 0, its captured one kcompactd).
		return "kcompactd wakes every 500 ms"
	}
	if comm == "khugepaged" {
		// khugepaged wakes every scan_sleep_millisecs (10 s by default)
		// to scan; a crash in its scan finds it runnable (seen on the
		// 5.10 kdump-sysrq set: wchan 0, its captured stack asleep).
		return "khugepaged wakes every 10 s to scan"
	}
	return ""
}

func itoa(v int64) string {
	var b [20]byte
	i := len(b)
	if v == 0 {
		return "0"
	}
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

func init() {
	pidChecks["proc/{pid}/stack"] = func(t *testing.T, s *fixtures.Set, pid int64, got string) {
		if why := stackSkipped(t, s, pid); why != "" {
			t.Logf("pid %d skipped: %s", pid, why)
			return
		}
		want := truth(t, s, "proc/"+itoa(pid)+"/stack")
		if got != want {
			t.Errorf("pid %d:\n%s", pid, lineDiff(want, got))
		}
	}
}

// btBlocks splits crash-style bt output into one block per task.
func btBlocks(text string) []string {
	var out []string
	for _, b := range strings.Split(text, "PID: ")[1:] {
		out = append(out, "PID: "+b)
	}
	return out
}

// frameNames are the function names of a bt block's frames, compiler
// suffixes (.cold, .isra.0) removed.
func frameNames(block string) []string {
	var out []string
	for _, l := range strings.Split(block, "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 && strings.HasPrefix(f[0], "#") && f[len(f)-2] == "at" {
			name, _, _ := strings.Cut(f[2], ".")
			out = append(out, name)
		}
	}
	return out
}

// inOrder says whether want appear in names in this order (others may
// lie between them); a want ending in "*" matches by prefix.
func inOrder(names, want []string) bool {
	i := 0
	for _, n := range names {
		if i < len(want) && (n == want[i] || strings.HasSuffix(want[i], "*") && strings.HasPrefix(n, strings.TrimSuffix(want[i], "*"))) {
			i++
		}
	}
	return i == len(want)
}

func init() {
	// Every fixture crashes with sysrq-c written by its init shell: the
	// panicking CPU's stack runs from the syscall into the sysrq handler;
	// the other CPU was parked by panic()'s stop IPI (smp_send_stop →
	// REBOOT_VECTOR → stop_this_cpu).
	checks["sos_commands/vmcore/bt_-a"] = func(t *testing.T, s *fixtures.Set, got string) {
		checkBtNumbers(t, s, got)
		if s.Manifest.Crash != nil {
			checkScenarioBt(t, s, got) // a kdump scenario: its own crash
			return
		}
		blocks := btBlocks(got)
		if len(blocks) != 2 {
			t.Fatalf("%d tasks, want one per CPU (2):\n%s", len(blocks), got)
		}
		panicking := 0
		for _, b := range blocks {
			names := frameNames(b)
			if strings.Contains(b, "(the unwind stopped") || strings.Contains(b, "(no trace") {
				t.Errorf("incomplete trace:\n%s", b)
			}
			if inOrder(names, []string{"panic", "sysrq_handle_crash", "__handle_sysrq", "write_sysrq_trigger", "ksys_write", "do_syscall_64", "entry_SYSCALL_64*"}) {
				panicking++
				if !strings.Contains(b, "COMMAND: \"init\"") {
					t.Errorf("the panicking task is not init:\n%s", b)
				}
				continue
			}
			if !inOrder(names, []string{"stop_this_cpu", "__sysvec_reboot"}) {
				t.Errorf("a CPU not stopped by panic()'s IPI:\n%s", b)
			}
		}
		if panicking != 1 {
			t.Errorf("%d traces with the sysrq-c path, want 1:\n%s", panicking, got)
		}
		// With a vmlinux, frames carry their source line (crash's bt -l).
		if strings.Contains(got, ".c: ") {
			_, after, _ := strings.Cut(got, " sysrq_handle_crash at ")
			_, next, _ := strings.Cut(after, "\n")
			if !strings.HasPrefix(next, "    drivers/tty/sysrq.c: ") {
				t.Errorf("sysrq_handle_crash's line is not in drivers/tty/sysrq.c:\n%s", got)
			}
		}
	}
	checks["sos_commands/vmcore/sys"] = func(t *testing.T, s *fixtures.Set, got string) {
		checkSysLines(t, s, got)
		if s.Manifest.Crash != nil {
			checkScenarioSys(t, s, got) // a kdump scenario: its own crash
			return
		}
		for _, want := range []string{
			"     CULPRIT: sysrq_handle_crash\n",
			"     RELEASE: " + strings.TrimSpace(truth(t, s, "commands/uname_-r")) + "\n",
			"    NODENAME: " + strings.TrimSpace(truth(t, s, "commands/hostname")) + "\n",
			"     COMMAND: \"init\"\n",
			"         PID: 1\n",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("no %q in:\n%s", want, got)
			}
		}
	}
}

func init() {
	// Which tasks are in D at the crash is read exactly from the same dump
	// by drgn (the oracle): the capture before the crash cannot say, since
	// a scenario's own crash puts tasks to sleep after it (5.10 kdump-oom:
	// khugepaged waits for the allocating task's mmap_lock). Each block
	// must be a task in D and off its CPU, every such task must have a
	// block, and each block must be unwound completely.
	checks["sos_commands/vmcore/bt_blocked"] = func(t *testing.T, s *fixtures.Set, got string) {
		checkBtNumbers(t, s, got)
		want := map[int64]bool{}
		for _, task := range oracleOf(t, s).tasks(t) {
			if oracleStateIsD(task.State|task.ExitState) && task.OnCPU == 0 {
				want[task.PID] = true
			}
		}
		seen := map[int64]bool{}
		for _, b := range btBlocks(got) {
			var pid int64
			fmt.Sscan(strings.TrimPrefix(b, "PID: "), &pid)
			if !want[pid] {
				t.Errorf("pid %d is not in D off a CPU at the crash (drgn):\n%s", pid, b)
			}
			seen[pid] = true
			if strings.Contains(b, "(the unwind stopped") || strings.Contains(b, "(no trace") {
				t.Errorf("incomplete trace:\n%s", b)
			}
		}
		for pid := range want {
			if !seen[pid] {
				t.Errorf("pid %d is in D off a CPU at the crash (drgn), but has no block", pid)
			}
		}
	}
}

// oracleStateIsD says __task_state_index() of include/linux/sched.h gives
// D for a task whose __state|exit_state is state: the highest reported bit
// is TASK_UNINTERRUPTIBLE (0x2) without TASK_NOLOAD (0x400, then it is I),
// or, before either test, it waits on an rtlock (TASK_RTLOCK_WAIT 0x1000, 5.15+) or is frozen
// (TASK_FROZEN 0x8000, 6.1+; unused below, so harmless on 5.10).
func oracleStateIsD(state uint64) bool {
	switch {
	case state&0x1000 != 0, state&0x8000 != 0:
		return true
	case state&0x402 == 0x402:
		return false
	}
	return state&0x7f&^0x3 == 0 && state&0x2 != 0
}

// TestBtSleeping prints the fixture's sleeper (pid in pause()) as
// bt_blocked would: its syscall path down from the user-mode registers.
func TestBtSleeping(t *testing.T) {
	for _, s := range fixtures.All(t) {
		c := NewContext(kerneltest.OpenAlone(t, s, s.RefRole()))
		pids := strings.Fields(truth(t, s, "meta/fixture_pids"))
		var pid int64
		fmt.Sscan(pids[1], &pid) // lived sleep: in pause()
		task, err := c.TaskByPID(pid)
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.StackTracer()
		if err != nil {
			t.Fatal(err)
		}
		text, err := vmcore.BtSleeping(c, st, task)
		if err != nil {
			t.Fatal(err)
		}
		names := frameNames(text)
		if !inOrder(names, []string{"__do_sys_pause", "do_syscall_64", "entry_SYSCALL_64*"}) ||
			!strings.Contains(text, "    BLOCKED: ") || !strings.Contains(text, "ORIG_RAX: 0000000000000022") {
			t.Errorf("%s:\n%s", s.Manifest.ID, text)
		}
	}
}

func init() {
	// The capture has no wchan files; get_wchan() is the first entry of
	// the same stack trace /proc/PID/stack prints, so its function name
	// (or 0 for an empty trace) is the truth for the same tasks.
	pidChecks["proc/{pid}/wchan"] = func(t *testing.T, s *fixtures.Set, pid int64, got string) {
		if why := stackSkipped(t, s, pid); why != "" {
			return
		}
		want := "0"
		if first, _, ok := strings.Cut(truth(t, s, "proc/"+itoa(pid)+"/stack"), "\n"); ok {
			name := strings.TrimPrefix(first, "[<0>] ")
			name, _, _ = strings.Cut(name, "+")
			want = name
		}
		if got != want {
			t.Errorf("pid %d: wchan %q, want %q", pid, got, want)
		}
	}
}
