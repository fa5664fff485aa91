package emitters

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// The second oracle: testdata/oracle/oracle.py, Debian's drgn reading raw
// counters from the same dump (values only, never formats). The kernel's
// own folding rules are applied here, on the raw values, as the kernel does
// when a file is read; the result must equal ours exactly: both read the
// same memory at the same instant, so no tolerance is needed.

// oracleChecks are rules against the oracle, run after checks[path].
var oracleChecks = map[string]check{
	"proc/vmstat":       oracleVmstat,
	"proc/zoneinfo":     oracleZoneinfo,
	"proc/slabinfo":     oracleSlabinfo,
	"proc/stat":         oracleStat,
	"proc/softirqs":     oracleSoftirqs,
	"proc/meminfo":      oracleMeminfo,
	"proc/loadavg":      oracleLoadavg,
	"proc/buddyinfo":    oracleBuddyinfo,
	"proc/pagetypeinfo": oraclePagetypeinfo,
	"proc/uptime":       uptimeAtPanic,
	"proc/diskstats":    oracleDiskstats,
	// uptime(1)'s load averages: avenrun as loadavg folds it; the time of
	// day drgn's wall clock at the last timekeeper update (tk_core, UTC),
	// the time up its boot-time clock's whole minutes.
	"sos_commands/host/uptime": func(t *testing.T, s *fixtures.Set, got string) {
		o := oracleOf(t, s)
		g := hostUptimeRe.FindStringSubmatch(got)
		if g == nil || strings.Join(g[6:9], " ") != oracleAverages(o, " ") {
			t.Errorf("uptime %q: drgn's avenrun %s", got, oracleAverages(o, " "))
		}
		now := time.Unix(0, o.RealtimeNs).UTC()
		up := o.BoottimeNs / 1e9
		upText := fmt.Sprintf("%d min", up/60%60) // procps: hours:minutes when there are hours
		if up/3600%24 > 0 {
			upText = fmt.Sprintf("%2d:%02d", up/3600%24, up/60%60)
		}
		if up >= 86400 {
			upText = fmt.Sprintf("%d day", up/86400) + map[bool]string{true: "s", false: ""}[up >= 2*86400] + ", " + upText
		}
		if g != nil && (g[1]+":"+g[2]+":"+g[3] != now.Format("15:04:05") || g[4] != upText) {
			t.Errorf("uptime %q: drgn's clocks give %s, up %s", got, now.Format("15:04:05"), upText)
		}
	},
	"sos_commands/memory/free": func(t *testing.T, s *fixtures.Set, got string) {
		o := oracleOf(t, s)
		f := strings.Fields(strings.SplitN(got, "\n", 3)[1])
		if len(f) < 4 || f[1] != fmt.Sprint(o.TotalRAM*4) || f[3] != fmt.Sprint(max(o.VMZoneStat.get(t, "NR_FREE_PAGES"), 0)*4) {
			t.Errorf("free Mem: %v: drgn reads total %d kB, free %d kB", f, o.TotalRAM*4, max(o.VMZoneStat.get(t, "NR_FREE_PAGES"), 0)*4)
		}
		// shared is Shmem; buff/cache is Buffers + Cached + SReclaimable,
		// and Buffers + Cached the file pages less the swap cache.
		node := func(n string) int64 { return max(o.VMNodeStat.get(t, n), 0) }
		cache := node("NR_FILE_PAGES") - o.swapcache(t) + node("NR_SLAB_RECLAIMABLE_B")
		if len(f) < 6 || f[4] != fmt.Sprint(node("NR_SHMEM")*4) || f[5] != fmt.Sprint(cache*4) {
			t.Errorf("free Mem: %v: drgn reads shared %d kB, buff/cache %d kB", f, node("NR_SHMEM")*4, cache*4)
		}
		// available is MemAvailable, used procps' total - available; the
		// swap line si_swapinfo()'s total and free, used the difference.
		avail := o.siMemAvailable(t) * 4
		if len(f) < 7 || f[6] != fmt.Sprint(avail) || f[2] != fmt.Sprint(o.TotalRAM*4-avail) {
			t.Errorf("free Mem: %v: drgn's values give available %d kB, used %d kB", f, avail, o.TotalRAM*4-avail)
		}
		if o.SwapToBeUnused == nil {
			o.need(t, "swap_areas")
		}
		sw := strings.Fields(strings.SplitN(got, "\n", 4)[2])
		total, free := (o.TotalSwap+*o.SwapToBeUnused)*4, (o.NrSwapPages+*o.SwapToBeUnused)*4
		if len(sw) != 4 || sw[0] != "Swap:" || sw[1] != fmt.Sprint(total) || sw[2] != fmt.Sprint(total-free) || sw[3] != fmt.Sprint(free) {
			t.Errorf("free %v: drgn's values give total %d kB, used %d kB, free %d kB", sw, total, total-free, free)
		}
	},
}

type enumValues struct {
	Names  []string `json:"names"`
	Values []int64  `json:"values"`
}

func (e enumValues) get(t *testing.T, name string) int64 {
	t.Helper()
	i := slices.Index(e.Names, name)
	if i < 0 {
		t.Fatalf("the oracle has no %s", name)
	}
	return e.Values[i]
}

type oracleZone struct {
	Node           int              `json:"node"`
	Name           string           `json:"name"`
	Managed        int64            `json:"managed"`
	Present        int64            `json:"present"`
	Spanned        int64            `json:"spanned"`
	Watermark      []int64          `json:"watermark"`
	WatermarkBoost int64            `json:"watermark_boost"`
	ZoneStartPfn   int64            `json:"zone_start_pfn"`
	LowmemReserve  []int64          `json:"lowmem_reserve"`
	VMStat         enumValues       `json:"vm_stat"`
	VMNumaEvent    *enumValues      `json:"vm_numa_event"`
	VMNumaStat     *enumValues      `json:"vm_numa_stat"` // before 5.14
	PCP            map[string]pcpOf `json:"pcp"`
	FreeLists      [][]int64        `json:"free_lists"` // [order][migratetype]: entries
	// The highatomic reserve's pageblocks and free pages (nil where the
	// zone has no such member).
	ReservedHighatomic *int64 `json:"nr_reserved_highatomic"`
	FreeHighatomic     *int64 `json:"nr_free_highatomic"`
}

type pcpOf struct {
	Count         int64   `json:"count"`
	High          int64   `json:"high"`
	Batch         int64   `json:"batch"`
	StatThreshold int64   `json:"stat_threshold"`
	HighMin       *int64  `json:"high_min"` // 6.7+
	HighMax       *int64  `json:"high_max"`
	VMStatDiff    []int64 `json:"vm_stat_diff"`
	VMNumaEvent   []int64 `json:"vm_numa_event"`
	// VMNumaStatDiff: before 5.14, the CPU's pending zone NUMA counts.
	VMNumaStatDiff []int64 `json:"vm_numa_stat_diff"`
}

