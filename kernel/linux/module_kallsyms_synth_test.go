package linux

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/kernel/symbols"
)

// modProgram has a struct module with either mem[] (6.4+) or
// core_layout/init_layout, a struct mod_kallsyms, and the "modules" list.
func modProgram(withMem bool) (*object.Program, fakekernel.Memory) {
	u64 := &ktype.Int{Name: "u64", Size: 8}
	u32 := &ktype.Int{Name: "unsigned int", Size: 4}
	char := &ktype.Int{Name: "char", Size: 1, Encoding: ktype.Signed}
	ptr := func(t ktype.Type) ktype.Type { return &ktype.Pointer{Target: t} }
	lh := &ktype.Struct{Name: "list_head", Size: 16}
	lh.Members = []ktype.Member{{Name: "next", Type: ptr(lh)}, {Name: "prev", Type: ptr(lh), Offset: 64}}
	mk := &ktype.Struct{Name: "mod_kallsyms", Size: 32, Members: []ktype.Member{
		{Name: "symtab", Type: ptr(u64)}, {Name: "num_symtab", Type: u32, Offset: 64},
		{Name: "strtab", Type: ptr(char), Offset: 128}, {Name: "typetab", Type: ptr(char), Offset: 192},
	}}
	state := &ktype.Enum{Name: "module_state", Size: 4, Values: []ktype.EnumValue{
		{Name: "MODULE_STATE_LIVE", Value: 0}, {Name: "MODULE_STATE_COMING", Value: 1},
		{Name: "MODULE_STATE_GOING", Value: 2}, {Name: "MODULE_STATE_UNFORMED", Value: 3}}}
	// struct kernel_symbol with PREL32 offsets, as x86_64 has it.
	i32 := &ktype.Int{Name: "int", Size: 4, Encoding: ktype.Signed}
	ks := &ktype.Struct{Name: "kernel_symbol", Size: 12, Members: []ktype.Member{
		{Name: "value_offset", Type: i32}, {Name: "name_offset", Type: i32, Offset: 32},
		{Name: "namespace_offset", Type: i32, Offset: 64}}}
	// struct module { state@0; list@8; name[56]@24; kallsyms@80; ranges@88;
	// syms@240; num_syms@248 }
	members := []ktype.Member{
		{Name: "state", Type: state}, {Name: "list", Type: lh, Offset: 64},
		{Name: "name", Type: &ktype.Array{Elem: char, Count: 56}, Offset: 24 * 8},
		{Name: "kallsyms", Type: ptr(mk), Offset: 80 * 8},
		{Name: "syms", Type: ptr(ks), Offset: 240 * 8}, {Name: "num_syms", Type: u32, Offset: 248 * 8},
	}
	types := fakekernel.Types{"struct list_head": lh, "struct mod_kallsyms": mk, "enum module_state": state,
		"struct kernel_symbol": ks}
	if withMem {
		mm := &ktype.Struct{Name: "module_memory", Size: 16, Members: []ktype.Member{
			{Name: "base", Type: ptr(u64)}, {Name: "size", Type: u32, Offset: 64}}}
		types["struct module_memory"] = mm
		types["enum mod_mem_type"] = &ktype.Enum{Name: "mod_mem_type", Size: 4, Values: []ktype.EnumValue{
			{Name: "MOD_TEXT", Value: 0}, {Name: "MOD_DATA", Value: 1}, {Name: "MOD_RODATA", Value: 2},
			{Name: "MOD_RO_AFTER_INIT", Value: 3}, {Name: "MOD_INIT_TEXT", Value: 4}, {Name: "MOD_INIT_DATA", Value: 5},
			{Name: "MOD_INIT_RODATA", Value: 6}, {Name: "MOD_MEM_NUM_TYPES", Value: 7}}}
		members = append(members, ktype.Member{Name: "mem", Type: &ktype.Array{Elem: mm, Count: 7}, Offset: 88 * 8})
	} else {
		ml := &ktype.Struct{Name: "module_layout", Size: 24, Members: []ktype.Member{
			{Name: "base", Type: ptr(u64)}, {Name: "size", Type: u32, Offset: 64},
			{Name: "text_size", Type: u32, Offset: 96}}}
		types["struct module_layout"] = ml
		members = append(members, ktype.Member{Name: "core_layout", Type: ml, Offset: 88 * 8},
			ktype.Member{Name: "init_layout", Type: ml, Offset: 112 * 8})
	}
	types["struct module"] = &ktype.Struct{Name: "module", Size: 256, Members: members}
	mem := fakekernel.Memory{}
	return &object.Program{Mem: mem, Types: types, Syms: fakekernel.Symbols{"modules": 0x100}}, mem
}

type fakeSym struct {
	name  string
	value uint64
	shndx uint16
	typ   byte
}

