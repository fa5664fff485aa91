package linux

import (
	"errors"
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// This file follows include/linux/vmstat.h and mm/vmstat.c: the global
// zone, node and NUMA counters, the per-cpu VM events and the names
// vmstat_text[] gives them.

// maxVMStatItems bounds every vmstat enum read from the types (the largest,
// enum vm_event_item, has about 120 entries).
const maxVMStatItems = 1024

// clampNegative mirrors the "if (x < 0) x = 0" of the SMP readers
// (global_zone_page_state, zone_page_state, node_page_state_pages): the
// per-cpu deltas not yet folded can leave a global counter below zero.
func clampNegative(w []uint64) []uint64 {
	for i, v := range w {
		if int64(v) < 0 {
			w[i] = 0
		}
	}
	return w
}

// GlobalZonePageStates is global_zone_page_state(item) for every enum
// zone_stat_item (include/linux/vmstat.h): vm_zone_stat[], negatives read
// as 0. Index it with the enumerator's value.
func GlobalZonePageStates(p *object.Program) ([]uint64, error) {
	n, err := enumCount(p, "NR_VM_ZONE_STAT_ITEMS")
	if err != nil {
		return nil, err
	}
	w, err := readWords(p.VarAs("vm_zone_stat", "atomic_long_t"), n)
	return clampNegative(w), err
}

// GlobalNodePageStates is global_node_page_state_pages(item) for every enum
// node_stat_item (include/linux/vmstat.h): vm_node_stat[], negatives read
// as 0. The *_B items are kept in pages at the global level.
func GlobalNodePageStates(p *object.Program) ([]uint64, error) {
	n, err := enumCount(p, "NR_VM_NODE_STAT_ITEMS")
	if err != nil {
		return nil, err
	}
	w, err := readWords(p.VarAs("vm_node_stat", "atomic_long_t"), n)
	return clampNegative(w), err
}

// VMStat is the kernel's global VM statistics, read once.
type VMStat struct {
	Zone []uint64 // by enum zone_stat_item
	Node []uint64 // by enum node_stat_item
	prog *object.Program
}

// ReadVMStat reads vm_zone_stat and vm_node_stat.
func ReadVMStat(p *object.Program) (*VMStat, error) {
	z, err := GlobalZonePageStates(p)
	if err != nil {
		return nil, err
	}
	n, err := GlobalNodePageStates(p)
	if err != nil {
		return nil, err
	}
	return &VMStat{Zone: z, Node: n, prog: p}, nil
}

// ZoneState is global_zone_page_state(item), the item named by its
// enumerator (NR_FREE_PAGES).
func (v *VMStat) ZoneState(item string) (uint64, error) { return v.lookup(v.Zone, item) }

// NodeState is global_node_page_state(item) (NR_FILE_PAGES).
func (v *VMStat) NodeState(item string) (uint64, error) { return v.lookup(v.Node, item) }

// NodeOrZoneState is the counter item from whichever of the node and zone
// items has it: some moved from zone to node (NR_PAGETABLE in v5.11, "mm:
// memcontrol: account pagetables per node"); the enumerator decides.
func (v *VMStat) NodeOrZoneState(item string) (uint64, error) {
	t, err := v.prog.Type("enum zone_stat_item")
	if err == nil {
		if e, ok := ktype.As[*ktype.Enum](t); ok {
			if _, ok := e.Value(item); ok {
				return v.ZoneState(item)
			}
		}
	} else if errors.Is(err, ktype.ErrLost) {
		return 0, fmt.Errorf("%s: zone or node counter: %w", item, err)
	}
	return v.NodeState(item)
}

func (v *VMStat) lookup(a []uint64, item string) (uint64, error) {
	i, err := EnumValue(v.prog, item)
	if err != nil {
		return 0, err
	}
	if i < 0 || i >= int64(len(a)) {
		return 0, fmt.Errorf("%s = %d is outside the %d counters", item, i, len(a))
	}
	return a[i], nil
}

// ErrNoNUMA is returned by the NUMA helpers of a kernel built without
// CONFIG_NUMA.
var ErrNoNUMA = errors.New("kernel built without CONFIG_NUMA")

// GlobalNumaEventStates is global_numa_event_state(item) for every enum
// numa_stat_item, as /proc/vmstat reads them after fold_vm_numa_events()
// (mm/vmstat.c): vm_numa_event[] plus what every zone's per-cpu
// per_cpu_zonestat.vm_numa_event[] holds for cpus not folded yet.
func GlobalNumaEventStates(p *object.Program, cpus []int) ([]uint64, error) {
	if HasSymbol(p, "vm_numa_stat") {
		// Before v5.14 ("mm/vmstat: convert NUMA statistics to basic NUMA
		// counters") the NUMA counters are vm_numa_stat[], which
		// /proc/vmstat shows as they are (global_numa_state()).
		n, err := enumCount(p, "NR_VM_NUMA_STAT_ITEMS")
		if err != nil {
			return nil, err
		}
		return readWords(p.VarAs("vm_numa_stat", "atomic_long_t"), n)
	}
	if !HasSymbol(p, "vm_numa_event") {
		return nil, ErrNoNUMA
	}
	n, err := enumCount(p, "NR_VM_NUMA_EVENT_ITEMS")
	if err != nil {
		return nil, err
	}
	sum, err := readWords(p.VarAs("vm_numa_event", "atomic_long_t"), n)
	if err != nil {
		return nil, err
	}
	for z, err := range ForEachZone(p) {
		if err != nil {
			return nil, err
		}
		pending, err := zonePendingNumaEvents(z, n, cpus)
		if err != nil {
			return nil, err
		}
		for i := range sum {
			sum[i] += pending[i]
		}
	}
	return sum, nil
}

// ZoneNumaEventStates is zone_numa_event_state(zone, item) for every item
// after fold_vm_zone_numa_events(zone): zone->vm_numa_event[] plus the
// per-cpu pending counts.
func ZoneNumaEventStates(zone object.Object, cpus []int) ([]uint64, error) {
	if zone.HasMember("vm_numa_stat") {
		return zoneNumaStateSnapshot(zone, cpus)
	}
	if !zone.HasMember("vm_numa_event") {
		return nil, ErrNoNUMA
	}
	n, err := enumCount(zone.Prog(), "NR_VM_NUMA_EVENT_ITEMS")
	if err != nil {
		return nil, err
	}
	v, err := readWords(zone.Member("vm_numa_event"), n)
	if err != nil {
		return nil, err
	}
	pending, err := zonePendingNumaEvents(zone, n, cpus)
	if err != nil {
		return nil, err
	}
	for i := range v {
		v[i] += pending[i]
	}
	return v, nil
}

// zoneNumaStateSnapshot mirrors zone_numa_state_snapshot() before v5.14:
// zone->vm_numa_stat[] plus every cpu's per_cpu_pageset.vm_numa_stat_diff[].
func zoneNumaStateSnapshot(zone object.Object, cpus []int) ([]uint64, error) {
	p := zone.Prog()
	n, err := enumCount(p, "NR_VM_NUMA_STAT_ITEMS")
	if err != nil {
		return nil, err
	}
	v, err := readWords(zone.Member("vm_numa_stat"), n)
	if err != nil {
		return nil, err
	}
	for _, cpu := range cpus {
		ps, err := ZonePageset(zone, cpu)
		if err != nil {
			return nil, err
		}
		for i := range v {
			d, err := ps.Member(fmt.Sprintf("vm_numa_stat_diff[%d]", i)).Uint()
			if err != nil {
				return nil, err
			}
			v[i] += d
		}
	}
	return v, nil
}

// ZonePageset is per_cpu_ptr(zone->pageset, cpu), the struct
// per_cpu_pageset kernels before v5.14 ("mm/page_alloc: split per cpu page
// lists and zone stats") keep per zone and CPU: the page lists (pcp) and
// the stat threshold and diffs together.
func ZonePageset(zone object.Object, cpu int) (object.Object, error) {
	p := zone.Prog()
	base, err := zone.Member("pageset").Uint()
	if err != nil {
		return object.Object{}, err
	}
	t, err := p.Type("struct per_cpu_pageset")
	if err != nil {
		return object.Object{}, err
	}
	off, err := PerCPUOffset(p, cpu)
	if err != nil {
		return object.Object{}, err
	}
	return p.Object(t, base+off, fmt.Sprintf("per_cpu_ptr(%s.pageset, %d)", zone.Path(), cpu)), nil
}

// zonePendingNumaEvents sums per_cpu_zonestat.vm_numa_event over cpus.
func zonePendingNumaEvents(zone object.Object, n int, cpus []int) ([]uint64, error) {
	sum := make([]uint64, n)
	base, err := zone.Member("per_cpu_zonestats").Uint()
	if err != nil {
		return nil, err
	}
	t, err := zone.Prog().Type("struct per_cpu_zonestat")
	if err != nil {
		return nil, err
	}
	for _, cpu := range cpus {
		off, err := PerCPUOffset(zone.Prog(), cpu)
		if err != nil {
			return nil, err
		}
		o := zone.Prog().Object(t, base+off, fmt.Sprintf("per_cpu_ptr(%s.per_cpu_zonestats, %d)", zone.Path(), cpu))
		v, err := readWords(o.Member("vm_numa_event"), n)
		if err != nil {
			return nil, err
		}
		for i := range sum {
			sum[i] += v[i]
		}
	}
	return sum, nil
}

// AllVMEvents is all_vm_events() (mm/vmstat.c, CONFIG_VM_EVENT_COUNTERS):
// the per-cpu vm_event_states.event[] summed over cpus, the CPUs that were
// online (the kernel folds a CPU's events into another's when it goes
// offline, so offline CPUs hold none).
func AllVMEvents(p *object.Program, cpus []int) ([]uint64, error) {
	n, err := enumCount(p, "NR_VM_EVENT_ITEMS")
	if err != nil {
		return nil, err
	}
	sum := make([]uint64, n)
	for _, cpu := range cpus {
		v, err := readWords(PerCPU(p, "vm_event_states", "struct vm_event_state", cpu).Member("event"), n)
		if err != nil {
			return nil, err
		}
		for i := range sum {
			sum[i] += v[i]
		}
	}
	return sum, nil
}

// VMStatText reads the first n names of vmstat_text[] (mm/vmstat.c), the
// array of string pointers that names every line of /proc/vmstat and the
// counters of /proc/zoneinfo, from the kernel's own memory.
func VMStatText(p *object.Program, n int) ([]string, error) {
	if n < 0 || n > 4*maxVMStatItems {
		return nil, fmt.Errorf("vmstat_text: %d names, not plausible", n)
	}
	ptrs, err := readWords(p.VarAs("vmstat_text", "char *"), n)
	if err != nil {
		return nil, err
	}
	names := make([]string, n)
	for i, ptr := range ptrs {
		if ptr == 0 {
			return nil, fmt.Errorf("vmstat_text[%d] is NULL", i)
		}
		s, err := object.ReadCString(p.Mem, ptr, 64)
		if err != nil {
			return nil, fmt.Errorf("vmstat_text[%d]: %w", i, err)
		}
		names[i] = s
	}
	return names, nil
}

// VMStatLayout is the shape of /proc/vmstat for one kernel: how many
// counters each group of vmstat_start() (mm/vmstat.c) contributes, in order.
type VMStatLayout struct {
	Zone, Numa, Node int
	// Stat is enum writeback_stat_item (6.1) or enum vm_stat_item (6.11+,
	// which added nr_memmap_pages and nr_memmap_boot_pages).
	Stat int
	// Events is NR_VM_EVENT_ITEMS, 0 without CONFIG_VM_EVENT_COUNTERS.
	Events int
}

// Total is NR_VMSTAT_ITEMS.
func (l VMStatLayout) Total() int { return l.Zone + l.Numa + l.Node + l.Stat + l.Events }

// ReadVMStatLayout reads the enum sizes that make up NR_VMSTAT_ITEMS.
func ReadVMStatLayout(p *object.Program) (VMStatLayout, error) {
	var l VMStatLayout
	var err error
	if l.Zone, err = enumCount(p, "NR_VM_ZONE_STAT_ITEMS"); err != nil {
		return l, err
	}
	// Without CONFIG_NUMA the enum still exists, with NR_VM_NUMA_EVENT_ITEMS 0;
	// before 5.14 the counters are vm_numa_stat[NR_VM_NUMA_STAT_ITEMS].
	if HasSymbol(p, "vm_numa_stat") {
		if l.Numa, err = enumCount(p, "NR_VM_NUMA_STAT_ITEMS"); err != nil {
			return l, err
		}
	} else if HasSymbol(p, "vm_numa_event") {
		if l.Numa, err = enumCount(p, "NR_VM_NUMA_EVENT_ITEMS"); err != nil {
			return l, err
		}
	}
	if l.Node, err = enumCount(p, "NR_VM_NODE_STAT_ITEMS"); err != nil {
		return l, err
	}
	// enum vm_stat_item replaced enum writeback_stat_item in 6.11 ("mm:
	// report per-page metadata information").
	if HasEnumValue(p, "NR_VM_STAT_ITEMS") {
		l.Stat, err = enumCount(p, "NR_VM_STAT_ITEMS")
	} else {
		l.Stat, err = enumCount(p, "NR_VM_WRITEBACK_STAT_ITEMS")
	}
	if err != nil {
		return l, err
	}
	if HasSymbol(p, "vm_event_states") {
		if l.Events, err = enumCount(p, "NR_VM_EVENT_ITEMS"); err != nil {
			return l, err
		}
	}
	return l, nil
}

// HPagePMDNr is HPAGE_PMD_NR on x86_64: a PMD maps 512 pages.
const HPagePMDNr = 512

// THPStatsInPages reports whether the THP node counters (NR_ANON_THPS,
// NR_FILE_THPS, NR_SHMEM_THPS, NR_*_PMDMAPPED) count base pages, as since
// v5.13 ("mm: memcontrol: convert NR_ANON_THPS account to pages" and its
// series); before, they count huge pages, /proc/vmstat prints them as they
// are and meminfo multiplies by HPAGE_PMD_NR. No type marks the change
// itself; struct memory_stat lost its ratio member when memcg stats moved
// to per-item units in the same rework (5.10 has it, 6.1 does not), and
// stands in for it.
func THPStatsInPages(p *object.Program) bool {
	return !p.HasMember("struct memory_stat", "ratio")
}

// VmstatItemPrintInTHP mirrors vmstat_item_print_in_thp()
// (include/linux/mmzone.h): the node items counted in pages but printed in
// transparent huge pages (with CONFIG_TRANSPARENT_HUGEPAGE).
func VmstatItemPrintInTHP(p *object.Program, item int) bool {
	if !HasSymbol(p, "transparent_hugepage_flags") || !THPStatsInPages(p) {
		return false
	}
	for _, name := range []string{"NR_ANON_THPS", "NR_FILE_THPS", "NR_SHMEM_THPS", "NR_SHMEM_PMDMAPPED", "NR_FILE_PMDMAPPED"} {
		if v, err := EnumValue(p, name); err == nil && int(v) == item {
			return true
		}
	}
	return false
}