type oracleData struct {
	Release      string      `json:"release"`
	PossibleCPUs []int       `json:"possible_cpus"`
	VMZoneStat   enumValues  `json:"vm_zone_stat"`
	VMNodeStat   enumValues  `json:"vm_node_stat"`
	VMNumaEvent  *enumValues `json:"vm_numa_event"`
	TotalRAM     int64       `json:"totalram_pages"`
	NrThreads    int64       `json:"nr_threads"`
	TotalForks   int64       `json:"total_forks"`
	TotalSwap    int64       `json:"total_swap_pages"`
	// si_swapinfo()'s parts, vm_commit_limit()'s sysctls, the huge page
	// pools (nil without CONFIG_HUGETLB_PAGE) and the default one's index.
	NrSwapPages    int64  `json:"nr_swap_pages"`
	SwapToBeUnused *int64 `json:"swap_to_be_unused"`
	Overcommit     struct {
		Kbytes int64 `json:"kbytes"`
		Ratio  int64 `json:"ratio"`
	} `json:"overcommit"`
	Hstates []struct {
		Order            int64 `json:"order"`
		NrHugePages      int64 `json:"nr_huge_pages"`
		FreeHugePages    int64 `json:"free_huge_pages"`
		ResvHugePages    int64 `json:"resv_huge_pages"`
		SurplusHugePages int64 `json:"surplus_huge_pages"`
	} `json:"hstates"`
	DefaultHstateIdx int `json:"default_hstate_idx"`
	// TotalSwapcachePages: total_swapcache_pages() before 5.12, where no
	// node counter holds it.
	TotalSwapcachePages *int64 `json:"total_swapcache_pages"`
	// THPCounterPages: the base pages one count of NR_ANON_THPS and its
	// siblings stands for (512 before 5.13, 1 since).
	THPCounterPages int64 `json:"thp_counter_pages"`
	// What global_dirty_limits() takes besides free and file pages, and
	// 6.11+'s memmap page counts (nil before).
	TotalReserve      int64            `json:"totalreserve_pages"`
	DirtySysctls      map[string]int64 `json:"dirty_sysctls"`
	NrMemmapPages     *int64           `json:"nr_memmap_pages"`
	NrMemmapBootPages *int64           `json:"nr_memmap_boot_pages"`
	VMEventStates     struct {
		Names  []string           `json:"names"`
		PerCPU map[string][]int64 `json:"per_cpu"`
	} `json:"vm_event_states"`
	Kstat map[string]struct {
		Cpustat  map[string]int64 `json:"cpustat"`
		Softirqs []int64          `json:"softirqs"`
		IrqsSum  int64            `json:"irqs_sum"`
		// 7.x (drgn finds kernel_cpustat.idle_elapse; IdleDyntick holds
		// those raw members, nil before): kcpustat_field_idle() and
		// kcpustat_field_iowait() as drgn's script computes them from
		// them, in ns (null where vtime would decide them).
		IdleDyntick json.RawMessage `json:"idle_dyntick"`
		FieldIdle   *uint64         `json:"kcpustat_field_idle"`
		FieldIowait *uint64         `json:"kcpustat_field_iowait"`
	} `json:"kstat"`
	// The NO_HZ tick's idle accounting (struct tick_sched per CPU) and
	// the monotonic clock at the last timekeeper update (ktime_get() as
	// the dump has it).
	TickNohzActive *int64 `json:"tick_nohz_active"`
	TickSched      map[string]struct {
		IdleSleeptime   int64  `json:"idle_sleeptime"`
		IowaitSleeptime int64  `json:"iowait_sleeptime"`
		IdleEntrytime   int64  `json:"idle_entrytime"`
		IdleActive      *int64 `json:"idle_active"` // before 6.9
		Flags           *int64 `json:"flags"`       // 6.9+: TS_FLAG_IDLE_ACTIVE
	} `json:"tick_sched"`
	MonotonicNs int64 `json:"monotonic_ns"`
	// Interrupts: every irq descriptor by number, the enumerators that
	// decide kstat_irqs_usr(), nr_irqs, each CPU's irq_stat members (7.x:
	// counts[], named by IrqStatInfo), the global error counts.
	IrqDescs         map[string]oracleIrqDesc  `json:"irq_descs"`
	IrqDescsMismatch [][]uint64                `json:"irq_descs_mismatch"`
	IrqEnums         map[string]uint64         `json:"irq_enums"`
	NrIrqs           int                       `json:"nr_irqs"`
	IrqStat          map[string]map[string]any `json:"irq_stat"`
	IrqErrCount      *int64                    `json:"irq_err_count"`
	IrqMisCount      *int64                    `json:"irq_mis_count"`
	PlatformIPI      uint64                    `json:"x86_platform_ipi_callback"`
	IrqStatInfo      []*string                 `json:"irq_stat_info"`
	Nodes            []struct {
		Node           int        `json:"node"`
		VMStat         enumValues `json:"vm_stat"`
		KswapdFailures int64      `json:"kswapd_failures"`
	} `json:"nodes"`
	Zones []oracleZone `json:"zones"`
	// Load and processes: avenrun[] (fixed point), the pid allocator's
	// cursor, the present CPUs and nodes' present pages, each CPU's
	// current and idle task, every task's raw fields.
	Avenrun          [3]uint64 `json:"avenrun"`
	PidCursor        int64     `json:"pid_cursor"`
	PresentCPUs      []int     `json:"present_cpus"`
	OnlineCPUs       []int     `json:"online_cpus"`
	NodePresentPages []int64   `json:"node_present_pages"`
	Runqueues        map[string]struct {
		Curr       uint64 `json:"curr"`
		Idle       uint64 `json:"idle"`
		NrSwitches uint64 `json:"nr_switches"`
		NrIowait   int64  `json:"nr_iowait"`
		NrRunning  uint64 `json:"nr_running"`
		Clock      uint64 `json:"clock"`
	} `json:"runqueues"`
	VMCommittedAs struct {
		Count  int64            `json:"count"`
		PerCPU map[string]int64 `json:"per_cpu"`
	} `json:"vm_committed_as"`
	PcpuPages     int64 `json:"pcpu_pages"`
	BlockdevPages int64 `json:"blockdev_pages"`
	BoottimeNs    int64 `json:"boottime_ns"`
	RealtimeNs    int64 `json:"realtime_ns"`
	HZ            int64 `json:"hz"`
	// Bdevs: each block device's I/O statistics summed over the CPUs
	// (block_device.bd_stats; before 5.11 hd_struct.dkstats).
	Bdevs []struct {
		Dev     uint64   `json:"dev"`
		IOTicks uint64   `json:"io_ticks"`
		IOs     []uint64 `json:"ios"`
		Merges  []uint64 `json:"merges"`
		Sectors []uint64 `json:"sectors"`
		Nsecs   []uint64 `json:"nsecs"`
	} `json:"bdevs"`
	NrVmallocPages *int64       `json:"nr_vmalloc_pages"`
	Tasks          []oracleTask `json:"tasks"`
	// Errors says, by section (slab_caches, blockdev_pages, bdevs,
	// irq_descs, tasks), why drgn could not read one kept in allocated
	// memory (a dump whose filter dropped the slab pages): a rule that
	// needs it fails (need), never skips.
	Errors     map[string]string `json:"errors"`
	SlabCaches []struct {
		Name  string `json:"name"`
		Nodes []struct {
			NrSlabs      int64 `json:"nr_slabs"`
			TotalObjects int64 `json:"total_objects"`
			PartialFree  int64 `json:"partial_free"`
		} `json:"nodes"`
	} `json:"slab_caches"`
}

