package symbols

import (
	"debug/elf"
	"fmt"
	"io"
)

// startKernelMap is __START_KERNEL_map on x86_64: kernel image symbols sit
// above it and move with the KASLR text offset; per-cpu symbols (section
// .data..percpu, linked at 0) and absolute ones do not.
const startKernelMap = 0xffffffff80000000

// FromELF reads the .symtab of a vmlinux and relocates the kernel image's
// symbols by kaslrOffset (VMCOREINFO KERNELOFFSET; 0 for an unrandomised
// kernel). Only the symbol and string tables are read.
func FromELF(r io.ReaderAt, kaslrOffset uint64) (*Table, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("vmlinux: %w", err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("vmlinux: %v %v, want a 64-bit x86_64 kernel", f.Class, f.Machine)
	}
	esyms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("vmlinux symbols: %w", err)
	}
	syms := make([]Symbol, 0, len(esyms))
	for _, es := range esyms {
		typ := elf.ST_TYPE(es.Info)
		if es.Name == "" || typ == elf.STT_SECTION || typ == elf.STT_FILE || es.Section == elf.SHN_UNDEF {
			continue
		}
		s := Symbol{Name: es.Name, Addr: es.Value, Size: es.Size, Type: nmType(f, es)}
		if es.Section != elf.SHN_ABS && s.Addr >= startKernelMap {
			s.Addr += kaslrOffset
		}
		syms = append(syms, s)
	}
	return newTable(syms, "vmlinux .symtab"), nil
}

// nmType gives the letter nm(1) would print for an ELF symbol.
func nmType(f *elf.File, s elf.Symbol) byte {
	bind := elf.ST_BIND(s.Info)
	var c byte
	switch {
	case s.Section == elf.SHN_ABS:
		c = 'A'
	case s.Section == elf.SHN_COMMON:
		c = 'C'
	case int(s.Section) < len(f.Sections):
		sec := f.Sections[s.Section]
		switch {
		case sec.Flags&elf.SHF_EXECINSTR != 0:
			c = 'T'
		case sec.Type == elf.SHT_NOBITS:
			c = 'B'
		case sec.Flags&elf.SHF_WRITE != 0:
			c = 'D'
		case sec.Flags&elf.SHF_ALLOC != 0:
			c = 'R'
		default:
			c = 'N'
		}
	default:
		c = '?'
	}
	if bind == elf.STB_WEAK {
		if elf.ST_TYPE(s.Info) == elf.STT_OBJECT {
			return 'V'
		}
		return 'W'
	}
	if bind == elf.STB_LOCAL && c >= 'A' && c <= 'Z' {
		c += 'a' - 'A'
	}
	return c
}
