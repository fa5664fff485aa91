package linux

import (
	"encoding/binary"
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/kernel/unwind"
)

// x86_64 struct elf_prstatus: pr_pid at 32, pr_reg (struct
// user_regs_struct, whose first 21 words are struct pt_regs's order) at
// 112; 336 bytes.
const (
	prstatusSize   = 336
	prstatusPidOff = 32
	prstatusRegOff = 112
	ntPRStatus     = 1
)

// PRStatusRegs turns the registers of an NT_PRSTATUS note (struct
// user_regs_struct: r15 … ss, then fs_base …) into pt_regs order, which is
// the same for the first 21 words.
func PRStatusRegs(regs []uint64) (*unwind.PtRegs, error) {
	var r unwind.PtRegs
	if len(regs) < len(r) {
		return nil, fmt.Errorf("%d registers, want at least %d", len(regs), len(r))
	}
	copy(r[:], regs)
	return &r, nil
}

// CrashNotesRegs reads the registers kdump saved for cpu:
// per_cpu_ptr(crash_notes, cpu) holds the ELF notes crash_save_cpu()
// wrote (kernel/crash_core.c; kernel/kexec_core.c before 5.19), the first
// an NT_PRSTATUS. ok is false when the CPU's buffer was never written (kdump
// skips CPUs that were offline or did not answer the NMI).
func CrashNotesRegs(p *object.Program, cpu int) (regs *unwind.PtRegs, pid int64, ok bool, err error) {
	base, err := p.VarAs("crash_notes", "unsigned long").Uint()
	if err != nil {
		return nil, 0, false, err
	}
	if base == 0 {
		return nil, 0, false, nil
	}
	off, err := PerCPUOffset(p, cpu)
	if err != nil {
		return nil, 0, false, err
	}
	const nameLen = 8 // "CORE\0" padded to 4 bytes
	b := make([]byte, 12+nameLen+prstatusSize)
	if _, err := p.Mem.ReadVirtAt(b, base+off); err != nil {
		return nil, 0, false, fmt.Errorf("crash_notes of cpu %d: %w", cpu, err)
	}
	le := binary.LittleEndian
	namesz, descsz, typ := le.Uint32(b[0:]), le.Uint32(b[4:]), le.Uint32(b[8:])
	if namesz == 0 && descsz == 0 {
		return nil, 0, false, nil
	}
	if namesz != 5 || string(b[12:16]) != "CORE" || typ != ntPRStatus || descsz != prstatusSize {
		return nil, 0, false, fmt.Errorf("crash_notes of cpu %d: first note is %q type %d, %d bytes, not NT_PRSTATUS", cpu, b[12:16], typ, descsz)
	}
	d := b[12+nameLen:]
	var r unwind.PtRegs
	for i := range r {
		r[i] = le.Uint64(d[prstatusRegOff+8*i:])
	}
	return &r, int64(int32(le.Uint32(d[prstatusPidOff:]))), true, nil
}