// oracleTask is one task_struct as drgn reads it (times in ns).
type oracleTask struct {
	PID           int64  `json:"pid"`
	TGID          int64  `json:"tgid"`
	Comm          string `json:"comm"`
	Address       uint64 `json:"address"`
	PPID          int64  `json:"ppid"`
	State         uint64 `json:"state"`
	ExitState     uint64 `json:"exit_state"`
	Flags         uint64 `json:"flags"`
	Utime         uint64 `json:"utime"`
	Stime         uint64 `json:"stime"`
	StartBoottime uint64 `json:"start_boottime"`
	StaticPrio    int64  `json:"static_prio"`
	Prio          int64  `json:"prio"`
	Policy        int64  `json:"policy"`
	OnCPU         uint64 `json:"on_cpu"`
	TotalVM       *int64 `json:"total_vm"` // nil: no mm (a kernel thread, or exited)
	// What cputime_adjust() splits: the precise run time, the last
	// reported [utime, stime]; a leader's signal struct (its exited
	// threads' times and the process's last reported split); vtime.
	// CPU: the CPU it last ran on; LastArrival: sched_info.last_arrival
	// (that CPU's rq->clock when it last started running).
	CPU            int64     `json:"cpu"`
	LastArrival    uint64    `json:"last_arrival"`
	SumExecRuntime uint64    `json:"sum_exec_runtime"`
	PrevCputime    [2]uint64 `json:"prev_cputime"`
	Mm             *oracleMM `json:"mm"`
	// Wq: a workqueue worker's (PF_WQ_WORKER) struct worker: whether it
	// has a pool (rescuers have none), its description, a work running.
	Wq *struct {
		Pool        bool   `json:"pool"`
		Desc        string `json:"desc"`
		CurrentWork bool   `json:"current_work"`
	} `json:"wq"`
	BlkioDelay *uint64 `json:"blkio_delay"` // ns; nil without task->delays
	MinFlt     uint64  `json:"min_flt"`
	MajFlt     uint64  `json:"maj_flt"`
	Nvcsw      uint64  `json:"nvcsw"`
	Nivcsw     uint64  `json:"nivcsw"`
	Signal     *struct {
		Utime           uint64    `json:"utime"`
		Stime           uint64    `json:"stime"`
		SumSchedRuntime uint64    `json:"sum_sched_runtime"`
		PrevCputime     [2]uint64 `json:"prev_cputime"`
		MinFlt          uint64    `json:"min_flt"`
		MajFlt          uint64    `json:"maj_flt"`
		CminFlt         uint64    `json:"cmin_flt"`
		CmajFlt         uint64    `json:"cmaj_flt"`
		Cutime          uint64    `json:"cutime"`
		Cstime          uint64    `json:"cstime"`
	} `json:"signal"`
	Vtime *struct {
		State uint64 `json:"state"`
	} `json:"vtime"`
	// Cmdline: the command line drgn's helper reads (oracle_cmdline_test.go).
	Cmdline oracleCmdline `json:"cmdline"`
}

// oracleMM is what task_mem() prints a process's memory from, as drgn
// reads its mm_struct (page counts unless named bytes); Rss holds each
// MM_* counter's shared count and (a percpu_counter, 6.2+) the CPUs'
// unfolded parts.
type oracleMM struct {
	HiwaterVM     int64 `json:"hiwater_vm"`
	HiwaterRSS    int64 `json:"hiwater_rss"`
	LockedVM      int64 `json:"locked_vm"`
	PinnedVM      int64 `json:"pinned_vm"`
	DataVM        int64 `json:"data_vm"`
	StackVM       int64 `json:"stack_vm"`
	ExecVM        int64 `json:"exec_vm"`
	StartCode     int64 `json:"start_code"`
	EndCode       int64 `json:"end_code"`
	PgtablesBytes int64 `json:"pgtables_bytes"`
	Rss           map[string]struct {
		Count  int64            `json:"count"`
		PerCPU map[string]int64 `json:"per_cpu"`
	} `json:"rss"`
}

// oracleIrqDesc is one struct irq_desc as drgn reads it.
type oracleIrqDesc struct {
	Irq       int               `json:"irq"`
	TotCount  uint64            `json:"tot_count"`
	Status    uint64            `json:"status_use_accessors"`
	Istate    uint64            `json:"istate"`
	KstatIrqs map[string]uint64 `json:"kstat_irqs"` // per possible CPU
}

// need fails t when drgn could not read the oracle's section (see Errors):
// the set's reference dump lacks what the rule compares with.
func (o *oracleData) need(t *testing.T, section string) {
	t.Helper()
	if why, ok := o.Errors[section]; ok {
		t.Fatalf("drgn could not read %s from the reference dump: %s", section, why)
	}
}

// swapcache is total_swapcache_pages(): the NR_SWAPCACHE node counter
// (5.12+), else the sum drgn's script makes as the kernel function does.
func (o *oracleData) swapcache(t *testing.T) int64 {
	t.Helper()
	if slices.Contains(o.VMNodeStat.Names, "NR_SWAPCACHE") {
		return max(o.VMNodeStat.get(t, "NR_SWAPCACHE"), 0)
	}
	o.need(t, "swapcache")
	if o.TotalSwapcachePages == nil {
		t.Fatalf("drgn gives neither NR_SWAPCACHE nor total_swapcache_pages()")
	}
	return *o.TotalSwapcachePages
}

// populatedZones are the zones with present pages (populated_zone()):
// those buddyinfo and pagetypeinfo print and fold_vm_numa_events() folds;
// zoneinfo prints every zone.
func (o *oracleData) populatedZones() []oracleZone {
	var out []oracleZone
	for _, z := range o.Zones {
		if z.Present > 0 {
			out = append(out, z)
		}
	}
	return out
}

// tasks is the oracle's task list; a rule needing it fails when drgn could
// not read it.
func (o *oracleData) tasks(t *testing.T) []oracleTask {
	t.Helper()
	o.need(t, "tasks")
	return o.Tasks
}

// taskByPID is the oracle's task of pid (a thread id), or nil.
func (o *oracleData) taskByPID(t *testing.T, pid int64) *oracleTask {
	t.Helper()
	o.need(t, "tasks")
	for i := range o.Tasks {
		if o.Tasks[i].PID == pid {
			return &o.Tasks[i]
		}
	}
	return nil
}

// taskByAddress is the oracle's task at addr, or nil.
func (o *oracleData) taskByAddress(t *testing.T, addr uint64) *oracleTask {
	t.Helper()
	o.need(t, "tasks")
	for i := range o.Tasks {
		if o.Tasks[i].Address == addr {
			return &o.Tasks[i]
		}
	}
	return nil
}

var oracles sync.Map // oracle output path -> func() (*oracleData, error)

// oracleOf reads the oracle's output for the set's reference dump (run
// once, cached beside the set: fixtures.Set.Oracle). A kdump scenario set
// has its own: drgn reads the dump its capture kernel wrote, the instant of
// that crash, so every rule holds there exactly as on the kernel's own set
// (an OOM or hung-task crash changes what the counters are, not that both
// readers see the same ones).
func oracleOf(t *testing.T, s *fixtures.Set) *oracleData {
	t.Helper()
	path := s.Oracle(t)
	load, _ := oracles.LoadOrStore(path, sync.OnceValues(func() (*oracleData, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var o oracleData
		return &o, json.Unmarshal(b, &o)
	}))
	o, err := load.(func() (*oracleData, error))()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	if o.Release != s.Manifest.KernelRelease {
		t.Fatalf("oracle read kernel %q, the set is %q", o.Release, s.Manifest.KernelRelease)
	}
	return o
}

