package linux

import (
	"errors"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// TestModuleTypesWithoutBTFModuleType: when the kernel's own types lack
// struct btf_module (a damaged dump lost that part of the vmlinux BTF), the
// program asks its ModuleTypes fallback for it while ModuleTypes is reading
// btf_modules. That once deadlocked (seen on an ELF dump cut in half, where
// it depended on where physical KASLR put the BTF); it must end with
// ErrNoModuleBTF instead.
func TestModuleTypesWithoutBTFModuleType(t *testing.T) {
	lh := &ktype.Struct{Name: "list_head", Size: 16}
	lh.Members = []ktype.Member{{Name: "next", Type: &ktype.Pointer{Target: lh}}, {Name: "prev", Type: &ktype.Pointer{Target: lh}, Offset: 64}}
	p := &object.Program{Mem: fakekernel.Memory{}, Types: fakekernel.Types{"struct list_head": lh},
		Syms: fakekernel.Symbols{"btf_modules": 0x100}}
	mt := NewModuleTypes(p, nil)
	p.ModuleTypes = mt

	done := make(chan error, 1)
	go func() {
		_, err := mt.Modules()
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNoModuleBTF) {
			t.Fatalf("Modules() = %v, want ErrNoModuleBTF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Modules() did not return: it waits on itself")
	}
	// A later lookup, after the read, answers without waiting either.
	if _, err := p.Type("struct btf_module"); err == nil {
		t.Fatal("struct btf_module found in modules that could not be listed")
	}
}
