package linux

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// TaintFlag is one entry of taint_flags[] in kernel/panic.c: the letter
// print_tainted() shows for a set bit, and whether module_flags() shows it
// for a module's own taints (.module).
type TaintFlag struct {
	Letter byte
	Module bool
}

// TaintFlags are indexed by bit, TAINT_* of include/linux/panic.h
// (documented in Documentation/admin-guide/tainted-kernels.rst; the same
// in 6.1 and 6.12).
var TaintFlags = [...]TaintFlag{
	{'P', true}, {'F', true}, {'S', false}, {'R', false}, {'M', false},
	{'B', false}, {'U', false}, {'D', false}, {'A', false}, {'W', false},
	{'C', true}, {'I', false}, {'O', true}, {'E', true}, {'L', false},
	{'K', true}, {'X', true}, {'T', true}, {'N', true},
}

// TaintLetters lists the letters of the set bits of tainted_mask; a bit
// the table does not know is written as "(bit N)".
func TaintLetters(mask uint64) string {
	var b strings.Builder
	for bit := range 64 {
		if mask&(1<<bit) == 0 {
			continue
		}
		if bit < len(TaintFlags) {
			b.WriteByte(TaintFlags[bit].Letter)
		} else {
			fmt.Fprintf(&b, "(bit %d)", bit)
		}
	}
	return b.String()
}

// TaintedMask is tainted_mask, the kernel's taint bits.
func TaintedMask(p *object.Program) (uint64, error) {
	return p.VarAs("tainted_mask", "unsigned long").Uint()
}

const panicPrefix = "Kernel panic - not syncing: "

// ErrNoPanicMessage: the kernel log holds no panic() message.
var ErrNoPanicMessage = errors.New("no \"" + strings.TrimSpace(panicPrefix) + "\" line in the kernel log (the crash may not have been a panic)")

// PanicMessage is the text of the last "Kernel panic - not syncing:"
// record in the kernel log (printed by panic() in kernel/panic.c). Its
// errors are the kernel log's (PrintkRecords) or ErrNoPanicMessage.
func PanicMessage(p *object.Program) (string, error) {
	recs, err := PrintkRecords(p)
	if err != nil {
		return "", err
	}
	// panic() prints the message first as its own record, and last inside
	// "---[ end Kernel panic - not syncing: … ]---".
	for i := len(recs) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(recs[i].Text, panicPrefix); ok {
			msg, _, _ = strings.Cut(msg, "\n")
			return strings.TrimSpace(msg), nil
		}
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if _, msg, ok := strings.Cut(recs[i].Text, "---[ end "+panicPrefix); ok {
			msg, _, _ = strings.Cut(msg, "\n")
			return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(msg), "]---")), nil
		}
	}
	return "", ErrNoPanicMessage
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