// liveCPUs are the CPUs online while the guest ran (its
// sys/devices/system/cpu/online): the CPUs whose per-CPU counters the
// kernel folds or prints when a file is read (for_each_online_cpu); after
// the panic only the panicking one is still marked online.
func liveCPUs(t *testing.T, s *fixtures.Set) []int {
	var cpus []int
	for _, r := range strings.Split(strings.TrimSpace(truth(t, s, "sys/devices/system/cpu/online")), ",") {
		a, b, ok := strings.Cut(r, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := lo, error(nil)
		if ok {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil {
			t.Fatalf("cpu online mask %q", r)
		}
		for c := lo; c <= hi; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// thpItems are the node items /proc/vmstat and zoneinfo print in huge pages
// (vmstat_item_print_in_thp(), mm/vmstat.c).
var thpItems = map[string]bool{"NR_ANON_THPS": true, "NR_SHMEM_THPS": true, "NR_SHMEM_PMDMAPPED": true,
	"NR_FILE_THPS": true, "NR_FILE_PMDMAPPED": true}

// nodeItem is node_page_state_pages() as printed: negative reads 0
// (CONFIG_SMP), THP items in huge pages (vmstat_item_print_in_thp():
// counted in pages since 5.13, divided by HPAGE_PMD_NR, 512 on x86_64;
// before, counted in huge pages and printed as they are: drgn's
// thp_counter_pages says which).
func (o *oracleData) nodeItem(t *testing.T, name string, v int64) int64 {
	v = max(v, 0)
	if thpItems[name] {
		switch o.THPCounterPages {
		case 1:
			v /= 512
		case 512:
		default:
			t.Fatalf("drgn: a THP counter stands for %d pages", o.THPCounterPages)
		}
	}
	return v
}

// kvLines reads "name value" lines.
func kvLines(text string) (names []string, vals []int64) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		names = append(names, f[0])
		vals = append(vals, v)
	}
	return names, vals
}

// numaPending sums what a zone's per-CPU stats hold for item i, over cpus.
func numaPending(z oracleZone, cpus []int, i int) int64 {
	var n int64
	for _, c := range cpus {
		if p, ok := z.PCP[strconv.Itoa(c)]; ok && i < len(p.VMNumaEvent) {
			n += p.VMNumaEvent[i]
		}
	}
	return n
}

// oracleVmstat: vmstat_start()'s array, from the raw values: zone items
// (global_zone_page_state(), negative reads 0), NUMA events (the global
// counts after fold_vm_numa_events(): plus every zone's per-CPU pending
// counts), node items (nodeItem), the dirty thresholds global_dirty_limits()
// computes from drgn's values, 6.11+'s memmap counts, then the VM events
// (all_vm_events(): the per-CPU counts summed; pgpgin and pgpgout halved,
// sectors to kB).
func oracleVmstat(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	cpus := liveCPUs(t, s)
	names, vals := kvLines(got)
	type want struct {
		name string
		v    int64
	}
	var wants []want
	for i, n := range o.VMZoneStat.Names {
		wants = append(wants, want{n, max(o.VMZoneStat.Values[i], 0)})
	}
	if o.VMNumaEvent != nil {
		for i, n := range o.VMNumaEvent.Names {
			v := o.VMNumaEvent.Values[i]
			for _, z := range o.populatedZones() {
				v += numaPending(z, cpus, i)
			}
			wants = append(wants, want{n, v})
		}
	}
	for i, n := range o.VMNodeStat.Names {
		wants = append(wants, want{n, o.nodeItem(t, n, o.VMNodeStat.Values[i])})
	}
	if len(vals) < len(wants) {
		t.Fatalf("%d values, the oracle has %d zone, NUMA and node items", len(vals), len(wants))
	}
	for i, w := range wants {
		if vals[i] != w.v {
			t.Errorf("%s %d: drgn reads %s = %d", names[i], vals[i], w.name, w.v)
		}
	}
	// After the node items: the dirty thresholds global_dirty_limits()
	// computes from drgn's free and file pages, totalreserve_pages and the
	// sysctls (dirtyLimitsOf); 6.11+'s memmap page counts as drgn reads them.
	sc := o.DirtySysctls
	bg, dirty := dirtyLimitsOf(max(o.VMZoneStat.get(t, "NR_FREE_PAGES"), 0), max(o.VMNodeStat.get(t, "NR_INACTIVE_FILE"), 0),
		max(o.VMNodeStat.get(t, "NR_ACTIVE_FILE"), 0), o.TotalReserve,
		sc["vm_dirty_ratio"], sc["vm_dirty_bytes"], sc["dirty_background_ratio"], sc["dirty_background_bytes"])
	extra := map[string]*int64{"nr_dirty_threshold": &dirty, "nr_dirty_background_threshold": &bg,
		"nr_memmap_pages": o.NrMemmapPages, "nr_memmap_boot_pages": o.NrMemmapBootPages}
	for i, n := range names {
		if w, ok := extra[n]; ok {
			if w == nil || vals[i] != *w {
				t.Errorf("%s %d: drgn's values give %v", n, vals[i], w)
			}
			delete(extra, n)
		}
	}
	for _, n := range []string{"nr_dirty_threshold", "nr_dirty_background_threshold"} {
		if _, ok := extra[n]; ok {
			t.Errorf("no %s line", n)
		}
	}
	ev := o.VMEventStates
	first := slices.Index(names, "pgpgin")
	if first < 0 || ev.Names[0] != "PGPGIN" || first+len(ev.Names) > len(vals) {
		t.Fatalf("no VM events group starting at pgpgin (oracle's first event %s)", ev.Names[0])
	}
	for j, n := range ev.Names {
		var v int64
		for _, c := range cpus {
			v += ev.PerCPU[strconv.Itoa(c)][j]
		}
		if n == "PGPGIN" || n == "PGPGOUT" {
			v /= 2
		}
		if vals[first+j] != v {
			t.Errorf("%s %d: drgn reads %s = %d", names[first+j], vals[first+j], n, v)
		}
	}
}

// zoneSection is one "Node N, zone NAME" block of zoneinfo, its lines.
func zoneSections(text string) map[string][]string {
	out := map[string][]string{}
	key := ""
	for _, l := range strings.Split(text, "\n") {
		var node int
		var name string
		if _, err := fmt.Sscanf(l, "Node %d, zone %s", &node, &name); err == nil {
			key = fmt.Sprintf("%d/%s", node, name)
		}
		if key != "" {
			out[key] = append(out[key], l)
		}
	}
	return out
}

// oracleZoneinfo: zoneinfo_show_print() from the raw zone: the node items
// (first zone of a node), pages free, the watermarks (wmark_pages(): the
// watermark plus the boost), spanned, present, managed, the zone items
// (zone_page_state(), negative reads 0), the zone's NUMA events (after
// fold_vm_zone_numa_events()), each CPU's pageset: count, high, batch
// (and high_min, high_max where printed), and the highatomic reserve's
// counts where printed.
func oracleZoneinfo(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	cpus := liveCPUs(t, s)
	sections := zoneSections(got)
	seenNode := map[int]bool{}
	for _, z := range o.Zones {
		lines, ok := sections[fmt.Sprintf("%d/%s", z.Node, z.Name)]
		if !ok {
			t.Errorf("zone %d/%s missing", z.Node, z.Name)
			continue
		}
		want := map[string]int64{
			"pages free": max(z.VMStat.get(t, "NR_FREE_PAGES"), 0),
			"spanned":    z.Spanned, "present": z.Present, "managed": z.Managed,
		}
		// wmark_pages(): WMARK_MIN, _LOW, _HIGH and, where the kernel has
		// it and prints it (6.12, 7.2), _PROMO.
		for i, w := range []string{"min", "low", "high", "promo"} {
			if i < len(z.Watermark) {
				want[w] = z.Watermark[i] + z.WatermarkBoost
			}
		}
		// Values in order after the protection line: zone items, NUMA.
		var after []int64
		for i := range z.VMStat.Values {
			after = append(after, max(z.VMStat.Values[i], 0))
		}
		if z.VMNumaEvent != nil {
			for i := range z.VMNumaEvent.Values {
				after = append(after, z.VMNumaEvent.Values[i]+numaPending(z, cpus, i))
			}
		}
		if z.VMNumaStat != nil {
			// Before 5.14, zone_numa_state_snapshot(): the zone's count
			// plus every online CPU's pending vm_numa_stat_diff.
			for i := range z.VMNumaStat.Values {
				v := z.VMNumaStat.Values[i]
				for _, c := range cpus {
					if p, ok := z.PCP[strconv.Itoa(c)]; ok && i < len(p.VMNumaStatDiff) {
						v += p.VMNumaStatDiff[i]
					}
				}
				after = append(after, v)
			}
		}
		var nodeVals []int64
		if !seenNode[z.Node] {
			seenNode[z.Node] = true
			for _, n := range o.Nodes {
				if n.Node == z.Node {
					for i, name := range n.VMStat.Names {
						nodeVals = append(nodeVals, o.nodeItem(t, name, n.VMStat.Values[i]))
					}
				}
			}
		}
		cpu := ""
		inNode, inZone := 0, -1
		for _, l := range lines {
			tl := strings.TrimSpace(l)
			key, v, ok := splitValue(tl)
			key = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(key), ":"))
			switch {
			case tl == "per-node stats":
				inNode = 1
				continue
			case strings.HasPrefix(tl, "pages free"):
				inNode = 0
			case strings.HasPrefix(tl, "protection:"):
				// lowmem_reserve[] as it is.
				var want []string
				for _, r := range z.LowmemReserve {
					want = append(want, fmt.Sprint(r))
				}
				if w := "protection: (" + strings.Join(want, ", ") + ")"; tl != w {
					t.Errorf("zone %s %q, drgn %q", z.Name, tl, w)
				}
				inZone = 0
				continue
			case key == "vm stats threshold":
				if p, ok := z.PCP[cpu]; !ok || v != p.StatThreshold {
					t.Errorf("zone %s cpu %s %q: drgn %d", z.Name, cpu, tl, p.StatThreshold)
				}
				continue
			case key == "node_unreclaimable":
				// pgdat->kswapd_failures >= MAX_RECLAIM_RETRIES (16,
				// mm/internal.h).
				want := int64(-1)
				for _, n := range o.Nodes {
					if n.Node == z.Node {
						want = map[bool]int64{true: 1, false: 0}[n.KswapdFailures >= 16]
					}
				}
				if v != want {
					t.Errorf("zone %s %q: drgn's kswapd_failures give %d", z.Name, tl, want)
				}
				continue
			case key == "start_pfn":
				if v != z.ZoneStartPfn {
					t.Errorf("zone %s %q: drgn %d", z.Name, tl, z.ZoneStartPfn)
				}
				continue
			case strings.HasPrefix(tl, "pagesets"):
				inZone = -1
				continue
			case key == "cpu":
				cpu = strconv.FormatInt(v, 10)
				continue
			}
			if !ok {
				continue
			}
			if inNode > 0 {
				if inNode-1 < len(nodeVals) && v != nodeVals[inNode-1] {
					t.Errorf("zone %s node item %q: %d, drgn %d", z.Name, tl, v, nodeVals[inNode-1])
				}
				inNode++
				continue
			}
			if inZone >= 0 {
				if inZone < len(after) && v != after[inZone] {
					t.Errorf("zone %s item %q: %d, drgn %d", z.Name, tl, v, after[inZone])
				}
				inZone++
				continue
			}
			if cpu != "" && (key == "count" || key == "high" || key == "batch" || key == "high_min" || key == "high_max") {
				p, ok := z.PCP[cpu]
				w := map[string]*int64{"count": &p.Count, "high": &p.High, "batch": &p.Batch, "high_min": p.HighMin, "high_max": p.HighMax}[key]
				if !ok || w == nil || v != *w {
					t.Errorf("zone %s cpu %s %s: %d, drgn %v", z.Name, cpu, key, v, w)
				}
				continue
			}
			if key == "reserved_highatomic" || key == "free_highatomic" {
				w := z.ReservedHighatomic
				if key == "free_highatomic" {
					w = z.FreeHighatomic
				}
				if w == nil || v != *w {
					t.Errorf("zone %s %s: %d, drgn %v", z.Name, key, v, w)
				}
				continue
			}
			if w, ok := want[key]; ok && v != w {
				t.Errorf("zone %s %s: %d, drgn %d", z.Name, key, v, w)
			}
		}
		if inNode > 0 && inNode-1 != len(nodeVals) {
			t.Errorf("zone %s: %d per-node items, drgn %d", z.Name, inNode-1, len(nodeVals))
		}
	}
}

