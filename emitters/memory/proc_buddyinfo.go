package memory

import (
	"fmt"
	"iter"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/buddyinfo",
		Mirrors: "frag_show_print() in mm/vmstat.c",
		Desc:    "free blocks of each order in every populated zone",
		Tracker: emit.Done,
		Run:     procBuddyinfo,
	})
}

func procBuddyinfo(c *emit.Context, _ int64, out *emit.Output) error {
	for z, err := range populatedZones(c.Prog) {
		if err != nil {
			return err
		}
		free, err := linux.FreeAreaNrFree(z.zone)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Node %d, zone %8s ", z.nid, z.name)
		for _, n := range free {
			fmt.Fprintf(out, "%6d ", n)
		}
		out.WriteString("\n")
	}
	return nil
}

// nodeZone is a zone with its node's id and its name.
type nodeZone struct {
	nid         int64
	zid         int
	name        string
	zone, pgdat object.Object
}

// populatedZones yields the populated zones of every online node, as
// walk_zones_in_node(…, assert_populated=true, …) visits them.
func populatedZones(p *object.Program) iter.Seq2[nodeZone, error] {
	return func(yield func(nodeZone, error) bool) {
		nz, err := linux.MaxNrZones(p)
		if err != nil {
			yield(nodeZone{}, err)
			return
		}
		for pgdat, err := range linux.ForEachOnlinePgdat(p) {
			if err != nil {
				yield(nodeZone{}, err)
				return
			}
			nid, err := pgdat.Member("node_id").Int()
			if err != nil {
				yield(nodeZone{}, err)
				return
			}
			for zid := range nz {
				zone := pgdat.Member("node_zones").Index(uint64(zid))
				populated, err := linux.PopulatedZone(zone)
				if err != nil {
					yield(nodeZone{}, err)
					return
				}
				if !populated {
					continue
				}
				name, err := linux.ZoneName(zone)
				if err != nil {
					yield(nodeZone{}, err)
					return
				}
				if !yield(nodeZone{nid, zid, name, zone, pgdat}, nil) {
					return
				}
			}
		}
	}
}
