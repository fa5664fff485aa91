package linux

import (
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// GlobalDirtyLimits mirrors global_dirty_limits() (mm/page-writeback.c):
// the background and foreground dirty thresholds in pages, as
// domain_dirty_limits() computes them for the global domain from
// global_dirtyable_memory() and the vm.dirty_* sysctls. The reading task is
// taken to be an ordinary one (a real-time reader gets 25 % more).
func GlobalDirtyLimits(p *object.Program, vm *VMStat) (background, dirty uint64, err error) {
	avail, err := globalDirtyableMemory(p, vm)
	if err != nil {
		return 0, 0, err
	}
	var v [4]uint64
	for i, s := range []struct{ sym, typ string }{
		{"vm_dirty_bytes", "unsigned long"}, {"dirty_background_bytes", "unsigned long"},
		{"vm_dirty_ratio", "int"}, {"dirty_background_ratio", "int"},
	} {
		if v[i], err = p.VarAs(s.sym, s.typ).Uint(); err != nil {
			return 0, 0, err
		}
	}
	const pageSize = 1 << PageShift
	bytes, bgBytes := v[0], v[1]
	// ratios in 1/PAGE_SIZE units, for precision
	ratio, bgRatio := v[2]*pageSize/100, v[3]*pageSize/100
	thresh := ratio * avail / pageSize
	if bytes != 0 {
		thresh = (bytes + pageSize - 1) / pageSize
	}
	bg := bgRatio * avail / pageSize
	if bgBytes != 0 {
		bg = (bgBytes + pageSize - 1) / pageSize
	}
	thresh = min(thresh, 1<<32-1)
	if bg >= thresh {
		bg = thresh / 2
	}
	return bg, thresh, nil
}

// globalDirtyableMemory mirrors global_dirtyable_memory(): free pages above
// the reserves plus the file LRUs (x86_64 has no highmem to leave out),
// plus one so that it is never 0.
func globalDirtyableMemory(p *object.Program, vm *VMStat) (uint64, error) {
	free, err := vm.ZoneState("NR_FREE_PAGES")
	if err != nil {
		return 0, err
	}
	reserve, err := TotalreservePages(p)
	if err != nil {
		return 0, err
	}
	inactive, err := vm.NodeState("NR_INACTIVE_FILE")
	if err != nil {
		return 0, err
	}
	active, err := vm.NodeState("NR_ACTIVE_FILE")
	if err != nil {
		return 0, err
	}
	return free - min(free, reserve) + inactive + active + 1, nil
}
