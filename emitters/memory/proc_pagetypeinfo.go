package memory

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/pagetypeinfo",
		Mirrors: "pagetypeinfo_show() in mm/vmstat.c (showfree, showblockcount, showmixedcount)",
		Desc:    "free blocks by order and migratetype, pageblocks by migratetype",
		Tracker: emit.Done,
		Note:    "with page_owner enabled the kernel adds a \"Number of mixed blocks\" table; it is left out and the file marked partial",
		Run:     procPagetypeinfo,
	})
}

// freeListCap is the kernel's cap on one free list walk.
const freeListCap = 100000

func procPagetypeinfo(c *emit.Context, _ int64, out *emit.Output) error {
	p := c.Prog
	nt, err := linux.EnumValue(p, "MIGRATE_TYPES")
	if err != nil || nt <= 0 || nt > 16 {
		return fmt.Errorf("MIGRATE_TYPES = %d: %v", nt, err)
	}
	mtNames := make([]string, nt)
	for i := range mtNames {
		if mtNames[i], err = linux.SymbolIndex(p, "migratetype_names", "char *", i).CString(); err != nil {
			return err
		}
	}
	orders, err := linux.NrPageOrders(p)
	if err != nil {
		return err
	}
	pb, err := linux.NewPageblocks(p)
	if err != nil {
		return err
	}
	zones, err := allZoneSpans(p)
	if err != nil {
		return err
	}
	for pgdat, err := range linux.ForEachOnlinePgdat(p) {
		if err != nil {
			return err
		}
		nid, err := pgdat.Member("node_id").Int()
		if err != nil {
			return err
		}
		if mem, err := linux.NodeState(p, int(nid), "N_MEMORY"); err != nil || !mem {
			if err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(out, "Page block order: %d\nPages per block:  %d\n\n", pb.Order(), 1<<pb.Order())
		fmt.Fprintf(out, "%-43s ", "Free pages count per migrate type at order")
		for o := range orders {
			fmt.Fprintf(out, "%6d ", o)
		}
		out.WriteString("\n")
		for z, err := range populatedZones(p) {
			if err != nil {
				return err
			}
			if z.nid != nid {
				continue
			}
			for mt, name := range mtNames {
				fmt.Fprintf(out, "Node %4d, zone %8s, type %12s ", nid, z.name, name)
				for o := range orders {
					n, overflow, err := linux.FreeListCount(z.zone, o, mt, freeListCap)
					if err != nil {
						return err
					}
					fmt.Fprintf(out, "%s%6d ", map[bool]string{true: ">"}[overflow], n)
				}
				out.WriteString("\n")
			}
		}
		fmt.Fprintf(out, "\n%-23s", "Number of blocks type ")
		for _, name := range mtNames {
			fmt.Fprintf(out, "%12s ", name)
		}
		out.WriteString("\n")
		for z, err := range populatedZones(p) {
			if err != nil {
				return err
			}
			if z.nid != nid {
				continue
			}
			counts, err := pageblockCounts(pb, z, zones, int(nt))
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Node %d, zone %8s ", nid, z.name)
			for _, n := range counts {
				fmt.Fprintf(out, "%12d ", n)
			}
			out.WriteString("\n")
		}
		pagetypeinfoMixed(p, out)
	}
	return nil
}

// pagetypeinfoMixed stands for pagetypeinfo_showmixedcount(): it prints
// only with CONFIG_PAGE_OWNER enabled at boot, from page_owner records.
func pagetypeinfoMixed(p *object.Program, out *emit.Output) {
	if !linux.HasSymbol(p, "page_owner_inited") {
		return
	}
	on, err := p.VarAs("page_owner_inited", "struct static_key_false").Member("key.enabled.counter").Int()
	switch {
	case err != nil:
		out.Partial("mixed blocks: page_owner_inited: %v", err)
	case on > 0:
		out.Partial("mixed blocks: page_owner is enabled; its records are not read by this tool")
	}
}
