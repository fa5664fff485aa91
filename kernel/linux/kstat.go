package linux

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// CPUTimeNames are the CPUTIME_* indexes of kernel_cpustat.cpustat (enum
// cpu_usage_stat in include/linux/kernel_stat.h) that /proc/stat prints.
var CPUTimeNames = []string{
	"CPUTIME_USER", "CPUTIME_NICE", "CPUTIME_SYSTEM", "CPUTIME_SOFTIRQ", "CPUTIME_IRQ",
	"CPUTIME_IDLE", "CPUTIME_IOWAIT", "CPUTIME_STEAL", "CPUTIME_GUEST", "CPUTIME_GUEST_NICE",
}

// Kcpustat is one CPU's struct kernel_cpustat, by CPUTIME_* name, in
// nanoseconds.
type Kcpustat map[string]uint64

// KcpustatCPUFetch mirrors kcpustat_cpu_fetch() in kernel/sched/cputime.c:
// per_cpu(kernel_cpustat, cpu), read whole. With VIRT_CPU_ACCOUNTING_GEN the
// kernel adds the running task's pending vtime on nohz_full CPUs; that
// needs the clock at the moment of reading and is not added here.
func KcpustatCPUFetch(p *object.Program, cpu int) (Kcpustat, error) {
	arr := PerCPU(p, "kernel_cpustat", "struct kernel_cpustat", cpu).Member("cpustat")
	b, err := arr.Bytes()
	if err != nil {
		return nil, err
	}
	k := Kcpustat{}
	for _, name := range CPUTimeNames {
		i, err := p.Types.EnumValue(name)
		if err != nil {
			return nil, err
		}
		if i < 0 || 8*int(i)+8 > len(b) {
			return nil, fmt.Errorf("%s = %d outside kernel_cpustat.cpustat", name, i)
		}
		k[name] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return k, nil
}

// KstatCPU is one CPU's struct kernel_stat (per_cpu(kstat, cpu)): the sum
// of its interrupts and its count of each softirq.
type KstatCPU struct {
	IrqsSum  uint64
	Softirqs []uint64
}

// ReadKstatCPU reads per_cpu(kstat, cpu) (kstat_cpu_irqs_sum and
// kstat_softirqs_cpu of include/linux/kernel_stat.h).
func ReadKstatCPU(p *object.Program, cpu int) (KstatCPU, error) {
	ks := PerCPU(p, "kstat", "struct kernel_stat", cpu)
	var k KstatCPU
	var err error
	if k.IrqsSum, err = ks.Member("irqs_sum").Uint(); err != nil {
		return k, err
	}
	soft := ks.Member("softirqs")
	m, err := ktype.FindMember(ks.Type(), "softirqs")
	if err != nil {
		return k, err
	}
	arr, ok := ktype.As[*ktype.Array](m.Type)
	if !ok || arr.Count == 0 || arr.Count > 64 {
		return k, fmt.Errorf("kernel_stat.softirqs: unexpected type %s", ktype.String(m.Type))
	}
	b, err := soft.Bytes()
	if err != nil {
		return k, err
	}
	for i := uint64(0); i < arr.Count; i++ {
		k.Softirqs = append(k.Softirqs, uint64(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return k, nil
}

// CPURq is cpu_rq(cpu): per_cpu(runqueues, cpu), a struct rq.
func CPURq(p *object.Program, cpu int) object.Object {
	return PerCPU(p, "runqueues", "struct rq", cpu)
}

// NrIowaitCPU mirrors nr_iowait_cpu() in kernel/sched/core.c.
func NrIowaitCPU(p *object.Program, cpu int) (uint64, error) {
	return CPURq(p, cpu).Member("nr_iowait.counter").Uint()
}

// sumRq adds one member of struct rq over cpus.
func sumRq(p *object.Program, cpus []int, member string) (uint64, error) {
	var sum uint64
	for _, cpu := range cpus {
		v, err := CPURq(p, cpu).Member(member).Uint()
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// NrRunning mirrors nr_running(): runnable tasks summed over cpus (the
// kernel sums the online CPUs; pass those running before the panic).
func NrRunning(p *object.Program, cpus []int) (uint64, error) {
	return sumRq(p, cpus, "nr_running")
}

// NrContextSwitches mirrors nr_context_switches() over cpus (the kernel
// sums the possible CPUs).
func NrContextSwitches(p *object.Program, cpus []int) (uint64, error) {
	return sumRq(p, cpus, "nr_switches")
}

// NrIowait mirrors nr_iowait() over cpus (the kernel sums the possible
// CPUs).
func NrIowait(p *object.Program, cpus []int) (uint64, error) {
	return sumRq(p, cpus, "nr_iowait.counter")
}

// tsFlagIdleActive is TS_FLAG_IDLE_ACTIVE (kernel/time/tick-sched.h in
// 6.12; 6.1 has an idle_active bitfield instead).
const tsFlagIdleActive = 1 << 2

// cpuSleepTimeNS mirrors get_cpu_sleep_time_us() of 6.12 (open-coded in
// get_cpu_idle_time_us and get_cpu_iowait_time_us in 6.1) in
// kernel/time/tick-sched.c: the sleep
// time accumulated in member of per_cpu(tick_cpu_sched, cpu), plus the
// current idle period when the CPU is idle and countDelta says this sleep
// counts; in nanoseconds truncated to microseconds, as the kernel returns
// them. ok is false when the tick is not in NO_HZ mode (tick_nohz_active
// clear), where callers use the kcpustat counters instead.
func cpuSleepTimeNS(p *object.Program, cpu int, member string, countDelta bool, now int64) (ns uint64, ok bool, err error) {
	active, err := p.VarAs("tick_nohz_active", "unsigned long").Uint()
	if err != nil || active == 0 {
		return 0, false, err
	}
	ts := PerCPU(p, "tick_cpu_sched", "struct tick_sched", cpu)
	sleep, err := ts.Member(member).Int()
	if err != nil {
		return 0, false, err
	}
	var idle bool
	if ts.HasMember("flags") {
		f, err := ts.Member("flags").Uint()
		if err != nil {
			return 0, false, err
		}
		idle = f&tsFlagIdleActive != 0
	} else {
		v, err := ts.Member("idle_active").Uint()
		if err != nil {
			return 0, false, err
		}
		idle = v != 0
	}
	if idle && countDelta {
		entry, err := ts.Member("idle_entrytime").Int()
		if err != nil {
			return 0, false, err
		}
		if now > entry {
			sleep += now - entry
		}
	}
	return uint64(sleep) / 1000 * 1000, true, nil
}

// idleInKcpustat says the kernel accounts idle sleep time in struct
// kernel_cpustat itself, not in struct tick_sched's
// idle_sleeptime/iowait_sleeptime. In 7.2.13's source (Debian's
// linux-source-7.2 7.2.13-1; it names no commit) kernel_cpustat has
// idle_dyntick, idle_elapse, idle_sleeptime_seq, idle_entrytime and
// idle_stealtime[2] under CONFIG_NO_HZ_COMMON (include/linux/kernel_stat.h),
// tick_sched has lost the sleep times, and fs/proc/stat.c has lost
// get_idle_time(): show_stat() prints kcpustat_cpu_fetch()'s cpustat,
// whose idle and iowait kcpustat_cpu_fetch_default() takes from
// kcpustat_field_idle() and kcpustat_field_iowait(), for every CPU, and
// uptime_proc_show() sums kcpustat_field(CPUTIME_IDLE), the same
// kcpustat_field_idle(). The member is the probe.
func idleInKcpustat(p *object.Program) bool {
	return p.HasMember("struct kernel_cpustat", "idle_elapse")
}

// kcpustatFieldDyntick mirrors kcpustat_field_dyntick() of 7.2
// (kernel/sched/cputime.c): cpustat[idx] plus, while the CPU sits in an
// idle period that is still elapsing (idle_elapse), computeDelta says this
// sleep counts and now is past idle_entrytime (compared as the kernel's
// u64), the time since idle_entrytime less the steal time kept for it in
// idle_stealtime[idx == CPUTIME_IOWAIT] (kcpustat_idle_stop() subtracts it
// when the period ends); in nanoseconds. kcpustat_field_idle() passes
// nr_iowait_cpu() == 0, kcpustat_field_iowait() its opposite, and both
// now = ktime_get().
func kcpustatFieldDyntick(p *object.Program, kcs Kcpustat, cpu int, idx string, computeDelta bool, now int64) (uint64, error) {
	v := kcs[idx]
	if !computeDelta {
		return v, nil
	}
	kc := PerCPU(p, "kernel_cpustat", "struct kernel_cpustat", cpu)
	elapse, err := kc.Member("idle_elapse").Uint()
	if err != nil || elapse == 0 {
		return v, err
	}
	entry, err := kc.Member("idle_entrytime").Uint()
	if err != nil {
		return 0, err
	}
	if uint64(now) <= entry {
		return v, nil
	}
	i := 0
	if idx == "CPUTIME_IOWAIT" {
		i = 1
	}
	steal, err := kc.Member("idle_stealtime").Index(uint64(i)).Uint()
	if err != nil {
		return 0, err
	}
	delta := uint64(now) - entry
	return v + delta - min(steal, delta), nil
}

// GetIdleTime mirrors get_idle_time() in fs/proc/stat.c for a CPU the
// kernel considers online (pass those running before the panic): the NO_HZ
// idle sleep time up to now (KtimeGet), else the kcpustat idle counter.
// In 7.x (idleInKcpustat) it is kcpustat_field_idle(), for every CPU.
func GetIdleTime(p *object.Program, kcs Kcpustat, cpu int, online bool, now int64) (uint64, error) {
	if idleInKcpustat(p) {
		iowait, err := NrIowaitCPU(p, cpu)
		if err != nil {
			return 0, err
		}
		return kcpustatFieldDyntick(p, kcs, cpu, "CPUTIME_IDLE", iowait == 0, now)
	}
	if online {
		iowait, err := NrIowaitCPU(p, cpu)
		if err != nil {
			return 0, err
		}
		ns, ok, err := cpuSleepTimeNS(p, cpu, "idle_sleeptime", iowait == 0, now)
		if err != nil || ok {
			return ns, err
		}
	}
	return kcs["CPUTIME_IDLE"], nil
}

// GetIowaitTime mirrors get_iowait_time() in fs/proc/stat.c (in 7.x,
// kcpustat_field_iowait()).
func GetIowaitTime(p *object.Program, kcs Kcpustat, cpu int, online bool, now int64) (uint64, error) {
	if idleInKcpustat(p) {
		iowait, err := NrIowaitCPU(p, cpu)
		if err != nil {
			return 0, err
		}
		return kcpustatFieldDyntick(p, kcs, cpu, "CPUTIME_IOWAIT", iowait != 0, now)
	}
	if online {
		iowait, err := NrIowaitCPU(p, cpu)
		if err != nil {
			return 0, err
		}
		ns, ok, err := cpuSleepTimeNS(p, cpu, "iowait_sleeptime", iowait != 0, now)
		if err != nil || ok {
			return ns, err
		}
	}
	return kcs["CPUTIME_IOWAIT"], nil
}

// CPUStat is one CPU's share of /proc/stat, /proc/uptime and
// /proc/softirqs.
type CPUStat struct {
	CPU          int
	Kcpustat     Kcpustat
	Idle, Iowait uint64 // get_idle_time(), get_iowait_time()
	Kstat        KstatCPU
	ArchIrqs     uint64 // arch_irq_stat_cpu()
	HyperV       uint64 // the Hyper-V callback counts ArchIrqs holds
}

// CPUStats holds every possible CPU's counters (the kernel's sums run over
// cpu_possible_mask) and which CPUs were running before the panic (the
// kernel's per-CPU lines run over cpu_online_mask, which the panic shrank).
type CPUStats struct {
	Possible []CPUStat
	Running  []int
	Now      int64 // ktime_get() at the crash
}

// ReadCPUStats reads the counters of the possible CPUs; running are the
// CPUs running before the panic (CPUsRunningBeforePanic).
func ReadCPUStats(p *object.Program, possible, running []int) (*CPUStats, error) {
	now, err := KtimeGet(p)
	if err != nil {
		return nil, err
	}
	cs := &CPUStats{Running: running, Now: now}
	for _, cpu := range possible {
		s := CPUStat{CPU: cpu}
		if s.Kcpustat, err = KcpustatCPUFetch(p, cpu); err != nil {
			return nil, err
		}
		online := slices.Contains(running, cpu)
		if s.Idle, err = GetIdleTime(p, s.Kcpustat, cpu, online, now); err != nil {
			return nil, err
		}
		if s.Iowait, err = GetIowaitTime(p, s.Kcpustat, cpu, online, now); err != nil {
			return nil, err
		}
		if s.Kstat, err = ReadKstatCPU(p, cpu); err != nil {
			return nil, err
		}
		if s.ArchIrqs, s.HyperV, err = ArchIrqStatCPU(p, cpu); err != nil {
			return nil, err
		}
		cs.Possible = append(cs.Possible, s)
	}
	return cs, nil
}

// Get is the counters of cpu, if it is possible.
func (cs *CPUStats) Get(cpu int) (CPUStat, bool) {
	for _, s := range cs.Possible {
		if s.CPU == cpu {
			return s, true
		}
	}
	return CPUStat{}, false
}
