package dump

import (
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
)

// ELF cores (/proc/vmcore copies, QEMU dump-guest-memory, makedumpfile -E)
// are decoded by hand rather than with debug/elf.NewFile: QEMU writes its
// program headers at e_phoff 192 with a bogus e_ehsize, the program header
// count can overflow into section 0 (PN_XNUM), and section headers are of
// no use here. Each PT_LOAD maps [p_paddr, p_paddr+p_memsz) with its first
// p_filesz bytes at p_offset.
//
// Bytes between p_filesz and p_memsz are not read as zeros: the one
// producer that writes such segments, makedumpfile -E, uses that tail for
// runs of 256 or more pages it excluded (free, cache, user pages), whose
// real contents were not zero. They read as ErrExcluded.

// makedumpfile sets this e_flags bit on an ELF dump it could not finish.
const elfDumpIncomplete = 0x1

const maxPhnum = 1 << 20

// pnXNum in e_phnum says the count is in section header 0's sh_info.
const pnXNum = 0xffff

// elfProg is the part of a program header this package uses.
type elfProg struct {
	typ               elf.ProgType
	off, vaddr, paddr uint64
	filesz, memsz     uint64
	phdrOff           int64 // where the header itself is, for errors
	paddrUnset        bool
}

// elfMem serves physical reads from PT_LOAD segments.
type elfMem struct {
	r     io.ReaderAt
	size  int64
	spans []span // disjoint, sorted
	trunc bool   // a read met the end of the file
}

