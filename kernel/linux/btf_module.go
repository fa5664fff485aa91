package linux

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/vmcore-report/vmcore-report/kernel/btf"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Module BTF: with CONFIG_DEBUG_INFO_BTF_MODULES the kernel parses each
// module's .BTF when it loads (btf_module_notify() in kernel/bpf/btf.c,
// since 5.11: commit 36e68442d1af "bpf: Load and verify kernel module
// BTFs") and keeps it on the static list btf_modules, as struct btf_module
// {list, module, btf}. The struct btf holds a copy of the split BTF blob
// (data, data_size) whose type IDs continue the vmlinux BTF's (start_id)
// and whose string offsets continue its strings (start_str_off).

// ErrNoModuleBTF is wrapped when the kernel keeps no module BTF: no
// btf_modules list (5.10 and before, or CONFIG_DEBUG_INFO_BTF_MODULES
// unset).
var ErrNoModuleBTF = errors.New("the kernel keeps no module BTF")

// ErrModuleBTFBase is wrapped when a module's BTF does not continue the
// base BTF at hand (its start_id or start_str_off disagree): the vmlinux
// BTF given is not the one the kernel used.
var ErrModuleBTFBase = errors.New("module BTF does not continue the base BTF")

// maxModuleBTF bounds one module's BTF blob (the largest in-tree modules
// have a few MB).
const maxModuleBTF = 64 << 20

// ModuleBTF is one entry of btf_modules.
type ModuleBTF struct {
	Module string // the module's name (struct btf.name)
	// Data and Size locate the split BTF blob; StartID and StartStrOff are
	// where its type IDs and string offsets begin.
	Data                 uint64
	Size                 uint32
	StartID, StartStrOff uint32
	// Base is the struct btf the module's is split from (btf_vmlinux).
	Base uint64

	once sync.Once
	spec *btf.Spec
	err  error
}

// ModuleTypes finds types defined in loaded modules: the module BTF of
// btf_modules, each decoded on top of the vmlinux BTF when first needed.
// It implements ktype.Source, answering with the first module (in list
// order: newest first) that defines a name, for object.Program's
// ModuleTypes fallback. It is safe for concurrent use.
type ModuleTypes struct {
	prog *object.Program
	base *btf.Spec

	once sync.Once
	mods []*ModuleBTF
	err  error
	// reading is set while btf_modules is read: the types that read needs
	// (struct btf_module, list_head) are the vmlinux's, and when the
	// vmlinux BTF lost them (a damaged dump), the object layer's fallback
	// would ask the module types again, inside the once: a deadlock (seen
	// on an ELF dump cut in half). Lookups meanwhile fail instead.
	reading atomic.Bool

	baseOnce    sync.Once
	baseFromMem *btf.Spec
	baseErr     error
}

var _ ktype.Source = (*ModuleTypes)(nil)

// ErrModuleTypesBusy: a module type was asked for while the module list
// itself was being read (the vmlinux types that reading needs were lost).
var ErrModuleTypesBusy = errors.New("module types asked for while btf_modules is being read")

// NewModuleTypes reads module BTF from p's memory on top of base, the
// vmlinux BTF; with base nil (types from DWARF), the kernel's own vmlinux
// BTF is read from memory when first needed.
func NewModuleTypes(p *object.Program, base *btf.Spec) *ModuleTypes {
	return &ModuleTypes{prog: p, base: base}
}

// Modules lists btf_modules, read once. It wraps ErrNoModuleBTF when the
// kernel has no such list.
func (t *ModuleTypes) Modules() ([]*ModuleBTF, error) {
	if t.reading.Load() {
		return nil, ErrModuleTypesBusy
	}
	t.once.Do(func() {
		t.reading.Store(true)
		defer t.reading.Store(false)
		t.mods, t.err = t.read()
	})
	return t.mods, t.err
}

func (t *ModuleTypes) read() ([]*ModuleBTF, error) {
	p := t.prog
	if _, err := p.Syms.Addr("btf_modules"); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoModuleBTF, err)
	}
	if _, err := p.Type("struct btf_module"); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoModuleBTF, err)
	}
	var mods []*ModuleBTF
	for bm, err := range ListForEachEntry(p.VarAs("btf_modules", "struct list_head"), "struct btf_module", "list") {
		if err != nil {
			return mods, fmt.Errorf("btf_modules: %w", err)
		}
		if len(mods) >= maxModules {
			return mods, fmt.Errorf("btf_modules: more than %d: %w", maxModules, ErrTooLong)
		}
		b := bm.Member("btf").Deref()
		m := &ModuleBTF{}
		var errs [6]error
		m.Module, errs[0] = b.Member("name").CString()
		m.Data, errs[1] = b.Member("data").Uint()
		size, e2 := b.Member("data_size").Uint()
		start, e3 := b.Member("start_id").Uint()
		strOff, e4 := b.Member("start_str_off").Uint()
		m.Base, errs[5] = b.Member("base_btf").Uint()
		errs[2], errs[3], errs[4] = e2, e3, e4
		if err := errors.Join(errs[:]...); err != nil {
			return mods, fmt.Errorf("btf_modules: %w", err)
		}
		m.Size, m.StartID, m.StartStrOff = uint32(size), uint32(start), uint32(strOff)
		mods = append(mods, m)
	}
	return mods, nil
}