// oracleSlabinfo: get_slabinfo() from the raw kmem_cache_node counts: the
// objects and slabs summed over nodes, the active objects those less the
// free objects on the nodes' partial lists (count_partial()).
func oracleSlabinfo(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	o.need(t, "slab_caches")
	_, rows := parseSlabinfo(got)
	seen := map[string]bool{}
	for _, c := range o.SlabCaches {
		if seen[c.Name] {
			continue // two caches of one name: slabinfo shows both, not told apart here
		}
		seen[c.Name] = true
		var slabs, objs, free int64
		for _, n := range c.Nodes {
			slabs, objs, free = slabs+n.NrSlabs, objs+n.TotalObjects, free+n.PartialFree
		}
		r, ok := rows[c.Name]
		if !ok {
			t.Errorf("cache %s missing", c.Name)
			continue
		}
		if r.num != objs || r.active != objs-free || r.numSlabs != slabs || r.activeSlabs != slabs {
			t.Errorf("%s: active %d objects %d slabs %d/%d; drgn: %d %d %d", c.Name, r.active, r.num, r.activeSlabs, r.numSlabs, objs-free, objs, slabs)
		}
	}
	if len(rows) != len(seen) {
		t.Errorf("%d caches, drgn lists %d", len(rows), len(seen))
	}
}

// statColumns are /proc/stat's cpu fields read straight from
// kernel_cpustat (nsec_to_clock_t(): ns / 10^7 at USER_HZ 100); idle and
// iowait (fields 4 and 5) come from the tick code's idle time (oracleIdle).
var statColumns = map[int]string{1: "CPUTIME_USER", 2: "CPUTIME_NICE", 3: "CPUTIME_SYSTEM", 6: "CPUTIME_IRQ",
	7: "CPUTIME_SOFTIRQ", 8: "CPUTIME_STEAL", 9: "CPUTIME_GUEST", 10: "CPUTIME_GUEST_NICE"}

