package linux

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Module kallsyms: every loaded module's symbol table as the module loader
// left it in memory (struct module.kallsyms → struct mod_kallsyms, filled by
// add_kallsyms() in kernel/module/kallsyms.c, kernel/module.c before 5.19),
// and the address lookup find_kallsyms_symbol() does on it.

// Bounds on what a module's memory may claim. The largest modules of a
// distribution kernel (amdgpu, i915, mlx5) have some tens of thousands of
// symbols and well under a megabyte of names.
const (
	maxModules       = 1 << 14
	maxModuleSymbols = 1 << 18
	maxModuleStrtab  = 16 << 20
	ksymNameLen      = 512 // KSYM_NAME_LEN since 6.1 (128 before); names are read up to it
	elf64SymSize     = 24  // sizeof(Elf64_Sym)
	shnUndef         = 0   // SHN_UNDEF
)

// ErrModuleSymbols is wrapped when a module's symbol table cannot be read
// or is not plausible; the module's ranges are still known.
var ErrModuleSymbols = errors.New("module symbols unreadable")

// ModuleSymbol is one entry of a module's symbol table, as
// module_get_kallsym() gives it to /proc/kallsyms.
type ModuleSymbol struct {
	Name  string
	Value uint64
	Type  byte // the typetab letter (elf_type(): t, d, r, b, …)
	// Shndx is the ELF section index; SHN_UNDEF entries never resolve.
	Shndx uint16
	// Exported: the module exports the symbol (is_exported(): listed in
	// mod->syms with this value); /proc/kallsyms then upper-cases Type.
	Exported bool
}

// KallsymsType is the letter /proc/kallsyms prints for a module symbol:
// s_show() upper-cases exported symbols' types and lower-cases the rest.
func (s ModuleSymbol) KallsymsType() byte {
	c := s.Type
	switch {
	case s.Exported && c >= 'a' && c <= 'z':
		return c - 'a' + 'A'
	case !s.Exported && c >= 'A' && c <= 'Z':
		return c - 'A' + 'a'
	}
	return c
}

// ModuleRange is one piece of a module's memory: a struct module_memory
// (6.4+) or a struct module_layout (core, init) before.
type ModuleRange struct {
	Base, Size uint64
	Init       bool // an init region (freed once the module is live)
	Text       bool // the text region find_kallsyms_symbol() bounds sizes with
	// TextSize is the executable part of a module_layout (its text_size);
	// for a module_memory region it is Size when Text.
	TextSize uint64
}

// ModuleKallsyms is one loaded module's symbols and memory.
type ModuleKallsyms struct {
	Name   string
	Addr   uint64 // the struct module
	Ranges []ModuleRange
	// Syms is the table in the kernel's order (index 0 is the ELF null
	// symbol); nil when Err is set. From ReadModuleKallsymsLazy it is
	// read by the first lookup (or Load).
	Syms []ModuleSymbol
	// Err says why Syms could not be read (wraps ErrModuleSymbols or a
	// read fault); lookups in the module then fail, as %pS prints a bare
	// address when find_kallsyms_symbol() finds nothing.
	Err error
	// ExportErr says why Exported could not be decided (symbols still
	// resolve; only /proc/kallsyms' letter case is then unknown).
	ExportErr error

	byValue []int32 // indices of resolvable symbols, by value then index

	once sync.Once
	load func(*ModuleKallsyms) // reads Syms, Err, ExportErr and byValue; nil once read
}

// Load reads the module's symbol table if it has not been read yet
// (ReadModuleKallsymsLazy); Syms, Err and ExportErr are then set.
func (m *ModuleKallsyms) Load() {
	m.once.Do(func() {
		if m.load != nil {
			m.load(m)
			m.load = nil
		}
	})
}

// Contains mirrors within_module(): addr lies in one of the module's
// regions.
func (m *ModuleKallsyms) Contains(addr uint64) bool {
	for _, r := range m.Ranges {
		if addr >= r.Base && addr-r.Base < r.Size {
			return true
		}
	}
	return false
}

