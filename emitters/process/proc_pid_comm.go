package process

import "github.com/vmcore-report/vmcore-report/emitters/emit"

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/{pid}/comm",
		Each:    emit.PerPID,
		Mirrors: "comm_show() in fs/proc/base.c (proc_task_name, not escaped)",
		Desc:    "process name",
		Tracker: emit.Done,
		Run: func(c *emit.Context, pid int64, out *emit.Output) error {
			task, err := c.TaskByPID(pid)
			if err != nil {
				return err
			}
			name, err := procTaskName(c, task, out)
			if err != nil {
				return err
			}
			out.WriteString(name + "\n")
			return nil
		},
	})
}
