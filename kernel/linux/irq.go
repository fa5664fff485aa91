package linux

import (
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// NrIrqs is nr_irqs (kernel/irq/irqdesc.c): one past the highest irq number
// in use, the bound /proc/interrupts and /proc/stat count up to. Newer
// kernels keep it in total_nr_irqs (7.2 has no nr_irqs symbol; the value is
// what irq_get_nr_irqs() returns); the symbol present decides.
func NrIrqs(p *object.Program) (int, error) {
	name := "nr_irqs"
	if _, err := p.Syms.Addr(name); err != nil {
		name = "total_nr_irqs"
	}
	n, err := p.VarAs(name, "int").Int()
	if err != nil {
		return 0, err
	}
	if n <= 0 || n > 1<<20 {
		return 0, fmt.Errorf("nr_irqs = %d, not plausible", n)
	}
	return int(n), nil
}

// IrqDesc is one allocated interrupt: its number and struct irq_desc.
type IrqDesc struct {
	Irq  int
	Desc object.Object
}

// ForEachIrqDesc yields the allocated interrupt descriptors in irq order,
// as for_each_irq_desc() does: with CONFIG_SPARSE_IRQ they live in the
// maple tree sparse_irqs in 6.12 ("genirq: Use a maple tree for interrupt
// descriptor management") and in the radix tree irq_desc_tree in 6.1;
// without it, in the static array irq_desc[NR_IRQS]. The symbol present
// decides.
func ForEachIrqDesc(p *object.Program) iter.Seq2[IrqDesc, error] {
	return func(yield func(IrqDesc, error) bool) {
		descT, err := p.Type("struct irq_desc")
		if err != nil {
			yield(IrqDesc{}, err)
			return
		}
		desc := func(irq uint64, addr uint64) IrqDesc {
			return IrqDesc{int(irq), p.Object(descT, addr, fmt.Sprintf("irq_to_desc(%d)", irq))}
		}
		switch {
		case hasSymbol(p, "sparse_irqs"):
			for e, err := range MtForEach(p.VarAs("sparse_irqs", "struct maple_tree")) {
				if err != nil {
					yield(IrqDesc{}, err)
					return
				}
				if e.First != e.Last || e.First > 1<<20 {
					continue // each descriptor is stored at its own index
				}
				if !yield(desc(e.First, e.Entry), nil) {
					return
				}
			}
		case hasSymbol(p, "irq_desc_tree"):
			for e, err := range XArrayForEach(p.VarAs("irq_desc_tree", "struct xarray")) {
				if err != nil {
					yield(IrqDesc{}, err)
					return
				}
				if !yield(desc(e.Index, e.Entry), nil) {
					return
				}
			}
		default:
			arr := p.VarAs("irq_desc", "struct irq_desc")
			base, ok := arr.Address()
			if !ok {
				yield(IrqDesc{}, fmt.Errorf("no irq descriptors: %w", errOrNoAddr(arr)))
				return
			}
			n, err := NrIrqs(p)
			if err != nil {
				yield(IrqDesc{}, err)
				return
			}
			size, err := ktype.Sizeof(descT)
			if err != nil {
				yield(IrqDesc{}, err)
				return
			}
			for i := 0; i < n; i++ {
				if !yield(desc(uint64(i), base+uint64(i)*size), nil) {
					return
				}
			}
		}
	}
}

func hasSymbol(p *object.Program, name string) bool {
	_, err := p.Syms.Addr(name)
	return err == nil
}

// irqSetting tests a bit of desc->status_use_accessors by its IRQ_* name
// (the enum in include/linux/irq.h, as kernel/irq/settings.h does).
func irqSetting(desc object.Object, name string) (bool, error) {
	bit, err := desc.Prog().Types.EnumValue(name)
	if err != nil {
		return false, err
	}
	v, err := desc.Member("status_use_accessors").Uint()
	return v&uint64(bit) != 0, err
}

// IrqSettingsIsHidden mirrors irq_settings_is_hidden(): IRQ_HIDDEN set.
func IrqSettingsIsHidden(desc object.Object) (bool, error) {
	return irqSetting(desc, "IRQ_HIDDEN")
}

// IrqDescIsChained mirrors irq_desc_is_chained() in kernel/irq/internals.h:
// the descriptor's action is the placeholder chained_action.
func IrqDescIsChained(desc object.Object) (bool, error) {
	action, err := desc.Member("action").Uint()
	if err != nil || action == 0 {
		return false, err
	}
	chained, err := desc.Prog().Syms.Addr("chained_action")
	if err != nil {
		return false, nil // no chained handlers in this kernel
	}
	return action == chained, nil
}

// KstatIrqsCPU mirrors per_cpu(desc->kstat_irqs, cpu): the count of the
// interrupt on one CPU. In 6.12 kstat_irqs points to struct irqstat
// (its cnt), in 6.1 to a plain unsigned int: the count is first in both.
func KstatIrqsCPU(desc object.Object, cpu int) (uint64, error) {
	ptr, err := desc.Member("kstat_irqs").Uint()
	if err != nil || ptr == 0 {
		return 0, err
	}
	off, err := PerCPUOffset(desc.Prog(), cpu)
	if err != nil {
		return 0, err
	}
	t, err := desc.Prog().Type("unsigned int") // irqstat.cnt is its first member
	if err != nil {
		return 0, err
	}
	return desc.Prog().Object(t, ptr+off, fmt.Sprintf("per_cpu(%s.kstat_irqs, %d)", desc.Path(), cpu)).Uint()
}

// KstatIrqsUsr mirrors kstat_irqs_usr() in kernel/irq/irqdesc.c: the
// interrupt's total, desc->tot_count for ordinary interrupts, the per-CPU
// counts summed over cpus (the kernel uses the possible CPUs) for per-CPU
// and NMI ones.
func KstatIrqsUsr(desc object.Object, cpus []int) (uint64, error) {
	ptr, err := desc.Member("kstat_irqs").Uint()
	if err != nil || ptr == 0 {
		return 0, err
	}
	perCPU, err := irqSetting(desc, "IRQ_PER_CPU")
	if err != nil {
		return 0, err
	}
	devid, err := irqSetting(desc, "IRQ_PER_CPU_DEVID")
	if err != nil {
		return 0, err
	}
	nmiBit, err := desc.Prog().Types.EnumValue("IRQS_NMI")
	if err != nil {
		return 0, err
	}
	// istate is a #define for this member (kernel/irq/internals.h).
	istate, err := desc.Member("core_internal_state__do_not_mess_with_it").Uint()
	if err != nil {
		return 0, err
	}
	if !perCPU && !devid && istate&uint64(nmiBit) == 0 {
		return desc.Member("tot_count").Uint()
	}
	var sum uint64
	for _, cpu := range cpus {
		v, err := KstatIrqsCPU(desc, cpu)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return uint64(uint32(sum)), nil
}

// ArchIrqStatCPU mirrors arch_irq_stat_cpu() in arch/x86/kernel/irq.c: the
// CPU's system-vector interrupts that have no irq descriptor. The members
// present in irq_cpustat_t follow the kernel's configuration. 6.1 leaves
// the Hyper-V callback counters out of the sum and 6.12 adds them, with no
// layout change to tell; they count only on Hyper-V and Xen guests and are
// added here, their sum returned too (hv) so that the file can say so.
func ArchIrqStatCPU(p *object.Program, cpu int) (sum, hv uint64, err error) {
	st := PerCPU(p, "irq_stat", "irq_cpustat_t", cpu)
	if st.HasMember("counts") {
		// 7.2's irq_cpustat_t is one array, counts[IRQ_COUNT_MAX], described
		// by irq_stat_info[] in arch/x86/kernel/irq.c; arch_irq_stat_cpu()
		// sums all of it (the member is the probe).
		n, err := EnumValue(p, "IRQ_COUNT_MAX")
		if err != nil {
			return 0, 0, err
		}
		if n <= 0 || n > 256 {
			return 0, 0, fmt.Errorf("IRQ_COUNT_MAX = %d, not plausible", n)
		}
		for i := range n {
			v, err := st.Member("counts").Index(uint64(i)).Uint()
			if err != nil {
				return 0, 0, err
			}
			sum += v
		}
		return sum, 0, nil
	}
	members := []string{"__nmi_count", "apic_timer_irqs", "irq_spurious_count", "apic_perf_irqs",
		"apic_irq_work_irqs", "icr_read_retry_count", "irq_resched_count", "irq_call_count",
		"irq_thermal_count", "irq_threshold_count", "irq_hv_callback_count",
		"irq_hv_reenlightenment_count", "hyperv_stimer0_count"}
	if cb, err := p.VarAs("x86_platform_ipi_callback", "unsigned long").Uint(); err != nil {
		return 0, 0, err
	} else if cb != 0 {
		members = append(members, "x86_platform_ipis")
	}
	for _, m := range members {
		if !st.HasMember(m) {
			continue
		}
		v, err := st.Member(m).Uint()
		if err != nil {
			return 0, 0, err
		}
		sum += v
		if strings.Contains(m, "hv_") || strings.HasPrefix(m, "hyperv_") {
			hv += v
		}
	}
	for _, sym := range []string{"mce_exception_count", "mce_poll_count"} { // CONFIG_X86_MCE
		if _, err := p.Syms.Addr(sym); err != nil {
			continue
		}
		v, err := PerCPU(p, sym, "unsigned int", cpu).Uint()
		if err != nil {
			return 0, 0, err
		}
		sum += v
	}
	return sum, hv, nil
}

// IrqConstraints are the widths /proc/interrupts uses in kernels with
// struct irq_proc_constraints (kernel/irq/proc.c, 7.2): num_prec digits for
// irq numbers, chip_width for chip names; both only grow at run time.
type IrqConstraints struct {
	NumPrec, ChipWidth int
}

// IrqProcConstraints reads irq_proc_constraints; ok is false for kernels
// without it (the symbol decides), which print with their own rules.
func IrqProcConstraints(p *object.Program) (c IrqConstraints, ok bool, err error) {
	if !HasSymbol(p, "irq_proc_constraints") {
		return c, false, nil
	}
	o := p.VarAs("irq_proc_constraints", "struct irq_proc_constraints")
	np, err1 := o.Member("num_prec").Uint()
	cw, err2 := o.Member("chip_width").Uint()
	if err := errors.Join(err1, err2); err != nil {
		return c, false, err
	}
	if np == 0 || np > 10 || cw > 256 {
		return c, false, fmt.Errorf("irq_proc_constraints: num_prec %d, chip_width %d, not plausible", np, cw)
	}
	return IrqConstraints{int(np), int(cw)}, true, nil
}

// IrqSettingsProcValid mirrors irq_settings_proc_valid(): _IRQ_PROC_VALID,
// which kernel/irq/settings.h defines as the IRQ_RESERVED bit.
func IrqSettingsProcValid(desc object.Object) (bool, error) {
	return irqSetting(desc, "IRQ_RESERVED")
}

// IrqSettingsIsPerCPU is irq_settings_is_per_cpu() ||
// irq_settings_is_per_cpu_devid().
func IrqSettingsIsPerCPU(desc object.Object) (bool, error) {
	a, err := irqSetting(desc, "IRQ_PER_CPU")
	if err != nil || a {
		return a, err
	}
	return irqSetting(desc, "IRQ_PER_CPU_DEVID")
}
