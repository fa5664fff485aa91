package memory

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/vmstat",
		Mirrors: "vmstat_start() and vmstat_show() in mm/vmstat.c, names from the kernel's vmstat_text[]",
		Desc:    "VM counters: zone, NUMA and node statistics, dirty thresholds, VM events",
		Tracker: emit.Done,
		Run:     procVmstat,
	})
}

// vmstat reads the global zone and node counters once per run.
func vmstat(c *emit.Context) (*linux.VMStat, error) {
	return emit.Once(c, "vmstat", func() (*linux.VMStat, error) { return linux.ReadVMStat(c.Prog) })
}

// procVmstat prints vmstat_text[i] and the i-th value of the array
// vmstat_start() fills: zone stats, NUMA events (folded), node stats (THP
// items in huge pages), the dirty thresholds and other vm_stat_items, the
// VM events (pgpgin/pgpgout in kB); then the deprecated "nr_unstable 0".
// A group that cannot be read is left out, with the reason.
func procVmstat(c *emit.Context, _ int64, out *emit.Output) error {
	p := c.Prog
	l, err := linux.ReadVMStatLayout(p)
	if err != nil {
		return err
	}
	names, err := linux.VMStatText(p, l.Total())
	if err != nil {
		return err
	}
	vm, err := vmstat(c)
	if err != nil {
		return err
	}
	cpus, err := linux.CPUsRunningBeforePanic(p)
	if err != nil {
		return err
	}
	groups := []struct {
		what string
		n    int
		read func() ([]uint64, error)
	}{
		{"zone stats", l.Zone, func() ([]uint64, error) { return vm.Zone, nil }},
		{"NUMA events", l.Numa, func() ([]uint64, error) { return linux.GlobalNumaEventStates(p, cpus) }},
		{"node stats", l.Node, func() ([]uint64, error) {
			v := append([]uint64(nil), vm.Node...)
			for i := range v {
				if linux.VmstatItemPrintInTHP(p, i) {
					v[i] /= linux.HPagePMDNr
				}
			}
			return v, nil
		}},
		{"vm_stat items", l.Stat, func() ([]uint64, error) { return vmStatItems(p, vm, l.Stat) }},
		{"VM events", l.Events, func() ([]uint64, error) { return vmEvents(p, cpus) }},
	}
	off := 0
	for _, g := range groups {
		if g.n == 0 {
			continue
		}
		v, err := g.read()
		if err == nil && len(v) != g.n {
			err = fmt.Errorf("%d values for %d names", len(v), g.n)
		}
		if err != nil {
			out.Partial("%s (%s … %s): %v", g.what, names[off], names[off+g.n-1], err)
		} else {
			for i, x := range v {
				fmt.Fprintf(out, "%s %d\n", names[off+i], x)
			}
		}
		off += g.n
	}
	fmt.Fprintln(out, "nr_unstable 0")
	return nil
}

// vmStatItems fills the enum writeback_stat_item / vm_stat_item part.
func vmStatItems(p *object.Program, vm *linux.VMStat, n int) ([]uint64, error) {
	v := make([]uint64, n)
	set := make([]bool, n)
	put := func(item string, x uint64) error {
		i, err := linux.EnumValue(p, item)
		if err != nil {
			return err
		}
		if i < 0 || int(i) >= n {
			return fmt.Errorf("%s = %d outside %d items", item, i, n)
		}
		v[i], set[i] = x, true
		return nil
	}
	bg, dirty, err := linux.GlobalDirtyLimits(p, vm)
	if err != nil {
		return nil, err
	}
	if err := put("NR_DIRTY_BG_THRESHOLD", bg); err != nil {
		return nil, err
	}
	if err := put("NR_DIRTY_THRESHOLD", dirty); err != nil {
		return nil, err
	}
	// 6.11+: the memmap page counts.
	for _, s := range []struct{ item, sym string }{
		{"NR_MEMMAP_PAGES", "nr_memmap_pages"}, {"NR_MEMMAP_BOOT_PAGES", "nr_memmap_boot_pages"},
	} {
		if !linux.HasEnumValue(p, s.item) {
			continue
		}
		x, err := p.VarAs(s.sym, "atomic_long_t").Member("counter").Uint()
		if err != nil {
			return nil, err
		}
		if err := put(s.item, x); err != nil {
			return nil, err
		}
	}
	for i, ok := range set {
		if !ok {
			return nil, fmt.Errorf("vm_stat item %d: this tool does not know how the kernel computes it", i)
		}
	}
	return v, nil
}

// vmEvents is all_vm_events() with pgpgin and pgpgout turned from sectors
// into kB, as vmstat_start() does.
func vmEvents(p *object.Program, cpus []int) ([]uint64, error) {
	v, err := linux.AllVMEvents(p, cpus)
	if err != nil {
		return nil, err
	}
	for _, item := range []string{"PGPGIN", "PGPGOUT"} {
		i, err := linux.EnumValue(p, item)
		if err != nil || i < 0 || int(i) >= len(v) {
			return nil, fmt.Errorf("%s: %v", item, err)
		}
		v[i] /= 2
	}
	return v, nil
}