// withinInit mirrors within_module_init().
func (m *ModuleKallsyms) withinInit(addr uint64) bool {
	for _, r := range m.Ranges {
		if r.Init && addr >= r.Base && addr-r.Base < r.Size {
			return true
		}
	}
	return false
}

// textEnd is where find_kallsyms_symbol() starts its "next value": the end
// of the core (or, for an init address, the init) text.
func (m *ModuleKallsyms) textEnd(init bool) uint64 {
	for _, r := range m.Ranges {
		if r.Text && r.Init == init {
			return r.Base + r.TextSize
		}
	}
	return 0
}

// FindKallsymsSymbol mirrors find_kallsyms_symbol(): the closest symbol at
// or below addr, skipping SHN_UNDEF, unnamed and mapping symbols; size is
// the distance to the next higher symbol or to the end of the module's text
// (computed in unsigned arithmetic, as the kernel does, so a data address
// past the text gets the kernel's wrapped size). Of symbols sharing a value
// the first in the table wins.
func (m *ModuleKallsyms) FindKallsymsSymbol(addr uint64) (name string, off, size uint64, ok bool) {
	m.Load()
	if len(m.Syms) == 0 {
		return "", 0, 0, false
	}
	i, _ := slices.BinarySearchFunc(m.byValue, addr, func(j int32, a uint64) int {
		if m.Syms[j].Value <= a {
			return -1
		}
		return 1
	})
	if i == 0 {
		return "", 0, 0, false
	}
	best := m.byValue[i-1]
	bestVal := m.Syms[best].Value
	for k := i - 2; k >= 0 && m.Syms[m.byValue[k]].Value == bestVal; k-- {
		best = m.byValue[k] // the first in table order (byValue is stable)
	}
	next := m.textEnd(m.withinInit(addr))
	if i < len(m.byValue) {
		if v := m.Syms[m.byValue[i]].Value; v < next {
			next = v
		}
	}
	return m.Syms[best].Name, addr - bestVal, next - bestVal, true
}

// index sorts the resolvable symbols by value, keeping table order for
// equal values.
func (m *ModuleKallsyms) index() {
	if len(m.Syms) == 0 {
		return
	}
	floor := m.Syms[0].Value // find_kallsyms_symbol() starts from entry 0
	m.byValue = m.byValue[:0]
	for i := 1; i < len(m.Syms); i++ {
		s := &m.Syms[i]
		if s.Shndx == shnUndef || s.Name == "" || isMappingSymbol(s.Name) || s.Value <= floor {
			continue
		}
		m.byValue = append(m.byValue, int32(i))
	}
	slices.SortStableFunc(m.byValue, func(a, b int32) int { return cmp.Compare(m.Syms[a].Value, m.Syms[b].Value) })
}

// isMappingSymbol mirrors is_mapping_symbol() (include/linux/module_symbol.h,
// 6.2+; 6.1 and before had the narrower is_arm_mapping_symbol(), ".L" and
// "$a/$d/$t/$x"). x86 modules carry none of these names, so the wider rule
// answers the same on every x86 kernel.
func isMappingSymbol(s string) bool {
	return strings.HasPrefix(s, ".L") || strings.HasPrefix(s, "L0") || strings.HasPrefix(s, "$")
}

// ModuleAddress mirrors __module_address(): the live (not MODULE_STATE_UNFORMED)
// module whose memory holds addr.
func ModuleAddress(mods []*ModuleKallsyms, addr uint64) *ModuleKallsyms {
	for _, m := range mods {
		if m.Contains(addr) {
			return m
		}
	}
	return nil
}

