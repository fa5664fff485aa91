package symbols

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/vmcore-report/vmcore-report/internal/elfcheck"
)

// startKernelMap is __START_KERNEL_map on x86_64: kernel image symbols sit
// above it and move with the KASLR text offset; per-cpu symbols (section
// .data..percpu, linked at 0) and absolute ones do not.
const startKernelMap = 0xffffffff80000000

// maxSymtab bounds the symbol and string tables read (a distribution
// vmlinux has ~4 MB of each).
const maxSymtab = 256 << 20

// FromELF reads the .symtab of a vmlinux and relocates the kernel image's
// symbols by kaslrOffset (VMCOREINFO KERNELOFFSET; 0 for an unrandomised
// kernel). Only the symbol and string tables are read, one ReadAt each;
// names are slices of the one string table (debug/elf's Symbols allocates
// each name, which costs half a second for 150k symbols in WebAssembly).
func FromELF(r io.ReaderAt, kaslrOffset uint64) (*Table, error) {
	if err := elfcheck.Tables(r); err != nil {
		return nil, fmt.Errorf("vmlinux: %w", err)
	}
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("vmlinux: %w", err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 || f.ByteOrder != binary.LittleEndian {
		return nil, fmt.Errorf("vmlinux: %v %v %v, want a 64-bit little-endian x86_64 kernel", f.Class, f.Machine, f.ByteOrder)
	}
	symtab := f.SectionByType(elf.SHT_SYMTAB)
	if symtab == nil {
		return nil, fmt.Errorf("vmlinux symbols: %w", elf.ErrNoSymbols)
	}
	if symtab.Link == 0 || int(symtab.Link) >= len(f.Sections) {
		return nil, fmt.Errorf("vmlinux symbols: .symtab links to section %d", symtab.Link)
	}
	strtab := f.Sections[symtab.Link]
	if symtab.Size > maxSymtab || strtab.Size > maxSymtab || symtab.Size%elf.Sym64Size != 0 {
		return nil, fmt.Errorf("vmlinux symbols: .symtab %d bytes, strings %d bytes: not plausible", symtab.Size, strtab.Size)
	}
	for _, sec := range []*elf.Section{symtab, strtab} {
		if err := inFile(r, sec); err != nil {
			return nil, fmt.Errorf("vmlinux symbols: %w", err)
		}
	}
	raw := make([]byte, symtab.Size)
	if _, err := symtab.ReadAt(raw, 0); err != nil {
		return nil, fmt.Errorf("vmlinux .symtab: %w", err)
	}
	strBytes := make([]byte, strtab.Size)
	if _, err := strtab.ReadAt(strBytes, 0); err != nil {
		return nil, fmt.Errorf("vmlinux .strtab: %w", err)
	}
	strs := string(strBytes)
	le := binary.LittleEndian
	n := len(raw) / elf.Sym64Size
	syms := make([]entry, 0, n)
	for i := 1; i < n; i++ { // entry 0 is the null symbol
		e := raw[i*elf.Sym64Size : (i+1)*elf.Sym64Size]
		es := elf.Symbol{Info: e[4], Other: e[5], Section: elf.SectionIndex(le.Uint16(e[6:])),
			Value: le.Uint64(e[8:]), Size: le.Uint64(e[16:])}
		typ := elf.ST_TYPE(es.Info)
		if typ == elf.STT_SECTION || typ == elf.STT_FILE || es.Section == elf.SHN_UNDEF {
			continue
		}
		off := le.Uint32(e[0:])
		nameLen := cStringLen(strs, off)
		if nameLen == 0 {
			continue
		}
		s := entry{addr: es.Value, size: es.Size, nameOff: off, nameLen: nameLen, typ: nmType(f, es)}
		if es.Section != elf.SHN_ABS && s.addr >= startKernelMap {
			s.addr += kaslrOffset
		}
		syms = append(syms, s)
	}
	t := newTable(strs, syms, sourceSymtab)
	t.kallsymsNum = kallsymsNumSyms(f, t, kaslrOffset)
	return t, nil
}

// cStringLen is the length of the NUL-terminated string at off in the
// string table, 0 when off is out of range.
func cStringLen(strs string, off uint32) uint32 {
	if int64(off) >= int64(len(strs)) {
		return 0
	}
	if i := strings.IndexByte(strs[off:], 0); i >= 0 {
		return uint32(i)
	}
	return uint32(len(strs)) - off
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

// inFile makes sure the file holds the last byte of sec before anything is
// allocated for it: a section header may claim any size, and an
// io.ReaderAt does not tell the file's.
func inFile(r io.ReaderAt, sec *elf.Section) error {
	if sec.Type == elf.SHT_NOBITS {
		return fmt.Errorf("section %s has no bytes in the file", sec.Name)
	}
	// The kernel's build never compresses its symbol or string table, and
	// debug/elf gives a compressed section no ReaderAt to read it raw.
	if sec.Flags&elf.SHF_COMPRESSED != 0 {
		return fmt.Errorf("section %s is compressed (SHF_COMPRESSED), which a vmlinux's symbol tables never are", sec.Name)
	}
	if sec.Size == 0 {
		return nil
	}
	if err := elfcheck.HasBytes(r, sec.Offset, sec.Size); err != nil {
		return fmt.Errorf("section %s: %d bytes at %#x: past end of file: %w", sec.Name, sec.Size, sec.Offset, err)
	}
	return nil
}

// kallsymsNumSyms reads the kernel's own kallsyms_num_syms from the
// vmlinux's initialised data (0 when it cannot): how many symbols the
// kernel's table holds, which tells KallsymsLookup which .symtab symbols
// it left out.
func kallsymsNumSyms(f *elf.File, t *Table, kaslrOffset uint64) uint32 {
	sym, ok := t.Lookup("kallsyms_num_syms")
	if !ok {
		return 0
	}
	va := sym.Addr - kaslrOffset
	for _, pr := range f.Progs {
		if pr.Type == elf.PT_LOAD && va >= pr.Vaddr && va+4 <= pr.Vaddr+pr.Filesz {
			var b [4]byte
			if _, err := pr.ReadAt(b[:], int64(va-pr.Vaddr)); err != nil {
				return 0
			}
			return binary.LittleEndian.Uint32(b[:])
		}
	}
	return 0
}