// putModule writes a module at addr named name whose text is [text,
// text+textSize) inside a core region of coreSize, with the given symbols
// (entry 0, the null symbol, is added), and links it after prev.
func putModule(mem fakekernel.Memory, withMem bool, addr uint64, name string, text, textSize, coreSize uint64, syms []fakeSym) {
	mem.Write(addr+24, append([]byte(name), 0))
	ks := addr + 0x200
	symtab, strtab := ks+0x40, ks+0x40+uint64(len(syms)+1)*24
	var strs []byte
	strs = append(strs, 0)
	raw := make([]byte, 24) // the null symbol
	for _, s := range syms {
		e := make([]byte, 24)
		binary.LittleEndian.PutUint32(e, uint32(len(strs)))
		binary.LittleEndian.PutUint16(e[6:], s.shndx)
		binary.LittleEndian.PutUint64(e[8:], s.value)
		raw = append(raw, e...)
		strs = append(strs, append([]byte(s.name), 0)...)
	}
	typetab := strtab + uint64(len(strs))
	types := []byte{'U'}
	for _, s := range syms {
		types = append(types, s.typ)
	}
	mem.Write(symtab, raw)
	mem.Write(strtab, strs)
	mem.Write(typetab, types)
	mem.U64(ks, symtab)
	mem.Write(ks+8, binary.LittleEndian.AppendUint32(nil, uint32(len(syms)+1)))
	mem.U64(ks+16, strtab)
	mem.U64(ks+24, typetab)
	mem.U64(addr+80, ks)
	if withMem {
		mem.U64(addr+88, text) // mem[MOD_TEXT]
		mem.Write(addr+96, binary.LittleEndian.AppendUint32(nil, uint32(textSize)))
		mem.U64(addr+104, text+textSize) // mem[MOD_DATA]
		mem.Write(addr+112, binary.LittleEndian.AppendUint32(nil, uint32(coreSize-textSize)))
	} else {
		mem.U64(addr+88, text)
		mem.Write(addr+96, binary.LittleEndian.AppendUint32(nil, uint32(coreSize)))
		mem.Write(addr+100, binary.LittleEndian.AppendUint32(nil, uint32(textSize)))
	}
}

// linkModules links the modules at addrs into the list at 0x100.
func linkModules(mem fakekernel.Memory, addrs ...uint64) {
	prev := uint64(0x100)
	for _, a := range addrs {
		mem.U64(prev, a+8)
		mem.U64(a+16, prev)
		prev = a + 8
	}
	mem.U64(prev, 0x100)
	mem.U64(0x108, prev)
}

// noCore resolves nothing, as a kernel image table would for module
// addresses.
type noCore struct{}

func (noCore) KallsymsLookup(uint64) (symbols.Symbol, uint64, uint64, bool) {
	return symbols.Symbol{}, 0, 0, false
}

func TestFindKallsymsSymbolSynthetic(t *testing.T) {
	syms := []fakeSym{
		{"alpha", 0xc0001000, 2, 't'},
		{"alpha_alias", 0xc0001000, 2, 't'}, // same value: the first in the table wins
		{"ext_undef", 0xc0001080, 0, 'U'},   // SHN_UNDEF: skipped
		{"", 0xc00010a0, 2, 't'},            // unnamed: skipped
		{"$x", 0xc00010c0, 2, 't'},          // mapping symbol: skipped
		{"beta", 0xc0001100, 2, 't'},
		{"gamma", 0xc0001800, 2, 't'}, // the last: sized to the end of the text
		{"data_var", 0xc0003000, 3, 'd'},
	}
	for _, withMem := range []bool{true, false} {
		p, mem := modProgram(withMem)
		putModule(mem, withMem, 0x10000, "demo", 0xc0001000, 0x1000, 0x4000, syms)
		linkModules(mem, 0x10000)
		// beta is exported: one kernel_symbol in the module's data whose
		// PREL32 offsets point back at beta and at the string "beta".
		mem.Write(0xc0003900, []byte("beta\x00"))
		mem.Write(0xc0003800, binary.LittleEndian.AppendUint32(nil, 0x100000000-0x2700))
		mem.Write(0xc0003804, binary.LittleEndian.AppendUint32(nil, 0x100-4))
		mem.U64(0x10000+240, 0xc0003800)
		mem.Write(0x10000+248, binary.LittleEndian.AppendUint32(nil, 1))
		s := NewSymbolizer(p, noCore{})
		for _, c := range []struct {
			addr uint64
			pS   string
		}{
			{0xc0001000, "alpha+0x0/0x100 [demo]"},
			{0xc00010c4, "alpha+0xc4/0x100 [demo]"},
			{0xc0001100, "beta+0x0/0x700 [demo]"},
			{0xc0001fff, "gamma+0x7ff/0x800 [demo]"},
			// A data address: the kernel's "next value" starts at the
			// text end, below the symbol, and the size wraps.
			{0xc0003010, "data_var+0x10/0xfffffffffffff000 [demo]"},
			{0xc0000fff, "0xc0000fff"}, // below the module
			{0xc0005000, "0xc0005000"}, // past it
		} {
			if got := s.SprintSymbol(c.addr); got != c.pS {
				t.Errorf("mem=%v %%pS %#x = %q, want %q", withMem, c.addr, got, c.pS)
			}
		}
		mods, _ := s.Modules()
		for _, ms := range mods[0].Syms {
			if want := ms.Name == "beta"; ms.Exported != want || mods[0].ExportErr != nil {
				t.Errorf("%s: exported %v (%v)", ms.Name, ms.Exported, mods[0].ExportErr)
			}
			if ms.Name == "beta" && ms.KallsymsType() != 'T' || ms.Name == "alpha" && ms.KallsymsType() != 't' {
				t.Errorf("%s: /proc/kallsyms letter %c", ms.Name, ms.KallsymsType())
			}
		}
		if got := s.SprintBacktrace(0xc0001100); got != "alpha+0x100/0x100 [demo]" {
			t.Errorf("%%pB of a return address at the end of alpha = %q", got)
		}
		if got := s.SprintSymbolNoOffset(0xc0001104); got != "beta [demo]" {
			t.Errorf("%%ps = %q", got)
		}
	}
}