// ReadModuleKallsyms reads every loaded module's symbols and ranges, in
// list order, skipping MODULE_STATE_UNFORMED modules as the kernel's lookups
// do. A module whose symbols cannot be read is kept with Err set (its
// ranges still say an address is in it); an error ending the list walk is
// returned with the modules read so far.
func ReadModuleKallsyms(p *object.Program) ([]*ModuleKallsyms, error) {
	mods, err := ReadModuleKallsymsLazy(p)
	for _, m := range mods {
		m.Load()
	}
	return mods, err
}

// ReadModuleKallsymsLazy is ReadModuleKallsyms reading each module's
// symbol table only when a lookup needs it (or Load): which module holds
// an address needs only the ranges, and a report's traces name one or two
// modules of the twenty a guest loads (a tenth of a browser report's
// stack-trace time went to reading them all).
func ReadModuleKallsymsLazy(p *object.Program) ([]*ModuleKallsyms, error) {
	unformed, err := p.Types.EnumValue("MODULE_STATE_UNFORMED")
	if err != nil {
		return nil, fmt.Errorf("module kallsyms: %w", err)
	}
	// module_memory replaced module_layout in 6.4 (commit ac3b43283923
	// "module: replace module_layout with module_memory").
	hasMem := p.HasMember("struct module", "mem")
	var mem memTypes
	if hasMem {
		if mem, err = readMemTypes(p); err != nil {
			return nil, fmt.Errorf("module kallsyms: %w", err)
		}
	}
	var mods []*ModuleKallsyms
	for m, err := range ForEachModule(p) {
		if err != nil {
			return mods, fmt.Errorf("module kallsyms: %w", err)
		}
		if len(mods) >= maxModules {
			return mods, fmt.Errorf("module kallsyms: more than %d modules: %w", maxModules, ErrTooLong)
		}
		state, err := m.Member("state").Uint()
		if err != nil {
			return mods, fmt.Errorf("module kallsyms: %w", err)
		}
		if int64(state) == unformed {
			continue
		}
		mk := &ModuleKallsyms{}
		mk.Addr, _ = m.Address()
		if mk.Name, err = m.Member("name").CString(); err != nil {
			return mods, fmt.Errorf("module kallsyms: %w", err)
		}
		if hasMem {
			mk.Ranges, err = memRanges(m, mem)
		} else {
			mk.Ranges, err = layoutRanges(m)
		}
		if err != nil {
			return mods, fmt.Errorf("module %s: %w", mk.Name, err)
		}
		mk.load = func(mk *ModuleKallsyms) {
			mk.Syms, mk.Err = readModSyms(p, m.Member("kallsyms").Deref())
			if mk.Err != nil {
				mk.Err = fmt.Errorf("module %s: %w", mk.Name, mk.Err)
			} else if err := markExported(p, m, mk.Syms); err != nil {
				mk.ExportErr = fmt.Errorf("module %s: %w", mk.Name, err)
			}
			mk.index()
		}
		mods = append(mods, mk)
	}
	return mods, nil
}

// memTypes are the enum mod_mem_type values this code needs.
type memTypes struct {
	num, text, initText int64
	init                map[int64]bool
}

func readMemTypes(p *object.Program) (memTypes, error) {
	t := memTypes{init: map[int64]bool{}}
	var err error
	get := func(n string) int64 {
		v, e := p.Types.EnumValue(n)
		err = errors.Join(err, e)
		return v
	}
	t.num, t.text, t.initText = get("MOD_MEM_NUM_TYPES"), get("MOD_TEXT"), get("MOD_INIT_TEXT")
	// mod_mem_type_is_init(): the three init types.
	for _, n := range []string{"MOD_INIT_TEXT", "MOD_INIT_DATA", "MOD_INIT_RODATA"} {
		t.init[get(n)] = true
	}
	if err == nil && (t.num <= 0 || t.num > 16) {
		err = fmt.Errorf("MOD_MEM_NUM_TYPES = %d, not plausible", t.num)
	}
	return t, err
}

