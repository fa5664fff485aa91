package memory

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// zoneinfoZone prints one zone from its watermark lines on, as
// zoneinfo_show_print() does after the per-node stats.
func zoneinfoZone(c *emit.Context, out *emit.Output, zone, pgdat object.Object, populated bool,
	wmarks []string, names []string, l linux.VMStatLayout, cpus []int) error {
	p := c.Prog
	f := zoneinfoFormats(c)
	if f.err != nil {
		return f.err
	}
	stats, err := linux.ZonePageStates(zone)
	if err != nil {
		return err
	}
	value := func(label string) (uint64, error) {
		switch label {
		case "pages free":
			return stats[0], nil // NR_FREE_PAGES is 0
		case "boost":
			return zone.Member("watermark_boost").Uint()
		case "min", "low", "high", "promo":
			return linux.WmarkPages(zone, "WMARK_"+strings.ToUpper(label))
		case "spanned", "present":
			return zone.Member(label + "_pages").Uint()
		case "managed":
			return linux.ZoneManagedPages(zone)
		case "cma": // zone_cma_pages(): 0 without CONFIG_CMA
			if !zone.HasMember("cma_pages") {
				return 0, nil
			}
			return zone.Member("cma_pages").Uint()
		}
		return 0, fmt.Errorf("zoneinfo line %q: not known to this tool", label)
	}
	for _, line := range wmarks {
		label := strings.TrimSpace(strings.TrimSuffix(line, "%lu"))
		v, err := value(label)
		if err != nil {
			out.Partial("%v", err)
			continue
		}
		fmt.Fprintf(out, "\n%s%d", strings.TrimSuffix(line, "%lu"), v)
	}
	n, err := linux.MaxNrZones(p)
	if err != nil {
		return err
	}
	for i := range n {
		r, err := zone.Member(fmt.Sprintf("lowmem_reserve[%d]", i)).Int()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, map[bool]string{true: "\n        protection: (%d", false: ", %d"}[i == 0], r)
	}
	out.WriteString(")")
	if !populated {
		out.WriteString("\n")
		return nil
	}
	for i, x := range stats {
		fmt.Fprintf(out, "\n      %-12s %d", names[i], x)
	}
	if l.Numa > 0 {
		v, err := linux.ZoneNumaEventStates(zone, cpus)
		if err != nil {
			return err
		}
		for i, x := range v {
			fmt.Fprintf(out, "\n      %-12s %d", names[l.Zone+i], x)
		}
	}
	out.WriteString("\n  pagesets")
	for _, cpu := range cpus {
		pcp, stat, err := zonePCP(p, zone, cpu)
		if err != nil {
			return err
		}
		members := []string{"count", "high", "batch"}
		if f.highMin {
			members = append(members, "high_min", "high_max")
		}
		var v [5]int64
		for i, m := range members {
			if v[i], err = pcp.Member(m).Int(); err != nil {
				return err
			}
		}
		if f.highMin {
			fmt.Fprintf(out, "\n    cpu: %d\n              count:    %d\n              high:     %d\n              batch:    %d\n              high_min: %d\n              high_max: %d",
				cpu, v[0], v[1], v[2], v[3], v[4])
		} else {
			fmt.Fprintf(out, "\n    cpu: %d\n              count: %d\n              high:  %d\n              batch: %d",
				cpu, v[0], v[1], v[2])
		}
		th, err := stat.Member("stat_threshold").Int()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\n  vm stats threshold: %d", th)
	}
	failures, err := linux.IntOrAtomic(pgdat.Member("kswapd_failures"))
	if err != nil {
		return err
	}
	start, err := zone.Member("zone_start_pfn").Uint()
	if err != nil {
		return err
	}
	unreclaimable := 0
	if failures >= maxReclaimRetries {
		unreclaimable = 1
	}
	fmt.Fprintf(out, "\n  node_unreclaimable:  %d\n  start_pfn:           %d", unreclaimable, start)
	if f.highatomic {
		var h [2]uint64
		for i, m := range []string{"nr_reserved_highatomic", "nr_free_highatomic"} {
			if h[i], err = zone.Member(m).Uint(); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "\n  reserved_highatomic: %d\n  free_highatomic:     %d", h[0], h[1])
	}
	out.WriteString("\n")
	return nil
}

// zoneinfoFeatures: lines of zoneinfo_show_print() that kernels with the
// same members print or not (6.12 has per_cpu_pages.high_min and
// zone.nr_free_highatomic and prints neither; 7.2 prints both), so the
// kernel's own format strings in .rodata decide, once per run.
type zoneinfoFeatures struct {
	highMin, highatomic bool
	err                 error
}

const (
	zoneinfoHighMinFormat    = "\n              high_min: %i\n              high_max: %i"
	zoneinfoHighatomicFormat = "\n  reserved_highatomic: %lu\n  free_highatomic:     %lu"
)

func zoneinfoFormats(c *emit.Context) zoneinfoFeatures {
	f, _ := emit.Once(c, "emitters/zoneinfo-formats", func() (zoneinfoFeatures, error) {
		m, err := c.RodataContains(zoneinfoHighMinFormat, zoneinfoHighatomicFormat)
		if err != nil {
			return zoneinfoFeatures{err: fmt.Errorf("zoneinfo's format strings in .rodata: %w", err)}, nil
		}
		return zoneinfoFeatures{highMin: m[zoneinfoHighMinFormat], highatomic: m[zoneinfoHighatomicFormat]}, nil
	})
	return f
}

// zonePCP is one CPU's page lists (struct per_cpu_pages) and the object
// holding its stat threshold: zone->per_cpu_pageset and
// zone->per_cpu_zonestats since 5.14, per_cpu_pageset's pcp and itself
// before (the member decides).
func zonePCP(p *object.Program, zone object.Object, cpu int) (pcp, stat object.Object, err error) {
	if zone.HasMember("pageset") {
		ps, err := linux.ZonePageset(zone, cpu)
		return ps.Member("pcp"), ps, err
	}
	var rd object.Reader
	pcpT, err := p.Type("struct per_cpu_pages")
	rd.Check(err)
	statT, err := p.Type("struct per_cpu_zonestat")
	rd.Check(err)
	pcpBase := rd.Uint(zone.Member("per_cpu_pageset"))
	statBase := rd.Uint(zone.Member("per_cpu_zonestats"))
	if err := rd.Err(); err != nil {
		return pcp, stat, err
	}
	off, err := linux.PerCPUOffset(p, cpu)
	if err != nil {
		return pcp, stat, err
	}
	return p.Object(pcpT, pcpBase+off, fmt.Sprintf("per_cpu_ptr(zone->per_cpu_pageset, %d)", cpu)),
		p.Object(statT, statBase+off, "per_cpu_zonestats"), nil
}
