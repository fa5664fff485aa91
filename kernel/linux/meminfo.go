package linux

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// This file holds the sources of /proc/meminfo outside the vmstat counters:
// struct sysinfo's fields (si_meminfo, si_swapinfo in mm/), the
// overcommit accounting (mm/util.c), vmalloc and percpu sizes.

// PageShift is PAGE_SHIFT on x86_64.
const PageShift = 12

// TotalramPages is totalram_pages() (include/linux/mm.h):
// atomic_long_read(&_totalram_pages).
func TotalramPages(p *object.Program) (uint64, error) {
	return p.VarAs("_totalram_pages", "atomic_long_t").Member("counter").Uint()
}

// TotalreservePages is totalreserve_pages (mm/page_alloc.c): the pages
// the watermarks and lowmem reserves keep from user space.
func TotalreservePages(p *object.Program) (uint64, error) {
	return p.VarAs("totalreserve_pages", "unsigned long").Uint()
}

// NrBlockdevPages mirrors nr_blockdev_pages() (block/bdev.c): the page
// cache of every block device inode, struct sysinfo's bufferram.
func NrBlockdevPages(p *object.Program) (uint64, error) {
	sb := p.VarAs("blockdev_superblock", "struct super_block *").Deref()
	var total uint64
	for inode, err := range ListForEachEntry(sb.Member("s_inodes"), "struct inode", "i_sb_list") {
		if err != nil {
			return 0, err
		}
		n, err := inode.Member("i_mapping").Member("nrpages").Uint()
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// maxSwapFiles bounds swap_info[] (MAX_SWAPFILES is 32 less the special
// swap types).
const maxSwapFiles = 32

// SiSwapinfo mirrors si_swapinfo() (mm/swapfile.c): free and total swap
// in pages, counting the pages of a swap area being switched off
// (SWP_USED without SWP_WRITEOK) as both.
func SiSwapinfo(p *object.Program) (free, total uint64, err error) {
	n, err := p.VarAs("nr_swapfiles", "unsigned int").Uint()
	if err != nil {
		return 0, 0, err
	}
	if n > maxSwapFiles {
		return 0, 0, fmt.Errorf("nr_swapfiles = %d, not plausible", n)
	}
	used, err1 := EnumValue(p, "SWP_USED")
	writeok, err2 := EnumValue(p, "SWP_WRITEOK")
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("swap flags: %v %v", err1, err2)
	}
	var toBeUnused uint64
	for i := range n {
		si := SymbolIndex(p, "swap_info", "struct swap_info_struct *", int(i)).Deref()
		flags, err := si.Member("flags").Uint()
		if err != nil {
			return 0, 0, err
		}
		if flags&uint64(used) != 0 && flags&uint64(writeok) == 0 {
			inuse, err := SwapUsageInPages(si)
			if err != nil {
				return 0, 0, err
			}
			toBeUnused += inuse
		}
	}
	nrSwap, err := p.VarAs("nr_swap_pages", "atomic_long_t").Member("counter").Int()
	if err != nil {
		return 0, 0, err
	}
	totalSwap, err := p.VarAs("total_swap_pages", "long").Int()
	if err != nil {
		return 0, 0, err
	}
	return uint64(nrSwap) + toBeUnused, uint64(totalSwap) + toBeUnused, nil
}

// SiMemAvailable mirrors si_mem_available() (mm/page_alloc.c, 6.1;
// mm/show_mem.c, 6.12): free pages above the reserves, plus the page cache
// and reclaimable kernel memory that could be freed without swapping.
func SiMemAvailable(p *object.Program, vm *VMStat) (uint64, error) {
	var wmarkLow uint64
	for zone, err := range ForEachZone(p) {
		if err != nil {
			return 0, err
		}
		w, err := WmarkPages(zone, "WMARK_LOW")
		if err != nil {
			return 0, err
		}
		wmarkLow += w
	}
	reserve, err := TotalreservePages(p)
	if err != nil {
		return 0, err
	}
	var c [5]uint64
	for i, item := range []string{"NR_FREE_PAGES", "NR_ACTIVE_FILE", "NR_INACTIVE_FILE", "NR_SLAB_RECLAIMABLE_B", "NR_KERNEL_MISC_RECLAIMABLE"} {
		if i == 0 {
			c[i], err = vm.ZoneState(item)
		} else {
			c[i], err = vm.NodeState(item)
		}
		if err != nil {
			return 0, err
		}
	}
	available := int64(c[0]) - int64(reserve)
	pagecache := c[1] + c[2]
	pagecache -= min(pagecache/2, wmarkLow)
	available += int64(pagecache)
	reclaimable := c[3] + c[4]
	available += int64(reclaimable - min(reclaimable/2, wmarkLow))
	return uint64(max(available, 0)), nil
}

// VMMemoryCommitted is vm_memory_committed() (mm/util.c):
// percpu_counter_sum_positive(&vm_committed_as), in pages.
func VMMemoryCommitted(p *object.Program, cpus []int) (uint64, error) {
	v, err := PercpuCounterSum(p.VarAs("vm_committed_as", "struct percpu_counter"), cpus)
	return uint64(max(v, 0)), err
}

// VMCommitLimit mirrors vm_commit_limit() (mm/util.c): the overcommit
// limit in pages, from vm.overcommit_kbytes or vm.overcommit_ratio of the
// RAM not given to huge pages, plus swap.
func VMCommitLimit(p *object.Program) (uint64, error) {
	kbytes, err := p.VarAs("sysctl_overcommit_kbytes", "unsigned long").Uint()
	if err != nil {
		return 0, err
	}
	var allowed uint64
	if kbytes != 0 {
		allowed = kbytes >> (PageShift - 10)
	} else {
		ram, err := TotalramPages(p)
		if err != nil {
			return 0, err
		}
		huge, err := HugetlbTotalPages(p)
		if err != nil {
			return 0, err
		}
		ratio, err := p.VarAs("sysctl_overcommit_ratio", "int").Int()
		if err != nil {
			return 0, err
		}
		allowed = (ram - huge) * uint64(ratio) / 100
	}
	swap, err := p.VarAs("total_swap_pages", "long").Int()
	if err != nil {
		return 0, err
	}
	return allowed + uint64(swap), nil
}

// VmallocNrPages is vmalloc_nr_pages() (mm/vmalloc.c): the pages backing
// vmalloc areas, atomic_long_read(&nr_vmalloc_pages).
// Kernels that count them in the node counter NR_VMALLOC (7.2 has the
// enumerator and no nr_vmalloc_pages) read that; the enumerator decides.
func VmallocNrPages(p *object.Program, v *VMStat) (uint64, error) {
	if HasEnumValue(p, "NR_VMALLOC") {
		return v.NodeState("NR_VMALLOC")
	}
	return p.VarAs("nr_vmalloc_pages", "atomic_long_t").Member("counter").Uint()
}

// PcpuNrPages is pcpu_nr_pages() (mm/percpu.c): pcpu_nr_populated *
// pcpu_nr_units, the pages backing percpu chunks.
func PcpuNrPages(p *object.Program) (uint64, error) {
	populated, err := p.VarAs("pcpu_nr_populated", "int").Int()
	if err != nil {
		return 0, err
	}
	units, err := p.VarAs("pcpu_nr_units", "int").Int()
	if err != nil {
		return 0, err
	}
	if populated < 0 || units < 0 {
		return 0, fmt.Errorf("pcpu_nr_populated %d, pcpu_nr_units %d: negative", populated, units)
	}
	return uint64(populated * units), nil
}

// VmallocTotal is VMALLOC_TOTAL on x86_64 (include/linux/vmalloc.h,
// arch/x86/include/asm/pgtable_64_types.h) in bytes: VMALLOC_END -
// VMALLOC_START, 32 TiB - 1 with 4-level paging, 12800 TiB - 1 with 5-level;
// a quarter of that under KMSAN, which keeps the rest for its shadow.
func VmallocTotal(p *object.Program) (uint64, error) {
	sizeTB := uint64(32)
	if HasSymbol(p, "__pgtable_l5_enabled") {
		l5, err := p.VarAs("__pgtable_l5_enabled", "unsigned int").Uint()
		if err != nil {
			return 0, err
		}
		if l5 != 0 {
			sizeTB = 12800
		}
	}
	size := sizeTB << 40
	if HasSymbol(p, "kmsan_enabled") {
		size >>= 2
	}
	return size - 1, nil
}

// TotalSwapcachePages mirrors total_swapcache_pages() (mm/swap_state.c):
// the pages in the swap cache. Since v5.12 ("mm: memcg: add swapcache stat
// for memcg v2") the node counter NR_SWAPCACHE holds it; before, it is
// the sum of nrpages over the swapper_spaces[type][] address spaces of
// every valid swap area (get_swap_device(): SWP_VALID). The enumerator
// decides.
func TotalSwapcachePages(p *object.Program, v *VMStat) (uint64, error) {
	if HasEnumValue(p, "NR_SWAPCACHE") {
		return v.NodeState("NR_SWAPCACHE")
	}
	n, err := p.VarAs("nr_swapfiles", "unsigned int").Uint()
	if err != nil {
		return 0, err
	}
	if n > maxSwapFiles {
		return 0, fmt.Errorf("nr_swapfiles = %d, not plausible", n)
	}
	valid, err := EnumValue(p, "SWP_VALID")
	if err != nil {
		return 0, err
	}
	asT, err := p.Type("struct address_space")
	if err != nil {
		return 0, err
	}
	size, err := ktype.Sizeof(asT)
	if err != nil {
		return 0, err
	}
	var total uint64
	for i := range int(n) {
		ptr := SymbolIndex(p, "swap_info", "struct swap_info_struct *", i)
		if a, err := ptr.Uint(); err != nil || a == 0 {
			if err != nil {
				return 0, err
			}
			continue
		}
		flags, err := ptr.Deref().Member("flags").Uint()
		if err != nil {
			return 0, err
		}
		if flags&uint64(valid) == 0 {
			continue
		}
		nr, err := SymbolIndex(p, "nr_swapper_spaces", "unsigned int", i).Uint()
		if err != nil {
			return 0, err
		}
		if nr > 1<<20 {
			return 0, fmt.Errorf("nr_swapper_spaces[%d] = %d, not plausible", i, nr)
		}
		spaces, err := SymbolIndex(p, "swapper_spaces", "struct address_space *", i).Uint()
		if err != nil {
			return 0, err
		}
		for j := range nr {
			pages, err := p.Object(asT, spaces+j*size, fmt.Sprintf("swapper_spaces[%d][%d]", i, j)).Member("nrpages").Uint()
			if err != nil {
				return 0, err
			}
			total += pages
		}
	}
	return total, nil
}

// ZswapTotalPages mirrors zswap_total_pages() (mm/zswap.c) of kernels
// whose struct zswap_pool holds its zsmalloc pool directly (zs_pool: the
// zpool layer was removed in 6.18/7.x; the member is the probe): the pages
// of every pool on zswap_pools. ok is false for a kernel that goes through
// the zpool driver instead (not followed here).
func ZswapTotalPages(p *object.Program) (pages uint64, ok bool, err error) {
	if !p.HasMember("struct zswap_pool", "zs_pool") {
		return 0, false, nil
	}
	for pool, err := range ListForEachEntry(p.VarAs("zswap_pools", "struct list_head"), "struct zswap_pool", "list") {
		if err != nil {
			return 0, true, err
		}
		n, err := pool.Member("zs_pool").Deref().Member("pages_allocated.counter").Uint()
		if err != nil {
			return 0, true, err
		}
		pages += n
	}
	return pages, true, nil
}
