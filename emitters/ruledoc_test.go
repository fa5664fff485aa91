package emitters

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// ruleDocs says, for every output, how its rule compares it with the
// ground truth and why any tolerance is as wide as it is. docs/testing.md
// is generated from this table and the rule maps (checks, pidChecks,
// oracleChecks); TestTestingDoc fails when it is stale
// (VMCORE_REPORT_UPDATE_DOCS=1 go test -run TestTestingDoc ./emitters
// rewrites it). A pattern ending in "*" matches a prefix.
var ruleDocs = []struct{ pattern, rule string }{
	{"proc/version", "Byte for byte with the capture: fixed at boot."},
	{"proc/cmdline", "Byte for byte: fixed at boot."},
	{"proc/modules", "Byte for byte: the module list, sizes, use counts and addresses did not change after the guest loaded its modules."},
	{"proc/mounts", "Byte for byte: the guest mounted everything before the capture."},
	{"proc/filesystems", "Byte for byte: filesystem types register at boot and module load."},
	{"proc/locks", "Byte for byte: the fixture's locks were taken before the capture and held."},
	{"proc/swaps", "Byte for byte: the swap area was set up before the capture and nothing swapped (Used stays 0 on an idle 512 MiB guest)."},
	{"proc/cpuinfo", "Byte for byte: identification, features, cpu_khz and loops_per_jiffy are fixed at boot."},
	{"proc/partitions", "Byte for byte: disks and sizes were fixed before the capture."},
	{"proc/devices", "Byte for byte: majors register at boot and module load."},
	{"proc/sys/kernel/printk", "The last three fields exactly; the first is 15 in any panic dump (panic() calls console_verbose()), the value before is lost."},
	{"proc/sys/*", "Byte for byte with the guest's /proc/sys file: sysctls the guest did not change after the capture."},
	{"sos_commands/kernel/sysctl_-a", "Exactly the guest's `sysctl -a` lines of the sysctls the report covers (every proc/sys file it writes), in its order; kernel.printk as above. An empty, shortened or changed file fails."},
	{"sos_commands/kernel/uname_-a", "Byte for byte with the guest's `uname -a`."},
	{"sos_commands/host/hostname", "Byte for byte with the guest's `hostname`."},
	{"sys/devices/system/cpu/possible", "Byte for byte: fixed at boot."},
	{"sys/devices/system/cpu/present", "Byte for byte: fixed at boot."},
	{"sys/devices/system/cpu/online", "Exactly the CPU of the panic report in the dump's log (\"CPU: N … PID:\"), one the live system had: after panic() only the panicking CPU is marked online."},
	{"sos_commands/kernel/dmesg", "Line for line with `makedumpfile --dump-dmesg` of the same dump, panic included (its caller ids and continuation-line indents are form, not content); and every line of the guest's dmesg, in order, each matched by a line of its own."},
	{"sos_commands/kernel/lsmod", "Module by module: size, use count and users exactly as busybox lsmod printed them."},
	{"proc/meminfo", "Field names and widths as the kernel's. Against drgn, exactly: the fields that are one raw counter or a sum of two (MemTotal, MemFree, the LRU lists, Dirty, Writeback, AnonPages, Mapped, Shmem, slab, PageTables, SwapTotal …) and Committed_AS (vm_committed_as summed over the live CPUs), Percpu (populated chunk pages), VmallocUsed, Buffers (nr_blockdev_pages()) and Cached (file pages less swap cache and Buffers; the swap cache NR_SWAPCACHE, before 5.12 total_swapcache_pages() as drgn's script sums it); SwapCached; SwapFree (si_swapinfo()); MemAvailable as si_mem_available() computes it from drgn's free, file and reclaimable pages, totalreserve_pages and the zones' low watermarks; CommitLimit (vm_commit_limit(): the overcommit sysctls, RAM less the huge page pools, swap); the THP lines (AnonHugePages …) from their node counters in drgn's unit; SecPageTables; the huge page lines from drgn's hstates. Against the capture (in the OOM scenario, which filled the memory with huge pages and swapped after its capture, only the unmoving fields but SwapCached, SwapFree and AnonHugePages), the rest within bands in units of T, the size of the capture written to tmpfs: free memory down by at most 3T + 4 MiB, page-cache and slab fields up by at most T + 4 MiB (the capture's own files), AnonHugePages ±1 huge page (2 MiB: a process may fault one in after the capture), the others ±1 MiB; unmoving fields exactly."},
	{"proc/vmstat", "Against drgn, exactly: zone items (negative reads 0), NUMA events after fold_vm_numa_events() (the per-CPU pending counts added), node items (THP items in huge pages: divided by 512 where they count base pages, 5.13+; before, as they are: drgn reads the unit from memory.stat's memory_stats[] ratio), the dirty thresholds as global_dirty_limits() computes them from drgn's free and file pages, totalreserve_pages and dirty sysctls, 6.11+'s nr_memmap_pages and nr_memmap_boot_pages, and every VM event (per-CPU counts summed, pgpgin/pgpgout halved). The dirty thresholds also by TestMMFilesAgree's recomputation from the other files. Against the capture: names in order; counters only grow."},
	{"proc/zoneinfo", "Against drgn, exactly, every zone (the empty ones too): pages free, min/low/high (and promo where printed: 6.12, 7.2; watermark plus boost), spanned, present, managed, every zone and node item, the zone's NUMA events (before 5.14: vm_numa_stat plus the online CPUs' vm_numa_stat_diff, zone_numa_state_snapshot()), each CPU's pageset count, high and batch (and high_min, high_max where printed: 7.2), the highatomic reserve's pageblocks and free pages where printed, protection (lowmem_reserve[]), each CPU's vm stats threshold, node_unreclaimable (kswapd_failures at least 16) and start_pfn. protection also as setup_per_zone_lowmem_reserve() recomputes it. Text as the kernel's up to each value."},
	{"proc/buddyinfo", "Each zone's free lists add up exactly to its NR_FREE_PAGES with the unfolded per-CPU differences (drgn: zone_page_state_snapshot()); zones and orders as the capture's."},
	{"proc/pagetypeinfo", "Against drgn, exactly: every free-list count (entries of free_area[order].free_list[type], zone by zone). Against the capture: header lines exact; free-list rows by zone and type; each zone's free pages by the gauge rule; pageblock counts per zone exactly, single types within T/512 + 16 blocks (allocations steal whole pageblocks); in the OOM scenario, which filled the memory after the capture, only the headers and each zone's pageblocks in all."},
	{"proc/slabinfo", "Against drgn, exactly: active objects (objects less the free ones on the nodes' partial lists, count_partial()), objects, and slabs of every cache; as many caches. Against the capture: header, order, objsize, objects and pages per slab, tunables exactly; get_slabinfo()'s invariants; object counts of the caches the capture grows (dentry, proc, shmem, LSM and plain inodes: one per file it reads or writes; and 5.10's skbuff_ext_cache, into which SLUB merges a cache that grows with the files written: +1062 objects by the OOM scenario's crash) within 4 objects per captured file + 16 slabs, every other cache within 32 slabs (measured: at most 20, maple_node on 6.12, from the tar, sync and forks after the capture); the counts against the crash-instant capture where the set has one (the truth tar and that capture are written to disk after the first: bio-192 up 39 slabs on 7.2); a kdump scenario has none, and its bio caches may grow by 128 slabs (the truth tar's writes: bio-192 up 51 slabs on 7.2), 256 in the OOM scenario (its swap writes)."},
	{"sos_commands/memory/free", "Total, free, shared (Shmem), buff/cache (file pages less swap cache, plus reclaimable slab), available (si_mem_available() from drgn's values), used (total - available) and the swap line (si_swapinfo()) exactly against drgn; procps' arithmetic (used = total - available) exactly; the rest by the meminfo bands against busybox free."},
	{"proc/stat", "Against drgn, exactly: user, nice, system, irq, softirq, steal, guest, guest_nice of every cpu line (kernel_cpustat in ns / 10^7, the cpu line summed in ns); idle and iowait as get_idle_time()/get_iowait_time() fold drgn's raw values (a CPU online while the guest ran, with NO_HZ active: the tick's idle_sleeptime/iowait_sleeptime plus the running idle period up to the dump's monotonic clock, split by rq->nr_iowait, in whole microseconds; else kernel_cpustat's; 7.x, where kernel_cpustat has idle_elapse: every possible CPU's kcpustat_field_idle()/_iowait() as drgn's script computes them from the raw members after 7.2.13's kernel/sched/cputime.c: cpustat plus, while idle_elapse is set and rq->nr_iowait says this sleep counts, the time since idle_entrytime up to the monotonic clock less idle_stealtime[], in ns); the intr line (the total: kstat irqs_sum plus arch_irq_stat_cpu()'s irq_stat members on every possible CPU plus irq_err_count; each irq's kstat_irqs_usr(): tot_count, or per-CPU and NMI interrupts' counts summed); the softirq line, ctxt (rq->nr_switches summed), processes (total_forks), procs_running (nr_running() over the CPUs online while the guest ran) and procs_blocked (nr_iowait() over the possible CPUs). Against the capture: every counter grown, by at most the clock ticks (100/s per CPU) or events (20000/s, above what a 2-CPU TCG guest reaches) of the capture window plus 10 s; btime exactly."},
	{"proc/softirqs", "Every CPU column exactly against drgn (kstat softirqs); labels as the capture's."},
	{"proc/interrupts", "Every count exactly against drgn: an irq row's columns per_cpu(desc->kstat_irqs, cpu) of the descriptor drgn finds for that irq (walking sparse_irqs or irq_desc_tree itself), an arch row's the CPU's irq_stat member arch_show_interrupts() prints under that label (7.x: irq_stat.counts[] named by irq_stat_info[]), ERR and MIS the global counts. Against the capture: header, labels, chip, hwirq and handler text exactly (widths too); every count grown since the capture, by at most 20000/s over the capture window plus 10 s."},
	{"proc/diskstats", "Against drgn, exactly: every counter of every device from its bd_stats (5.10: its hd_struct's dkstats, the block class's devices) summed over the CPUs (times in ms, io_ticks through HZ, time in queue the four directions summed); I/Os in flight not compared. Against the capture: devices, numbers and names exactly; every counter at least the captured one (the guest wrote the truth tar to vdb after the capture) and at most: I/O, merge and sector counts + 4T + 1024 (T the capture's size in kB: the tar is 2T sectors, doubled for headers, ext4 metadata and journal), io_ticks + the capture window's wall time, summed request times + that wall time per I/O completed meanwhile; the OOM scenario's swap device + 200000 sectors a second (it swaps after the capture); I/Os in flight, a gauge at 0 when idle, not compared."},
	{"proc/uptime", "Uptime exactly as drgn reads the boot-time clock at the last timekeeper update (tk_core: tkr_mono base and nanoseconds plus offs_boot). From 0.3 s before to 1.0 s after the panic line's stamp (vCPUs stall under host load: measured -0.14 s on 7.2, +0.68 s on 6.1 at a load of 15-20) in the dump's own log (makedumpfile --dump-dmesg): printk's clock and the boot-time clock run together here, and the panic prints a page of backtrace before the CPUs stop; idle at most uptime on every CPU. Idle exactly as drgn's values give it: get_idle_time() (7.x: kcpustat_field_idle(), computed by drgn's script) summed over the possible CPUs (as proc/stat's idle; Debian's 5.10 has it too: its live uptime and stat idle agree). Both grown since the capture; the kernel's two-decimal format."},
	{"proc/loadavg", "Against drgn, exactly: the averages (avenrun folded as loadavg_proc_show()), runnable (rq->nr_running over the CPUs online while the guest ran), threads (nr_threads), the last pid (the pid allocator's cursor less 1). Against the capture: averages within 1.0 (of the crash-instant capture's where the set has one: the second capture and its write to disk are a burst of runnable tasks) (recomputed every 5 s from a handful of runnable tasks); runnable between 1 and threads; the last pid only grows."},
	{"sos_commands/vmcore/sys", "Every line, in crash's order. Exactly: DUMPFILE the dump's name; CPUS the capture's present CPUs with the ones panic() stopped as OFFLINE (none with kdump); NODENAME, RELEASE, VERSION, MACHINE as the capture's uname and /proc/version, MACHINE's MHz as its cpuinfo's (cpu_khz); MEMORY crash's rounding of the present pages (the capture's zoneinfo, and drgn's node_present_pages); PANIC and CPU from the panic line and report in the dump's own log (makedumpfile --dump-dmesg); TAINT the capture's kernel.tainted; LOAD AVERAGE from drgn's avenrun; DATE and UPTIME exactly from drgn's wall and boot-time clocks (tk_core); TASKS drgn's nr_threads plus one idle task per present CPU (crash counts both); PID, COMMAND and TASK the panicking CPU's rq->curr as drgn reads it. DATE: also the capture's btime plus the panic stamp, within 1.3 s before (btime is whole seconds; clock offsets) and 2 s after (the panic prints its backtrace first; vCPUs stall under host load); UPTIME the stamp's whole seconds, in that window less btime's second. CULPRIT: the crash's culprit (sysrq_handle_crash, or the scenario's)."},
	{"sos_commands/host/uptime", "Load averages exactly from drgn's avenrun; the time of day exactly drgn's wall clock at the last timekeeper update (UTC), the time up its boot-time clock's. The uptime(1) format; time of day from busybox uptime's up to the capture window later; load averages as proc/loadavg's against the capture; no user count (not in a dump)."},
	{"sos_commands/process/ps_*", "Header exactly, pid columns as wide as pid_max has digits. For every long-lived process: USER and COMMAND as busybox ps; PPID, NI, NLWP, VSZ, SZ, RSS, %MEM and the state letter exactly as its /proc/<pid>/stat and status in the capture (pid 1, the shell that crashed the guest: its memory as the crash-instant capture's within 4 pages (measured equal on four kernels; a page the shell may touch forking the capture's tar | dd), or in a kdump scenario, without one, within 10 % of the capture's; kernel threads' and pid 1's state moves; in the OOM scenario RSS and %MEM only against drgn); TIME at least utime+stime of the capture and at most that plus the capture window plus 10 s on every CPU. ps -L: every thread of the fixture's threaded process. Against drgn, every row exactly: the rows are drgn's processes (ps -L: threads) in /proc's order; PPID the real parent's tgid; VSZ and SZ mm->total_vm; RSS and %MEM task_mem()'s VmRSS (procps' tenths of MemTotal); NLWP the threads of the tgid; PRI (-l) prio - 100 + 60, NI static_prio - 120 (\"-\" for real-time policies); the state letter task_state_index()'s; START/STIME exactly getboottime64()'s whole seconds (drgn's timekeeper offsets) plus start_boottime's, as HH:MM (procps: btime + start_time / Hertz); TIME, %CPU and C from utime and stime as cputime_adjust() splits drgn's sum_exec_runtime (a process's: its threads' and its signal struct's, against signal->prev_cputime; a thread's its own), %CPU and C over the time since start_boottime on drgn's boot-time clock (procps' tenths, and whole percent capped at 99); a kernel thread's command its comm in brackets, a workqueue worker's ending with its struct worker's description (wq_worker_comm(): a dash and the description, a plus while it runs a work); any other task's command exactly procps-ng 4.0.4's args (read_unvectored(), escape_str() in the C locale) of its /proc/<pid>/cmdline by the kernel's rule (get_mm_cmdline()), from the argument area drgn's helper (drgn.helpers.linux.mm.cmdline()) reads, wherever it could (7.2's -d 1 reference dumps have the user pages; a task without an mm, on every set: \"[comm]\", \" <defunct>\" for a zombie)."},
	{"proc/{pid}/stat", "Against drgn, exactly: minflt and majflt (the signal struct's plus every thread's), cminflt, cmajflt, cutime, cstime (the signal struct's), utime and stime (thread_group_cputime_adjusted(): cputime_adjust() over drgn's run times), the block I/O delay (delays->blkio_delay), in clock ticks; pid, state (task_state_index()), ppid, flags, priority (prio - 100), nice, threads, start time (start_boottime in clock ticks) and policy; vsize (total_vm) and rss (get_mm_rss(): the RSS counters' shared counts, which on 6.2+ leave out the CPUs' unfolded parts: 416 pages for pid 1 on 6.12 where status says 454). Against the capture: every field exactly as the capture's, except: fault counts and CPU times only grow, by at most the capture window plus 10 s of clock ticks on every CPU (faults: 20000 a second); the state and wchan of the tasks that ran between capture and crash (kernel threads, pid 1); the last CPU (0 or 1); pid 1's RSS as the crash-instant capture's within 4 pages (see status); in the OOM scenario, which swapped the processes out after the capture, the RSS and kernel threads' flags (reclaim blocked them outside their freezable sleep) only against drgn."},
	{"proc/{pid}/status", "Against drgn, exactly: voluntary_ctxt_switches and nonvoluntary_ctxt_switches (the task's nvcsw and nivcsw); every Vm*/Rss* line as task_mem() computes it from drgn's mm_struct (the RSS counters summed over the live CPUs on 6.2+, as Debian's 6.12 and 7.2 print them; high-water marks; text and library pages split at the code's page span). Against the capture: line for line as the capture's, except: context-switch counts only grow, by at most 20000 a second over the capture window; the state of kernel threads and pid 1; pid 1's Vm*/Rss* as the crash-instant capture's within 4 pages (after it the shell only forks the tar | dd that writes it and writes sysrq-trigger; a fork moves no page of the parent's; measured equal on four kernels), or in a kdump scenario, which has no crash-instant capture, within 10 % of the capture's (it kept forking after the capture); in the OOM scenario every process's Vm*/Rss* lines only against drgn (swapped out after the capture: VmRSS 9104 -> 840 kB on 6.1)."},
	{"proc/{pid}/statm", "Exactly as task_statm() computes it from drgn's mm_struct (size, resident, shared, text, data + stack). Against the capture: exactly, except pid 1's pages (as its status lines); in the OOM scenario, but for the resident and shared pages."},
	{"proc/{pid}/comm", "Byte for byte."},
	{"proc/{pid}/limits", "Byte for byte."},
	{"proc/{pid}/mountinfo", "Byte for byte, when the kernel gave one at capture."},
	{"proc/{pid}/stack", "Byte for byte with the capture for the tasks whose stack cannot have changed between capture and crash (stackSkipped in stacktrace_truth_test.go says which and why)."},
	{"proc/{pid}/wchan", "The first function of the same task's /proc/<pid>/stack in the capture (get_wchan() walks that trace), 0 for an empty one; for the tasks whose stack cannot have changed (as proc/{pid}/stack)."},
	{"sos_commands/vmcore/bt_-a", "Every number: frames numbered from 0, stack pointers never going down; each frame's function the capture's kallsyms symbol holding its address (or the address less one: a return address after a call at a function's end); with a vmlinux, each file:line as addr2line (binutils, on the vmlinux, KASLR offset from the capture's _text and System.map) gives it; exception frames in crash's register layout with x86_64's invariants (user mode: CS 0x33, SS 0x2b, addresses below 2^47, IF set; kernel mode: CS 0x10, RIP in kallsyms' text; a system call's frame has RCX = RIP, R11 = RFLAGS, RAX = -ENOSYS; an interrupt's ORIG_RAX = -1); every trace ends in user mode or at a thread's start (not at ret_from_fork where the kernel has ret_from_fork_asm, 6.7+). Against the kdump's own crash notes (NT_PRSTATUS, read with debug/elf from the kdump-made ELF): each CPU the NMI stopped has the note's registers, all 21, in its first register block (user mode), or its first frame at the note's RIP and RSP (kernel mode). Against drgn: each CPU's task (pid, comm, address) is its rq->curr (an idle CPU's: pid 0, swapper/N, its idle task), each CPU that ran shown once. The crash path: the panicking task's frames from the syscall to panic() through the culprit (sysrq_handle_crash, or the scenario's), the other CPU stopped by panic()'s IPI (without kdump)."},
	{"sos_commands/vmcore/bt_blocked", "Every number as bt_-a's; each task one the capture saw in D (a scenario's memory pressure may block more, with an allocator frame); traces complete. Against drgn: the blocks are exactly drgn's tasks in D that are no CPU's rq->curr, each with its address and CPU, BLOCKED that CPU's rq->clock less its sched_info.last_arrival."},
	{"proc/{pid}/cmdline", "Byte for byte on the lzo-d1 dump (TestCmdlineFromUserPages); empty on dumps without user pages. Against drgn, exactly: get_mm_cmdline() of the argument area drgn's helper reads (7.2's -d 1 reference dumps), empty for a kernel thread or a task without an mm."},
}

