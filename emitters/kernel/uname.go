package kernel

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "sos_commands/kernel/uname_-a",
		Mirrors: "uname -a (coreutils/busybox): uname(2) fields and the operating system",
		Desc:    "uname -a at the crash",
		Tracker: emit.Done,
		Run:     unameA,
	})
	area.Register(&emit.Emitter{
		Path:    "sos_commands/host/hostname",
		Mirrors: "hostname: uname(2) nodename",
		Desc:    "host name",
		Tracker: emit.Done,
		Run: func(c *emit.Context, _ int64, out *emit.Output) error {
			u, err := c.Utsname()
			if err != nil {
				return err
			}
			fmt.Fprintln(out, u.Nodename)
			return nil
		},
	})
}

// unameA prints what `uname -a` prints on Linux: sysname, nodename, release,
// version, machine, then "GNU/Linux" (the processor and hardware-platform
// fields are "unknown" on Linux and -a leaves them out).
func unameA(c *emit.Context, _ int64, out *emit.Output) error {
	u, err := c.Utsname()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s %s %s %s %s GNU/Linux\n", u.Sysname, u.Nodename, u.Release, u.Version, u.Machine)
	return nil
}
