package emitters

import (
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// stackSkipped says which processes' /proc/PID/stack could change between
// the capture and the crash, and why; every other one must match exactly.
func stackSkipped(t *testing.T, s *fixtures.Set, pid int64) string {
	if pid == 1 {
		// The fixture's init shell captured the files while waiting for
		// its capture child (do_wait), then wrote sysrq-trigger itself: at
		// the crash it runs on the panic CPU, and the file is empty.
		return "init wrote sysrq-trigger: running at the crash"
	}
	comm := strings.TrimSpace(truth(t, s, "proc/"+itoa(pid)+"/comm"))
	if comm == "rcu_preempt" || comm == "rcu_sched" {
		// The RCU grace-period kthread wakes every few jiffies to force
		// quiescent states (rcu_gp_fqs_loop) or to wait for a new grace
		// period (rcu_gp_kthread): where it sleeps changes all the time.
		return "RCU grace-period kthread wakes every few jiffies"
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