// memRanges reads mod->mem[] (6.4+).
func memRanges(m object.Object, t memTypes) ([]ModuleRange, error) {
	var rs []ModuleRange
	for i := range t.num {
		r := m.Member(fmt.Sprintf("mem[%d]", i))
		base, err1 := r.Member("base").Uint()
		size, err2 := r.Member("size").Uint()
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		if size == 0 {
			continue
		}
		mr := ModuleRange{Base: base, Size: size, Init: t.init[i], Text: i == t.text || i == t.initText}
		if mr.Text {
			mr.TextSize = size
		}
		rs = append(rs, mr)
	}
	return rs, nil
}

// layoutRanges reads core_layout and init_layout (before 6.4); data_layout
// exists only with CONFIG_ARCH_WANTS_MODULES_DATA_IN_VMALLOC (not x86) and
// is read when present.
func layoutRanges(m object.Object) ([]ModuleRange, error) {
	var rs []ModuleRange
	for _, l := range []struct {
		member     string
		init, text bool
	}{{"core_layout", false, true}, {"init_layout", true, true}, {"data_layout", false, false}} {
		if !m.HasMember(l.member) {
			if l.member == "data_layout" {
				continue
			}
			return nil, fmt.Errorf("struct module has no %s", l.member)
		}
		o := m.Member(l.member)
		base, err1 := o.Member("base").Uint()
		size, err2 := o.Member("size").Uint()
		textSize, err3 := o.Member("text_size").Uint()
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, err
		}
		if size == 0 {
			continue
		}
		rs = append(rs, ModuleRange{Base: base, Size: size, Init: l.init, Text: l.text, TextSize: textSize})
	}
	return rs, nil
}

// readModSyms reads a struct mod_kallsyms {symtab, num_symtab, strtab,
// typetab}: the symbols, their names and type letters.
func readModSyms(p *object.Program, ks object.Object) ([]ModuleSymbol, error) {
	symtab, err1 := ks.Member("symtab").Uint()
	num, err2 := ks.Member("num_symtab").Uint()
	strtab, err3 := ks.Member("strtab").Uint()
	typetab, err4 := ks.Member("typetab").Uint()
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	if num == 0 || num > maxModuleSymbols || symtab == 0 || strtab == 0 {
		return nil, fmt.Errorf("%w: %s: %d symbols at %#x, strings at %#x", ErrModuleSymbols, ks.Path(), num, symtab, strtab)
	}
	raw := make([]byte, num*elf64SymSize)
	if _, err := p.Mem.ReadVirtAt(raw, symtab); err != nil {
		return nil, fmt.Errorf("symtab: %w", err)
	}
	le := binary.LittleEndian
	syms := make([]ModuleSymbol, num)
	maxName := uint32(0)
	for i := range syms {
		e := raw[i*elf64SymSize:]
		syms[i] = ModuleSymbol{Shndx: le.Uint16(e[6:]), Value: le.Uint64(e[8:])}
		maxName = max(maxName, le.Uint32(e[0:]))
	}
	if uint64(maxName) >= maxModuleStrtab {
		return nil, fmt.Errorf("%w: a name at offset %d of the string table", ErrModuleSymbols, maxName)
	}
	names, err := readStrtab(p, strtab, typetab, maxName)
	if err != nil {
		return nil, err
	}
	for i := range syms {
		off := le.Uint32(raw[i*elf64SymSize:])
		if s, ok := names(off); ok {
			syms[i].Name = s
		} else if syms[i].Name, err = object.ReadCString(p.Mem, strtab+uint64(off), ksymNameLen); err != nil {
			return nil, fmt.Errorf("name of symbol %d: %w", i, err)
		}
	}
	types := make([]byte, num)
	if typetab != 0 {
		if _, err := p.Mem.ReadVirtAt(types, typetab); err != nil {
			return nil, fmt.Errorf("typetab: %w", err)
		}
	}
	for i := range syms {
		syms[i].Type = types[i]
	}
	return syms, nil
}

