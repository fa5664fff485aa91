package linux

import "github.com/vmcore-report/vmcore-report/kernel/object"

// SwapActive says whether a used struct swap_info_struct is fully set up,
// as swap_start()/swap_next() in mm/swapfile.c require before showing it:
// si->swap_map is set by enable_swap_info(). Kernels whose swap table
// rework dropped swap_map (7.2 has no such member) keep the per-cluster
// state in si->cluster_info, set at the same point; the member's presence
// decides which is read.
func SwapActive(si object.Object) (bool, error) {
	m := "swap_map"
	if !si.HasMember(m) {
		m = "cluster_info"
	}
	v, err := si.Member(m).Uint()
	return v != 0, err
}

// SwapUsageInPages mirrors swap_usage_in_pages() (mm/swapfile.c): the
// pages in use of a swap area, si->inuse_pages, an atomic_long_t whose
// top bits hold flags (SWAP_USAGE_OFFLIST_BIT) in kernels where it is
// atomic, a plain unsigned int before. The type decides.
func SwapUsageInPages(si object.Object) (uint64, error) {
	v, err := IntOrAtomic(si.Member("inuse_pages"))
	if err != nil {
		return 0, err
	}
	if si.Member("inuse_pages").HasMember("counter") {
		v &^= 1 << 32 // SWAP_USAGE_OFFLIST_BIT, the bit above an atomic_t's
	}
	return uint64(v), nil
}
