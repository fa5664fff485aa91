package memory

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/zoneinfo",
		Mirrors: "zoneinfo_show_print() in mm/vmstat.c",
		Desc:    "every zone of every node: watermarks, spans, counters, per-cpu pagesets",
		Tracker: emit.Done,
		Note:    "the watermark lines follow the format string in the kernel's own zoneinfo code (6.10 added promo)",
		Run:     procZoneinfo,
	})
}

// maxReclaimRetries is MAX_RECLAIM_RETRIES (mm/internal.h): kswapd gives a
// node up as unreclaimable after that many failures.
const maxReclaimRetries = 16

func procZoneinfo(c *emit.Context, _ int64, out *emit.Output) error {
	p := c.Prog
	l, err := linux.ReadVMStatLayout(p)
	if err != nil {
		return err
	}
	names, err := linux.VMStatText(p, l.Zone+l.Numa+l.Node)
	if err != nil {
		return err
	}
	cpus, err := linux.CPUsRunningBeforePanic(p)
	if err != nil {
		return err
	}
	wmarks := zoneinfoWatermarkFormat(c, out)
	for pgdat, err := range linux.ForEachOnlinePgdat(p) {
		if err != nil {
			return err
		}
		nid, err := pgdat.Member("node_id").Int()
		if err != nil {
			return err
		}
		nz, err := linux.MaxNrZones(p)
		if err != nil {
			return err
		}
		first := true // is_zone_first_populated()
		for zid := range nz {
			zone := pgdat.Member("node_zones").Index(uint64(zid))
			populated, err := linux.PopulatedZone(zone)
			if err != nil {
				return err
			}
			name, err := linux.ZoneName(zone)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Node %d, zone %8s", nid, name)
			if populated && first {
				first = false
				out.WriteString("\n  per-node stats")
				v, err := linux.NodePageStates(pgdat)
				if err != nil {
					return err
				}
				for i, x := range v {
					if linux.VmstatItemPrintInTHP(p, i) {
						x /= linux.HPagePMDNr
					}
					fmt.Fprintf(out, "\n      %-12s %d", names[l.Zone+l.Numa+i], x)
				}
			}
			if err := zoneinfoZone(c, out, zone, pgdat, populated, wmarks, names, l, cpus); err != nil {
				return err
			}
		}
	}
	return nil
}

// zoneinfoWatermarkFormat is the "\n  pages free %lu…cma %lu" format as
// the kernel's own zoneinfo_show_print() has it, split into its lines:
// 6.10 added "promo" to it without changing any type. Without it, the
// 6.1 lines are used and the file is marked partial.
func zoneinfoWatermarkFormat(c *emit.Context, out *emit.Output) []string {
	const prefix = "\n  pages free     %lu"
	var format string
	var err error
	for _, fn := range []string{"zoneinfo_show_print", "zoneinfo_show"} {
		if format, err = linux.FormatStringIn(c.Prog, fn, prefix, 4096, 1024); err == nil {
			break
		}
	}
	if err != nil {
		out.Partial("watermark lines: the kernel's format was not found (%v); printed as 6.1 does, without promo", err)
		format = prefix + "\n        boost    %lu\n        min      %lu\n        low      %lu\n        high     %lu" +
			"\n        spanned  %lu\n        present  %lu\n        managed  %lu\n        cma      %lu"
	}
	return strings.Split(format, "\n")[1:]
}