// readStrtab reads a module's string table in one piece when its extent is
// known: add_kallsyms() lays out the core table as symtab, strtab, typetab,
// so the names end where the type letters begin. Otherwise (an init-time
// table, or an odd layout) the caller reads each name on its own.
func readStrtab(p *object.Program, strtab, typetab uint64, maxName uint32) (func(uint32) (string, bool), error) {
	none := func(uint32) (string, bool) { return "", false }
	if typetab <= strtab || typetab-strtab > maxModuleStrtab || typetab-strtab <= uint64(maxName) {
		return none, nil
	}
	b := make([]byte, typetab-strtab)
	if _, err := p.Mem.ReadVirtAt(b, strtab); err != nil {
		return nil, fmt.Errorf("strtab: %w", err)
	}
	s := string(b)
	return func(off uint32) (string, bool) {
		if int(off) >= len(s) {
			return "", false
		}
		end := strings.IndexByte(s[off:], 0)
		if end < 0 {
			return "", false
		}
		return s[off : int(off)+end], true
	}, nil
}

// FindKallsymsSymbolValue mirrors find_kallsyms_symbol_value(): the value
// of the first defined (not SHN_UNDEF) symbol called name.
func (m *ModuleKallsyms) FindKallsymsSymbolValue(name string) (uint64, bool) {
	m.Load()
	for _, s := range m.Syms {
		if s.Name == name && s.Shndx != shnUndef {
			return s.Value, true
		}
	}
	return 0, false
}

// markExported sets Exported on the symbols the module exports, as
// is_exported() decides: an entry of mod->syms (struct kernel_symbol[],
// num_syms) with the same name and value. With
// CONFIG_HAVE_ARCH_PREL32_RELOCATIONS (x86_64) an entry holds 32-bit
// offsets relative to its own fields (offset_to_ptr()), else pointers;
// the members present decide.
func markExported(p *object.Program, m object.Object, syms []ModuleSymbol) error {
	base, err1 := m.Member("syms").Uint()
	n, err2 := m.Member("num_syms").Uint()
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("exported symbols: %w", err)
	}
	if n == 0 || base == 0 {
		return nil
	}
	if n > maxModuleSymbols {
		return fmt.Errorf("%w: %d exported symbols", ErrModuleSymbols, n)
	}
	ksType, err := p.Type("struct kernel_symbol")
	if err != nil {
		return fmt.Errorf("exported symbols: %w", err)
	}
	size, err := ktype.Sizeof(ksType)
	if err != nil || size == 0 {
		return fmt.Errorf("exported symbols: struct kernel_symbol: size %d: %v", size, err)
	}
	prel32 := p.HasMember("struct kernel_symbol", "value_offset")
	valueMember, nameMember := "value", "name"
	if prel32 {
		valueMember, nameMember = "value_offset", "name_offset"
	}
	vm, err1 := ktype.FindMember(ksType, valueMember)
	nm, err2 := ktype.FindMember(ksType, nameMember)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("exported symbols: %w", err)
	}
	raw := make([]byte, n*size)
	if _, err := p.Mem.ReadVirtAt(raw, base); err != nil {
		return fmt.Errorf("exported symbols: %w", err)
	}
	le := binary.LittleEndian
	field := func(i uint64, off uint64) uint64 {
		at := i*size + off
		if prel32 {
			return base + at + uint64(int64(int32(le.Uint32(raw[at:]))))
		}
		return le.Uint64(raw[at:])
	}
	byValue := map[uint64][]uint64{} // value → addresses of exported names
	for i := range n {
		v := field(i, vm.Offset.Bytes())
		byValue[v] = append(byValue[v], field(i, nm.Offset.Bytes()))
	}
	for i := range syms {
		for _, nameAddr := range byValue[syms[i].Value] {
			name, err := object.ReadCString(p.Mem, nameAddr, ksymNameLen)
			if err != nil {
				return fmt.Errorf("exported symbol name at %#x: %w", nameAddr, err)
			}
			if name == syms[i].Name {
				syms[i].Exported = true
				break
			}
		}
	}
	return nil
}