func TestModuleKallsymsCorrupt(t *testing.T) {
	// A list that comes back to a module ends with ErrCycle, keeping the
	// modules read before.
	p, mem := modProgram(true)
	putModule(mem, true, 0x10000, "one", 0xc0001000, 0x1000, 0x2000, []fakeSym{{"f", 0xc0001000, 2, 't'}})
	putModule(mem, true, 0x20000, "two", 0xc0004000, 0x1000, 0x2000, []fakeSym{{"g", 0xc0004000, 2, 't'}})
	linkModules(mem, 0x10000, 0x20000)
	mem.U64(0x20008, 0x10008) // two.next -> one
	mods, err := ReadModuleKallsyms(p)
	if !errors.Is(err, ErrCycle) || len(mods) != 2 {
		t.Errorf("cycle: %d modules, %v", len(mods), err)
	}
	// A module claiming a huge symbol count is kept without symbols; its
	// range still names it, and nothing is allocated for the count.
	p, mem = modProgram(true)
	putModule(mem, true, 0x10000, "huge", 0xc0001000, 0x1000, 0x2000, []fakeSym{{"f", 0xc0001000, 2, 't'}})
	linkModules(mem, 0x10000)
	mem.Write(0x10200+8, binary.LittleEndian.AppendUint32(nil, 0xffffffff))
	s := NewSymbolizer(p, noCore{})
	mods, err = s.Modules()
	if err != nil || len(mods) != 1 || mods[0].Syms != nil || mods[0].Err != nil {
		t.Fatalf("huge count: a table read before any lookup: %v, %v", mods, err)
	}
	mods[0].Load()
	if !errors.Is(mods[0].Err, ErrModuleSymbols) {
		t.Fatalf("huge count: %v, %v", mods, err)
	}
	if got := s.SprintSymbol(0xc0001010); got != "0xc0001010" || s.ModuleOf(0xc0001010) != "huge" {
		t.Errorf("unreadable symbols: %%pS %q, module %q", got, s.ModuleOf(0xc0001010))
	}
	// An unreadable symtab page is an error of that module only.
	p, mem = modProgram(false)
	putModule(mem, false, 0x10000, "gone", 0xc0001000, 0x1000, 0x2000, []fakeSym{{"f", 0xc0001000, 2, 't'}})
	linkModules(mem, 0x10000)
	mem.U64(0x10200, 0xdead0000)
	mods, err = ReadModuleKallsyms(p)
	if err != nil || len(mods) != 1 || mods[0].Err == nil || !strings.Contains(mods[0].Err.Error(), "gone") {
		t.Errorf("unreadable symtab: %v, %v", mods, err)
	}
}

// TestNoModuleBTF: a kernel without the btf_modules list (5.10, or
// CONFIG_DEBUG_INFO_BTF_MODULES unset) says so with ErrNoModuleBTF, and a
// module type lookup wraps it.
func TestNoModuleBTF(t *testing.T) {
	p, _ := modProgram(true)
	mt := NewModuleTypes(p, nil)
	if _, err := mt.Modules(); !errors.Is(err, ErrNoModuleBTF) {
		t.Errorf("Modules: %v", err)
	}
	p.ModuleTypes = mt
	if _, err := p.Type("struct Scsi_Host"); !errors.Is(err, ktype.ErrNotFound) {
		t.Errorf("Type: %v", err)
	}
	if _, err := mt.StructByName("Scsi_Host"); !errors.Is(err, ErrNoModuleBTF) {
		t.Errorf("StructByName: %v", err)
	}
}
