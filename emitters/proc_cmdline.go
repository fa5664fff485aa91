package emitters

func init() {
	Register(&Emitter{
		Path:    "proc/cmdline",
		Mirrors: "cmdline_proc_show() in fs/proc/cmdline.c",
		Desc:    "kernel command line",
		Tracker: Done,
		Run:     procCmdline,
	})
}

func procCmdline(c *Context, _ int64, out *Output) error {
	s, err := c.Prog.VarAs("saved_command_line", "char *").CString()
	if err != nil {
		return err
	}
	out.WriteString(s)
	out.WriteByte('\n')
	return nil
}