// baseSpec is the BTF module BTF is split from: the one given, or the
// kernel's own (struct btf *btf_vmlinux → data, data_size) read once.
func (t *ModuleTypes) baseSpec() (*btf.Spec, error) {
	if t.base != nil {
		return t.base, nil
	}
	t.baseOnce.Do(func() {
		b := t.prog.VarAs("btf_vmlinux", "struct btf *").Deref()
		data, err1 := b.Member("data").Uint()
		size, err2 := b.Member("data_size").Uint()
		if err := errors.Join(err1, err2); err != nil {
			t.baseErr = fmt.Errorf("vmlinux BTF: %w", err)
			return
		}
		if size == 0 || size > maxModuleBTF*4 {
			t.baseErr = fmt.Errorf("vmlinux BTF of %d bytes, not plausible", size)
			return
		}
		t.baseFromMem, t.baseErr = btf.LoadSpec(memReaderAt{t.prog.Mem, data}, int64(size))
	})
	return t.baseFromMem, t.baseErr
}

// Spec is module m's BTF, decoded on first use.
func (t *ModuleTypes) Spec(m *ModuleBTF) (*btf.Spec, error) {
	m.once.Do(func() {
		base, err := t.baseSpec()
		if err != nil {
			m.err = fmt.Errorf("module %s BTF: %w", m.Module, err)
			return
		}
		// btf_parse_module(): start_id is the base's nr_types (void
		// included), start_str_off its string section's length.
		if int64(m.StartID) != int64(base.NumTypes())+1 || int64(m.StartStrOff) != base.StringsSize() {
			m.err = fmt.Errorf("module %s: %w: it starts at type %d and string %d, the base has %d types and %d bytes of strings",
				m.Module, ErrModuleBTFBase, m.StartID, m.StartStrOff, base.NumTypes(), base.StringsSize())
			return
		}
		if m.Size == 0 || m.Size > maxModuleBTF {
			m.err = fmt.Errorf("module %s: BTF of %d bytes, not plausible", m.Module, m.Size)
			return
		}
		m.spec, m.err = btf.LoadSplitSpec(memReaderAt{t.prog.Mem, m.Data}, int64(m.Size), base)
		if m.err != nil {
			m.err = fmt.Errorf("module %s BTF: %w", m.Module, m.err)
		}
	})
	return m.spec, m.err
}

// lookup asks each module's BTF in turn; an unreadable module is skipped,
// and its error is reported only when no module has the name.
func lookup[T any](t *ModuleTypes, what string, f func(*btf.Spec) (T, error)) (T, error) {
	var zero T
	mods, err := t.Modules()
	if err != nil {
		return zero, fmt.Errorf("%s in modules: %w", what, err)
	}
	var errs []error
	for _, m := range mods {
		s, err := t.Spec(m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		v, err := f(s)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, ktype.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return zero, fmt.Errorf("%s in %d modules: %w", what, len(mods), errors.Join(append([]error{ktype.ErrNotFound}, errs...)...))
}

// StructByName implements ktype.Source.
func (t *ModuleTypes) StructByName(n string) (*ktype.Struct, error) {
	return lookup(t, "struct "+n, func(s *btf.Spec) (*ktype.Struct, error) { return s.StructByName(n) })
}

// UnionByName implements ktype.Source.
func (t *ModuleTypes) UnionByName(n string) (*ktype.Union, error) {
	return lookup(t, "union "+n, func(s *btf.Spec) (*ktype.Union, error) { return s.UnionByName(n) })
}

// TypedefByName implements ktype.Source.
func (t *ModuleTypes) TypedefByName(n string) (*ktype.Typedef, error) {
	return lookup(t, "typedef "+n, func(s *btf.Spec) (*ktype.Typedef, error) { return s.TypedefByName(n) })
}

// EnumByName implements ktype.Source.
func (t *ModuleTypes) EnumByName(n string) (*ktype.Enum, error) {
	return lookup(t, "enum "+n, func(s *btf.Spec) (*ktype.Enum, error) { return s.EnumByName(n) })
}

// TypeByName implements ktype.Source.
func (t *ModuleTypes) TypeByName(n string, k ktype.Kind) (ktype.Type, error) {
	return lookup(t, n, func(s *btf.Spec) (ktype.Type, error) { return s.TypeByName(n, k) })
}

// EnumValue implements ktype.Source.
func (t *ModuleTypes) EnumValue(n string) (int64, error) {
	return lookup(t, "enumerator "+n, func(s *btf.Spec) (int64, error) { return s.EnumValue(n) })
}

// memReaderAt reads a window of kernel virtual memory as a file.
type memReaderAt struct {
	mem  object.Memory
	base uint64
}

func (r memReaderAt) ReadAt(p []byte, off int64) (int, error) {
	return r.mem.ReadVirtAt(p, r.base+uint64(off))
}
