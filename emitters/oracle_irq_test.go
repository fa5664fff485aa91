package emitters

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// Rules against drgn's reading of the interrupt counters and the idle
// time (testdata/oracle/oracle.py): every count of /proc/interrupts and
// /proc/stat's intr line, and the idle and iowait times of /proc/stat and
// /proc/uptime, exactly, with the kernel's own folding applied here.

func init() {
	oracleChecks["proc/interrupts"] = oracleInterrupts
}

// x86IrqStatMembers maps the rows of x86's arch_show_interrupts()
// (arch/x86/kernel/irq.c, 5.10 to 6.12) to the irq_cpustat_t member (or,
// for MCE and MCP, the per-CPU variable) each prints for every CPU.
var x86IrqStatMembers = map[string]string{
	"NMI": "__nmi_count", "LOC": "apic_timer_irqs", "SPU": "irq_spurious_count", "PMI": "apic_perf_irqs",
	"IWI": "apic_irq_work_irqs", "RTR": "icr_read_retry_count", "PLT": "x86_platform_ipis",
	"RES": "irq_resched_count", "CAL": "irq_call_count", "TLB": "irq_tlb_count", "TRM": "irq_thermal_count",
	"THR": "irq_threshold_count", "DFR": "irq_deferred_error_count", "MCE": "mce_exception_count",
	"MCP": "mce_poll_count", "HYP": "irq_hv_callback_count", "HRE": "irq_hv_reenlightenment_count",
	"HVS": "hyperv_stimer0_count", "PIN": "kvm_posted_intr_ipis", "NPI": "kvm_posted_intr_nested_ipis",
	"PIW": "kvm_posted_intr_wakeup_ipis", "PMN": "posted_msi_notification_count",
}

// x86ArchIrqStatCPU are the members x86's arch_irq_stat_cpu() adds to
// /proc/stat's intr total (5.10 to 6.12: TLB shootdowns are a part of the
// function-call IPIs and the KVM posted-interrupt and deferred-error
// counts are left out; x86_platform_ipis only with a platform callback;
// the Hyper-V counts, added in 6.12, count only on Hyper-V and Xen and are
// 0 here).
var x86ArchIrqStatCPU = []string{"__nmi_count", "apic_timer_irqs", "irq_spurious_count", "apic_perf_irqs",
	"apic_irq_work_irqs", "icr_read_retry_count", "irq_resched_count", "irq_call_count", "irq_thermal_count",
	"irq_threshold_count", "mce_exception_count", "mce_poll_count"}

// irqStatValue is one CPU's count of an arch_show_interrupts() row:
// 7.x's irq_stat.counts[] by irq_stat_info[]'s symbol, else the member the
// row prints; ok is false for a label drgn has no count for.
func irqStatValue(o *oracleData, cpu, label string) (uint64, bool) {
	row, ok := o.IrqStat[cpu]
	if !ok {
		return 0, false
	}
	if o.IrqStatInfo != nil {
		i := slices.IndexFunc(o.IrqStatInfo, func(s *string) bool { return s != nil && *s == label })
		counts, _ := row["counts"].([]any)
		if i < 0 || i >= len(counts) {
			return 0, false
		}
		v, ok := counts[i].(float64)
		return uint64(v), ok
	}
	m, ok := x86IrqStatMembers[label]
	if !ok {
		return 0, false
	}
	v, ok := row[m].(float64)
	return uint64(v), ok
}

// oracleInterrupts: show_interrupts(): each irq row's CPU columns are
// per_cpu(desc->kstat_irqs, cpu) of drgn's descriptor for that irq (its
// number in irq_data.irq); each arch row's the CPU's irq_stat count for the
// row (7.x: irq_stat.counts[] named by irq_stat_info[]); before 7.x, ERR
// and MIS the global irq_err_count and irq_mis_count, printed once.
// Counts print as %10u, unsigned int.
func oracleInterrupts(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	o.need(t, "irq_descs")
	if len(o.IrqDescsMismatch) > 0 {
		t.Fatalf("drgn's walk of the irq descriptors: %v", o.IrqDescsMismatch)
	}
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	var cpus []string
	for _, h := range strings.Fields(lines[0]) {
		cpus = append(cpus, strings.TrimPrefix(h, "CPU"))
	}
	for _, l := range lines[1:] {
		m := interruptRow.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q", l)
			continue
		}
		label := strings.TrimSuffix(strings.TrimSpace(m[1]), ":")
		counts := strings.Fields(m[2])
		var want []uint64
		if irq, err := strconv.Atoi(label); err == nil {
			d, ok := o.IrqDescs[label]
			if !ok {
				t.Errorf("irq %d: drgn finds no descriptor", irq)
				continue
			}
			for _, c := range cpus {
				want = append(want, uint64(uint32(d.KstatIrqs[c])))
			}
		} else if len(counts) == 1 && (label == "ERR" || label == "MIS") && o.IrqStatInfo == nil {
			// A global atomic_t before 7.x, printed once.
			g := o.IrqErrCount
			if label == "MIS" {
				g = o.IrqMisCount
			}
			if g == nil {
				t.Errorf("%s: drgn finds no global count", label)
				continue
			}
			want = []uint64{uint64(uint32(*g))}
		} else {
			for _, c := range cpus {
				v, ok := irqStatValue(o, c, label)
				if !ok {
					t.Errorf("%s: drgn has no irq_stat count for CPU%s", label, c)
					break
				}
				want = append(want, uint64(uint32(v)))
			}
		}
		if len(want) != len(counts) {
			t.Errorf("%q: %d counts, drgn %v", l, len(counts), want)
			continue
		}
		for i := range want {
			if counts[i] != fmt.Sprint(want[i]) {
				t.Errorf("%q: column %d is %s, drgn reads %d", l, i+1, counts[i], want[i])
			}
		}
	}
}

