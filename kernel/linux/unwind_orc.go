package linux

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/kernel/unwind"
)

// ORC is the kernel's ORC unwind data, as arch/x86/kernel/unwind_orc.c
// keeps it: the vmlinux table and each module's (mod->arch), looked up by
// address (orc_find). It implements unwind.Code.
type ORC struct {
	layout  unwind.Layout
	vmlinux *unwind.Table
	// text and init text of the vmlinux: [_stext, _etext), [_sinittext, _einittext).
	text, inittext [2]uint64
	// From says where the vmlinux table was read ("vmlinux sections",
	// "kernel memory").
	From string

	mu      sync.Mutex
	modules []*moduleText // sorted by lo
	modErr  error
	prog    *object.Program
	// listModules lists the loaded modules (a Symbolizer's Modules).
	listModules func() ([]*ModuleKallsyms, error)
}

// moduleText is one module's text range and, once needed, its ORC table.
type moduleText struct {
	name   string
	lo, hi uint64
	mod    object.Object
	once   sync.Once
	table  *unwind.Table
	err    error
}

// ORCLayout reads struct orc_entry's layout from the kernel's types.
func ORCLayout(p *object.Program) (unwind.Layout, error) {
	t, err := p.Type("struct orc_entry")
	if err != nil {
		return unwind.Layout{}, fmt.Errorf("struct orc_entry: %w", err)
	}
	return unwind.LayoutOf(t)
}

// NewSPIndirect says whether REG_SP_INDIRECT means sp = *sp + offset. That
// changed in v5.12 (87ccc826bf1c "x86/unwind/orc: Change REG_SP_INDIRECT"),
// in the series that also replaced the irq_count stack tracking by the
// per-cpu hardirq_stack_inuse flag (later a member of pcpu_hot): its
// presence is the probe.
func NewSPIndirect(p *object.Program) bool {
	return HasSymbol(p, "hardirq_stack_inuse") || p.HasMember("struct pcpu_hot", "hardirq_stack_inuse")
}

// OpenORC loads the vmlinux's ORC table: from its .orc_unwind_ip and
// .orc_unwind sections when vmlinux is given (kaslr is KERNELOFFSET),
// otherwise from the kernel's memory between __start_orc_unwind_ip …
// __stop_orc_unwind. Module tables are read on first use, from the
// modules that modules lists.
func OpenORC(p *object.Program, vmlinux io.ReaderAt, kaslr uint64, modules func() ([]*ModuleKallsyms, error)) (*ORC, error) {
	l, err := ORCLayout(p)
	if err != nil {
		return nil, err
	}
	o := &ORC{layout: l, prog: p, listModules: modules}
	for _, r := range []struct {
		dst        *[2]uint64
		start, end string
	}{{&o.text, "_stext", "_etext"}, {&o.inittext, "_sinittext", "_einittext"}} {
		a, err1 := p.Syms.Addr(r.start)
		b, err2 := p.Syms.Addr(r.end)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		*r.dst = [2]uint64{a, b}
	}
	if vmlinux != nil {
		o.vmlinux, err = orcFromELF(vmlinux, kaslr, l)
		o.From = "vmlinux sections"
	} else {
		o.vmlinux, err = orcFromMemory(p, l)
		o.From = "kernel memory"
	}
	if err != nil {
		return nil, err
	}
	// The register numbers changed in 7.x with no type to tell (see
	// unwind.ProbeRegNumbering): the entry at schedule()'s first
	// instruction says which the table uses, once per opened kernel.
	fn, err := p.Syms.Addr("schedule")
	if err != nil {
		return nil, fmt.Errorf("ORC register numbering: %w", err)
	}
	renumbered, err := unwind.ProbeRegNumbering(o.vmlinux, fn)
	if err != nil {
		return nil, fmt.Errorf("ORC register numbering: %w", err)
	}
	if renumbered {
		o.layout = l.WithRenumberedRegs()
		o.vmlinux = o.vmlinux.WithLayout(o.layout)
	}
	return o, nil
}

func orcFromELF(r io.ReaderAt, kaslr uint64, l unwind.Layout) (*unwind.Table, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("vmlinux: %w", err)
	}
	ipSec, orcSec := f.Section(".orc_unwind_ip"), f.Section(".orc_unwind")
	if ipSec == nil || orcSec == nil {
		return nil, fmt.Errorf("vmlinux has no .orc_unwind_ip/.orc_unwind sections (CONFIG_UNWINDER_ORC off): %w", unwind.ErrTable)
	}
	if ipSec.Size > unwind.MaxTableBytes || orcSec.Size > unwind.MaxTableBytes || ipSec.Type == elf.SHT_NOBITS || orcSec.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("%w: sections of %d and %d bytes", unwind.ErrTable, ipSec.Size, orcSec.Size)
	}
	ips := make([]byte, ipSec.Size)
	if _, err := ipSec.ReadAt(ips, 0); err != nil {
		return nil, fmt.Errorf("vmlinux .orc_unwind_ip: %w", err)
	}
	orcs := make([]byte, orcSec.Size)
	if _, err := orcSec.ReadAt(orcs, 0); err != nil {
		return nil, fmt.Errorf("vmlinux .orc_unwind: %w", err)
	}
	return unwind.NewTable(ipSec.Addr+kaslr, ips, orcs, l)
}