// oracleStat: show_stat(): each cpuN line from that CPU's kernel_cpustat,
// the cpu line from their sums over the possible CPUs (summed in ns, then
// converted), idle and iowait by oracleIdle, the intr line by oracleIntr,
// the softirq line (kstat softirqs summed), processes (total_forks).
func oracleStat(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	live := liveCPUs(t, s)
	const nsPerTick = 10000000
	for _, l := range strings.Split(got, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		label := f[0]
		switch {
		case strings.HasPrefix(label, "cpu"):
			cpus := o.PossibleCPUs
			if label != "cpu" {
				c, err := strconv.Atoi(label[3:])
				if err != nil {
					t.Errorf("line %q", l)
					continue
				}
				cpus = []int{c}
			}
			for col, name := range statColumns {
				var ns int64
				for _, c := range cpus {
					ns += o.Kstat[strconv.Itoa(c)].Cpustat[name]
				}
				if col < len(f) && f[col] != fmt.Sprint(ns/nsPerTick) {
					t.Errorf("%s field %d (%s): %s, drgn %d", label, col, name, f[col], ns/nsPerTick)
				}
			}
			// get_idle_time()/get_iowait_time(): the CPUs online while
			// the guest ran (the panic took the others offline after
			// the last read of the live file).
			var idle, iowait int64
			for _, c := range cpus {
				i, w := oracleIdle(t, o, c, slices.Contains(live, c))
				idle += i
				iowait += w
			}
			if len(f) < 6 || f[4] != fmt.Sprint(idle/nsPerTick) || f[5] != fmt.Sprint(iowait/nsPerTick) {
				t.Errorf("%q: drgn's idle %d and iowait %d", l, idle/nsPerTick, iowait/nsPerTick)
			}
		case label == "intr":
			if want := oracleIntr(t, o); !slices.Equal(f, want) {
				t.Errorf("intr line differs from drgn's irq descriptors and counters:\n%s", lineDiff(strings.Join(want, "\n"), strings.Join(f, "\n")))
			}
		case label == "softirq":
			var total int64
			per := map[int]int64{}
			for _, c := range o.PossibleCPUs {
				for i, v := range o.Kstat[strconv.Itoa(c)].Softirqs {
					per[i] += v
					total += v
				}
			}
			want := []string{"softirq", fmt.Sprint(total)}
			for i := range len(per) {
				want = append(want, fmt.Sprint(per[i]))
			}
			if !slices.Equal(f, want) {
				t.Errorf("%q, drgn %q", l, strings.Join(want, " "))
			}
		case label == "ctxt":
			// nr_context_switches(): rq->nr_switches over the possible CPUs.
			var n uint64
			for _, c := range o.PossibleCPUs {
				n += o.Runqueues[strconv.Itoa(c)].NrSwitches
			}
			if f[1] != fmt.Sprint(n) {
				t.Errorf("ctxt %s, drgn's runqueues %d", f[1], n)
			}
		case label == "processes":
			if f[1] != fmt.Sprint(o.TotalForks) {
				t.Errorf("processes %s, drgn total_forks %d", f[1], o.TotalForks)
			}
		case label == "procs_running":
			if want := o.nrRunning(t, s); f[1] != fmt.Sprint(want) {
				t.Errorf("procs_running %s, drgn's runqueues %d", f[1], want)
			}
		case label == "procs_blocked":
			// nr_iowait(): rq->nr_iowait over the possible CPUs.
			var n int64
			for _, c := range o.PossibleCPUs {
				n += o.Runqueues[strconv.Itoa(c)].NrIowait
			}
			if f[1] != fmt.Sprint(uint32(n)) {
				t.Errorf("procs_blocked %s, drgn's runqueues %d", f[1], uint32(n))
			}
		}
	}
}

// oracleSoftirqs: show_softirqs(): kstat_softirqs_cpu() of each CPU column.
func oracleSoftirqs(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	var cols []string
	for _, h := range strings.Fields(lines[0]) {
		cols = append(cols, strings.TrimPrefix(h, "CPU"))
	}
	for i, l := range lines[1:] {
		f := strings.Fields(l)
		for j, c := range cols {
			k, ok := o.Kstat[c]
			if !ok || i >= len(k.Softirqs) || j+1 >= len(f) || f[j+1] != fmt.Sprint(k.Softirqs[i]) {
				t.Errorf("%q CPU%s: drgn %v", l, c, k.Softirqs)
				break
			}
		}
	}
}

