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

// ExcludedKernelPages reads a few kernel objects that live in slab pages
// and that no makedumpfile dump level (-d 31 excludes only zero, page
// cache, user and free pages) may drop: the task_struct after init_task on
// the task list, its struct pid, and the first struct kmem_cache on
// slab_caches. A makedumpfile older than the kernel can misread the
// kernel's page flags (their layout changes between releases: page_type,
// PG_slab) and silently drop slab pages as free or user ones; then these
// reads fail with dump.ErrExcluded. It returns those found excluded; an
// error when the probe itself could not run (for instance init_task
// unreadable).
func ExcludedKernelPages(p *object.Program) ([]ExcludedKernelPage, error) {
	var out []ExcludedKernelPage
	probe := func(what string, o object.Object, member string) error {
		addr, ok := o.Address()
		if !ok {
			return o.Err()
		}
		_, err := o.Member(member).Uint()
		switch {
		case err == nil:
		case errors.Is(err, dump.ErrExcluded):
			out = append(out, ExcludedKernelPage{What: what, Addr: addr})
		default:
			return err
		}
		return nil
	}
	initTask := p.VarAs("init_task", "struct task_struct")
	next, err := initTask.Member("tasks.next").Uint()
	if err != nil {
		return nil, err
	}
	task := p.ContainerOf(next, "struct task_struct", "tasks")
	if err := probe("task_struct (slab) of the first task after init_task", task, "pid"); err != nil {
		return nil, err
	}
	if len(out) == 0 { // the task is readable: its struct pid is a slab object too
		pid := task.Member("thread_pid").Deref()
		if err := probe("struct pid (slab) of that task", pid, "level"); err != nil && !errors.Is(err, dump.ErrExcluded) {
			return nil, err
		}
	}
	first, err := p.VarAs("slab_caches", "struct list_head").Member("next").Uint()
	if err != nil {
		return nil, err
	}
	cache := p.ContainerOf(first, "struct kmem_cache", "list")
	if err := probe("struct kmem_cache (slab) first on slab_caches", cache, "name"); err != nil {
		return nil, err
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
