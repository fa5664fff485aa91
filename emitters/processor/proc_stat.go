package processor

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/stat",
		Mirrors: "show_stat() in fs/proc/stat.c",
		Desc:    "CPU time per CPU, interrupt and softirq counts, context switches, boot time, forks",
		Tracker: emit.Done,
		Note:    "per-CPU lines for every CPU running before the panic; procs_running counts those CPUs' runqueues",
		Run:     procStat,
	})
}

// cpuLine prints one "cpu" line: the ten kcpustat times in clock ticks.
func cpuLine(b *strings.Builder, label string, user, nice, system, idle, iowait, irq, softirq, steal, guest, guestNice uint64) {
	b.WriteString(label)
	for _, v := range []uint64{user, nice, system, idle, iowait, irq, softirq, steal, guest, guestNice} {
		fmt.Fprintf(b, " %d", linux.NsecToClockT(v))
	}
	b.WriteByte('\n')
}

func procStat(c *emit.Context, _ int64, out *emit.Output) error {
	cs, err := readCPUStats(c)
	if err != nil {
		return err
	}
	var sum [10]uint64
	var intr uint64
	var soft []uint64
	for _, s := range cs.Possible {
		for i, v := range []uint64{s.Kcpustat["CPUTIME_USER"], s.Kcpustat["CPUTIME_NICE"], s.Kcpustat["CPUTIME_SYSTEM"], s.Idle, s.Iowait,
			s.Kcpustat["CPUTIME_IRQ"], s.Kcpustat["CPUTIME_SOFTIRQ"], s.Kcpustat["CPUTIME_STEAL"], s.Kcpustat["CPUTIME_GUEST"], s.Kcpustat["CPUTIME_GUEST_NICE"]} {
			sum[i] += v
		}
		intr += s.Kstat.IrqsSum + s.ArchIrqs
		if s.HyperV != 0 {
			out.Partial("intr: cpu %d's %d Hyper-V callback interrupts are counted; 6.1's arch_irq_stat_cpu() leaves them out, 6.12's adds them, and no layout tells which", s.CPU, s.HyperV)
		}
		for j, v := range s.Kstat.Softirqs {
			if j >= len(soft) {
				soft = append(soft, 0)
			}
			soft[j] += uint64(uint32(v)) // per_softirq_sums[] is unsigned int
		}
	}
	// arch_irq_stat() adds irq_err_count; 7.2 counts PIC/APIC errors per
	// CPU in irq_stat.counts[] (in arch_irq_stat_cpu()) and has neither.
	if linux.HasSymbol(c.Prog, "irq_err_count") {
		errCount, err := c.Prog.VarAs("irq_err_count", "int").Uint()
		if err != nil {
			return err
		}
		intr += errCount
	}
	var b strings.Builder
	cpuLine(&b, "cpu ", sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], sum[6], sum[7], sum[8], sum[9])
	for _, cpu := range cs.Running {
		s, ok := cs.Get(cpu)
		if !ok {
			return fmt.Errorf("cpu %d running but not possible", cpu)
		}
		cpuLine(&b, fmt.Sprintf("cpu%d", cpu), s.Kcpustat["CPUTIME_USER"], s.Kcpustat["CPUTIME_NICE"], s.Kcpustat["CPUTIME_SYSTEM"], s.Idle, s.Iowait,
			s.Kcpustat["CPUTIME_IRQ"], s.Kcpustat["CPUTIME_SOFTIRQ"], s.Kcpustat["CPUTIME_STEAL"], s.Kcpustat["CPUTIME_GUEST"], s.Kcpustat["CPUTIME_GUEST_NICE"])
	}
	fmt.Fprintf(&b, "intr %d", intr)
	counts, err := irqCounts(c)
	if err != nil {
		return fmt.Errorf("interrupt counts: %w", err)
	}
	for _, v := range counts {
		fmt.Fprintf(&b, " %d", v)
	}
	possible := make([]int, len(cs.Possible))
	for i, s := range cs.Possible {
		possible[i] = s.CPU
	}
	ctxt, err := linux.NrContextSwitches(c.Prog, possible)
	if err != nil {
		return err
	}
	btime, err := linux.GetBoottime64(c.Prog)
	if err != nil {
		return err
	}
	forks, err := c.Prog.VarAs("total_forks", "unsigned long").Uint()
	if err != nil {
		return err
	}
	running, err := linux.NrRunning(c.Prog, cs.Running)
	if err != nil {
		return err
	}
	blocked, err := linux.NrIowait(c.Prog, possible)
	if err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nctxt %d\nbtime %d\nprocesses %d\nprocs_running %d\nprocs_blocked %d\n",
		ctxt, btime/1e9, forks, uint32(running), uint32(blocked))
	var total uint64
	for _, v := range soft {
		total += v
	}
	fmt.Fprintf(&b, "softirq %d", total)
	for _, v := range soft {
		fmt.Fprintf(&b, " %d", uint32(v))
	}
	b.WriteByte('\n')
	out.WriteString(b.String())
	return nil
}

// irqCounts mirrors show_all_irqs(): kstat_irqs_usr() of every irq below
// nr_irqs, 0 for those not allocated.
func irqCounts(c *emit.Context) ([]uint64, error) {
	n, err := linux.NrIrqs(c.Prog)
	if err != nil {
		return nil, err
	}
	possible, err := c.PossibleCPUs()
	if err != nil {
		return nil, err
	}
	counts := make([]uint64, n)
	for d, err := range linux.ForEachIrqDesc(c.Prog) {
		if err != nil {
			return nil, err
		}
		if d.Irq < 0 || d.Irq >= n {
			continue
		}
		if counts[d.Irq], err = linux.KstatIrqsUsr(d.Desc, possible); err != nil {
			return nil, err
		}
	}
	return counts, nil
}
