package process

import (
	"errors"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/{pid}/stack",
		Each:    emit.PerPID,
		Mirrors: "proc_pid_stack() in fs/proc/base.c (stack_trace_save_tsk, %pB)",
		Desc:    "kernel stack of the process's main thread, unwound with ORC",
		Tracker: emit.Done,
		Run: func(c *emit.Context, pid int64, out *emit.Output) error {
			task, err := c.TaskByPID(pid)
			if err != nil {
				return err
			}
			st, err := c.StackTracer()
			if err != nil {
				return err
			}
			addrs, tr, err := st.StackTraceSaveTsk(task)
			if errors.Is(err, linux.ErrTaskRunning) || errors.Is(err, linux.ErrStackFreed) {
				// __unwind_start refuses a task running on another CPU,
				// and a dead task has no stack: the live file is empty.
				return nil
			}
			if err != nil {
				return err
			}
			for _, a := range addrs {
				out.WriteString("[<0>] " + c.Symbolizer().SprintBacktrace(a) + "\n")
			}
			if tr.End != nil && len(addrs) < linux.MaxStackTraceDepth {
				out.Partial("unwinding stopped early: %v", tr.End)
			}
			return nil
		},
	})
}