// memReader reads kernel virtual memory as a file.
type memReader struct{ m object.Memory }

func (r memReader) ReadAt(b []byte, off int64) (int, error) { return r.m.ReadVirtAt(b, uint64(off)) }

func orcFromMemory(p *object.Program, l unwind.Layout) (*unwind.Table, error) {
	var a [4]uint64
	for i, name := range []string{"__start_orc_unwind_ip", "__stop_orc_unwind_ip", "__start_orc_unwind", "__stop_orc_unwind"} {
		v, err := p.Syms.Addr(name)
		if err != nil {
			return nil, fmt.Errorf("ORC table: %w", err)
		}
		a[i] = v
	}
	return unwind.ReadTable(memReader{p.Mem}, a[0], a[1], a[2], a[3], l)
}

// Layout is the orc_entry layout in use.
func (o *ORC) Layout() unwind.Layout { return o.layout }

func in(r [2]uint64, pc uint64) bool { return pc >= r[0] && pc < r[1] }

// ORC is orc_find(): the vmlinux table for its text, a module's table for
// module text.
func (o *ORC) ORC(pc uint64) (unwind.Entry, error) {
	if in(o.text, pc) || in(o.inittext, pc) {
		return o.vmlinux.Find(pc)
	}
	m := o.module(pc)
	if m == nil {
		return unwind.Entry{}, fmt.Errorf("%#x: %w", pc, unwind.ErrNoEntry)
	}
	m.once.Do(func() { m.table, m.err = moduleORC(m.mod, o.layout) })
	if m.err != nil {
		return unwind.Entry{}, fmt.Errorf("module %s: %w", m.name, m.err)
	}
	return m.table.Find(pc)
}

// IsText is __kernel_text_address() for the vmlinux and modules (BPF,
// ftrace and kprobe trampolines are not known here).
func (o *ORC) IsText(pc uint64) bool {
	return in(o.text, pc) || in(o.inittext, pc) || o.module(pc) != nil
}

// ModuleOf names the module whose text holds pc ("" for none).
func (o *ORC) ModuleOf(pc uint64) string {
	if m := o.module(pc); m != nil {
		return m.name
	}
	return ""
}

func (o *ORC) module(pc uint64) *moduleText {
	o.mu.Lock()
	if o.modules == nil && o.modErr == nil {
		o.modules, o.modErr = moduleTexts(o.prog, o.listModules)
		if o.modules == nil {
			o.modules = []*moduleText{}
		}
	}
	mods := o.modules
	o.mu.Unlock()
	i := sort.Search(len(mods), func(i int) bool { return mods[i].hi > pc })
	if i < len(mods) && mods[i].lo <= pc {
		return mods[i]
	}
	return nil
}

// ModulesErr is why module text could not be listed, if it could not.
func (o *ORC) ModulesErr() error {
	o.module(0)
	return o.modErr
}

// moduleTexts lists every module's text ranges (__module_address): the
// core and init text of each module.
func moduleTexts(p *object.Program, modules func() ([]*ModuleKallsyms, error)) ([]*moduleText, error) {
	mods, err := modules()
	var out []*moduleText
	for _, m := range mods {
		for _, r := range m.Ranges {
			if !r.Text || r.Base == 0 || r.TextSize == 0 {
				continue
			}
			mod, terr := p.Type("struct module")
			if terr != nil {
				return out, terr
			}
			out = append(out, &moduleText{name: m.Name, lo: r.Base, hi: r.Base + r.TextSize,
				mod: p.Object(mod, m.Addr, "module "+m.Name)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lo < out[j].lo })
	return out, err
}

// moduleORC reads mod->arch's table (unwind_module_init sorted it at load).
func moduleORC(mod object.Object, l unwind.Layout) (*unwind.Table, error) {
	arch := mod.Member("arch")
	n, err1 := arch.Member("num_orcs").Uint()
	ip, err2 := arch.Member("orc_unwind_ip").Uint()
	orc, err3 := arch.Member("orc_unwind").Uint()
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	if ip == 0 || orc == 0 || n == 0 {
		return nil, fmt.Errorf("%w: module has no ORC table", unwind.ErrNoEntry)
	}
	if n > unwind.MaxTableBytes/unwind.EntrySize {
		return nil, fmt.Errorf("%w: %d entries", unwind.ErrTable, n)
	}
	return unwind.ReadTable(memReader{mod.Prog().Mem}, ip, ip+4*n, orc, orc+unwind.EntrySize*n, l)
}
