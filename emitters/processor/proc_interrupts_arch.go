package processor

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// archRow is one line of arch_show_interrupts(): a per-CPU counter, shown
// when the kernel has it (its irq_cpustat_t member or per-CPU symbol
// exists, following the kernel's configuration) and cond holds.
type archRow struct {
	label, member, symbol, desc string
	cond                        func(c *emit.Context) (bool, error)
}

// x86ArchRows are the rows of arch_show_interrupts() in
// arch/x86/kernel/irq.c, in its order (6.1 and 6.12).
var x86ArchRows = []archRow{
	{"NMI", "__nmi_count", "", "Non-maskable interrupts", nil},
	{"LOC", "apic_timer_irqs", "", "Local timer interrupts", nil},
	{"SPU", "irq_spurious_count", "", "Spurious interrupts", nil},
	{"PMI", "apic_perf_irqs", "", "Performance monitoring interrupts", nil},
	{"IWI", "apic_irq_work_irqs", "", "IRQ work interrupts", nil},
	{"RTR", "icr_read_retry_count", "", "APIC ICR read retries", nil},
	{"PLT", "x86_platform_ipis", "", "Platform interrupts", nonZeroVar("x86_platform_ipi_callback")},
	{"RES", "irq_resched_count", "", "Rescheduling interrupts", nil},
	{"CAL", "irq_call_count", "", "Function call interrupts", nil},
	{"TLB", "irq_tlb_count", "", "TLB shootdowns", nil},
	{"TRM", "irq_thermal_count", "", "Thermal event interrupts", nil},
	{"THR", "irq_threshold_count", "", "Threshold APIC interrupts", nil},
	{"DFR", "irq_deferred_error_count", "", "Deferred Error APIC interrupts", nil},
	{"MCE", "", "mce_exception_count", "Machine check exceptions", nil},
	{"MCP", "", "mce_poll_count", "Machine check polls", nil},
	{"HYP", "irq_hv_callback_count", "", "Hypervisor callback interrupts", systemVector(0xf3)},            // HYPERVISOR_CALLBACK_VECTOR
	{"HRE", "irq_hv_reenlightenment_count", "", "Hyper-V reenlightenment interrupts", systemVector(0xee)}, // HYPERV_REENLIGHTENMENT_VECTOR
	{"HVS", "hyperv_stimer0_count", "", "Hyper-V stimer0 interrupts", systemVector(0xed)},                 // HYPERV_STIMER0_VECTOR
	{"ERR", "", "irq_err_count", "", nil},
	{"MIS", "", "irq_mis_count", "", nil},
	{"PIN", "kvm_posted_intr_ipis", "", "Posted-interrupt notification event", nil},
	{"NPI", "kvm_posted_intr_nested_ipis", "", "Nested posted-interrupt event", nil},
	{"PIW", "kvm_posted_intr_wakeup_ipis", "", "Posted-interrupt wakeup event", nil},
	{"PMN", "posted_msi_notification_count", "", "Posted MSI notification event", nil},
}

func nonZeroVar(sym string) func(*emit.Context) (bool, error) {
	return func(c *emit.Context) (bool, error) {
		v, err := c.Prog.VarAs(sym, "unsigned long").Uint()
		return v != 0, err
	}
}

// systemVector tests the vector's bit in system_vectors.
func systemVector(vec int) func(*emit.Context) (bool, error) {
	return func(c *emit.Context) (bool, error) {
		word, err := linux.SymbolIndex(c.Prog, "system_vectors", "unsigned long", vec/64).Uint()
		return word&(1<<(vec%64)) != 0, err
	}
}

func archShowInterrupts(c *emit.Context, b *strings.Builder, cpus []int, prec int) error {
	stType, err := c.Prog.Type("irq_cpustat_t")
	if err != nil {
		return err
	}
	probe := c.Prog.Object(stType, 0, "irq_cpustat_t")
	for _, r := range x86ArchRows {
		if r.member != "" && !probe.HasMember(r.member) {
			continue
		}
		if r.symbol != "" {
			if _, err := c.Prog.Syms.Addr(r.symbol); err != nil {
				continue
			}
		}
		if r.cond != nil {
			ok, err := r.cond(c)
			if err != nil {
				return fmt.Errorf("%s: %w", r.label, err)
			}
			if !ok {
				continue
			}
		}
		if r.desc == "" { // a global atomic_t: ERR, MIS
			v, err := c.Prog.VarAs(r.symbol, "int").Uint()
			if err != nil {
				return err
			}
			fmt.Fprintf(b, "%*s: %10d\n", prec, r.label, uint32(v))
			continue
		}
		fmt.Fprintf(b, "%*s: ", prec, r.label)
		for _, cpu := range cpus {
			o := linux.PerCPU(c.Prog, "irq_stat", "irq_cpustat_t", cpu).Member(r.member)
			if r.symbol != "" {
				o = linux.PerCPU(c.Prog, r.symbol, "unsigned int", cpu)
			}
			v, err := o.Uint()
			if err != nil {
				return fmt.Errorf("%s: %w", r.label, err)
			}
			fmt.Fprintf(b, "%10d ", uint32(v))
		}
		fmt.Fprintf(b, "  %s\n", r.desc)
	}
	return nil
}

// archShowInterruptsTable mirrors arch_show_interrupts() of x86 kernels
// whose per-CPU counters are irq_stat.counts[] described by the table
// irq_stat_info[IRQ_COUNT_MAX] (7.2): each entry whose bit is set in the
// bitmap irq_stat_count_show prints the symbol, the counts of every CPU
// and the entry's text.
func archShowInterruptsTable(c *emit.Context, b *strings.Builder, cpus []int, prec int) error {
	p := c.Prog
	n, err := linux.EnumValue(p, "IRQ_COUNT_MAX")
	if err != nil {
		return err
	}
	if n <= 0 || n > 256 {
		return fmt.Errorf("IRQ_COUNT_MAX = %d, not plausible", n)
	}
	infoT, err := p.Type("struct irq_stat_info")
	if err != nil {
		return err
	}
	size, err := ktype.Sizeof(infoT)
	if err != nil {
		return err
	}
	base, err := p.Syms.Addr("irq_stat_info")
	if err != nil {
		return err
	}
	for i := range int(n) {
		info := p.Object(infoT, base+uint64(i)*size, fmt.Sprintf("irq_stat_info[%d]", i))
		sym, err := optString(info.Member("symbol"))
		if err != nil {
			return err
		}
		if sym == "" {
			continue
		}
		// irq_init_stats() and irq_stat_inc_and_enable() decide at run
		// time which rows show (skip_vector, the platform IPI callback, the
		// CPU vendor, a first increment); their verdict is the bitmap.
		word, err := linux.SymbolIndex(p, "irq_stat_count_show", "unsigned long", i/64).Uint()
		if err != nil {
			return fmt.Errorf("irq_stat_count_show: %w", err)
		}
		if word&(1<<(i%64)) == 0 {
			continue
		}
		text, err := optString(info.Member("text"))
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "%*s:", prec, sym)
		for _, cpu := range cpus {
			v, err := linux.PerCPU(p, "irq_stat", "irq_cpustat_t", cpu).Member(fmt.Sprintf("counts[%d]", i)).Uint()
			if err != nil {
				return fmt.Errorf("%s: %w", sym, err)
			}
			fmt.Fprintf(b, " %10d", uint32(v))
		}
		b.WriteString(text)
	}
	return nil
}