func ruleDocFor(path string) string {
	for _, r := range ruleDocs {
		if r.pattern == path || strings.HasSuffix(r.pattern, "*") && strings.HasPrefix(path, strings.TrimSuffix(r.pattern, "*")) {
			return r.rule
		}
	}
	return ""
}

// testingDoc renders docs/testing.md.
func testingDoc() string {
	var b strings.Builder
	b.WriteString(`# How the outputs are tested

Generated from the rule table of emitters/ruledoc_test.go by TestTestingDoc
(` + "`VMCORE_REPORT_UPDATE_DOCS=1 go test -run TestTestingDoc ./emitters`" + `); do not edit.

Every output is compared with ground truth from real crash dumps
(testdata/gen, ` + "`make fixtures`" + `): the guest's own /proc, /sys and command
outputs captured seconds before the crash (the capture), and drgn's raw
counters read from the same dump (testdata/oracle/oracle.py, the second
oracle; exact, with the kernel's folding rules applied in the test).
Both apply to every set: each kernel's own (QEMU-dumped) set and its kdump
scenarios (sysrq, OOM, hung task: another boot each, dumped by makedumpfile
in the capture kernel), drgn reading the set's own reference dump; where a
scenario changes an output on purpose after its capture
(emitters/scenario_test.go), only drgn's rules compare it.
` + "`make mutation`" + ` breaks every output on purpose, whole and one number at a
time (10 % too large, then 0), and counts the breakages these rules catch.

| output | rules | how it is compared, and why any tolerance is as wide as it is |
|---|---|---|
`)
	paths := map[string]bool{}
	for _, e := range All() {
		paths[e.Path] = true
	}
	var sorted []string
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	for _, p := range sorted {
		var kinds []string
		if checks[p] != nil || pidChecks[p] != nil {
			kinds = append(kinds, "capture")
		}
		if oracleChecks[p] != nil || pidOracleChecks[p] != nil {
			kinds = append(kinds, "drgn")
		}
		doc := ruleDocFor(p)
		if doc == "" {
			doc = "(no description in emitters/ruledoc_test.go)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", p, strings.Join(kinds, ", "), strings.ReplaceAll(doc, "|", "\\|"))
	}
	return b.String()
}

func TestTestingDoc(t *testing.T) {
	path := filepath.Join(fixtures.RepoRoot(), "docs", "testing.md")
	want := testingDoc()
	if os.Getenv("VMCORE_REPORT_UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Errorf("docs/testing.md is stale: VMCORE_REPORT_UPDATE_DOCS=1 go test -run TestTestingDoc ./emitters")
	}
}
