// Package linux holds helpers for the kernel's own data structures, one file
// per kernel header or subsystem, named after the kernel functions they
// mirror (list_for_each_entry → ListForEachEntry). Every walk has a cycle
// guard and an iteration cap: the memory is a dump, possibly of a kernel that
// crashed because these structures were corrupt.
package linux

import (
	"errors"
	"fmt"
	"iter"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// MaxListNodes caps every list walk; no real kernel list in a dump this
// tool reads (tasks, modules, mounts, slab caches) comes near it.
const MaxListNodes = 1 << 22

// ErrCycle is wrapped when a walk comes back to a node it has seen.
var ErrCycle = errors.New("list cycle")

// ErrTooLong is wrapped when a walk passes its iteration cap.
var ErrTooLong = errors.New("walk exceeds iteration cap")

// ListForEach yields the address of every node of the list whose head is
// the struct list_head object head, excluding the head itself; mirrors
// list_for_each() in include/linux/list.h. A read error or a cycle ends the
// walk with a non-nil error as the last pair.
func ListForEach(head object.Object) iter.Seq2[uint64, error] {
	return func(yield func(uint64, error) bool) {
		headAddr, ok := head.Address()
		if !ok {
			yield(0, fmt.Errorf("list head %s: %w", head.Path(), errOrNoAddr(head)))
			return
		}
		seen := map[uint64]struct{}{headAddr: {}}
		next, err := head.Member("next").Uint()
		for n := 0; ; n++ {
			if err != nil {
				yield(0, fmt.Errorf("list %s after %d nodes: %w", head.Path(), n, err))
				return
			}
			if next == headAddr {
				return
			}
			if next == 0 {
				yield(0, fmt.Errorf("list %s: NULL next pointer after %d nodes", head.Path(), n))
				return
			}
			if _, dup := seen[next]; dup {
				yield(0, fmt.Errorf("list %s: node %#x again after %d nodes: %w", head.Path(), next, n, ErrCycle))
				return
			}
			if n >= MaxListNodes {
				yield(0, fmt.Errorf("list %s: %w (%d)", head.Path(), ErrTooLong, MaxListNodes))
				return
			}
			seen[next] = struct{}{}
			if !yield(next, nil) {
				return
			}
			next, err = head.Prog().Object(head.Type(), next, "").Member("next").Uint()
		}
	}
}

// ListForEachEntry yields the containing objects of type typ ("struct
// task_struct") whose member (e.g. "tasks") is linked into the list at head;
// mirrors list_for_each_entry().
func ListForEachEntry(head object.Object, typ, member string) iter.Seq2[object.Object, error] {
	return func(yield func(object.Object, error) bool) {
		for node, err := range ListForEach(head) {
			if err != nil {
				yield(object.Object{}, err)
				return
			}
			if !yield(head.Prog().ContainerOf(node, typ, member), nil) {
				return
			}
		}
	}
}

// HlistForEachEntry yields the entries of an hlist (struct hlist_head
// object head), as hlist_for_each_entry().
func HlistForEachEntry(head object.Object, typ, member string) iter.Seq2[object.Object, error] {
	return func(yield func(object.Object, error) bool) {
		nodeType, terr := head.Prog().Type("struct hlist_node")
		if terr != nil {
			yield(object.Object{}, fmt.Errorf("hlist %s: %w", head.Path(), terr))
			return
		}
		node, err := head.Member("first").Uint()
		seen := map[uint64]struct{}{}
		for n := 0; node != 0; n++ {
			if err != nil {
				yield(object.Object{}, fmt.Errorf("hlist %s after %d nodes: %w", head.Path(), n, err))
				return
			}
			if _, dup := seen[node]; dup {
				yield(object.Object{}, fmt.Errorf("hlist %s: node %#x again: %w", head.Path(), node, ErrCycle))
				return
			}
			if n >= MaxListNodes {
				yield(object.Object{}, fmt.Errorf("hlist %s: %w", head.Path(), ErrTooLong))
				return
			}
			seen[node] = struct{}{}
			if !yield(head.Prog().ContainerOf(node, typ, member), nil) {
				return
			}
			node, err = head.Prog().Object(nodeType, node, "").Member("next").Uint()
		}
	}
}

func errOrNoAddr(o object.Object) error {
	if o.Err() != nil {
		return o.Err()
	}
	return errors.New("no address")
}

// LlistForEachEntry yields the entries of a lock-less list (struct
// llist_head object head), as llist_for_each_entry() in
// include/linux/llist.h: first, then ->next until NULL.
func LlistForEachEntry(head object.Object, typ, member string) iter.Seq2[object.Object, error] {
	return func(yield func(object.Object, error) bool) {
		p := head.Prog()
		nodeType, err := p.Type("struct llist_node")
		if err != nil {
			yield(object.Object{}, fmt.Errorf("llist %s: %w", head.Path(), err))
			return
		}
		node, err := head.Member("first").Uint()
		seen := map[uint64]struct{}{}
		for n := 0; node != 0 || err != nil; n++ {
			if err != nil {
				yield(object.Object{}, fmt.Errorf("llist %s after %d nodes: %w", head.Path(), n, err))
				return
			}
			if _, dup := seen[node]; dup {
				yield(object.Object{}, fmt.Errorf("llist %s: node %#x again: %w", head.Path(), node, ErrCycle))
				return
			}
			if n >= MaxListNodes {
				yield(object.Object{}, fmt.Errorf("llist %s: %w", head.Path(), ErrTooLong))
				return
			}
			seen[node] = struct{}{}
			if !yield(p.ContainerOf(node, typ, member), nil) {
				return
			}
			node, err = p.Object(nodeType, node, "").Member("next").Uint()
		}
	}
}
