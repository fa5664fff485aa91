package processor

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/interrupts",
		Mirrors: "show_interrupts() in kernel/irq/proc.c and arch_show_interrupts() in arch/x86/kernel/irq.c",
		Desc:    "interrupt counts per irq and CPU, chip, hardware irq, type and handlers; x86 system vectors",
		Tracker: emit.Done,
		Note:    "columns for every CPU running before the panic",
		Run:     procInterrupts,
	})
}

// maxIrqActions bounds a descriptor's handler list (shared interrupts have
// a handful).
const maxIrqActions = 256

func procInterrupts(c *emit.Context, _ int64, out *emit.Output) error {
	cpus, err := c.RunningCPUs()
	if err != nil {
		return err
	}
	n, err := linux.NrIrqs(c.Prog)
	if err != nil {
		return err
	}
	// Kernels with struct irq_proc_constraints (7.2) keep the widths the
	// file uses; they print rows differently (irqRowConstrained).
	constr, hasConstr, err := linux.IrqProcConstraints(c.Prog)
	if err != nil {
		return err
	}
	prec := 3
	for j := 1000; prec < 10 && j <= n; prec++ {
		j *= 10
	}
	if hasConstr {
		prec = constr.NumPrec
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", prec+8))
	for _, cpu := range cpus {
		fmt.Fprintf(&b, "CPU%-8d", cpu)
	}
	b.WriteByte('\n')
	for d, err := range linux.ForEachIrqDesc(c.Prog) {
		if err != nil {
			return err
		}
		if d.Irq >= n {
			break
		}
		row := irqRow
		if hasConstr {
			row = func(b *strings.Builder, out *emit.Output, d linux.IrqDesc, cpus []int, prec int) error {
				return irqRowConstrained(b, out, d, cpus, constr)
			}
		}
		if err := row(&b, out, d, cpus, prec); err != nil {
			return fmt.Errorf("irq %d: %w", d.Irq, err)
		}
	}
	arch := archShowInterrupts
	if linux.HasSymbol(c.Prog, "irq_stat_info") {
		arch = archShowInterruptsTable
	}
	if err := arch(c, &b, cpus, prec); err != nil {
		return err
	}
	out.WriteString(b.String())
	return nil
}

// irqRow prints one descriptor's line, or nothing for hidden, unused and
// chained interrupts.
func irqRow(b *strings.Builder, out *emit.Output, d linux.IrqDesc, cpus []int, prec int) error {
	desc := d.Desc
	if hidden, err := linux.IrqSettingsIsHidden(desc); err != nil || hidden {
		return err
	}
	action, err := desc.Member("action").Uint()
	if err != nil {
		return err
	}
	chained, err := linux.IrqDescIsChained(desc)
	if err != nil {
		return err
	}
	counts := make([]uint64, len(cpus))
	var any uint64
	for i, cpu := range cpus {
		if counts[i], err = linux.KstatIrqsCPU(desc, cpu); err != nil {
			return err
		}
		any |= counts[i]
	}
	// 6.12 skips every interrupt without an action; 6.1 still shows those
	// with counts. No type marks the release that changed this; struct
	// irqstat (6.10, from the same rework of interrupt statistics) stands
	// in for it.
	perCPUStruct := desc.Prog().HasMember("struct irqstat", "cnt")
	if (action == 0 || chained) && (perCPUStruct || any == 0) {
		return nil
	}
	if kstat, err := desc.Member("kstat_irqs").Uint(); err != nil || (kstat == 0 && perCPUStruct) {
		return err
	}
	fmt.Fprintf(b, "%*d: ", prec, d.Irq)
	for _, v := range counts {
		fmt.Fprintf(b, "%10d ", uint32(v))
	}
	data := desc.Member("irq_data")
	chip := data.Member("chip")
	name, err := irqChipName(chip, d.Irq, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(b, " %8s", name)
	if dom, err := data.Member("domain").Uint(); err != nil {
		return err
	} else if dom != 0 {
		hw, err := data.Member("hwirq").Uint()
		if err != nil {
			return err
		}
		fmt.Fprintf(b, " %*d", prec, hw)
	} else {
		fmt.Fprintf(b, " %*s", prec, "")
	}
	return irqNameAndActions(b, desc)
}

// optString reads a char * that may be NULL (""), as seq_printf("%s")
// prints "(null)" only for a NULL it is actually given.
func optString(o object.Object) (string, error) {
	ptr, err := o.Uint()
	if err != nil || ptr == 0 {
		return "", err
	}
	return o.CString()
}

// irqRowConstrained mirrors irq_seq_show() of kernels with struct
// irq_proc_constraints (kernel/irq/proc.c, 7.2): only descriptors marked
// valid for /proc (_IRQ_PROC_VALID, the IRQ_RESERVED settings bit), counts
// of per-CPU interrupts or of those with a total, else zeros; the chip
// name left-aligned in chip_width, the hardware irq in num_prec.
func irqRowConstrained(b *strings.Builder, out *emit.Output, d linux.IrqDesc, cpus []int, constr linux.IrqConstraints) error {
	desc := d.Desc
	if valid, err := linux.IrqSettingsProcValid(desc); err != nil || !valid {
		return err
	}
	prec := constr.NumPrec
	fmt.Fprintf(b, "%*d:", prec, d.Irq)
	perCPU, err := linux.IrqSettingsIsPerCPU(desc)
	if err != nil {
		return err
	}
	total, err := desc.Member("tot_count").Uint()
	if err != nil {
		return err
	}
	for _, cpu := range cpus {
		var v uint64
		if perCPU || total != 0 {
			if v, err = linux.KstatIrqsCPU(desc, cpu); err != nil {
				return err
			}
		}
		fmt.Fprintf(b, " %10d", uint32(v))
	}
	b.WriteString("  ")
	data := desc.Member("irq_data")
	chip := data.Member("chip")
	name, err := irqChipName(chip, d.Irq, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(b, "%-*s", constr.ChipWidth, name)
	b.WriteByte(' ')
	if dom, err := data.Member("domain").Uint(); err != nil {
		return err
	} else if dom != 0 {
		hw, err := data.Member("hwirq").Uint()
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "%*d", prec, hw)
	} else {
		fmt.Fprintf(b, " %*s", prec, "")
	}
	return irqNameAndActions(b, desc)
}

// irqNameAndActions ends a row as show_interrupts() does for both layouts:
// the descriptor's name, then every handler's name in action order.
func irqNameAndActions(b *strings.Builder, desc object.Object) error {
	if name, err := optString(desc.Member("name")); err != nil {
		return err
	} else if name != "" {
		fmt.Fprintf(b, "-%-8s", name)
	}
	sep := "  "
	a := desc.Member("action")
	for i := 0; ; i++ {
		ptr, err := a.Uint()
		if err != nil {
			return err
		}
		if ptr == 0 {
			break
		}
		if i == maxIrqActions {
			return fmt.Errorf("more than %d handlers", maxIrqActions)
		}
		name, err := optString(a.Member("name"))
		if err != nil {
			return err
		}
		if name == "" {
			name = "(null)" // vsprintf's rendering of a NULL %s
		}
		b.WriteString(sep + name)
		sep = ", "
		a = a.Member("next")
	}
	b.WriteByte('\n')
	return nil
}

// irqChipName is the chip column of both layouts: "None" without a chip,
// "-" for a chip without a name. A chip that prints its own name
// (irq_print_chip) makes the output partial: its name field stands in.
func irqChipName(chip object.Object, irq int, out *emit.Output) (string, error) {
	ptr, err := chip.Uint()
	if err != nil || ptr == 0 {
		return "None", err
	}
	if pc, err := chip.Member("irq_print_chip").Uint(); err != nil {
		return "", err
	} else if pc != 0 {
		out.Partial("irq %d: the chip prints its own name (irq_print_chip); its name field is shown", irq)
	}
	name, err := optString(chip.Member("name"))
	if err != nil || name != "" {
		return name, err
	}
	return "-", nil
}
