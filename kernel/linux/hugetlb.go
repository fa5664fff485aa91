package linux

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// This file follows mm/hugetlb.c and include/linux/hugetlb.h.

// maxHstates bounds hugetlb_max_hstate (HUGE_MAX_HSTATE is 2 on x86).
const maxHstates = 16

// HugetlbEnabled reports whether the kernel has CONFIG_HUGETLB_PAGE.
func HugetlbEnabled(p *object.Program) bool { return HasSymbol(p, "hstates") }

// HugepagesSupported mirrors hugepages_supported() on x86
// (arch/x86/include/asm/hugetlb.h): boot_cpu_has(X86_FEATURE_PSE), word 0
// bit 3 of boot_cpu_data.x86_capability.
func HugepagesSupported(p *object.Program) (bool, error) {
	w, err := p.VarAs("boot_cpu_data", "struct cpuinfo_x86").Member("x86_capability[0]").Uint()
	return w&(1<<3) != 0, err
}

// Hstate is one huge page size (struct hstate).
type Hstate struct {
	Obj                                                object.Object
	Order                                              uint64
	NrHugePages, FreeHugePages, ResvHugePages, Surplus uint64
}

// HugePageSize is huge_page_size(h) in bytes.
func (h Hstate) HugePageSize() uint64 { return 1 << (PageShift + h.Order) }

// Hstates reads hstates[0 .. hugetlb_max_hstate), for_each_hstate(), and
// default_hstate_idx. A kernel without CONFIG_HUGETLB_PAGE has none.
func Hstates(p *object.Program) (hs []Hstate, defaultIdx int, err error) {
	if !HugetlbEnabled(p) {
		return nil, 0, nil
	}
	n, err := p.VarAs("hugetlb_max_hstate", "int").Int()
	if err != nil {
		return nil, 0, err
	}
	if n < 0 || n > maxHstates {
		return nil, 0, fmt.Errorf("hugetlb_max_hstate = %d, not plausible", n)
	}
	d, err := p.VarAs("default_hstate_idx", "int").Int()
	if err != nil {
		return nil, 0, err
	}
	for i := range n {
		o := SymbolIndex(p, "hstates", "struct hstate", int(i))
		h := Hstate{Obj: o}
		for _, f := range []struct {
			member string
			dst    *uint64
		}{
			{"order", &h.Order}, {"nr_huge_pages", &h.NrHugePages}, {"free_huge_pages", &h.FreeHugePages},
			{"resv_huge_pages", &h.ResvHugePages}, {"surplus_huge_pages", &h.Surplus},
		} {
			if *f.dst, err = o.Member(f.member).Uint(); err != nil {
				return nil, 0, err
			}
		}
		if h.Order > 30 {
			return nil, 0, fmt.Errorf("hstates[%d].order = %d, not plausible", i, h.Order)
		}
		hs = append(hs, h)
	}
	return hs, int(d), nil
}

// HugetlbTotalPages mirrors hugetlb_total_pages(): the base pages held by
// every huge page pool (0 without CONFIG_HUGETLB_PAGE).
func HugetlbTotalPages(p *object.Program) (uint64, error) {
	hs, _, err := Hstates(p)
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, h := range hs {
		total += h.NrHugePages << h.Order
	}
	return total, nil
}
