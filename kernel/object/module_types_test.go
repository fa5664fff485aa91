package object

import (
	"errors"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// countingTypes counts the lookups that reach it.
type countingTypes struct {
	fakekernel.Types
	n int
}

func (c *countingTypes) StructByName(n string) (*ktype.Struct, error) {
	c.n++
	return c.Types.StructByName(n)
}

// TestModuleTypesFallback: Type answers a struct the kernel's types lack
// from ModuleTypes, never shadows the kernel's own, and HasMember probes
// do not ask the modules.
func TestModuleTypesFallback(t *testing.T) {
	u32 := &ktype.Int{Name: "unsigned int", Size: 4}
	own := &ktype.Struct{Name: "task", Size: 4, Members: []ktype.Member{{Name: "pid", Type: u32}}}
	modTask := &ktype.Struct{Name: "task", Size: 8}
	modOnly := &ktype.Struct{Name: "Scsi_Host", Size: 4, Members: []ktype.Member{{Name: "host_no", Type: u32}}}
	mods := &countingTypes{Types: fakekernel.Types{"struct task": modTask, "struct Scsi_Host": modOnly}}
	p := &Program{Mem: fakekernel.Memory{}, Types: fakekernel.Types{"struct task": own}, ModuleTypes: mods}

	if p.HasMember("struct Scsi_Host", "host_no") || mods.n != 0 {
		t.Errorf("HasMember asked the modules (%d lookups)", mods.n)
	}
	if typ, err := p.Type("struct Scsi_Host *"); err != nil || typ.(*ktype.Pointer).Target != modOnly {
		t.Errorf("module type: %v, %v", typ, err)
	}
	if p.HasMember("struct Scsi_Host", "host_no") {
		t.Error("HasMember answers from a module type")
	}
	if typ, err := p.Type("struct task"); err != nil || typ != own {
		t.Errorf("a module shadows the kernel's struct task: %v", err)
	}
	if _, err := p.Type("struct nowhere"); !errors.Is(err, ktype.ErrNotFound) {
		t.Errorf("absent everywhere: %v", err)
	}
	p.Type("struct Scsi_Host") // after HasMember's probe: now asked
	n := mods.n
	p.Type("struct Scsi_Host")
	p.Type("struct nowhere")
	if mods.n != n {
		t.Errorf("answers not remembered: %d more module lookups", mods.n-n)
	}
}
