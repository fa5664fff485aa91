package emitters

func init() {
	Register(&Emitter{
		Path:    "proc/{pid}/comm",
		Each:    PerPID,
		Mirrors: "comm_show() in fs/proc/base.c (proc_task_name, not escaped)",
		Desc:    "process name",
		Tracker: Done,
		Run: func(c *Context, pid int64, out *Output) error {
			task, err := taskByPID(c, pid)
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
