package emitters

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Module is one loaded module as /proc/modules describes it.
type Module struct {
	Name     string
	Size     uint64
	Refcount int64
	Users    []string // source_list: modules that use this one
	Perm     bool     // has init but no exit: "[permanent]"
	State    string   // Live, Loading, Unloading
	Base     uint64
	Taints   string // module_flags(): "(OE)" etc., empty when untainted
}

// Modules reads the module list once per run, in /proc/modules order.
func Modules(c *Context) ([]Module, error) {
	return Once(c, "modules", func() ([]Module, error) {
		var mods []Module
		for m, err := range linux.ForEachModule(c.Prog) {
			if err != nil {
				return mods, err
			}
			mod, skip, err := readModule(c.Prog, m)
			if err != nil {
				return mods, err
			}
			if !skip {
				mods = append(mods, mod)
			}
		}
		return mods, nil
	})
}

// readModule mirrors m_show() in kernel/module/procfs.c.
func readModule(p *object.Program, m object.Object) (Module, bool, error) {
	var mod Module
	var err error
	if mod.Name, err = m.Member("name").CString(); err != nil {
		return mod, false, err
	}
	state, err := m.Member("state").Uint()
	if err != nil {
		return mod, false, err
	}
	states := map[string]int64{}
	for _, n := range []string{"MODULE_STATE_LIVE", "MODULE_STATE_COMING", "MODULE_STATE_GOING", "MODULE_STATE_UNFORMED"} {
		v, err := p.Types.EnumValue(n)
		if err != nil {
			return mod, false, fmt.Errorf("module state: %w", err)
		}
		states[n] = v
	}
	switch int64(state) {
	case states["MODULE_STATE_UNFORMED"]:
		return mod, true, nil // m_show ignores unformed modules
	case states["MODULE_STATE_GOING"]:
		mod.State = "Unloading"
	case states["MODULE_STATE_COMING"]:
		mod.State = "Loading"
	case states["MODULE_STATE_LIVE"]:
		mod.State = "Live"
	default:
		return mod, false, fmt.Errorf("module %s: state %d is none of enum module_state's", mod.Name, state)
	}
	// module_memory replaced module_layout in 6.4 (commit ac3b43283923).
	if m.HasMember("mem") {
		n, err := p.Types.EnumValue("MOD_MEM_NUM_TYPES")
		if err != nil {
			return mod, false, err
		}
		for i := int64(0); i < n; i++ {
			sz, err := m.Member(fmt.Sprintf("mem[%d].size", i)).Uint()
			if err != nil {
				return mod, false, err
			}
			mod.Size += sz
		}
		text, err := p.Types.EnumValue("MOD_TEXT")
		if err != nil {
			return mod, false, err
		}
		if mod.Base, err = m.Member(fmt.Sprintf("mem[%d].base", text)).Uint(); err != nil {
			return mod, false, err
		}
	} else {
		for _, l := range []string{"init_layout.size", "core_layout.size", "data_layout.size"} {
			if !m.HasMember(l) {
				continue // data_layout only with ARCH_WANTS_MODULES_DATA_IN_VMALLOC
			}
			sz, err := m.Member(l).Uint()
			if err != nil {
				return mod, false, err
			}
			mod.Size += sz
		}
		if mod.Base, err = m.Member("core_layout.base").Uint(); err != nil {
			return mod, false, err
		}
	}
	ref, err := m.Member("refcnt.counter").Int()
	if err != nil {
		return mod, false, err
	}
	mod.Refcount = ref - 1 // MODULE_REF_BASE
	for use, err := range linux.ListForEachEntry(m.Member("source_list"), "struct module_use", "source_list") {
		if err != nil {
			return mod, false, err
		}
		name, err := use.Member("source").Member("name").CString()
		if err != nil {
			return mod, false, err
		}
		mod.Users = append(mod.Users, name)
	}
	init, err1 := m.Member("init").Uint()
	exit, err2 := m.Member("exit").Uint()
	if err1 != nil || err2 != nil {
		return mod, false, fmt.Errorf("module %s: init/exit: %v %v", mod.Name, err1, err2)
	}
	mod.Perm = init != 0 && exit == 0
	taints, err := m.Member("taints").Uint()
	if err != nil {
		return mod, false, err
	}
	mod.Taints = moduleFlags(taints, mod.State)
	return mod, false, nil
}

// moduleTaintChars are the c_true letters of taint_flags[] entries with
// .module set, by bit (kernel/panic.c; the same in 6.1 and 6.12).
var moduleTaintChars = map[int]byte{0: 'P', 1: 'F', 10: 'C', 12: 'O', 13: 'E', 15: 'K', 16: 'X', 17: 'T', 18: 'N'}

// moduleFlags mirrors module_flags(mod, buf, true).
func moduleFlags(taints uint64, state string) string {
	if taints == 0 && state == "Live" {
		return ""
	}
	var b strings.Builder
	b.WriteByte('(')
	for bit := 0; bit < 64; bit++ {
		if c, ok := moduleTaintChars[bit]; ok && taints&(1<<bit) != 0 {
			b.WriteByte(c)
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
	Register(&Emitter{
		Path:    "proc/modules",
		Mirrors: "m_show() in kernel/module/procfs.c",
		Desc:    "loaded modules with size, references, users, state, address, taints",
		Tracker: Done,
		Run:     procModules,
	})
	Register(&Emitter{
		Path:    "sos_commands/kernel/lsmod",
		Mirrors: "lsmod (kmod tools/lsmod.c)",
		Desc:    "lsmod at the crash",
		Tracker: Partial,
		Note:    "holders are listed in the kernel's source_list order; kmod reads them from sysfs, whose order can differ",
		Run:     lsmod,
	})
}

func procModules(c *Context, _ int64, out *Output) error {
	mods, err := Modules(c)
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
		if m.Taints != "" {
			fmt.Fprintf(out, " %s", m.Taints)
		}
		out.WriteByte('\n')
	}
	return nil
}

func lsmod(c *Context, _ int64, out *Output) error {
	mods, err := Modules(c)
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
