package linux

import (
	"fmt"
	"iter"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// ForEachFileSystem yields the registered struct file_system_type objects
// in the order filesystems_proc_show() (fs/filesystems.c) prints them.
// file_systems was a singly linked list through ->next; kernels that
// replaced it by an hlist (7.2's file_system_type has ->list, no ->next)
// add at the tail, so the order is the same. The member decides.
func ForEachFileSystem(p *object.Program) iter.Seq2[object.Object, error] {
	return func(yield func(object.Object, error) bool) {
		if !p.HasMember("struct file_system_type", "next") {
			for t, err := range HlistForEachEntry(p.VarAs("file_systems", "struct hlist_head"), "struct file_system_type", "list") {
				if !yield(t, err) || err != nil {
					return
				}
			}
			return
		}
		fs := p.VarAs("file_systems", "struct file_system_type *")
		for n := 0; ; n++ {
			ptr, err := fs.Uint()
			if err != nil {
				yield(object.Object{}, err)
				return
			}
			if ptr == 0 {
				return
			}
			if n > MaxListNodes {
				yield(object.Object{}, fmt.Errorf("file_systems: %w", ErrTooLong))
				return
			}
			t := fs.Deref()
			if !yield(t, t.Err()) {
				return
			}
			fs = t.Member("next")
		}
	}
}
