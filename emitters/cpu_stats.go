package emitters

import (
	"slices"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// cpuStat is one CPU's share of /proc/stat, /proc/uptime and
// /proc/softirqs.
type cpuStat struct {
	cpu          int
	k            linux.Kcpustat
	idle, iowait uint64 // get_idle_time(), get_iowait_time()
	kstat        linux.KstatCPU
	archIrqs     uint64 // arch_irq_stat_cpu()
	hyperv       uint64 // the Hyper-V callback counts archIrqs holds
}

// cpuStats holds every possible CPU's counters (the kernel's sums run over
// cpu_possible_mask) and which CPUs were running before the panic (the
// kernel's per-CPU lines run over cpu_online_mask, which the panic shrank).
type cpuStats struct {
	possible []cpuStat
	running  []int
	now      int64 // ktime_get() at the crash
}

func readCPUStats(c *Context) (*cpuStats, error) {
	return Once(c, "emitters/cpu-stats", func() (*cpuStats, error) {
		possible, err := possibleCPUs(c)
		if err != nil {
			return nil, err
		}
		running, err := runningCPUs(c)
		if err != nil {
			return nil, err
		}
		now, err := linux.KtimeGet(c.Prog)
		if err != nil {
			return nil, err
		}
		cs := &cpuStats{running: running, now: now}
		for _, cpu := range possible {
			s := cpuStat{cpu: cpu}
			if s.k, err = linux.KcpustatCPUFetch(c.Prog, cpu); err != nil {
				return nil, err
			}
			online := slices.Contains(running, cpu)
			if s.idle, err = linux.GetIdleTime(c.Prog, s.k, cpu, online, now); err != nil {
				return nil, err
			}
			if s.iowait, err = linux.GetIowaitTime(c.Prog, s.k, cpu, online, now); err != nil {
				return nil, err
			}
			if s.kstat, err = linux.ReadKstatCPU(c.Prog, cpu); err != nil {
				return nil, err
			}
			if s.archIrqs, s.hyperv, err = archIrqStatCPU(c, cpu); err != nil {
				return nil, err
			}
			cs.possible = append(cs.possible, s)
		}
		return cs, nil
	})
}

// get returns the counters of cpu.
func (cs *cpuStats) get(cpu int) (cpuStat, bool) {
	for _, s := range cs.possible {
		if s.cpu == cpu {
			return s, true
		}
	}
	return cpuStat{}, false
}

// archIrqStatCPU mirrors arch_irq_stat_cpu() in arch/x86/kernel/irq.c: the
// CPU's system-vector interrupts that have no irq descriptor. The members
// present in irq_cpustat_t follow the kernel's configuration. 6.1 leaves
// the Hyper-V callback counters out of the sum and 6.12 adds them, with no
// layout change to tell; they count only on Hyper-V and Xen guests and are
// added here, their sum returned too (hv) so that the file says so.
func archIrqStatCPU(c *Context, cpu int) (sum, hv uint64, err error) {
	st := linux.PerCPU(c.Prog, "irq_stat", "irq_cpustat_t", cpu)
	members := []string{"__nmi_count", "apic_timer_irqs", "irq_spurious_count", "apic_perf_irqs",
		"apic_irq_work_irqs", "icr_read_retry_count", "irq_resched_count", "irq_call_count",
		"irq_thermal_count", "irq_threshold_count", "irq_hv_callback_count",
		"irq_hv_reenlightenment_count", "hyperv_stimer0_count"}
	if cb, err := c.Prog.VarAs("x86_platform_ipi_callback", "unsigned long").Uint(); err != nil {
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
		if _, err := c.Prog.Syms.Addr(sym); err != nil {
			continue
		}
		v, err := linux.PerCPU(c.Prog, sym, "unsigned int", cpu).Uint()
		if err != nil {
			return 0, 0, err
		}
		sum += v
	}
	return sum, hv, nil
}
