package linux

import (
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
)

// TestPageSlab asks each fixture kernel's struct pages about pages whose
// kind is known: pid 1's task_struct (its first and its last byte, the
// latter in a tail page of the order-3 slab on these kernels) and the
// first struct kmem_cache on slab_caches are slab objects; init_task and
// the kernel text are in the kernel image, not slab.
func TestPageSlab(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			k := kerneltest.OpenAlone(t, s, s.RefRole())
			p := k.Program()
			sp, err := NewSlabPages(p)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("test %d, head %s (mask %v)", sp.test, sp.head, sp.headMask)
			next, err := p.VarAs("init_task", "struct task_struct").Member("tasks.next").Uint()
			if err != nil {
				t.Fatal(err)
			}
			task := p.ContainerOf(next, "struct task_struct", "tasks")
			taskAddr, _ := task.Address()
			taskSize := mustSize(task.Type())
			// x86 allocates arch_task_struct_size bytes: the type less the
			// FPU state this CPU lacks (fpu__init_task_struct_size()). The
			// type's last byte may lie past the object, and past its slab
			// when the object is the slab's last (a fresh 6.1 build: the
			// next page, not slab).
			if n, err := p.VarAs("arch_task_struct_size", "unsigned int").Uint(); err == nil && n > 0 && n < taskSize {
				t.Logf("task_struct: %d bytes allocated of its type's %d", n, taskSize)
				taskSize = n
			}
			cache, err := p.VarAs("slab_caches", "struct list_head").Member("next").Uint()
			if err != nil {
				t.Fatal(err)
			}
			initTask, _ := p.VarAs("init_task", "struct task_struct").Address()
			text, err := p.Syms.Addr("_text")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what string
				va   uint64
				slab bool
			}{
				{"pid 1's task_struct", taskAddr, true},
				{"the last byte of pid 1's task_struct", taskAddr + taskSize - 1, true},
				{"slab_caches.next's kmem_cache", cache, true},
				{"init_task", initTask, false},
				{"_text", text, false},
			} {
				pa, err := k.Translate(c.va)
				if err != nil {
					t.Fatalf("%s at %#x: %v", c.what, c.va, err)
				}
				got, err := sp.PageSlab(pa >> PageShift)
				if err != nil || got != c.slab {
					t.Errorf("%s at %#x (phys %#x): PageSlab %v, %v; want %v", c.what, c.va, pa, got, err, c.slab)
				}
			}
		})
	}
}
