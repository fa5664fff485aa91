package unwind

import "encoding/binary"

// crashScanBytes bounds the search for the caller of the function a CPU's
// saved registers point into: __crash_kexec's frame (its struct pt_regs
// and a few locals) is some 200 bytes.
const crashScanBytes = 1024

// crashCaller finds the frame above a CPU's saved registers whose ip has
// no ORC entry. kdump's __crash_kexec (kernel/crash_core.c, kernel/kexec_core.c
// before v6.6) saves the panicking CPU's registers with crash_setup_regs()
// (arch/x86/include/asm/kexec.h), whose ip is _THIS_IP_: a label right
// after "pushfq; popq mem", an instruction pair objtool leaves without ORC
// state, so the kernel's own rules cannot go on from it. The caller is
// found as crash does it for a kdump: the nearest word above sp that is a
// return address whose instruction before it is a direct call (call
// rel32, e8) to a function starting at or before ip, less than 64 KiB
// before it (the function ip is in, or its call-depth thunk in front of
// it). The frames found this way are marked Guessed.
func (u *Unwinder) crashCaller(st *state) (ip, sp uint64, ok bool) {
	if !st.cpuRegs {
		return 0, 0, false
	}
	var w [8]byte
	var call [5]byte
	for slot := st.sp; slot < st.sp+crashScanBytes && st.stack.contains(slot, 8); slot += 8 {
		if _, err := u.Mem.ReadVirtAt(w[:], slot); err != nil {
			return 0, 0, false
		}
		ret := binary.LittleEndian.Uint64(w[:])
		if ret < 5 || !u.Code.IsText(ret) {
			continue
		}
		if _, err := u.Mem.ReadVirtAt(call[:], ret-5); err != nil || call[0] != 0xe8 {
			continue
		}
		target := ret + uint64(int64(int32(binary.LittleEndian.Uint32(call[1:]))))
		if target <= st.ip && st.ip-target < 1<<16 {
			return ret, slot + 8, true
		}
	}
	return 0, 0, false
}
