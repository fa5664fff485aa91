package dump

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
)

// Note is one ELF note, from a PT_NOTE segment or from the note area a
// kdump-compressed header points at (offset_note, header version 4+).
type Note struct {
	Name string // without the terminating NUL, e.g. "CORE", "VMCOREINFO", "QEMU"
	Type uint32 // e.g. 1 = NT_PRSTATUS
	Desc []byte
}

// Note types and names this package decodes.
const (
	ntPRStatus     = 1 // NT_PRSTATUS, include/uapi/linux/elf.h
	noteVMCOREINFO = "VMCOREINFO"
	noteQEMU       = "QEMU"
)

// maxNotesSize bounds the note bytes read from one dump: a 8192-CPU machine
// needs about 3 MiB (an NT_PRSTATUS and a QEMU state per CPU).
const maxNotesSize = 16 << 20

// maxNotes bounds the notes kept from one dump, so that a note area of
// empty 12-byte notes does not become millions of Note values: two per CPU
// of an 8192-CPU machine, and room to spare.
const maxNotes = 1 << 16

// parseNotes splits a note area into notes. Linux pads names and
// descriptors to 4 bytes in ELF64 cores too. A damaged tail ends the list;
// problem then says what ended it ("" for a clean end).
func parseNotes(b []byte, bo binary.ByteOrder) (notes []Note, problem string) {
	at := 0 // offset of b in the note area, for problem
	for len(b) >= 12 {
		namesz, descsz, typ := bo.Uint32(b[0:]), bo.Uint32(b[4:]), bo.Uint32(b[8:])
		if namesz == 0 && descsz == 0 && typ == 0 {
			break // zero padding after the last note
		}
		if len(notes) == maxNotes {
			return notes, fmt.Sprintf("more than %d notes; the rest (from byte %#x) ignored", maxNotes, at)
		}
		b = b[12:]
		nameEnd := uint64(namesz)
		descStart := align4(nameEnd)
		descEnd := descStart + uint64(descsz)
		if descEnd > uint64(len(b)) || descStart > uint64(len(b)) {
			return notes, fmt.Sprintf("note %d at byte %#x runs past the end of the note area (%d notes read)", len(notes), at, len(notes))
		}
		name := b[:nameEnd]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		notes = append(notes, Note{Name: string(name), Type: typ, Desc: b[descStart:descEnd:descEnd]})
		next := align4(descEnd)
		if next > uint64(len(b)) {
			break
		}
		b = b[next:]
		at += 12 + int(next)
	}
	if len(b) > 0 && len(b) < 12 && !allZero(b) {
		return notes, fmt.Sprintf("note area ends inside a note header at byte %#x", at)
	}
	return notes, ""
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// PRStatusRegNames names PRStatus.Regs in the order of the x86_64
// struct user_regs_struct (arch/x86/include/asm/user_64.h). There is no cr3.
var PRStatusRegNames = [27]string{
	"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10",
	"r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax",
	"rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base",
	"ds", "es", "fs", "gs",
}

// PRStatus is a decoded x86_64 NT_PRSTATUS note (struct elf_prstatus of
// include/linux/elfcore.h): the registers of one CPU at the crash. QEMU
// writes one per vCPU with Pid = vCPU index + 1, not a Linux pid; the
// kernel's crash notes carry the pid of the task on that CPU.
type PRStatus struct {
	Index                int // position among the dump's NT_PRSTATUS notes
	Signo, Code, Errno   int32
	Cursig               int16
	SigPend, SigHold     uint64
	Pid, PPid, PGrp, Sid int32
	UTime, STime         time.Duration
	CUTime, CSTime       time.Duration
	Regs                 [27]uint64 // see PRStatusRegNames
	FPValid              int32
}

// x86_64 struct elf_prstatus layout.
const (
	prstatusSizeX8664 = 336
	prstatusRegsOff   = 112
)

// Reg returns the register called name (see PRStatusRegNames).
func (s *PRStatus) Reg(name string) (uint64, bool) {
	for i, n := range PRStatusRegNames {
		if n == name {
			return s.Regs[i], true
		}
	}
	return 0, false
}

// RIP, RSP and RBP are the registers an unwinder starts from.
func (s *PRStatus) RIP() uint64 { return s.Regs[16] }
func (s *PRStatus) RSP() uint64 { return s.Regs[19] }
func (s *PRStatus) RBP() uint64 { return s.Regs[4] }

func decodePRStatusX8664(idx int, d []byte) (PRStatus, bool) {
	if len(d) != prstatusSizeX8664 {
		return PRStatus{}, false
	}
	le := binary.LittleEndian
	tv := func(off int) time.Duration {
		return time.Duration(int64(le.Uint64(d[off:])))*time.Second +
			time.Duration(int64(le.Uint64(d[off+8:])))*time.Microsecond
	}
	s := PRStatus{
		Index:   idx,
		Signo:   int32(le.Uint32(d[0:])),
		Code:    int32(le.Uint32(d[4:])),
		Errno:   int32(le.Uint32(d[8:])),
		Cursig:  int16(le.Uint16(d[12:])),
		SigPend: le.Uint64(d[16:]),
		SigHold: le.Uint64(d[24:]),
		Pid:     int32(le.Uint32(d[32:])),
		PPid:    int32(le.Uint32(d[36:])),
		PGrp:    int32(le.Uint32(d[40:])),
		Sid:     int32(le.Uint32(d[44:])),
		UTime:   tv(48),
		STime:   tv(64),
		CUTime:  tv(80),
		CSTime:  tv(96),
		FPValid: int32(le.Uint32(d[prstatusRegsOff+27*8:])),
	}
	for i := range s.Regs {
		s.Regs[i] = le.Uint64(d[prstatusRegsOff+8*i:])
	}
	return s, true
}

// QEMUSegment is a QEMUCPUSegment of QEMU's "QEMU" CPU-state note.
type QEMUSegment struct {
	Selector, Limit, Flags uint32
	Base                   uint64
}

// QEMUCPUState is QEMU's per-vCPU "QEMU" note (struct QEMUCPUState,
// target/i386/arch_dump.c, version 1): unlike NT_PRSTATUS it has the
// control registers, so CR3 locates the page tables without VMCOREINFO.
type QEMUCPUState struct {
	Index         int // position among the dump's QEMU notes (vCPU order)
	Version, Size uint32
	RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP,
	R8, R9, R10, R11, R12, R13, R14, R15,
	RIP, RFLAGS uint64
	CS, DS, ES, FS, GS, SS, LDT, TR, GDT, IDT QEMUSegment
	CR                                        [5]uint64
	KernelGSBase                              uint64 // only when Size covers it (newer QEMU)
}

const qemuCPUStateV1Size = 432

func decodeQEMUCPUState(idx int, d []byte) (QEMUCPUState, bool) {
	if len(d) < qemuCPUStateV1Size {
		return QEMUCPUState{}, false
	}
	le := binary.LittleEndian
	s := QEMUCPUState{Index: idx, Version: le.Uint32(d[0:]), Size: le.Uint32(d[4:])}
	regs := []*uint64{&s.RAX, &s.RBX, &s.RCX, &s.RDX, &s.RSI, &s.RDI, &s.RSP, &s.RBP,
		&s.R8, &s.R9, &s.R10, &s.R11, &s.R12, &s.R13, &s.R14, &s.R15, &s.RIP, &s.RFLAGS}
	for i, r := range regs {
		*r = le.Uint64(d[8+8*i:])
	}
	segs := []*QEMUSegment{&s.CS, &s.DS, &s.ES, &s.FS, &s.GS, &s.SS, &s.LDT, &s.TR, &s.GDT, &s.IDT}
	for i, sg := range segs {
		o := 152 + 24*i
		*sg = QEMUSegment{Selector: le.Uint32(d[o:]), Limit: le.Uint32(d[o+4:]), Flags: le.Uint32(d[o+8:]), Base: le.Uint64(d[o+16:])}
	}
	for i := range s.CR {
		s.CR[i] = le.Uint64(d[392+8*i:])
	}
	if len(d) >= qemuCPUStateV1Size+8 && s.Size >= qemuCPUStateV1Size+8 {
		s.KernelGSBase = le.Uint64(d[qemuCPUStateV1Size:])
	}
	return s, true
}

// decodedNotes is what a Dump keeps from its notes.
type decodedNotes struct {
	notes      []Note
	vmcoreinfo []byte
	prstatus   []PRStatus
	qemu       []QEMUCPUState
}

// decodeNotes picks VMCOREINFO, the x86_64 NT_PRSTATUS notes and QEMU CPU
// states out of notes. x8664 says the dumped machine is x86_64 (or unknown
// but with x86_64-sized notes).
func decodeNotes(notes []Note, x8664 bool) decodedNotes {
	dn := decodedNotes{notes: notes}
	for _, n := range notes {
		switch {
		case n.Name == noteVMCOREINFO && dn.vmcoreinfo == nil:
			dn.vmcoreinfo = trimVMCOREINFO(n.Desc)
		case n.Type == ntPRStatus && (n.Name == "CORE" || n.Name == "") && x8664:
			if s, ok := decodePRStatusX8664(len(dn.prstatus), n.Desc); ok {
				dn.prstatus = append(dn.prstatus, s)
			}
		case n.Name == noteQEMU && x8664:
			if s, ok := decodeQEMUCPUState(len(dn.qemu), n.Desc); ok {
				dn.qemu = append(dn.qemu, s)
			}
		}
	}
	return dn
}

// trimVMCOREINFO drops the NUL padding some producers leave after the text.
func trimVMCOREINFO(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return bytes.Clone(b)
}
