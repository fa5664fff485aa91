package memory

import (
	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/meminfo",
		Mirrors: "meminfo_proc_show() in fs/proc/meminfo.c, hugetlb_report_meminfo() and x86's arch_report_meminfo()",
		Desc:    "memory usage, every field the kernel's configuration prints",
		Tracker: emit.Done,
		Note: "a zswap kernel whose pools go through the zpool driver gets no Zswap: line (zswap_total_pages() asks each driver); " +
			"CONFIG_HIGHMEM and !CONFIG_MMU lines do not exist on x86_64",
		Run: func(c *emit.Context, _ int64, out *emit.Output) error {
			m, err := meminfo(c)
			if err != nil {
				return err
			}
			for _, l := range m.lines {
				out.WriteString(l.text)
			}
			for _, r := range m.partial {
				out.Partial("%s", r)
			}
			return nil
		},
	})
}

// meminfo computes /proc/meminfo once per run (free reads it too), in
// meminfo_proc_show()'s order; the CONFIG_ conditionals are decided by the
// symbols and enumerators they bring.
func meminfo(c *emit.Context) (*meminfoData, error) {
	return emit.Once(c, "meminfo", func() (*meminfoData, error) {
		p := c.Prog
		vm, err := vmstat(c)
		if err != nil {
			return nil, err
		}
		cpus, err := linux.CPUsRunningBeforePanic(p)
		if err != nil {
			return nil, err
		}
		z := func(item string) miVal { return miv(vm.ZoneState(item)) }
		n := func(item string) miVal { return miv(vm.NodeState(item)) }
		var b meminfoData
		buffers := miv(linux.NrBlockdevPages(p))
		swapFree, swapTotal, err := linux.SiSwapinfo(p)
		swapcache := miv(linux.TotalSwapcachePages(p, vm))
		sreclaimable, sunreclaim := n("NR_SLAB_RECLAIMABLE_B"), n("NR_SLAB_UNRECLAIMABLE_B")

		b.pages("MemTotal:       ", miv(linux.TotalramPages(p)))
		b.pages("MemFree:        ", z("NR_FREE_PAGES"))
		b.pages("MemAvailable:   ", miv(linux.SiMemAvailable(p, vm)))
		b.pages("Buffers:        ", buffers)
		// cached = NR_FILE_PAGES - total_swapcache_pages() - bufferram, at least 0
		b.pages("Cached:         ", miSub(miSub(n("NR_FILE_PAGES"), swapcache), buffers))
		b.pages("SwapCached:     ", swapcache)
		b.pages("Active:         ", miAdd(n("NR_ACTIVE_ANON"), n("NR_ACTIVE_FILE")))
		b.pages("Inactive:       ", miAdd(n("NR_INACTIVE_ANON"), n("NR_INACTIVE_FILE")))
		b.pages("Active(anon):   ", n("NR_ACTIVE_ANON"))
		b.pages("Inactive(anon): ", n("NR_INACTIVE_ANON"))
		b.pages("Active(file):   ", n("NR_ACTIVE_FILE"))
		b.pages("Inactive(file): ", n("NR_INACTIVE_FILE"))
		b.pages("Unevictable:    ", n("NR_UNEVICTABLE"))
		b.pages("Mlocked:        ", z("NR_MLOCK"))
		// CONFIG_HIGHMEM (HighTotal…) and !CONFIG_MMU (MmapCopy) do not exist on x86_64.
		b.pages("SwapTotal:      ", miVal{swapTotal, err})
		b.pages("SwapFree:       ", miVal{swapFree, err})
		meminfoZswap(c, &b)
		b.pages("Dirty:          ", n("NR_FILE_DIRTY"))
		b.pages("Writeback:      ", n("NR_WRITEBACK"))
		b.pages("AnonPages:      ", n("NR_ANON_MAPPED"))
		b.pages("Mapped:         ", n("NR_FILE_MAPPED"))
		b.pages("Shmem:          ", n("NR_SHMEM"))
		b.pages("KReclaimable:   ", miAdd(sreclaimable, n("NR_KERNEL_MISC_RECLAIMABLE")))
		b.pages("Slab:           ", miAdd(sreclaimable, sunreclaim))
		b.pages("SReclaimable:   ", sreclaimable)
		b.pages("SUnreclaim:     ", sunreclaim)
		b.kb("KernelStack:    ", n("NR_KERNEL_STACK_KB"))
		if linux.HasEnumValue(p, "NR_KERNEL_SCS_KB") { // CONFIG_SHADOW_CALL_STACK
			b.kb("ShadowCallStack:", n("NR_KERNEL_SCS_KB"))
		}
		b.pages("PageTables:     ", miv(vm.NodeOrZoneState("NR_PAGETABLE")))
		if linux.HasEnumValue(p, "NR_SECONDARY_PAGETABLE") { // 6.0+
			b.pages("SecPageTables:  ", n("NR_SECONDARY_PAGETABLE"))
		}
		b.pages("NFS_Unstable:   ", miVal{})
		// Kernels that dropped the bounce buffers and FUSE's temporary
		// writeback counters (7.2 has neither enumerator) print 0.
		b.pages("Bounce:         ", zeroWithout(p, "NR_BOUNCE", z))
		b.pages("WritebackTmp:   ", zeroWithout(p, "NR_WRITEBACK_TEMP", n))
		b.pages("CommitLimit:    ", miv(linux.VMCommitLimit(p)))
		b.pages("Committed_AS:   ", miv(linux.VMMemoryCommitted(p, cpus)))
		total, err := linux.VmallocTotal(p)
		b.kb("VmallocTotal:   ", miVal{total >> 10, err})
		b.pages("VmallocUsed:    ", miv(linux.VmallocNrPages(p, vm)))
		b.pages("VmallocChunk:   ", miVal{})
		b.pages("Percpu:         ", miv(linux.PcpuNrPages(p)))
		meminfoMemtest(c, &b)
		if linux.HasSymbol(p, "num_poisoned_pages") { // CONFIG_MEMORY_FAILURE
			x := miv(p.VarAs("num_poisoned_pages", "atomic_long_t").Member("counter").Uint())
			x.n <<= linux.PageShift - 10
			b.line("HardwareCorrupted: %5d kB\n", x)
		}
		if linux.HasSymbol(p, "transparent_hugepage_flags") { // CONFIG_TRANSPARENT_HUGEPAGE
			thp := n // counted in base pages, or in huge pages before 5.13
			if !linux.THPStatsInPages(p) {
				thp = func(item string) miVal { v := n(item); v.n *= linux.HPagePMDNr; return v }
			}
			b.pages("AnonHugePages:  ", thp("NR_ANON_THPS"))
			b.pages("ShmemHugePages: ", thp("NR_SHMEM_THPS"))
			b.pages("ShmemPmdMapped: ", thp("NR_SHMEM_PMDMAPPED"))
			b.pages("FileHugePages:  ", thp("NR_FILE_THPS"))
			b.pages("FilePmdMapped:  ", thp("NR_FILE_PMDMAPPED"))
		}
		if linux.HasEnumValue(p, "MIGRATE_CMA") { // CONFIG_CMA
			b.pages("CmaTotal:       ", miv(p.VarAs("totalcma_pages", "unsigned long").Uint()))
			b.pages("CmaFree:        ", z("NR_FREE_CMA_PAGES"))
		}
		if linux.HasEnumValue(p, "NR_UNACCEPTED") { // CONFIG_UNACCEPTED_MEMORY
			b.pages("Unaccepted:     ", z("NR_UNACCEPTED"))
		}
		// Lines of node counters newer kernels added (7.2): each with its
		// enumerator.
		for _, l := range []struct{ label, item string }{
			{"Balloon:        ", "NR_BALLOON_PAGES"},
			{"GPUActive:      ", "NR_GPU_ACTIVE"},
			{"GPUReclaim:     ", "NR_GPU_RECLAIM"},
		} {
			if linux.HasEnumValue(p, l.item) {
				b.pages(l.label, n(l.item))
			}
		}
		meminfoHugetlb(c, &b)
		meminfoDirectMap(c, &b)
		return &b, nil
	})
}

// zeroWithout reads item through read, or gives 0 when the kernel has no
// such counter and prints a constant 0 in its place.
func zeroWithout(p *object.Program, item string, read func(string) miVal) miVal {
	if !linux.HasEnumValue(p, item) {
		return miVal{}
	}
	return read(item)
}
