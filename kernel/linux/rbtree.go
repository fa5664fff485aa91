package linux

import (
	"fmt"
	"iter"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// MaxTreeNodes caps rbtree walks.
const MaxTreeNodes = 1 << 22

// RBTreeForEach yields the address of every node of the struct rb_root
// object root in order (rb_first / rb_next in lib/rbtree.c).
func RBTreeForEach(root object.Object) iter.Seq2[uint64, error] {
	return func(yield func(uint64, error) bool) {
		p := root.Prog()
		nodeT, err := p.Type("struct rb_node")
		if err != nil {
			yield(0, err)
			return
		}
		node := func(addr uint64) object.Object { return p.Object(nodeT, addr, fmt.Sprintf("rb_node %#x", addr)) }
		leftmost := func(n uint64) (uint64, error) {
			for depth := 0; depth < 128; depth++ {
				l, err := node(n).Member("rb_left").Uint()
				if err != nil || l == 0 {
					return n, err
				}
				n = l
			}
			return 0, fmt.Errorf("rbtree %s: deeper than 128 levels", root.Path())
		}
		cur, err := root.Member("rb_node").Uint()
		if err != nil {
			yield(0, err)
			return
		}
		if cur == 0 {
			return
		}
		if cur, err = leftmost(cur); err != nil {
			yield(0, err)
			return
		}
		seen := map[uint64]bool{}
		for n := 0; cur != 0; n++ {
			if seen[cur] || n >= MaxTreeNodes {
				yield(0, fmt.Errorf("rbtree %s: node %#x: %w", root.Path(), cur, ErrCycle))
				return
			}
			seen[cur] = true
			if !yield(cur, nil) {
				return
			}
			// rb_next: the leftmost of the right subtree, else the first
			// ancestor of which we are in the left subtree.
			right, err := node(cur).Member("rb_right").Uint()
			if err != nil {
				yield(0, err)
				return
			}
			if right != 0 {
				if cur, err = leftmost(right); err != nil {
					yield(0, err)
					return
				}
				continue
			}
			for depth := 0; ; depth++ {
				pc, err := node(cur).Member("__rb_parent_color").Uint()
				if err != nil {
					yield(0, err)
					return
				}
				parent := pc &^ 3
				if parent == 0 || depth > 128 {
					return
				}
				pr, err := node(parent).Member("rb_right").Uint()
				if err != nil {
					yield(0, err)
					return
				}
				if pr != cur {
					cur = parent
					break
				}
				cur = parent
			}
		}
	}
}
