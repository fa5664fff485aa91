package kernel

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/version",
		Mirrors: "version_proc_show() in fs/proc/version.c",
		Desc:    "kernel version banner",
		Tracker: emit.Done,
		Run:     procVersion,
	})
}

// procVersion formats linux_proc_banner, read from the kernel's own rodata,
// with the utsname fields, as seq_printf(m, linux_proc_banner, …) does.
func procVersion(c *emit.Context, _ int64, out *emit.Output) error {
	u, err := c.Utsname()
	if err != nil {
		return err
	}
	banner, err := arrayString(c.Prog, "linux_proc_banner", 1024)
	if err != nil {
		return err
	}
	if strings.Count(banner, "%s") != 3 || strings.Count(banner, "%") != 3 {
		return fmt.Errorf("linux_proc_banner %q: want exactly three %%s", banner)
	}
	fmt.Fprintf(out, banner, u.Sysname, u.Release, u.Version)
	return nil
}

// arrayString reads the NUL-terminated char array at symbol.
func arrayString(p *object.Program, symbol string, max int) (string, error) {
	addr, err := p.Syms.Addr(symbol)
	if err != nil {
		return "", err
	}
	return object.ReadCString(p.Mem, addr, max)
}
