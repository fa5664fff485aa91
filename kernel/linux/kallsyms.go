package linux

import (
	"fmt"
	"strings"
	"sync"

	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/kernel/symbols"
)

// CoreSymbols resolves addresses in the kernel image as kallsyms_lookup()
// does for it (symbols.Table: from a vmlinux .symtab or from kallsyms).
type CoreSymbols interface {
	KallsymsLookup(addr uint64) (sym symbols.Symbol, off, size uint64, ok bool)
}

// Symbolizer resolves any kernel address the way the kernel's %pS, %ps and
// %pB print it: the kernel image's symbols first, then the loaded modules'
// (read from memory on first need, once). It is safe for concurrent use.
type Symbolizer struct {
	prog *object.Program
	core CoreSymbols

	once   sync.Once
	mods   []*ModuleKallsyms
	modErr error
}

// NewSymbolizer pairs the kernel image's symbols with the modules of the
// program's memory.
func NewSymbolizer(p *object.Program, core CoreSymbols) *Symbolizer {
	return &Symbolizer{prog: p, core: core}
}

// Modules is every loaded module, read once, each symbol table read by
// its first lookup (ModuleKallsyms.Load reads it); the error says why the
// list is incomplete (modules whose own table is unreadable carry their
// ModuleKallsyms.Err instead).
func (s *Symbolizer) Modules() ([]*ModuleKallsyms, error) {
	s.once.Do(func() {
		if s.prog == nil {
			s.modErr = fmt.Errorf("module kallsyms: no program")
			return
		}
		s.mods, s.modErr = ReadModuleKallsymsLazy(s.prog)
	})
	return s.mods, s.modErr
}

// Symbolize mirrors kallsyms_lookup_buildid() in kernel/kallsyms.c: an
// address in the kernel image (is_ksym_addr()) resolves through its
// kallsyms, else through the module whose memory holds it
// (module_address_lookup()). module is "" for the kernel image; size is the
// kernel's: the distance to the next symbol. BPF programs and ftrace
// trampolines, which the kernel also names, are not resolved (ok false).
func (s *Symbolizer) Symbolize(addr uint64) (name string, off, size uint64, module string, ok bool) {
	if s.core != nil {
		if sym, off, size, ok := s.core.KallsymsLookup(addr); ok {
			return sym.Name, off, size, "", true
		}
	}
	mods, _ := s.Modules()
	m := ModuleAddress(mods, addr)
	if m == nil {
		return "", 0, 0, "", false
	}
	name, off, size, ok = m.FindKallsymsSymbol(addr)
	if !ok {
		return "", 0, 0, "", false
	}
	return name, off, size, m.Name, true
}

// ModuleKallsymsLookupName mirrors module_kallsyms_lookup_name(): the
// address of a module symbol, "module:name" for one module's, or a plain
// name searched in every module (list order); module globals such as
// scsi_mod's shost_class are found this way.
func (s *Symbolizer) ModuleKallsymsLookupName(name string) (uint64, error) {
	mods, err := s.Modules()
	mod, sym, scoped := strings.Cut(name, ":")
	if !scoped {
		sym = name
	}
	for _, m := range mods {
		if scoped && m.Name != mod {
			continue
		}
		if v, ok := m.FindKallsymsSymbolValue(sym); ok {
			return v, nil
		}
	}
	if err != nil {
		return 0, fmt.Errorf("module symbol %s: %w (module list incomplete: %v)", name, symbols.ErrNotFound, err)
	}
	return 0, fmt.Errorf("module symbol %s: %w", name, symbols.ErrNotFound)
}

// ModuleOf is the name of the module whose memory holds addr, "" when none
// does (or the module list is unreadable).
func (s *Symbolizer) ModuleOf(addr uint64) string {
	mods, _ := s.Modules()
	if m := ModuleAddress(mods, addr); m != nil {
		return m.Name
	}
	return ""
}

// SprintSymbol mirrors sprint_symbol() (%pS): "name+0xoff/0xsize [module]",
// or "0x…" when nothing covers addr.
func (s *Symbolizer) SprintSymbol(addr uint64) string { return s.sprint(addr, 0, true) }

// SprintSymbolNoOffset mirrors sprint_symbol_no_offset() (%ps):
// "name [module]".
func (s *Symbolizer) SprintSymbolNoOffset(addr uint64) string { return s.sprint(addr, 0, false) }

// SprintBacktrace mirrors sprint_backtrace() (%pB): a return address is
// looked up one byte earlier, so a call that ends a function still names
// it, and the offset printed is that of addr.
func (s *Symbolizer) SprintBacktrace(addr uint64) string { return s.sprint(addr, 1, true) }

// sprint mirrors __sprint_symbol(): symbolOffset is subtracted before the
// lookup (the kernel adds -1) and added back to the offset.
func (s *Symbolizer) sprint(addr, symbolOffset uint64, withOffset bool) string {
	name, off, size, mod, ok := s.Symbolize(addr - symbolOffset)
	if !ok {
		return fmt.Sprintf("%#x", addr)
	}
	out := name
	if withOffset {
		out += fmt.Sprintf("+%#x/%#x", off+symbolOffset, size)
	}
	if mod != "" {
		out += " [" + mod + "]"
	}
	return out
}
