package kernel

import "github.com/vmcore-report/vmcore-report/emitters/emit"

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/cmdline",
		Mirrors: "cmdline_proc_show() in fs/proc/cmdline.c",
		Desc:    "kernel command line",
		Tracker: emit.Done,
		Run:     procCmdline,
	})
}

func procCmdline(c *emit.Context, _ int64, out *emit.Output) error {
	s, err := c.Prog.VarAs("saved_command_line", "char *").CString()
	if err != nil {
		return err
	}
	out.WriteString(s)
	out.WriteByte('\n')
	return nil
}
