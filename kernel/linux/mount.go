package linux

import (
	"iter"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// ForEachMount yields every struct mount of the mount namespace ns (a
// struct mnt_namespace object) in mount order: the ns->mounts rbtree since
// Linux 6.8, the ns->list list before.
func ForEachMount(ns object.Object) iter.Seq2[object.Object, error] {
	p := ns.Prog()
	if ns.HasMember("mounts") && !ns.HasMember("list") {
		return func(yield func(object.Object, error) bool) {
			for node, err := range RBTreeForEach(ns.Member("mounts")) {
				if err != nil {
					yield(object.Object{}, err)
					return
				}
				if !yield(p.ContainerOf(node, "struct mount", "mnt_node"), nil) {
					return
				}
			}
		}
	}
	return ListForEachEntry(ns.Member("list"), "struct mount", "mnt_list")
}
