package linux

import (
	"encoding/binary"
	"fmt"
	"iter"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// MapleEntry is one present entry of a maple tree: the index range
// [First, Last] it covers and the stored pointer.
type MapleEntry struct {
	First, Last uint64
	Entry       uint64
}

// Maple node types, enum maple_type in include/linux/maple_tree.h.
const (
	mapleDense    = 0
	mapleLeaf64   = 1
	mapleRange64  = 2
	mapleArange64 = 3
)

// Maple tree encoding constants (lib/maple_tree.c, include/linux/maple_tree.h).
const (
	mapleNodeMask     = 255  // MAPLE_NODE_MASK: low bits of an encoded node
	mapleNodeTypeMask = 0x0f // MAPLE_NODE_TYPE_MASK
	mapleNodeTypeSh   = 3    // MAPLE_NODE_TYPE_SHIFT
	mapleRootNode     = 0x02 // MAPLE_ROOT_NODE, set in ma_root
	mapleHeightMax    = 31   // MAPLE_HEIGHT_MAX
	mapleNodeBytes    = 256  // sizeof(struct maple_node) on 64-bit
	maxMapleNodes     = 1 << 20
)

// mapleLayout holds the member offsets of the two node layouts, from the
// kernel's own types (struct maple_range_64, struct maple_arange_64).
type mapleLayout struct {
	rPivot, rSlot, rMeta uint64 // maple_range_64 (also the leaves)
	aPivot, aSlot, aMeta uint64 // maple_arange_64
	rSlots, aSlots       int    // MAPLE_RANGE64_SLOTS, MAPLE_ARANGE64_SLOTS
}

func readMapleLayout(p *object.Program) (mapleLayout, error) {
	var l mapleLayout
	r, err := p.Type("struct maple_range_64")
	if err != nil {
		return l, err
	}
	a, err := p.Type("struct maple_arange_64")
	if err != nil {
		return l, err
	}
	for _, f := range []struct {
		t    ktype.Type
		path string
		dst  *uint64
	}{
		{r, "pivot", &l.rPivot}, {r, "slot", &l.rSlot}, {r, "meta", &l.rMeta},
		{a, "pivot", &l.aPivot}, {a, "slot", &l.aSlot}, {a, "meta", &l.aMeta},
	} {
		if *f.dst, err = ktype.MemberOffset(f.t, f.path); err != nil {
			return l, err
		}
	}
	for _, f := range []struct {
		t   ktype.Type
		dst *int
	}{{r, &l.rSlots}, {a, &l.aSlots}} {
		m, err := ktype.FindMember(f.t, "slot")
		if err != nil {
			return l, err
		}
		arr, ok := ktype.As[*ktype.Array](m.Type)
		if !ok || arr.Count == 0 || arr.Count > 64 {
			return l, fmt.Errorf("maple node slot array: unexpected type %s", ktype.String(m.Type))
		}
		*f.dst = int(arr.Count)
	}
	if l.rMeta+2 > mapleNodeBytes || l.aMeta+2 > mapleNodeBytes {
		return l, fmt.Errorf("maple node metadata beyond %d bytes", mapleNodeBytes)
	}
	return l, nil
}

// MtForEach yields every non-NULL entry of the struct maple_tree object mt
// in index order, as mt_for_each() in include/linux/maple_tree.h. Internal
// entries (XA_ZERO_ENTRY and the like) are skipped.
func MtForEach(mt object.Object) iter.Seq2[MapleEntry, error] {
	return func(yield func(MapleEntry, error) bool) {
		root, err := mt.Member("ma_root").Uint()
		if err != nil {
			yield(MapleEntry{}, err)
			return
		}
		if root == 0 {
			return
		}
		if !isXANode(root) {
			// A lone entry at index 0 (mas_root_expand has not run).
			if !isXAInternal(root) {
				yield(MapleEntry{0, 0, root}, nil)
			}
			return
		}
		p := mt.Prog()
		l, err := readMapleLayout(p)
		if err != nil {
			yield(MapleEntry{}, fmt.Errorf("maple tree %s: %w", mt.Path(), err))
			return
		}
		visited := 0
		var walk func(enode, min, max uint64, depth int) bool
		walk = func(enode, min, max uint64, depth int) bool {
			visited++
			if visited > maxMapleNodes || depth > mapleHeightMax {
				yield(MapleEntry{}, fmt.Errorf("maple tree %s: %w", mt.Path(), ErrTooLong))
				return false
			}
			node := enode &^ mapleNodeMask
			typ := (enode >> mapleNodeTypeSh) & mapleNodeTypeMask
			buf := make([]byte, mapleNodeBytes) // one per level: children reuse none of it
			if _, err := p.Mem.ReadVirtAt(buf, node); err != nil {
				yield(MapleEntry{}, fmt.Errorf("maple tree %s: node %#x: %w", mt.Path(), node, err))
				return false
			}
			var pivOff, slotOff, metaOff uint64
			var nslots int
			switch typ {
			case mapleLeaf64, mapleRange64:
				pivOff, slotOff, metaOff, nslots = l.rPivot, l.rSlot, l.rMeta, l.rSlots
			case mapleArange64:
				pivOff, slotOff, metaOff, nslots = l.aPivot, l.aSlot, l.aMeta, l.aSlots
			default:
				yield(MapleEntry{}, fmt.Errorf("maple tree %s: node %#x of type %d", mt.Path(), node, typ))
				return false
			}
			npiv := nslots - 1
			pivot := func(i int) uint64 { return binary.LittleEndian.Uint64(buf[pivOff+8*uint64(i):]) }
			// ma_data_end(): the last used slot.
			end := int(buf[metaOff])
			if typ != mapleArange64 {
				switch last := pivot(npiv - 1); {
				case last == 0:
				case last == max:
					end = npiv - 1
				default:
					end = npiv
				}
			}
			if end >= nslots {
				yield(MapleEntry{}, fmt.Errorf("maple tree %s: node %#x: data end %d", mt.Path(), node, end))
				return false
			}
			lo := min
			for i := 0; i <= end; i++ {
				// mas_safe_pivot(): past the pivot array the slot ends
				// at the node's maximum.
				hi := max
				if i < npiv {
					hi = pivot(i)
					if hi == 0 && i > 0 {
						hi = max
					}
				}
				if hi < lo || hi > max {
					yield(MapleEntry{}, fmt.Errorf("maple tree %s: node %#x: pivot %d out of order", mt.Path(), node, i))
					return false
				}
				e := binary.LittleEndian.Uint64(buf[slotOff+8*uint64(i):])
				switch {
				case e == 0:
				case typ == mapleArange64 || typ == mapleRange64:
					if !walk(e, lo, hi, depth+1) {
						return false
					}
				case !isXAInternal(e):
					if !yield(MapleEntry{lo, hi, e}, nil) {
						return false
					}
				}
				if hi == max {
					break
				}
				lo = hi + 1
			}
			return true
		}
		walk(root&^mapleRootNode, 0, ^uint64(0), 0)
	}
}
