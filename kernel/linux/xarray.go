package linux

import (
	"encoding/binary"
	"fmt"
	"iter"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// XArrayEntry is one present entry of an xarray (or radix tree).
type XArrayEntry struct {
	Index uint64
	Entry uint64 // the stored pointer or value entry, as stored
}

// xaChunkShift is XA_CHUNK_SHIFT (6 with CONFIG_BASE_SMALL off): 64 slots
// per node.
const xaChunkShift = 6

// maxXANodes caps xarray walks.
const maxXANodes = 1 << 20

// XArrayForEach yields every present entry of the struct xarray object xa in
// index order (xa_for_each in include/linux/xarray.h; radix trees are
// xarrays since 4.20). Internal entries (sibling, retry, zero) are skipped.
func XArrayForEach(xa object.Object) iter.Seq2[XArrayEntry, error] {
	return func(yield func(XArrayEntry, error) bool) {
		head, err := xa.Member("xa_head").Uint()
		if err != nil {
			yield(XArrayEntry{}, err)
			return
		}
		if head == 0 {
			return
		}
		if !isXANode(head) {
			if !isXAInternal(head) {
				yield(XArrayEntry{0, head}, nil)
			}
			return
		}
		p := xa.Prog()
		nodeT, err := p.Type("struct xa_node")
		if err != nil {
			yield(XArrayEntry{}, err)
			return
		}
		visited := 0
		var walk func(node uint64, base uint64, depth int) bool
		walk = func(node uint64, base uint64, depth int) bool {
			visited++
			if visited > maxXANodes || depth > 12 {
				yield(XArrayEntry{}, fmt.Errorf("xarray %s: %w", xa.Path(), ErrTooLong))
				return false
			}
			n := p.Object(nodeT, node, fmt.Sprintf("xa_node %#x", node))
			shift, err := n.Member("shift").Uint()
			if err != nil {
				yield(XArrayEntry{}, err)
				return false
			}
			if shift > 64-xaChunkShift || shift%xaChunkShift != 0 {
				yield(XArrayEntry{}, fmt.Errorf("xarray %s: node %#x: bad shift %d", xa.Path(), node, shift))
				return false
			}
			slots := make([]byte, 8<<xaChunkShift)
			if err := n.Member("slots").Read(slots); err != nil {
				yield(XArrayEntry{}, err)
				return false
			}
			for i := uint64(0); i < 1<<xaChunkShift; i++ {
				e := binary.LittleEndian.Uint64(slots[8*i:])
				if e == 0 {
					continue
				}
				idx := base + i<<shift
				if isXANode(e) {
					if shift == 0 {
						continue // a node below the leaves: corrupt, skip it
					}
					if !walk(e-2, idx, depth+1) {
						return false
					}
					continue
				}
				if isXAInternal(e) {
					continue // sibling, retry or zero entry
				}
				if !yield(XArrayEntry{idx, e}, nil) {
					return false
				}
			}
			return true
		}
		walk(head-2, 0, 0)
	}
}

// isXAInternal is xa_is_internal(): the low two bits are 10.
func isXAInternal(e uint64) bool { return e&3 == 2 }

// isXANode is xa_is_node(): an internal entry above 4096.
func isXANode(e uint64) bool { return isXAInternal(e) && e > 4096 }
