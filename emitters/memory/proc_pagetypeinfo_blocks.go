package memory

import (
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// zoneSpan is a zone's pfn range and identity.
type zoneSpan struct {
	nid, zid   uint64
	start, end uint64
}

// allZoneSpans lists the spans of every zone of every online node, to
// know where zones overlap.
func allZoneSpans(p *object.Program) ([]zoneSpan, error) {
	nz, err := linux.MaxNrZones(p)
	if err != nil {
		return nil, err
	}
	var spans []zoneSpan
	for pgdat, err := range linux.ForEachOnlinePgdat(p) {
		if err != nil {
			return nil, err
		}
		nid, err := pgdat.Member("node_id").Uint()
		if err != nil {
			return nil, err
		}
		for zid := range nz {
			zone := pgdat.Member("node_zones").Index(uint64(zid))
			var rd object.Reader
			start := rd.Uint(zone.Member("zone_start_pfn"))
			spanned := rd.Uint(zone.Member("spanned_pages"))
			if err := rd.Err(); err != nil {
				return nil, err
			}
			if spanned != 0 {
				spans = append(spans, zoneSpan{nid, uint64(zid), start, start + spanned})
			}
		}
	}
	return spans, nil
}

// pageblockCounts mirrors pagetypeinfo_showblockcount_print(): for each
// pageblock_nr_pages step from zone_start_pfn, an online page whose
// page_zone() is this zone adds one to its block's migratetype. page_zone()
// is read from the struct page only where another zone's span overlaps.
func pageblockCounts(pb *linux.Pageblocks, z nodeZone, spans []zoneSpan, ntypes int) ([]uint64, error) {
	start, err := z.zone.Member("zone_start_pfn").Uint()
	if err != nil {
		return nil, err
	}
	spanned, err := z.zone.Member("spanned_pages").Uint()
	if err != nil {
		return nil, err
	}
	me := zoneSpan{uint64(z.nid), uint64(z.zid), start, start + spanned}
	var others []zoneSpan
	for _, s := range spans {
		if s.nid == me.nid && s.zid == me.zid {
			continue
		}
		if s.start < me.end && me.start < s.end {
			others = append(others, s)
		}
	}
	counts := make([]uint64, ntypes)
	step := uint64(1) << pb.Order()
	for pfn := me.start; pfn < me.end; pfn += step {
		online, err := pb.OnlinePage(pfn)
		if err != nil {
			return nil, err
		}
		if !online {
			continue
		}
		for _, o := range others {
			if pfn >= o.start && pfn < o.end {
				nid, zid, err := pb.PageZone(pfn)
				if err != nil {
					return nil, err
				}
				if nid != me.nid || zid != me.zid {
					online = false
				}
				break
			}
		}
		if !online {
			continue
		}
		mt, err := pb.Migratetype(pfn)
		if err != nil {
			return nil, err
		}
		if mt < uint64(ntypes) {
			counts[mt]++
		}
	}
	return counts, nil
}
