package linux

import (
	"errors"
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/dump"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// ExcludedKernelPage is a kernel object every makedumpfile dump level
// keeps, found excluded from the dump.
type ExcludedKernelPage struct {
	What string // e.g. "task_struct (slab) of pid 2"
	Addr uint64
}

// maxProbedObjects bounds each walk of ExcludedKernelPages.
const maxProbedObjects = 64

// ExcludedKernelPages reads a few kernel objects that live in slab pages
// and that no makedumpfile dump level (-d 31 excludes only zero, page
// cache, user and free pages) may drop: the first task_structs on init_task's
// task list and the first struct kmem_cache objects on slab_caches. A makedumpfile older than the kernel can misread the
// kernel's page flags (their layout changes between releases: page_type,
// PG_slab) and silently drop slab pages as free or user ones; then these
// reads fail with dump.ErrExcluded. It returns those found excluded; an
// error when the probe itself could not run (for instance init_task
// unreadable). A makedumpfile that drops only a few slab pages can pass
// it: the report then asks SlabPages about each page an output fails on.
func ExcludedKernelPages(p *object.Program) ([]ExcludedKernelPage, error) {
	var out []ExcludedKernelPage
	// probe reads members spread over the object (a task_struct spans
	// several pages of its slab, which may be excluded one by one).
	probe := func(what string, o object.Object, members ...string) error {
		addr, ok := o.Address()
		if !ok {
			return o.Err()
		}
		for _, m := range members {
			_, err := o.Member(m).Uint()
			switch {
			case err == nil:
			case errors.Is(err, dump.ErrExcluded), errors.Is(err, dump.ErrNoMemory):
				// An ELF dump by makedumpfile -E leaves excluded pages
				// out of every PT_LOAD: there they read as no memory
				// (the address came from a kernel list, so it is RAM).
				out = append(out, ExcludedKernelPage{What: what, Addr: addr})
				return nil
			default:
				return err
			}
		}
		return nil
	}
	// The first tasks on init_task's list (each task_struct is a slab
	// object of its own page or a neighbour's); the walk stops at the
	// first one excluded, whose tasks.next cannot be read.
	head, ok := p.VarAs("init_task", "struct task_struct").Member("tasks").Address()
	if !ok {
		return nil, errors.New("init_task: no address")
	}
	next, err := p.VarAs("init_task", "struct task_struct").Member("tasks.next").Uint()
	if err != nil {
		return nil, err
	}
	for i := 0; i < maxProbedObjects && next != head && next != 0; i++ {
		task := p.ContainerOf(next, "struct task_struct", "tasks")
		before := len(out)
		if err := probe("task_struct (slab)", task, "flags", "pid", "tasks.next"); err != nil {
			return nil, err
		}
		if len(out) > before {
			break
		}
		if next, err = task.Member("tasks.next").Uint(); err != nil {
			return nil, err
		}
	}
	// The first struct kmem_cache objects on slab_caches.
	cachesHead, ok := p.VarAs("slab_caches", "struct list_head").Address()
	if !ok {
		return nil, errors.New("slab_caches: no address")
	}
	next, err = p.VarAs("slab_caches", "struct list_head").Member("next").Uint()
	if err != nil {
		return nil, err
	}
	for i := 0; i < maxProbedObjects && next != cachesHead && next != 0; i++ {
		cache := p.ContainerOf(next, "struct kmem_cache", "list")
		before := len(out)
		if err := probe("struct kmem_cache (slab)", cache, "name", "list.next"); err != nil {
			return nil, err
		}
		if len(out) > before {
			break
		}
		if next, err = cache.Member("list.next").Uint(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ExcludedKernelPagesAdvice is the one sentence a report gives when
// ExcludedKernelPages found any.
func ExcludedKernelPagesAdvice(found []ExcludedKernelPage) string {
	s := "kernel slab pages were excluded from this dump although no makedumpfile dump level drops them ("
	for i, f := range found {
		if i > 0 {
			s += "; "
		}
		s += fmt.Sprintf("%s at %#x", f.What, f.Addr)
	}
	return s + "): the makedumpfile that made it does not know this kernel's page flags; " +
		"re-make the dump from the original vmcore with a makedumpfile that supports this kernel release, " +
		"or with -d 1, which keeps every kernel page"
}