// oracleMeminfo: meminfo_proc_show()'s fields that are one raw counter
// (or a sum of two), in kB.
func oracleMeminfo(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	_, have := parseKV(got)
	zone := func(n string) int64 { return max(o.VMZoneStat.get(t, n), 0) }
	node := func(n string) int64 { return max(o.VMNodeStat.get(t, n), 0) }
	// Page tables are a node item since 5.11 (f0c0c115fb81, "mm:
	// memcontrol: account pagetables per node"), a zone item before.
	pageTables := func() int64 {
		if slices.Contains(o.VMNodeStat.Names, "NR_PAGETABLE") {
			return node("NR_PAGETABLE")
		}
		return zone("NR_PAGETABLE")
	}
	// Items 7.2 dropped, whose lines it prints as a constant 0 (Bounce,
	// WritebackTmp in fs/proc/meminfo.c).
	zoneOr0 := func(n string) int64 {
		if !slices.Contains(o.VMZoneStat.Names, n) {
			return 0
		}
		return zone(n)
	}
	nodeOr0 := func(n string) int64 {
		if !slices.Contains(o.VMNodeStat.Names, n) {
			return 0
		}
		return node(n)
	}
	want := map[string]int64{
		"MemTotal": o.TotalRAM, "MemFree": zone("NR_FREE_PAGES"), "SwapTotal": o.TotalSwap,
		"Active(anon)": node("NR_ACTIVE_ANON"), "Inactive(anon)": node("NR_LRU_BASE"),
		"Active(file)": node("NR_ACTIVE_FILE"), "Inactive(file)": node("NR_INACTIVE_FILE"),
		"Active": node("NR_ACTIVE_ANON") + node("NR_ACTIVE_FILE"), "Inactive": node("NR_LRU_BASE") + node("NR_INACTIVE_FILE"),
		"Unevictable": node("NR_UNEVICTABLE"), "Mlocked": zone("NR_MLOCK"),
		"Dirty": node("NR_FILE_DIRTY"), "Writeback": node("NR_WRITEBACK"), "AnonPages": node("NR_ANON_MAPPED"),
		"Mapped": node("NR_FILE_MAPPED"), "Shmem": node("NR_SHMEM"),
		"SReclaimable": node("NR_SLAB_RECLAIMABLE_B"), "SUnreclaim": node("NR_SLAB_UNRECLAIMABLE_B"),
		"Slab":         node("NR_SLAB_RECLAIMABLE_B") + node("NR_SLAB_UNRECLAIMABLE_B"),
		"KReclaimable": node("NR_SLAB_RECLAIMABLE_B") + node("NR_KERNEL_MISC_RECLAIMABLE"),
		"PageTables":   pageTables(), "Bounce": zoneOr0("NR_BOUNCE"), "WritebackTmp": nodeOr0("NR_WRITEBACK_TEMP"),
	}
	for k, v := range want {
		if h, ok := have[k]; !ok || h != v*4 {
			t.Errorf("%s: %d kB, drgn %d kB", k, h, v*4)
		}
	}
	// Committed_AS: percpu_counter_sum_positive(&vm_committed_as) over the
	// CPUs online before the panic; Percpu: pcpu_nr_pages(); VmallocUsed:
	// vmalloc_nr_pages() (the global counter, or the NR_VMALLOC node item
	// where the kernel counts it there).
	committed := o.VMCommittedAs.Count
	for _, c := range liveCPUs(t, s) {
		committed += o.VMCommittedAs.PerCPU[strconv.Itoa(c)]
	}
	vmalloc := int64(-1)
	if o.NrVmallocPages != nil {
		vmalloc = *o.NrVmallocPages
	} else if slices.Contains(o.VMNodeStat.Names, "NR_VMALLOC") {
		vmalloc = node("NR_VMALLOC")
	}
	// Buffers: nr_blockdev_pages(); Cached: the file pages less the swap
	// cache and Buffers (0 at least).
	o.need(t, "blockdev_pages")
	cached := max(node("NR_FILE_PAGES")-o.swapcache(t)-o.BlockdevPages, 0)
	for k, v := range map[string]int64{"Committed_AS": max(committed, 0), "Percpu": o.PcpuPages, "VmallocUsed": vmalloc,
		"Buffers": o.BlockdevPages, "Cached": cached} {
		if h, ok := have[k]; !ok || h != v*4 {
			t.Errorf("%s: %d kB, drgn %d kB", k, h, v*4)
		}
	}
	if h := have["KernelStack"]; h != node("NR_KERNEL_STACK_KB") {
		t.Errorf("KernelStack: %d kB, drgn %d kB", h, node("NR_KERNEL_STACK_KB"))
	}
	// The rest of what meminfo_proc_show() computes from raw values (in
	// pages): MemAvailable (si_mem_available()), SwapCached, SwapFree
	// (si_swapinfo()), CommitLimit (vm_commit_limit()), the THP node
	// items (AnonHugePages …: counts of thp_counter_pages pages),
	// SecPageTables where the kernel counts them, and the default huge
	// page pool's lines (hugetlb_report_meminfo()). Where a kdump scenario
	// changes meminfo after its capture (OOM) only these rules hold it.
	if o.SwapToBeUnused == nil {
		o.need(t, "swap_areas")
	}
	more := map[string]int64{
		"MemAvailable": o.siMemAvailable(t), "SwapCached": o.swapcache(t),
		"SwapFree": o.NrSwapPages + *o.SwapToBeUnused, "CommitLimit": o.vmCommitLimit(t),
	}
	for k, item := range map[string]string{"AnonHugePages": "NR_ANON_THPS", "ShmemHugePages": "NR_SHMEM_THPS",
		"ShmemPmdMapped": "NR_SHMEM_PMDMAPPED", "FileHugePages": "NR_FILE_THPS", "FilePmdMapped": "NR_FILE_PMDMAPPED",
		"SecPageTables": "NR_SECONDARY_PAGETABLE"} {
		if slices.Contains(o.VMNodeStat.Names, item) {
			more[k] = node(item)
			if thpItems[item] {
				more[k] *= o.THPCounterPages
			}
		}
	}
	for k, v := range more {
		if h, ok := have[k]; !ok || h != v*4 {
			t.Errorf("%s: %d kB, drgn's values give %d kB", k, h, v*4)
		}
	}
	if o.Hstates == nil {
		return // no CONFIG_HUGETLB_PAGE: no huge page lines
	}
	if o.DefaultHstateIdx >= len(o.Hstates) {
		t.Fatalf("drgn: default_hstate_idx %d of %d hstates", o.DefaultHstateIdx, len(o.Hstates))
	}
	h := o.Hstates[o.DefaultHstateIdx]
	var hugetlbKB int64
	for _, x := range o.Hstates {
		hugetlbKB += x.NrHugePages << x.Order * 4
	}
	for k, v := range map[string]int64{"HugePages_Total": h.NrHugePages, "HugePages_Free": h.FreeHugePages,
		"HugePages_Rsvd": h.ResvHugePages, "HugePages_Surp": h.SurplusHugePages, "Hugepagesize": 4 << h.Order,
		"Hugetlb": hugetlbKB} {
		if hv, ok := have[k]; !ok || hv != v {
			t.Errorf("%s: %d, drgn's hstates give %d", k, hv, v)
		}
	}
}

// siMemAvailable is si_mem_available() (mm/page_alloc.c; mm/show_mem.c
// since 6.2) from drgn's raw values, in pages: free pages above
// totalreserve_pages, plus the file LRU pages and the reclaimable kernel
// memory, each less the smaller of half of it and the zones' low
// watermarks (low_wmark_pages(): the watermark plus the boost); 0 at least.
func (o *oracleData) siMemAvailable(t *testing.T) int64 {
	var wmarkLow int64
	for _, z := range o.Zones {
		wmarkLow += z.Watermark[1] + z.WatermarkBoost // WMARK_MIN, WMARK_LOW, WMARK_HIGH
	}
	node := func(n string) int64 { return max(o.VMNodeStat.get(t, n), 0) }
	available := max(o.VMZoneStat.get(t, "NR_FREE_PAGES"), 0) - o.TotalReserve
	pagecache := node("NR_ACTIVE_FILE") + node("NR_INACTIVE_FILE")
	available += pagecache - min(pagecache/2, wmarkLow)
	reclaimable := node("NR_SLAB_RECLAIMABLE_B") + node("NR_KERNEL_MISC_RECLAIMABLE")
	available += reclaimable - min(reclaimable/2, wmarkLow)
	return max(available, 0)
}

// vmCommitLimit is vm_commit_limit() (mm/util.c) from drgn's values, in
// pages: vm.overcommit_kbytes, or vm.overcommit_ratio percent of the RAM
// the huge page pools do not hold (hugetlb_total_pages()), plus swap.
func (o *oracleData) vmCommitLimit(t *testing.T) int64 {
	if o.Overcommit.Kbytes != 0 {
		return o.Overcommit.Kbytes>>2 + o.TotalSwap
	}
	var huge int64
	for _, h := range o.Hstates {
		huge += h.NrHugePages << h.Order
	}
	return (o.TotalRAM-huge)*o.Overcommit.Ratio/100 + o.TotalSwap
}

// nrRunning is nr_running(): rq->nr_running over the CPUs online while the
// guest ran (the panic took the others offline after the last read).
func (o *oracleData) nrRunning(t *testing.T, s *fixtures.Set) uint32 {
	var n uint64
	for _, c := range liveCPUs(t, s) {
		n += o.Runqueues[strconv.Itoa(c)].NrRunning
	}
	return uint32(n)
}

// oracleLoadavg: the thread count is nr_threads, the runnable ones
// nr_running(), the averages avenrun folded as loadavg_proc_show() does,
// the last pid idr_get_cursor() - 1.
func oracleLoadavg(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	m := loadavgRe.FindStringSubmatch(got)
	if m == nil || m[5] != fmt.Sprint(o.NrThreads) || m[4] != fmt.Sprint(o.nrRunning(t, s)) {
		t.Errorf("loadavg %q: drgn nr_threads %d, runnable %d", got, o.NrThreads, o.nrRunning(t, s))
	}
	// The averages from avenrun, the last pid from the allocator's cursor.
	if m != nil && (strings.Join(m[1:4], " ") != oracleAverages(o, " ") || m[6] != fmt.Sprint(o.PidCursor-1)) {
		t.Errorf("loadavg %q: drgn avenrun %s, last pid %d", got, oracleAverages(o, " "), o.PidCursor-1)
	}
}

