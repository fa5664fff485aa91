package linux

import (
	"fmt"
	"strings"
)

// taintFlagLetters are the letters of the taint bits, TAINT_* in
// include/linux/panic.h and taint_flags[] in kernel/panic.c (documented in
// Documentation/admin-guide/tainted-kernels.rst).
var taintFlagLetters = [...]byte{
	'P', 'F', 'S', 'R', 'M', 'B', 'U', 'D', 'A', 'W',
	'C', 'I', 'O', 'E', 'L', 'K', 'X', 'T', 'N',
}

// TaintLetters lists the letters of the set bits of tainted_mask; a bit
// this table does not know is written as "(bit N)".
func TaintLetters(mask uint64) string {
	var b strings.Builder
	for bit := range 64 {
		if mask&(1<<bit) == 0 {
			continue
		}
		if bit < len(taintFlagLetters) {
			b.WriteByte(taintFlagLetters[bit])
		} else {
			fmt.Fprintf(&b, "(bit %d)", bit)
		}
	}
	return b.String()
}

// panicMachinery are the functions a panicking CPU runs between the
// culprit and the dump: panic() and what it calls (kernel/panic.c), the
// oops path (arch/x86/kernel/dumpstack.c, traps.c, mm/fault.c), kexec's
// entry (kernel/crash_core.c) and the NMI and stop paths that park CPUs
// (arch/x86/kernel/nmi.c, smp.c, process.c).
var panicMachinery = map[string]bool{
	"panic": true, "vpanic": true, "nmi_panic": true, "panic_smp_self_stop": true,
	"__crash_kexec": true, "crash_kexec": true, "crash_setup_regs": true,
	"machine_crash_shutdown": true, "native_machine_crash_shutdown": true,
	"oops_end": true, "die": true, "__die": true, "die_addr": true, "__die_body": true,
	"do_trap": true, "do_error_trap": true, "handle_bug": true, "handle_invalid_op": true,
	"exc_invalid_op": true, "asm_exc_invalid_op": true, "exc_general_protection": true,
	"asm_exc_general_protection": true, "page_fault_oops": true, "kernelmode_fixup_or_oops": true,
	"no_context": true, "__bad_area_nosemaphore": true, "bad_area_nosemaphore": true,
	"do_user_addr_fault": true, "handle_page_fault": true, "exc_page_fault": true,
	"asm_exc_page_fault": true, "exc_double_fault": true, "asm_exc_double_fault": true,
	"delay_tsc": true, "delay_halt": true, "delay_loop": true, "__const_udelay": true, "__udelay": true,
	"native_safe_halt": true, "stop_this_cpu": true, "smp_stop_nmi_callback": true,
	"native_stop_other_cpus": true, "smp_send_stop": true,
	"nmi_handle": true, "default_do_nmi": true, "exc_nmi": true, "asm_exc_nmi": true,
	"crash_nmi_callback": true, "kdump_nmi_callback": true,
	"dump_stack": true, "dump_stack_lvl": true, "show_stack": true, "show_trace_log_lvl": true,
	"console_flush_on_panic": true, "panic_print_sys_info": true,
}

// IsPanicMachinery says whether the function name (a compiler suffix such
// as .cold or .isra.0 ignored) belongs to the panic, oops, kexec or
// CPU-stop paths rather than to what caused the crash.
func IsPanicMachinery(name string) bool {
	if i := strings.IndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	return panicMachinery[name]
}

// Culprit picks the frame that caused a panic from the panicking CPU's
// function names, innermost first: the first one after the last panic
// machinery frame. ok is false when the trace holds no machinery (then no
// panic path was recorded) or nothing follows it.
func Culprit(names []string) (int, bool) {
	last := -1
	for i, n := range names {
		if IsPanicMachinery(n) {
			last = i
		}
	}
	if last < 0 || last+1 >= len(names) {
		return 0, false
	}
	return last + 1, true
}