// kstatIrqsUsr mirrors kstat_irqs_usr() (kernel/irq/irqdesc.c): the
// descriptor's tot_count, or for per-CPU and NMI interrupts its per-CPU
// counts summed over the possible CPUs, as an unsigned int; 0 for an irq
// without a descriptor.
func kstatIrqsUsr(o *oracleData, irq int) uint64 {
	d, ok := o.IrqDescs[strconv.Itoa(irq)]
	if !ok {
		return 0
	}
	e := o.IrqEnums
	if d.Status&(e["IRQ_PER_CPU"]|e["IRQ_PER_CPU_DEVID"]) == 0 && d.Istate&e["IRQS_NMI"] == 0 {
		return d.TotCount
	}
	var sum uint64
	for _, c := range o.PossibleCPUs {
		sum += d.KstatIrqs[strconv.Itoa(c)]
	}
	return uint64(uint32(sum))
}

// oracleIntr is /proc/stat's intr line as show_stat() builds it from
// drgn's values: the total (every possible CPU's kstat irqs_sum plus
// arch_irq_stat_cpu(), plus arch_irq_stat(): irq_err_count before 7.x,
// whose per-CPU counts[] hold the errors and are summed whole), then
// kstat_irqs_usr() of each irq below nr_irqs.
func oracleIntr(t *testing.T, o *oracleData) []string {
	o.need(t, "irq_descs")
	var total uint64
	for _, c := range o.PossibleCPUs {
		cs := strconv.Itoa(c)
		total += uint64(o.Kstat[cs].IrqsSum)
		row := o.IrqStat[cs]
		if o.IrqStatInfo != nil {
			counts, _ := row["counts"].([]any)
			for _, v := range counts {
				total += uint64(v.(float64))
			}
			continue
		}
		for _, m := range x86ArchIrqStatCPU {
			if v, ok := row[m].(float64); ok {
				total += uint64(v)
			}
		}
		if o.PlatformIPI != 0 {
			v, _ := row["x86_platform_ipis"].(float64)
			total += uint64(v)
		}
	}
	if o.IrqStatInfo == nil {
		if o.IrqErrCount == nil {
			t.Fatalf("drgn finds no irq_err_count")
		}
		total += uint64(uint32(*o.IrqErrCount))
	}
	f := []string{"intr", fmt.Sprint(total)}
	for irq := range o.NrIrqs {
		f = append(f, fmt.Sprint(kstatIrqsUsr(o, irq)))
	}
	return f
}

// oracleIdle is the idle and iowait time /proc/stat and /proc/uptime show
// for one CPU, in ns, from drgn's values:
//   - before 7.x, get_idle_time() and get_iowait_time() (fs/proc/stat.c):
//     for a CPU online while the guest ran, with NO_HZ active, the tick's
//     idle_sleeptime (iowait_sleeptime) plus, while an idle period runs
//     and no task (some task) waits on I/O there, the time since
//     idle_entrytime up to ktime_get() (the dump's monotonic clock at the
//     last timekeeper update), truncated to microseconds
//     (get_cpu_idle_time_us()); else kernel_cpustat's CPUTIME_IDLE
//     (CPUTIME_IOWAIT);
//   - in 7.x, for every possible CPU, kcpustat_field_idle() and
//     kcpustat_field_iowait() (kernel/sched/cputime.c), which drgn's
//     script computes from kernel_cpustat's raw idle members as 7.2.13's
//     source does (testdata/oracle/oracle.py); null there means vtime
//     (nohz_full) decides them, which neither reader models.
func oracleIdle(t *testing.T, o *oracleData, cpu int, online bool) (idle, iowait int64) {
	cs := strconv.Itoa(cpu)
	k, ok := o.Kstat[cs]
	if !ok {
		t.Fatalf("drgn has no kernel_cpustat for CPU %d", cpu)
	}
	if k.IdleDyntick != nil {
		if k.FieldIdle == nil || k.FieldIowait == nil {
			t.Fatalf("CPU %d: drgn gives no kcpustat_field_idle()/_iowait() (vtime accounts this CPU)", cpu)
		}
		return int64(*k.FieldIdle), int64(*k.FieldIowait)
	}
	waiting := o.Runqueues[cs].NrIowait != 0
	idle, iowait = k.Cpustat["CPUTIME_IDLE"], k.Cpustat["CPUTIME_IOWAIT"]
	ts, ok := o.TickSched[cs]
	if !online || o.TickNohzActive == nil || *o.TickNohzActive == 0 || !ok {
		return idle, iowait
	}
	const tsFlagIdleActive = 1 << 2 // TS_FLAG_IDLE_ACTIVE, kernel/time/tick-sched.h (6.9+)
	active := ts.IdleActive != nil && *ts.IdleActive != 0 || ts.Flags != nil && *ts.Flags&tsFlagIdleActive != 0
	idle, iowait = ts.IdleSleeptime, ts.IowaitSleeptime
	if active && o.MonotonicNs > ts.IdleEntrytime {
		if !waiting {
			idle += o.MonotonicNs - ts.IdleEntrytime
		} else {
			iowait += o.MonotonicNs - ts.IdleEntrytime
		}
	}
	return idle / 1000 * 1000, iowait / 1000 * 1000
}
