package process

import (
	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/{pid}/wchan",
		Each:    emit.PerPID,
		Mirrors: "proc_pid_wchan() in fs/proc/base.c (get_wchan, lookup_symbol_name)",
		Desc:    "the function a blocked process waits in, from its stack; 0 when it is runnable",
		Tracker: emit.Done,
		Run: func(c *emit.Context, pid int64, out *emit.Output) error {
			task, err := c.TaskByPID(pid)
			if err != nil {
				return err
			}
			name, err := wchanName(c, task)
			if err != nil {
				return err
			}
			out.WriteString(name) // seq_puts: no newline
			return nil
		},
	})
}

// wchanName is what /proc/PID/wchan prints: the symbol name alone (no
// offset, no module), or "0".
func wchanName(c *emit.Context, task object.Object) (string, error) {
	st, err := c.StackTracer()
	if err != nil {
		return "", err
	}
	w, err := st.GetWchan(task)
	if err != nil {
		return "", err
	}
	if w == 0 {
		return "0", nil
	}
	name, _, _, _, ok := c.Symbolizer().Symbolize(w)
	if !ok {
		return "0", nil
	}
	return name, nil
}
