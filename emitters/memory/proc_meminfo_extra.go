package memory

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// The optional and arch parts of /proc/meminfo.

// meminfoZswap adds Zswap and Zswapped (CONFIG_ZSWAP). 6.1 keeps the pool
// size in bytes in zswap_pool_total_size; later kernels compute it per pool
// (zswap_total_pages()): read where the pool is zsmalloc's own
// (linux.ZswapTotalPages), left out where it goes through the zpool driver.
func meminfoZswap(c *emit.Context, m *meminfoData) {
	p := c.Prog
	if !linux.HasSymbol(p, "zswap_stored_pages") {
		return
	}
	if linux.HasSymbol(p, "zswap_pool_total_size") {
		b, err := p.VarAs("zswap_pool_total_size", "u64").Uint()
		m.kb("Zswap:          ", miVal{b >> 10, err})
	} else if n, ok, err := linux.ZswapTotalPages(p); ok {
		m.pages("Zswap:          ", miVal{n, err})
	} else {
		m.partial = append(m.partial, "Zswap: zswap_total_pages() sums the zpool drivers' page counts, not read")
	}
	// atomic_t before 6.13, atomic_long_t after: the low 32 bits serve both.
	n, err := p.VarAs("zswap_stored_pages", "atomic_t").Member("counter").Uint()
	m.pages("Zswapped:       ", miVal{n, err})
}

// meminfoMemtest mirrors memtest_report_meminfo() (mm/memtest.c, 6.4+,
// CONFIG_MEMTEST): printed once memtest= ran at boot.
func meminfoMemtest(c *emit.Context, m *meminfoData) {
	p := c.Prog
	if !linux.HasSymbol(p, "early_memtest_done") || !linux.HasSymbol(p, "early_memtest_bad_size") {
		return
	}
	done, err := p.VarAs("early_memtest_done", "bool").Bool()
	if err != nil || !done {
		if err != nil {
			m.partial = append(m.partial, fmt.Sprintf("EarlyMemtestBad: %v", err))
		}
		return
	}
	bad, err := p.VarAs("early_memtest_bad_size", "u64").Uint()
	kb := bad >> 10
	if bad != 0 && kb == 0 {
		kb = 1
	}
	m.line("EarlyMemtestBad:   %5d kB\n", miVal{kb, err})
}

// meminfoHugetlb mirrors hugetlb_report_meminfo() (mm/hugetlb.c).
func meminfoHugetlb(c *emit.Context, m *meminfoData) {
	p := c.Prog
	if !linux.HugetlbEnabled(p) {
		return
	}
	ok, err := linux.HugepagesSupported(p)
	if err != nil {
		m.partial = append(m.partial, fmt.Sprintf("HugePages: %v", err))
		return
	}
	if !ok {
		return
	}
	hs, def, err := linux.Hstates(p)
	if err != nil {
		m.partial = append(m.partial, fmt.Sprintf("HugePages: %v", err))
		return
	}
	var total uint64
	for i, h := range hs {
		total += h.HugePageSize() * h.NrHugePages
		if i == def {
			m.line("HugePages_Total:   %5d\n", miVal{n: h.NrHugePages})
			m.line("HugePages_Free:    %5d\n", miVal{n: h.FreeHugePages})
			m.line("HugePages_Rsvd:    %5d\n", miVal{n: h.ResvHugePages})
			m.line("HugePages_Surp:    %5d\n", miVal{n: h.Surplus})
			m.line("Hugepagesize:   %8d kB\n", miVal{n: h.HugePageSize() >> 10})
		}
	}
	m.line("Hugetlb:        %8d kB\n", miVal{n: total >> 10})
}

// meminfoDirectMap mirrors arch_report_meminfo() in
// arch/x86/mm/pat/set_memory.c: the direct map's pages by size.
func meminfoDirectMap(c *emit.Context, m *meminfoData) {
	p := c.Prog
	level := func(name string) miVal {
		i, err := linux.EnumValue(p, name)
		if err != nil {
			return miVal{err: err}
		}
		return miv(linux.SymbolIndex(p, "direct_pages_count", "unsigned long", int(i)).Uint())
	}
	shift := func(x miVal, s uint) miVal { x.n <<= s; return x }
	m.kb("DirectMap4k:    ", shift(level("PG_LEVEL_4K"), 2))
	m.kb("DirectMap2M:    ", shift(level("PG_LEVEL_2M"), 11))
	gb, err := p.VarAs("direct_gbpages", "int").Int()
	if err != nil {
		m.partial = append(m.partial, fmt.Sprintf("DirectMap1G: %v", err))
		return
	}
	if gb != 0 {
		m.kb("DirectMap1G:    ", shift(level("PG_LEVEL_1G"), 20))
	}
}