// openELF opens an ELF core. It returns ErrNotThisFormat without the ELF
// magic, and a FormatError for ELF files that are not cores.
func openELF(name string, r io.ReaderAt, size int64) (*Dump, error) {
	ident := make([]byte, 64)
	n, _ := readMeta(r, ident, 0)
	if n < 4 || string(ident[:4]) != elf.ELFMAG {
		return nil, ErrNotThisFormat
	}
	if n < 52 {
		return nil, formatErr(0, "ELF header: file ends inside it", n)
	}
	var bo binary.ByteOrder
	switch elf.Data(ident[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		bo = binary.BigEndian
	default:
		return nil, formatErr(elf.EI_DATA, "ELF header: bad data encoding", ident[elf.EI_DATA])
	}
	class := elf.Class(ident[elf.EI_CLASS])
	var (
		phoff, shoff      uint64
		phentsize, phnum  uint64
		shentsize         uint64
		wantPhent, flagsO int
	)
	typ := elf.Type(bo.Uint16(ident[16:]))
	machine := elf.Machine(bo.Uint16(ident[18:]))
	switch class {
	case elf.ELFCLASS64:
		if n < 64 {
			return nil, formatErr(0, "ELF header: file ends inside it", n)
		}
		phoff, shoff = bo.Uint64(ident[32:]), bo.Uint64(ident[40:])
		flagsO = 48
		phentsize, phnum = uint64(bo.Uint16(ident[54:])), uint64(bo.Uint16(ident[56:]))
		shentsize = uint64(bo.Uint16(ident[58:]))
		wantPhent = 56
	case elf.ELFCLASS32:
		phoff, shoff = uint64(bo.Uint32(ident[28:])), uint64(bo.Uint32(ident[32:]))
		flagsO = 36
		phentsize, phnum = uint64(bo.Uint16(ident[42:])), uint64(bo.Uint16(ident[44:]))
		shentsize = uint64(bo.Uint16(ident[46:]))
		wantPhent = 32
	default:
		return nil, formatErr(elf.EI_CLASS, "ELF header: bad class", ident[elf.EI_CLASS])
	}
	if typ != elf.ET_CORE {
		return nil, formatErr(16, "ELF file is not a core dump", typ)
	}
	eflags := bo.Uint32(ident[flagsO:])
	if phentsize < uint64(wantPhent) {
		return nil, formatErr(int64(flagsO+6), "ELF header: bad e_phentsize", phentsize)
	}
	if phnum == pnXNum {
		// The real count is sh_info of section header 0.
		sh := make([]byte, 64)
		if shoff == 0 || shentsize < 40 {
			return nil, formatErr(int64(flagsO+8), "ELF header: PN_XNUM without section header 0", shoff)
		}
		infoOff := 44
		if class == elf.ELFCLASS32 {
			infoOff = 28
		}
		if m, _ := readMeta(r, sh, int64(shoff)); m < infoOff+4 {
			return nil, formatErr(int64(shoff), "ELF section header 0: file ends inside it", m)
		}
		phnum = uint64(bo.Uint32(sh[infoOff:]))
	}
	if phnum > maxPhnum || phoff > uint64(size) || phnum*phentsize > uint64(size)-phoff {
		return nil, formatErr(int64(flagsO-16), "ELF header: program headers outside the file",
			fmt.Sprintf("e_phoff %#x e_phnum %d", phoff, phnum))
	}
	ph := make([]byte, phnum*phentsize)
	if m, err := readMeta(r, ph, int64(phoff)); m < len(ph) {
		return nil, fmt.Errorf("read ELF program headers at %#x: %w", phoff, err)
	}
	progs := make([]elfProg, phnum)
	for i := range progs {
		b := ph[uint64(i)*phentsize:]
		p := &progs[i]
		p.phdrOff = int64(phoff + uint64(i)*phentsize)
		if class == elf.ELFCLASS64 {
			p.typ = elf.ProgType(bo.Uint32(b[0:]))
			p.off, p.vaddr, p.paddr = bo.Uint64(b[8:]), bo.Uint64(b[16:]), bo.Uint64(b[24:])
			p.filesz, p.memsz = bo.Uint64(b[32:]), bo.Uint64(b[40:])
			p.paddrUnset = p.paddr == ^uint64(0)
		} else {
			p.typ = elf.ProgType(bo.Uint32(b[0:]))
			p.off, p.vaddr, p.paddr = uint64(bo.Uint32(b[4:])), uint64(bo.Uint32(b[8:])), uint64(bo.Uint32(b[12:]))
			p.filesz, p.memsz = uint64(bo.Uint32(b[16:])), uint64(bo.Uint32(b[20:]))
			p.paddrUnset = p.paddr == 0xffffffff
		}
	}

	mem := &elfMem{r: r, size: size}
	info := Info{
		Format:      "elf",
		Compression: "none",
		DumpLevel:   -1,
		Incomplete:  eflags&elfDumpIncomplete != 0,
		WordSize:    4,
		BigEndian:   bo == binary.BigEndian,
		Machine:     elfMachineName(machine),
		DumpedPages: -1,
		Parts:       []PartInfo{{Name: name, Size: size}},
	}
	if class == elf.ELFCLASS64 {
		info.WordSize = 8
	}
	var spans []span
	var noteBytes uint64
	var notes []Note
	for i, p := range progs {
		switch p.typ {
		case elf.PT_LOAD:
			if p.paddrUnset || p.memsz == 0 {
				continue
			}
			filesz := min(p.filesz, p.memsz)
			end := p.paddr + p.memsz
			if end < p.paddr || p.off+filesz < p.off || p.off > 1<<62 {
				return nil, formatErr(p.phdrOff, "ELF PT_LOAD: range overflows", fmt.Sprintf("paddr %#x memsz %#x offset %#x", p.paddr, p.memsz, p.off))
			}
			if p.off+filesz > uint64(size) {
				info.Truncated = true
			}
			info.Parts[0].WantSize = max(info.Parts[0].WantSize, int64(p.off+filesz))
			// File bytes beat any other segment's excluded tail; among file
			// bytes the first program header wins (they agree in practice:
			// /proc/vmcore maps kernel text twice).
			prio := int64(len(progs) - i)
			spans = append(spans,
				span{start: p.paddr, end: p.paddr + filesz, base: int64(p.off), kind: spanFile, prio: prio + 1<<40},
				span{start: p.paddr + filesz, end: end, kind: spanExcluded, prio: prio})
			info.MaxPFN = max(info.MaxPFN, end)
		case elf.PT_NOTE:
			if p.filesz == 0 {
				continue
			}
			noteBytes += p.filesz
			if noteBytes > maxNotesSize || p.off > uint64(size) {
				prob := fmt.Sprintf("PT_NOTE at %#x: %d bytes at file offset %#x: too large or outside the file", p.phdrOff, p.filesz, p.off)
				info.Warnings = append(info.Warnings, prob)
				info.NotesProblem = cmp.Or(info.NotesProblem, prob)
				continue
			}
			b := make([]byte, min(p.filesz, uint64(size)-p.off))
			m, _ := readMeta(r, b, int64(p.off))
			if uint64(m) < p.filesz {
				info.Truncated = true
				prob := fmt.Sprintf("PT_NOTE at file offset %#x: the file ends after %d of its %d bytes", p.off, m, p.filesz)
				info.Warnings = append(info.Warnings, prob)
				info.NotesProblem = cmp.Or(info.NotesProblem, prob)
			}
			ns, prob := parseNotes(b[:m], bo)
			if prob != "" && uint64(m) == p.filesz {
				prob = fmt.Sprintf("PT_NOTE at file offset %#x: %s", p.off, prob)
				info.Warnings = append(info.Warnings, prob)
				info.NotesProblem = cmp.Or(info.NotesProblem, prob)
			}
			if len(notes)+len(ns) > maxNotes {
				ns = ns[:max(0, maxNotes-len(notes))]
			}
			notes = append(notes, ns...)
		}
	}
	mem.spans = overlay(spans)

	dn := decodeNotes(notes, machine == elf.EM_X86_64)
	info.PageSize = 4096
	if ps := vmcoreinfoValue(dn.vmcoreinfo, "PAGESIZE"); ps != "" {
		if v, err := strconv.Atoi(ps); err == nil && v >= minBlockSize && v <= maxBlockSize && v&(v-1) == 0 {
			info.PageSize = v
		}
	}
	info.MaxPFN = (info.MaxPFN + uint64(info.PageSize) - 1) / uint64(info.PageSize)
	info.Parts[0].EndPFN = info.MaxPFN
	info.Parts[0].Truncated = info.Truncated
	return newDump(info, mem, dn), nil
}

func elfMachineName(m elf.Machine) string {
	switch m {
	case elf.EM_X86_64:
		return "x86_64"
	case elf.EM_386:
		return "i386"
	case elf.EM_AARCH64:
		return "aarch64"
	case elf.EM_S390:
		return "s390x"
	case elf.EM_PPC64:
		return "ppc64"
	case elf.EM_RISCV:
		return "riscv"
	}
	return m.String()
}

// vmcoreinfoValue returns the value of "key=" in VMCOREINFO text.
func vmcoreinfoValue(vmcoreinfo []byte, key string) string {
	for line := range bytes.SplitSeq(vmcoreinfo, []byte{'\n'}) {
		if len(line) > len(key) && line[len(key)] == '=' && string(line[:len(key)]) == key {
			return string(line[len(key)+1:])
		}
	}
	return ""
}

func (m *elfMem) readPhys(p []byte, addr uint64) (int, error) {
	n := 0
	for n < len(p) {
		a := addr + uint64(n)
		if a < addr {
			return n, &FaultError{Addr: a, Err: ErrNoMemory}
		}
		i := findSpan(m.spans, a)
		if i < 0 {
			return n, &FaultError{Addr: a, Err: ErrNoMemory}
		}
		s := m.spans[i]
		if s.kind == spanExcluded {
			return n, &FaultError{Addr: a, Err: ErrExcluded}
		}
		want := min(uint64(len(p)-n), s.end-a)
		off := s.base + int64(a-s.start)
		got, err := m.r.ReadAt(p[n:n+int(want)], off)
		n += got
		if uint64(got) < want {
			fa := addr + uint64(n)
			if err == nil || isEOF(err) {
				m.trunc = true
				err = fmt.Errorf("segment data at file offset %#x beyond end of file: %w", off+int64(got), ErrTruncated)
			}
			return n, &FaultError{Addr: fa, Err: err}
		}
	}
	return n, nil
}

func (m *elfMem) physRanges() ([]Range, error) {
	return mergeRanges(append([]span(nil), m.spans...)), nil
}

// dataRanges lists the addresses whose bytes are in the file: the file
// part of each segment, clipped where the file ends.
func (m *elfMem) dataRanges() []Range {
	var spans []span
	for _, s := range m.spans {
		if s.kind != spanFile || s.base >= m.size {
			continue
		}
		end := s.start + min(s.end-s.start, uint64(m.size-s.base))
		spans = append(spans, span{start: s.start, end: end})
	}
	return mergeRanges(spans)
}

func (m *elfMem) updateInfo(info *Info) {
	if m.trunc {
		info.Truncated = true
		info.Parts[0].Truncated = true
	}
}

func (m *elfMem) setCacheSize(int64) {}
func (m *elfMem) close()             {}
