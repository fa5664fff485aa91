package linux

import (
	"errors"
	"fmt"
	"iter"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// This file follows SLUB: mm/slab_common.c and mm/slub.c.

// ErrNotSLUB is returned for a kernel built with SLAB or SLOB.
var ErrNotSLUB = errors.New("slab allocator is not SLUB")

// ForEachSlabCache yields every struct kmem_cache on slab_caches, newest
// first, the order /proc/slabinfo lists them in (slab_start() walks the
// list; create_cache() adds at its head).
func ForEachSlabCache(p *object.Program) iter.Seq2[object.Object, error] {
	return ListForEachEntry(p.VarAs("slab_caches", "struct list_head"), "struct kmem_cache", "list")
}

// Slabinfo is struct slabinfo (mm/slab.h) as SLUB's get_slabinfo() fills
// it; SLUB has no tunables and no shared arrays, so those fields are 0.
type Slabinfo struct {
	ActiveObjs, NumObjs, ActiveSlabs, NumSlabs uint64
	ObjectsPerSlab, CacheOrder                 uint64
}

// maxPartialToScan is MAX_PARTIAL_TO_SCAN of count_partial_free_approx().
const maxPartialToScan = 10000

// GetSlabinfo mirrors get_slabinfo() in mm/slub.c (CONFIG_SLUB_DEBUG) for
// the struct kmem_cache s: over every node, the slab and object totals
// (kmem_cache_node.nr_slabs, total_objects) and the free objects on the
// partial lists. Objects in per-cpu slabs and per-cpu partial slabs count
// as active, as in the kernel. 6.10+ kernels estimate the free count from
// 10000 slabs of a longer partial list (count_partial_free_approx()), which
// this follows when the kernel has that function.
func GetSlabinfo(s object.Object) (Slabinfo, error) {
	var si Slabinfo
	p := s.Prog()
	// SLUB's per-CPU state: cpu_slab, and the percpu sheaves (v6.18 "slab:
	// add opt-in caching layer of percpu sheaves") that replaced it in 7.x.
	if !s.HasMember("cpu_slab") && !s.HasMember("cpu_sheaves") {
		return si, ErrNotSLUB
	}
	if !p.HasMember("struct kmem_cache_node", "nr_slabs") {
		return si, errors.New("kernel built without CONFIG_SLUB_DEBUG: no slab totals (and no /proc/slabinfo)")
	}
	oo, err := s.Member("oo.x").Uint()
	if err != nil {
		return si, err
	}
	si.ObjectsPerSlab, si.CacheOrder = oo&(1<<16-1), oo>>16 // OO_SHIFT, OO_MASK
	nodes, err := NrNodeIDs(p)
	if err != nil {
		return si, err
	}
	approx := HasSymbol(p, "count_partial_free_approx")
	var free uint64
	for nid := range nodes { // for_each_kmem_cache_node()
		ptr := kmemCacheNode(s, nid)
		addr, err := ptr.Uint()
		if err != nil {
			return si, err
		}
		if addr == 0 {
			continue
		}
		n := ptr.Deref()
		slabs, err1 := n.Member("nr_slabs.counter").Uint()
		objs, err2 := n.Member("total_objects.counter").Uint()
		nrPartial, err3 := n.Member("nr_partial").Uint()
		if err := errors.Join(err1, err2, err3); err != nil {
			return si, err
		}
		si.NumSlabs += slabs
		si.NumObjs += objs
		f, err := countPartialFree(n, nrPartial, objs, approx)
		if err != nil {
			return si, err
		}
		free += f
	}
	si.ActiveObjs = si.NumObjs - min(free, si.NumObjs)
	si.ActiveSlabs = si.NumSlabs
	return si, nil
}

// kmemCacheNode is get_node(s, nid): s->node[nid], or, once the per-node
// barns came with the sheaves (7.2's struct kmem_cache has per_node[], no
// node[]), s->per_node[nid].node. The member decides.
func kmemCacheNode(s object.Object, nid int) object.Object {
	if s.HasMember("node") {
		return s.Member(fmt.Sprintf("node[%d]", nid))
	}
	return s.Member(fmt.Sprintf("per_node[%d].node", nid))
}

// slabType is the type a slab's descriptor has: struct slab since v5.17
// ("mm: Split slab into its own type"), struct page before (its objects,
// inuse and slab_list are members of page's unions).
func slabType(p *object.Program) string {
	if p.HasMember("struct slab", "slab_list") {
		return "struct slab"
	}
	return "struct page"
}

// countPartialFree mirrors count_partial(n, count_free) and, with approx,
// count_partial_free_approx(): objects - inuse summed over n->partial.
func countPartialFree(n object.Object, nrPartial, nodeObjs uint64, approx bool) (uint64, error) {
	var free, scanned uint64
	limit := uint64(MaxListNodes)
	if approx && nrPartial > maxPartialToScan {
		limit = maxPartialToScan / 2
	}
	add := func(slab object.Object) error {
		objects, err1 := slab.Member("objects").Uint()
		inuse, err2 := slab.Member("inuse").Uint()
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		free += objects - min(inuse, objects)
		scanned++
		return nil
	}
	slabT := slabType(n.Prog())
	for slab, err := range ListForEachEntry(n.Member("partial"), slabT, "slab_list") {
		if err != nil {
			return 0, err
		}
		if err := add(slab); err != nil {
			return 0, err
		}
		if scanned == limit {
			break
		}
	}
	if !approx || nrPartial <= maxPartialToScan {
		return free, nil
	}
	// The other half from the tail, then scale to the whole list.
	for slab, err := range listForEachEntryReverse(n.Member("partial"), slabT, "slab_list") {
		if err != nil {
			return 0, err
		}
		if err := add(slab); err != nil {
			return 0, err
		}
		if scanned == maxPartialToScan {
			break
		}
	}
	free = free * nrPartial / scanned // mult_frac
	return min(free, nodeObjs), nil
}

// listForEachEntryReverse is list_for_each_entry_reverse(): the entries
// from the tail, following prev.
func listForEachEntryReverse(head object.Object, typ, member string) iter.Seq2[object.Object, error] {
	return func(yield func(object.Object, error) bool) {
		headAddr, ok := head.Address()
		if !ok {
			yield(object.Object{}, fmt.Errorf("list head %s: no address", head.Path()))
			return
		}
		seen := map[uint64]bool{}
		prev, err := head.Member("prev").Uint()
		for n := 0; prev != headAddr; n++ {
			if err != nil {
				yield(object.Object{}, err)
				return
			}
			if prev == 0 || seen[prev] || n >= MaxListNodes {
				yield(object.Object{}, fmt.Errorf("list %s: bad prev %#x after %d nodes: %w", head.Path(), prev, n, ErrCycle))
				return
			}
			seen[prev] = true
			if !yield(head.Prog().ContainerOf(prev, typ, member), nil) {
				return
			}
			prev, err = head.Prog().Object(head.Type(), prev, "").Member("prev").Uint()
		}
	}
}
