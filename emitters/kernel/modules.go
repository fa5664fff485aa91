package kernel

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// modules reads the module list once per run, in /proc/modules order.
func modules(c *emit.Context) ([]linux.Module, error) {
	return emit.Once(c, "modules", func() ([]linux.Module, error) { return linux.ReadModules(c.Prog) })
}

// moduleFlags mirrors module_flags(mod, buf, true).
func moduleFlags(taints uint64, state string) string {
	if taints == 0 && state == "Live" {
		return ""
	}
	var b strings.Builder
	b.WriteByte('(')
	for bit, f := range linux.TaintFlags {
		if f.Module && taints&(1<<bit) != 0 {
			b.WriteByte(f.Letter)
		}
	}
	switch state {
	case "Unloading":
		b.WriteByte('-')
	case "Loading":
		b.WriteByte('+')
	}
	b.WriteByte(')')
	return b.String()
}

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/modules",
		Mirrors: "m_show() in kernel/module/procfs.c",
		Desc:    "loaded modules with size, references, users, state, address, taints",
		Tracker: emit.Done,
		Run:     procModules,
	})
	area.Register(&emit.Emitter{
		Path:    "sos_commands/kernel/lsmod",
		Mirrors: "lsmod (kmod tools/lsmod.c)",
		Desc:    "lsmod at the crash",
		Tracker: emit.Partial,
		Note:    "holders are listed in the kernel's source_list order; kmod reads them from sysfs, whose order can differ",
		Run:     lsmod,
	})
}

func procModules(c *emit.Context, _ int64, out *emit.Output) error {
	mods, err := modules(c)
	if err != nil {
		return err
	}
	for _, m := range mods {
		fmt.Fprintf(out, "%s %d %d ", m.Name, m.Size, m.Refcount)
		for _, u := range m.Users {
			fmt.Fprintf(out, "%s,", u)
		}
		if m.Perm {
			out.WriteString("[permanent],")
		}
		if len(m.Users) == 0 && !m.Perm {
			out.WriteString("-")
		}
		fmt.Fprintf(out, " %s 0x%016x", m.State, m.Base)
		if f := moduleFlags(m.Taints, m.State); f != "" {
			fmt.Fprintf(out, " %s", f)
		}
		out.WriteByte('\n')
	}
	return nil
}

func lsmod(c *emit.Context, _ int64, out *emit.Output) error {
	mods, err := modules(c)
	if err != nil {
		return err
	}
	out.WriteString("Module                  Size  Used by\n")
	for _, m := range mods {
		fmt.Fprintf(out, "%-19s %8d  %d", m.Name, m.Size, m.Refcount)
		if len(m.Users) > 0 {
			fmt.Fprintf(out, " %s", strings.Join(m.Users, ","))
		}
		out.WriteByte('\n')
	}
	return nil
}
