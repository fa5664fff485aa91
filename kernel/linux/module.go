package linux

import (
	"fmt"
	"iter"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// ForEachModule yields every loaded module (struct module), newest first as
// /proc/modules lists them: the static list "modules" of
// kernel/module/main.c, linked by module.list.
func ForEachModule(p *object.Program) iter.Seq2[object.Object, error] {
	return ListForEachEntry(p.VarAs("modules", "struct list_head"), "struct module", "list")
}

// Module is one loaded module as /proc/modules describes it.
type Module struct {
	Name     string
	Size     uint64
	Refcount int64
	Users    []string // source_list: modules that use this one
	Perm     bool     // has init but no exit: "[permanent]"
	State    string   // Live, Loading, Unloading
	Base     uint64
	Taints   uint64 // module->taints, TAINT_* bits (see TaintFlags)
}

// ReadModules reads the module list, in /proc/modules order.
func ReadModules(p *object.Program) ([]Module, error) {
	var mods []Module
	for m, err := range ForEachModule(p) {
		if err != nil {
			return mods, err
		}
		mod, skip, err := readModule(p, m)
		if err != nil {
			return mods, err
		}
		if !skip {
			mods = append(mods, mod)
		}
	}
	return mods, nil
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
	for use, err := range ListForEachEntry(m.Member("source_list"), "struct module_use", "source_list") {
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
	mod.Taints = taints
	return mod, false, nil
}
