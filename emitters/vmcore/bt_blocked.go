package vmcore

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "sos_commands/vmcore/bt_blocked",
		Mirrors: "crash's foreach UN bt, as the hung-task detector (kernel/hung_task.c) would look at it",
		Desc:    "stack of every task in uninterruptible sleep (D), with the time since it last ran",
		Tracker: emit.Done,
		Run: func(c *emit.Context, _ int64, out *emit.Output) error {
			st, err := c.StackTracer()
			if err != nil {
				return err
			}
			n := 0
			for task, err := range linux.ForEachProcess(c.Prog) {
				if err != nil {
					out.Partial("task list: %v", err)
					break
				}
				for th, err := range linux.ForEachThread(task) {
					if err != nil {
						out.Partial("threads: %v", err)
						break
					}
					state, err := linux.TaskStateToChar(th, linux.FrozenIsD)
					if err != nil {
						out.Partial("task state: %v", err)
						continue
					}
					if state != 'D' {
						continue
					}
					onCPU, err := linux.TaskOnCPU(th)
					if err != nil {
						out.Partial("task on_cpu: %v", err)
					}
					if onCPU {
						continue // on a CPU: bt_-a shows it
					}
					if n > 0 {
						out.WriteString("\n")
					}
					n++
					text, err := BtSleeping(c, st, th)
					if err != nil {
						out.Partial("%v", err)
					}
					out.WriteString(text)
				}
			}
			return nil
		},
	})
}

// BtSleeping is the bt of a task that is not on a CPU, with how long it
// has not run.
func BtSleeping(c *emit.Context, st *linux.StackTracer, task object.Object) (string, error) {
	var b strings.Builder
	cpu, err := linux.TaskCPU(task)
	if err != nil {
		return "", fmt.Errorf("task cpu: %w", err)
	}
	h, err := btHeader(c, task, fmt.Sprint(cpu))
	if err != nil {
		return "", fmt.Errorf("task header: %w", err)
	}
	b.WriteString(h)
	if d, ok := blockedFor(c, task, cpu); ok {
		fmt.Fprintf(&b, "    BLOCKED: %s since it last ran\n", d)
	}
	tr, err := st.WalkSleeping(task)
	if err != nil {
		fmt.Fprintf(&b, "    (no trace: %v)\n", err)
	}
	writeBt(c, &b, tr)
	if err == nil && tr.End != nil {
		err = tr.End
	}
	return b.String(), err
}

// blockedFor is how long a sleeping task has not run: its CPU's run-queue
// clock (rq->clock, ns) minus the task's sched_info.last_arrival
// (CONFIG_SCHED_INFO), the measure crash's ps -m uses. ok is false when
// either is unreadable.
func blockedFor(c *emit.Context, task object.Object, cpu int64) (string, bool) {
	var rd object.Reader
	last := rd.Uint(task.Member("sched_info").Member("last_arrival"))
	clock := rd.Uint(linux.CPURq(c.Prog, int(cpu)).Member("clock"))
	if rd.Err() != nil || last == 0 || clock < last {
		return "", false
	}
	d := clock - last
	return fmt.Sprintf("%s.%03d", crashDuration(int64(d)), d%1e9/1e6), true
}
