package process

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

const (
	pageShift     = 12 // PAGE_SHIFT on x86_64
	mmfDisableTHP = 24 // MMF_DISABLE_THP, include/linux/sched/coredump.h
)

// mmStats are the mm_struct values task_mem(), task_statm() and ps read, in
// pages unless named otherwise.
type mmStats struct {
	totalVM, hiwaterVM, lockedVM, pinnedVM, hiwaterRSS uint64
	dataVM, stackVM, execVM                            uint64
	startCode, endCode, pgtablesBytes                  uint64
	anon, file, shmem, swap                            uint64 // get_mm_counter_sum (6.2+), get_mm_counter before
}

// readMMStats reads what task_mem() needs from the struct mm_struct object
// mm; the RSS counters are summed over the CPUs running before the panic.
// Read once per run and mm: status, statm and stat of a process and every
// thread's line of ps share it.
func readMMStats(c *emit.Context, mm object.Object) (mmStats, error) {
	addr, ok := mm.Address()
	if !ok {
		return computeMMStats(c, mm)
	}
	s, err := emit.Once(c, "emitters/mm-stats/"+strconv.FormatUint(addr, 16), func() (mmStats, error) {
		return computeMMStats(c, mm)
	})
	if err != nil {
		// Read again for this caller's own error (its path in the message).
		return computeMMStats(c, mm)
	}
	return s, nil
}

func computeMMStats(c *emit.Context, mm object.Object) (mmStats, error) {
	var s mmStats
	cpus, err := c.RunningCPUs()
	if err != nil {
		return s, err
	}
	for _, f := range []struct {
		member string
		dst    *uint64
	}{
		{"total_vm", &s.totalVM}, {"hiwater_vm", &s.hiwaterVM}, {"locked_vm", &s.lockedVM},
		{"pinned_vm.counter", &s.pinnedVM}, {"hiwater_rss", &s.hiwaterRSS}, {"data_vm", &s.dataVM},
		{"stack_vm", &s.stackVM}, {"exec_vm", &s.execVM}, {"start_code", &s.startCode},
		{"end_code", &s.endCode}, {"pgtables_bytes.counter", &s.pgtablesBytes},
	} {
		if *f.dst, err = mm.Member(f.member).Uint(); err != nil {
			return s, err
		}
	}
	for _, f := range []struct {
		member string
		dst    *uint64
	}{
		{linux.MMAnonPages, &s.anon}, {linux.MMFilePages, &s.file},
		{linux.MMShmemPages, &s.shmem}, {linux.MMSwapEnts, &s.swap},
	} {
		if *f.dst, err = linux.GetMMCounterSum(mm, f.member, cpus); err != nil {
			return s, err
		}
	}
	return s, nil
}

// textBytes is task_mem()'s split of executable mappings: the program text
// (PAGE_ALIGN(end_code) - (start_code & PAGE_MASK)), at most exec_vm.
func (s mmStats) textBytes() uint64 {
	const page = 1 << pageShift
	text := (s.endCode+page-1)&^(page-1) - s.startCode&^(page-1)
	return min(text, s.execVM<<pageShift)
}

// taskMemLines mirrors task_mem() (fs/proc/task_mmu.c), then
// task_core_dumping(), task_thp_status() and task_untag_mask().
func taskMemLines(c *emit.Context, task, mm object.Object, feat statusFeatures) (string, error) {
	s, err := readMMStats(c, mm)
	if err != nil {
		return "", err
	}
	rss := s.anon + s.file + s.shmem
	text := s.textBytes()
	var b strings.Builder
	kb := func(name string, pages uint64) { fmt.Fprintf(&b, "%s:\t%8d kB\n", name, pages<<(pageShift-10)) }
	kb("VmPeak", max(s.hiwaterVM, s.totalVM))
	kb("VmSize", s.totalVM)
	kb("VmLck", s.lockedVM)
	kb("VmPin", s.pinnedVM)
	kb("VmHWM", max(s.hiwaterRSS, rss))
	kb("VmRSS", rss)
	kb("RssAnon", s.anon)
	kb("RssFile", s.file)
	kb("RssShmem", s.shmem)
	kb("VmData", s.dataVM)
	kb("VmStk", s.stackVM)
	fmt.Fprintf(&b, "VmExe:\t%8d kB\n", text>>10)
	fmt.Fprintf(&b, "VmLib:\t%8d kB\n", (s.execVM<<pageShift-text)>>10)
	fmt.Fprintf(&b, "VmPTE:\t%8d kB\n", s.pgtablesBytes>>10)
	kb("VmSwap", s.swap)
	if mm.HasMember("hugetlb_usage") { // hugetlb_report_usage(), CONFIG_HUGETLB_PAGE
		v, err := mm.Member("hugetlb_usage.counter").Uint()
		if err != nil {
			return "", err
		}
		kb("HugetlbPages", v)
	}
	// core_state moved from mm_struct to signal_struct in v5.16
	// ("coredump: Move mm->core_state to tsk->signal->core_state").
	coreState := task.Member("signal").Member("core_state")
	if !c.Prog.HasMember("struct signal_struct", "core_state") {
		coreState = mm.Member("core_state")
	}
	core, err := coreState.Uint()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "CoreDumping:\t%d\n", min(core, 1))
	thp := 0
	if _, err := c.Prog.Syms.Addr("transparent_hugepage_flags"); err == nil { // CONFIG_TRANSPARENT_HUGEPAGE
		flags, err := linux.MMFlagsWord(mm)
		if err != nil {
			return "", err
		}
		if flags&(1<<mmfDisableTHP) == 0 {
			thp = 1
		}
	}
	fmt.Fprintf(&b, "THP_enabled:\t%d\n", thp)
	if feat.untagMask {
		mask := ^uint64(0) // mm_untag_mask() without CONFIG_ADDRESS_MASKING
		if mm.HasMember("context.untag_mask") {
			if mask, err = mm.Member("context.untag_mask").Uint(); err != nil {
				return "", err
			}
		}
		fmt.Fprintf(&b, "untag_mask:\t%#x\n", mask)
	}
	return b.String(), nil
}
