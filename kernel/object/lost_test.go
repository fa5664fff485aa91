package object

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// lostTypes is a type source that lost some types: lookups of them wrap
// ktype.ErrLost.
type lostTypes struct {
	fakekernel.Types
	lost map[string]bool
}

func (l lostTypes) StructByName(n string) (*ktype.Struct, error) {
	if l.lost[n] {
		return nil, fmt.Errorf("struct %s: %w", n, ktype.ErrLost)
	}
	return l.Types.StructByName(n)
}

// TestProbeOfLostType: a probe whose answer was lost (a damaged kernel
// BTF) says no but is recorded as undecided, so the report can fail the
// output that asked; a probe of a type that is just absent is a plain no.
// Members and pointers of a lost type fail, naming the loss.
func TestProbeOfLostType(t *testing.T) {
	u32 := &ktype.Int{Name: "unsigned int", Size: 4}
	lostErr := fmt.Errorf("type 99: %w", ktype.ErrLost)
	task := &ktype.Struct{Name: "task", Size: 16, Members: []ktype.Member{
		{Name: "pid", Type: u32},
		{Name: "mm", Type: &ktype.Pointer{Target: &ktype.Lost{Err: lostErr}}, Offset: 64},
		{Name: "", Type: &ktype.Lost{Err: lostErr}, Offset: 96},
	}}
	mem := fakekernel.Memory{}
	mem.U64(0x1000+8, 0x2000)
	mem.Write(0x1000, []byte{1, 0, 0, 0})
	p := &Program{Mem: mem, Types: lostTypes{Types: fakekernel.Types{"struct task": task}, lost: map[string]bool{"tk_data": true}}}

	if p.HasMember("struct nowhere", "x") {
		t.Error("absent type has a member")
	}
	if n, _ := p.Undecided(); n != 0 {
		t.Errorf("an absent type counted as undecided (%d)", n)
	}
	if p.HasMember("struct tk_data", "timekeeper") {
		t.Error("lost type has a member")
	}
	if n, err := p.Undecided(); n != 1 || !errors.Is(err, ktype.ErrLost) {
		t.Errorf("Undecided() = %d, %v after a probe of a lost type", n, err)
	}
	o := p.Object(task, 0x1000, "task")
	// "comm" may be in the lost anonymous member: not a no.
	if o.HasMember("comm") {
		t.Error("HasMember(comm) through a lost anonymous member")
	}
	if n, _ := p.Undecided(); n != 2 {
		t.Errorf("Undecided() = %d after a member probe through a lost anonymous member", n)
	}
	if err := o.Member("mm").Deref().Err(); !errors.Is(err, ktype.ErrLost) {
		t.Errorf("deref of a pointer to a lost type: %v", err)
	}
	if _, err := o.Member("pid").Uint(); err != nil {
		t.Errorf("a kept member: %v", err)
	}
}
