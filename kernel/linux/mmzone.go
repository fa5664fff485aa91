package linux

import (
	"fmt"
	"iter"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// This file follows include/linux/mmzone.h and include/linux/nodemask.h:
// nodes (struct pglist_data), their zones (struct zone) and the buddy
// allocator's free areas.

// maxNodes bounds node numbers (MAX_NUMNODES is at most 1 << 10).
const maxNodes = 1 << 10

// NodeState reports whether node nid is in node_states[state], state an
// enum node_states enumerator ("N_ONLINE", "N_MEMORY"); node_state() in
// include/linux/nodemask.h. A kernel without CONFIG_NUMA has one node, 0,
// in every state.
func NodeState(p *object.Program, nid int, state string) (bool, error) {
	if !HasSymbol(p, "node_data") {
		return nid == 0, nil
	}
	s, err := EnumValue(p, state)
	if err != nil {
		return false, err
	}
	if nid < 0 || nid >= maxNodes || s < 0 || s > 16 {
		return false, fmt.Errorf("node_state(%d, %s=%d): out of range", nid, state, s)
	}
	word, err := SymbolIndex(p, "node_states", "nodemask_t", int(s)).Member(fmt.Sprintf("bits[%d]", nid/64)).Uint()
	if err != nil {
		return false, err
	}
	return word&(1<<(nid%64)) != 0, nil
}

// NodeData is NODE_DATA(nid): node_data[nid] with CONFIG_NUMA, else
// contig_page_data (struct pglist_data).
func NodeData(p *object.Program, nid int) object.Object {
	if !HasSymbol(p, "node_data") {
		if nid != 0 {
			return p.Errorf("NODE_DATA", "node %d on a kernel without CONFIG_NUMA", nid)
		}
		return p.VarAs("contig_page_data", "struct pglist_data")
	}
	if nid < 0 || nid >= maxNodes {
		return p.Errorf("NODE_DATA", "node %d out of range", nid)
	}
	return SymbolIndex(p, "node_data", "struct pglist_data *", nid).Deref()
}

// NrNodeIDs is nr_node_ids, one past the highest possible node (1 without
// CONFIG_NUMA).
func NrNodeIDs(p *object.Program) (int, error) {
	if !HasSymbol(p, "nr_node_ids") {
		return 1, nil
	}
	n, err := p.VarAs("nr_node_ids", "unsigned int").Uint()
	if err != nil {
		return 0, err
	}
	if n == 0 || n > maxNodes {
		return 0, fmt.Errorf("nr_node_ids = %d, not plausible", n)
	}
	return int(n), nil
}

// ForEachOnlinePgdat yields the struct pglist_data of every online node in
// node order, as for_each_online_pgdat().
func ForEachOnlinePgdat(p *object.Program) iter.Seq2[object.Object, error] {
	return func(yield func(object.Object, error) bool) {
		n, err := NrNodeIDs(p)
		if err != nil {
			yield(object.Object{}, err)
			return
		}
		for nid := range n {
			on, err := NodeState(p, nid, "N_ONLINE")
			if err != nil {
				yield(object.Object{}, err)
				return
			}
			if !on {
				continue
			}
			pgdat := NodeData(p, nid)
			if pgdat.Err() != nil {
				yield(object.Object{}, pgdat.Err())
				return
			}
			if !yield(pgdat, nil) {
				return
			}
		}
	}
}

// MaxNrZones is MAX_NR_ZONES (enum zone_type's __MAX_NR_ZONES).
func MaxNrZones(p *object.Program) (int, error) {
	n, err := EnumValue(p, "__MAX_NR_ZONES")
	if err != nil {
		return 0, err
	}
	if n <= 0 || n > 8 {
		return 0, fmt.Errorf("MAX_NR_ZONES = %d, not plausible", n)
	}
	return int(n), nil
}

// ForEachZone yields every zone of every online node, populated or not, as
// for_each_zone().
func ForEachZone(p *object.Program) iter.Seq2[object.Object, error] {
	return func(yield func(object.Object, error) bool) {
		nz, err := MaxNrZones(p)
		if err != nil {
			yield(object.Object{}, err)
			return
		}
		for pgdat, err := range ForEachOnlinePgdat(p) {
			if err != nil {
				yield(object.Object{}, err)
				return
			}
			for i := range nz {
				if !yield(pgdat.Member("node_zones").Index(uint64(i)), nil) {
					return
				}
			}
		}
	}
}

// PopulatedZone mirrors populated_zone(): the zone has present pages.
func PopulatedZone(zone object.Object) (bool, error) {
	n, err := zone.Member("present_pages").Uint()
	return n != 0, err
}

// ZoneName is zone->name ("DMA32").
func ZoneName(zone object.Object) (string, error) {
	return zone.Member("name").CString()
}

// WmarkPages mirrors min/low/high/promo_wmark_pages(zone): the watermark
// named by its enum zone_watermarks enumerator plus watermark_boost.
func WmarkPages(zone object.Object, wmark string) (uint64, error) {
	i, err := EnumValue(zone.Prog(), wmark)
	if err != nil {
		return 0, err
	}
	w, err := zone.Member(fmt.Sprintf("_watermark[%d]", i)).Uint()
	if err != nil {
		return 0, err
	}
	boost, err := zone.Member("watermark_boost").Uint()
	return w + boost, err
}

// ZoneManagedPages is zone_managed_pages(): atomic_long_read(&managed_pages).
func ZoneManagedPages(zone object.Object) (uint64, error) {
	return zone.Member("managed_pages.counter").Uint()
}

// ZonePageStates is zone_page_state(zone, item) for every enum
// zone_stat_item: zone->vm_stat[], negatives read as 0.
func ZonePageStates(zone object.Object) ([]uint64, error) {
	n, err := enumCount(zone.Prog(), "NR_VM_ZONE_STAT_ITEMS")
	if err != nil {
		return nil, err
	}
	w, err := readWords(zone.Member("vm_stat"), n)
	return clampNegative(w), err
}

// NodePageStates is node_page_state_pages(pgdat, item) for every enum
// node_stat_item: pgdat->vm_stat[], negatives read as 0.
func NodePageStates(pgdat object.Object) ([]uint64, error) {
	n, err := enumCount(pgdat.Prog(), "NR_VM_NODE_STAT_ITEMS")
	if err != nil {
		return nil, err
	}
	w, err := readWords(pgdat.Member("vm_stat"), n)
	return clampNegative(w), err
}

// NrPageOrders is the length of zone->free_area[]: MAX_ORDER (6.1) or
// NR_PAGE_ORDERS (6.8+), the orders /proc/buddyinfo prints.
func NrPageOrders(p *object.Program) (int, error) {
	return arrayLen(p, "struct zone", "free_area")
}

// FreeAreaNrFree reads free_area[order].nr_free for every order of zone.
func FreeAreaNrFree(zone object.Object) ([]uint64, error) {
	n, err := NrPageOrders(zone.Prog())
	if err != nil {
		return nil, err
	}
	out := make([]uint64, n)
	for o := range out {
		if out[o], err = zone.Member(fmt.Sprintf("free_area[%d].nr_free", o)).Uint(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FreeListCount counts the entries of zone->free_area[order].free_list[mtype]
// as pagetypeinfo_showfree_print() does, stopping at limit (the kernel's
// 100000); overflow reports that the walk stopped there.
func FreeListCount(zone object.Object, order, mtype, limit int) (n int, overflow bool, err error) {
	head := zone.Member(fmt.Sprintf("free_area[%d].free_list[%d]", order, mtype))
	for _, err := range ListForEach(head) {
		if err != nil {
			return n, false, err
		}
		n++
		if n >= limit {
			return n, true, nil
		}
	}
	return n, false, nil
}

// arrayLen is the element count of the array member of struct typ.
func arrayLen(p *object.Program, typ, member string) (int, error) {
	t, err := p.Type(typ)
	if err != nil {
		return 0, err
	}
	m, err := ktype.FindMember(t, member)
	if err != nil {
		return 0, err
	}
	a, ok := ktype.As[*ktype.Array](m.Type)
	if !ok || a.Count == 0 || a.Count > 1<<16 {
		return 0, fmt.Errorf("%s.%s: not an array of plausible length", typ, member)
	}
	return int(a.Count), nil
}