// oracleBuddyinfo: the free pages of each zone's free lists add up to the
// zone's NR_FREE_PAGES with the per-CPU differences not yet folded into it
// (zone_page_state_snapshot()): both count exactly the pages on the buddy
// lists (no pageblock is isolated in this guest).
func oracleBuddyinfo(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	_, rows := zoneRows(got, "zone")
	for _, z := range o.populatedZones() {
		label := fmt.Sprintf("Node %d, zone %s", z.Node, z.Name)
		r, ok := rows[label]
		if !ok {
			t.Errorf("%s missing", label)
			continue
		}
		w := z.VMStat.get(t, "NR_FREE_PAGES")
		for _, c := range liveCPUs(t, s) {
			if p, ok := z.PCP[strconv.Itoa(c)]; ok && len(p.VMStatDiff) > 0 {
				w += p.VMStatDiff[0] // NR_FREE_PAGES is item 0
			}
		}
		if freePages(r) != w {
			t.Errorf("%s: %d free pages on the lists, drgn NR_FREE_PAGES %d", label, freePages(r), w)
		}
	}
}

// uptimeAtPanic: the uptime is the crashed kernel's boot time at the
// crash, which its log's panic line stamps (printk's clock, local_clock();
// the boot-time clock runs with it in this guest, both from the TSC): from
// 0.1 s before the stamp (the two clocks' offset) to 0.5 s after (the panic
// prints a page of backtrace before the CPUs stop). Idle time cannot exceed
// the uptime on every CPU.
func uptimeAtPanic(t *testing.T, s *fixtures.Set, got string) {
	b, err := os.ReadFile(s.KernelFile(t, "makedumpfile_dmesg"))
	if err != nil {
		t.Fatal(err)
	}
	var stamp float64
	for _, l := range strings.Split(string(b), "\n") {
		if m := mdfPrefix.FindStringSubmatch(l); m != nil && strings.Contains(l, "Kernel panic - not syncing") {
			fmt.Sscanf(strings.Trim(m[1], "[] "), "%g", &stamp)
			break
		}
	}
	f := strings.Fields(got)
	if stamp == 0 || len(f) != 2 {
		t.Fatalf("uptime %q; panic stamp %v", got, stamp)
	}
	// Exactly: drgn's boot-time clock at the last timekeeper update,
	// seconds and hundredths (uptime_proc_show()).
	o := oracleOf(t, s)
	if want := fmt.Sprintf("%d.%02d", o.BoottimeNs/1e9, o.BoottimeNs%1e9/1e7); f[0] != want {
		t.Errorf("uptime %s, drgn's boot-time clock %s", f[0], want)
	}
	// Idle exactly: get_idle_time() summed over the possible CPUs
	// (uptime_proc_show(); Debian's 5.10 has it too: its live uptime and
	// stat idle agree), seconds and hundredths.
	var idleNs int64
	live := liveCPUs(t, s)
	for _, c := range o.PossibleCPUs {
		i, _ := oracleIdle(t, o, c, slices.Contains(live, c))
		idleNs += i
	}
	if want := fmt.Sprintf("%d.%02d", idleNs/1e9, idleNs%1e9/1e7); f[1] != want {
		t.Errorf("idle %s, drgn's idle times sum to %s", f[1], want)
	}
	up, _ := strconv.ParseFloat(f[0], 64)
	idle, _ := strconv.ParseFloat(f[1], 64)
	// Under host load the vCPUs stall: measured 0.14 s before the stamp
	// (7.2) and 0.68 s after it (6.1) at a load of 15-20 on 2 cores.
	if up < stamp-0.3 || up > stamp+1.0 || idle > up*float64(cpuCount(t, s)) {
		t.Errorf("uptime %q: the panic line is stamped %.6f s", got, stamp)
	}
}

// oraclePagetypeinfo: pagetypeinfo_showfree_print(): each zone's rows, in
// migratetype order, hold the entries of free_area[order].free_list[type],
// exactly as drgn counts them.
func oraclePagetypeinfo(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	rows := map[string][][]string{} // "Node N, zone NAME" -> rows' counts
	for _, l := range strings.Split(got, "\n") {
		zone, rest, ok := strings.Cut(l, ", type ")
		if !ok || !strings.HasPrefix(l, "Node ") {
			continue
		}
		f := strings.Fields(rest)
		rows[strings.Join(strings.Fields(zone), " ")] = append(rows[strings.Join(strings.Fields(zone), " ")], f[1:])
	}
	for _, z := range o.populatedZones() {
		label := fmt.Sprintf("Node %d, zone %s", z.Node, z.Name)
		r := rows[label]
		if len(z.FreeLists) == 0 || len(r) != len(z.FreeLists[0]) {
			t.Errorf("%s: %d free-list rows, drgn has %d types", label, len(r), len(z.FreeLists[0]))
			continue
		}
		for mt := range r {
			for order, c := range r[mt] {
				if order >= len(z.FreeLists) || c != fmt.Sprint(z.FreeLists[order][mt]) {
					t.Errorf("%s type %d order %d: %s, drgn counts %v", label, mt, order, c, z.FreeLists)
					break
				}
			}
			if len(r[mt]) != len(z.FreeLists) {
				t.Errorf("%s type %d: %d orders, drgn %d", label, mt, len(r[mt]), len(z.FreeLists))
			}
		}
	}
}

// oracleDiskstats: diskstats_show() from each device's bd_stats as drgn
// sums them over the CPUs: I/Os, merges and sectors as read, times in ms
// (nanoseconds / 10^6), io_ticks jiffies_to_msecs(), the time in queue
// the four directions' nanoseconds summed; I/Os in flight not compared
// (drgn does not count the queues' requests).
func oracleDiskstats(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	o.need(t, "bdevs")
	if o.HZ == 0 {
		t.Fatalf("drgn found no HZ")
	}
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		f := strings.Fields(l)
		if len(f) < 20 {
			t.Errorf("line %q", l)
			continue
		}
		major, _ := strconv.ParseUint(f[0], 10, 64)
		minor, _ := strconv.ParseUint(f[1], 10, 64)
		found := false
		for _, b := range o.Bdevs {
			if b.Dev != major<<20|minor || len(b.IOs) < 4 {
				continue
			}
			found = true
			ms := func(d int) uint64 { return b.Nsecs[d] / 1e6 }
			want := []uint64{b.IOs[0], b.Merges[0], b.Sectors[0], ms(0), b.IOs[1], b.Merges[1], b.Sectors[1], ms(1), 0,
				b.IOTicks * 1000 / uint64(o.HZ), (b.Nsecs[0] + b.Nsecs[1] + b.Nsecs[2] + b.Nsecs[3]) / 1e6,
				b.IOs[2], b.Merges[2], b.Sectors[2], ms(2), b.IOs[3], ms(3)}
			for i, w := range want {
				if i == 8 {
					continue // in flight
				}
				if f[3+i] != fmt.Sprint(w) {
					t.Errorf("%s field %d: %s, drgn %d", f[2], i+1, f[3+i], w)
				}
			}
		}
		if !found {
			t.Errorf("%s (%d:%d): drgn has no such block device", f[2], major, minor)
		}
	}
}
