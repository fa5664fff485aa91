package emitters

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
)

// scenarioChanges are what a kdump scenario changes on purpose between the
// capture of its ground truth and its crash: those outputs still run (and
// must not fail) but are not compared with that scenario's capture; drgn's
// rules (oracleChecks, pidOracleChecks) still compare them exactly. The
// kernel's own (QEMU-dumped) set compares them all. (The OOM scenario's
// per-process memory figures are left out of the capture's rules by
// oomSwaps, its pageblocks by checkPagetypeinfo.)
var scenarioChanges = map[string]map[string]string{
	"kdump-oom": {
		"proc/vmstat":              oomFilled,
		"proc/zoneinfo":            oomFilled,
		"proc/buddyinfo":           oomFilled,
		"proc/swaps":               oomFilled,
		"sos_commands/memory/free": oomFilled,
		"proc/loadavg":             lateCrash,
		"sos_commands/host/uptime": lateCrash,
		"proc/{pid}/stack":         oomReclaim,
		"proc/{pid}/wchan":         oomReclaim,
	},
	"kdump-sysrq": {
		"sos_commands/memory/free": kdumpFreed,
	},
	"kdump-hung": {
		"sos_commands/memory/free":               kdumpFreed,
		"proc/sys/kernel/hung_task_timeout_secs": hungTimeout,
		"sos_commands/kernel/sysctl_-a":          hungTimeout,
		"proc/loadavg":                           lateCrash,
		"sos_commands/host/uptime":               lateCrash,
	},
}

const (
	oomFilled   = "fixture-oom filled the memory after the capture (that is the scenario)"
	oomReclaim  = "the OOM's reclaim woke kswapd and the ext4 journal (jbd2) after the capture: they sleep elsewhere at the crash (6.12)"
	lateCrash   = "the crash comes tens of seconds after the capture (memory filling; khungtaskd's timeouts), in which the 1-minute load moves past the check's tolerance"
	kdumpFreed  = "in the kdump scenarios free memory at the crash is ~10 MB above busybox free's reading (6.1: +9.7 MB sysrq, +9.5 MB hung; measured), past the 4 MB upward band: the flow after the capture (truth tar written, kexec armed) frees more than the QEMU flow's; meminfo's MemFree, read earlier, still compares"
	hungTimeout = "hung_task_timeout_secs is 0 while the truth is captured and 2 after, to wake khungtaskd"
)

// scenarioChange says why path is not compared with the set's capture, or "".
func scenarioChange(s *fixtures.Set, path string) string {
	return scenarioChanges[s.Manifest.Scenario][path]
}

// culpritMatches: the culprit a trace names is the crash's culprit, as a
// symbol table names it (the symbol, or gcc's .cold part of it), or as the
// source names it when the symbolizer resolves inlined calls.
func culpritMatches(c *fixtures.Crash, name string) bool {
	return strings.TrimSuffix(name, ".cold") == c.CulpritSymbol || name == c.Culprit
}

// checkScenarioSys: sys names the panicking task and the culprit the
// scenario's crash record expects (the panicking task and CPU from the
// crashed kernel's console, the culprit from the kernel source).
func checkScenarioSys(t *testing.T, s *fixtures.Set, got string) {
	c := s.Manifest.Crash
	for _, want := range []string{
		fmt.Sprintf("     COMMAND: %q\n", c.Task.Comm),
		fmt.Sprintf("         PID: %d\n", c.Task.PID),
		"       PANIC: \"" + c.PanicMessage + "\"\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	culprit := ""
	for _, l := range strings.Split(got, "\n") {
		if v, ok := strings.CutPrefix(l, "     CULPRIT: "); ok {
			culprit = v
		}
	}
	if !culpritMatches(c, culprit) {
		t.Errorf("CULPRIT %q, want %s (%s in the source; the console's caller of panic was %s):\n%s",
			culprit, c.CulpritSymbol, c.Culprit, c.PanicCaller, got)
	}
}

// checkScenarioBt: bt -a shows the panicking task on its CPU with panic
// called from the culprit, and every CPU's trace complete. With kdump the
// other CPUs were stopped by the NMI shootdown, at whatever they ran.
func checkScenarioBt(t *testing.T, s *fixtures.Set, got string) {
	c := s.Manifest.Crash
	blocks := btBlocks(got)
	panicking := 0
	for _, b := range blocks {
		if strings.Contains(b, "(the unwind stopped") || strings.Contains(b, "(no trace") {
			t.Errorf("incomplete trace:\n%s", b)
		}
		names := frameNames(b)
		for i, n := range names {
			if n == "panic" && i+1 < len(names) && culpritMatches(c, names[i+1]) {
				panicking++
				if !strings.Contains(b, fmt.Sprintf("PID: %-7d", c.Task.PID)) || !strings.Contains(b, fmt.Sprintf("COMMAND: %q", c.Task.Comm)) {
					t.Errorf("the panic path is not on %s (%d):\n%s", c.Task.Comm, c.Task.PID, b)
				}
				break
			}
		}
	}
	if panicking != 1 {
		t.Errorf("%d traces with panic called from %s, want 1:\n%s", panicking, c.CulpritSymbol, got)
	}
}

// TestHungTask: in the hung-task scenario the task khungtaskd reported
// sits where it blocked, on a filesystem frozen with FIFREEZE: its stack
// in the dump is the one the live system printed before the crash (it
// did not run since), down sb_start_write's percpu rwsem from
// mnt_want_write (fs/namespace.c, kernel/locking/percpu-rwsem.c), and
// bt_blocked lists it.
func TestHungTask(t *testing.T) {
	for _, s := range fixtures.Scenarios(t) {
		c := s.Manifest.Crash
		if c.Kind != "hung-task" {
			continue
		}
		t.Run(s.Manifest.ID, func(t *testing.T) {
			if c.HungTask == nil {
				t.Fatal("no hung task in the crash record")
			}
			ctx := NewContext(kerneltest.OpenAlone(t, s, s.RefRole()))
			pid := int64(c.HungTask.PID)
			run := func(path string, pid int64) string {
				for _, e := range All() {
					if e.Path == path {
						var out Output
						if err := e.Run(ctx, pid, &out); err != nil {
							t.Fatalf("%s: %v", path, err)
						}
						return out.String()
					}
				}
				t.Fatalf("no emitter %s", path)
				return ""
			}
			if got, want := run("proc/{pid}/stack", pid), truth(t, s, "proc/"+itoa(pid)+"/stack"); got != want {
				t.Errorf("pid %d stack:\n%s", pid, lineDiff(want, got))
			}
			var block string
			for _, b := range btBlocks(run("sos_commands/vmcore/bt_blocked", 0)) {
				if strings.HasPrefix(b, fmt.Sprintf("PID: %-7d", pid)) {
					block = b
				}
			}
			if !strings.Contains(block, fmt.Sprintf("COMMAND: %q", c.HungTask.Comm)) ||
				!inOrder(frameNames(block), []string{"schedule", "__percpu_down_read", "mnt_want_write"}) {
				t.Errorf("bt_blocked's block for pid %d:\n%s", pid, block)
			}
		})
	}
}
