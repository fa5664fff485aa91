package memory

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/slabinfo",
		Mirrors: "slab_show() and cache_show() in mm/slab_common.c with SLUB's get_slabinfo() (mm/slub.c)",
		Desc:    "slab caches, with the kernel's own meaning of active objects",
		Tracker: emit.Done,
		Run:     procSlabinfo,
	})
}

func procSlabinfo(c *emit.Context, _ int64, out *emit.Output) error {
	p := c.Prog
	// print_slabinfo_header(); the "(statistics)" variant is SLAB's
	// CONFIG_DEBUG_SLAB, which SLUB never has.
	out.WriteString("slabinfo - version: 2.1\n" +
		"# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>" +
		" : tunables <limit> <batchcount> <sharedfactor>" +
		" : slabdata <active_slabs> <num_slabs> <sharedavail>\n")
	caches := 0
	for s, err := range linux.ForEachSlabCache(p) {
		if err != nil {
			if caches == 0 {
				return err
			}
			out.Partial("slab_caches: walk stopped after %d caches: %v", caches, err)
			return nil
		}
		caches++
		name, err := s.Member("name").CString()
		if err != nil {
			out.Partial("cache at %v: name: %v", s.Path(), err)
			continue
		}
		size, err := s.Member("size").Uint()
		if err != nil {
			out.Partial("%s: size: %v", name, err)
			continue
		}
		si, err := linux.GetSlabinfo(s)
		if err != nil {
			if err == linux.ErrNotSLUB {
				return err
			}
			out.Partial("%s: %v", name, err)
			continue
		}
		fmt.Fprintf(out, "%-17s %6d %6d %6d %4d %4d : tunables %4d %4d %4d : slabdata %6d %6d %6d\n",
			name, si.ActiveObjs, si.NumObjs, size, si.ObjectsPerSlab, 1<<si.CacheOrder,
			0, 0, 0, si.ActiveSlabs, si.NumSlabs, 0)
	}
	return nil
}
