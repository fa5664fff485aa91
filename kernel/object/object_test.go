package object

import (
	"errors"
	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// A miniature task_struct: int pid; char comm[8]; struct task *parent;
// unsigned flags:3, state:5 (bitfields); short prio (signed); struct list_head tasks.
func testProgram() (*Program, fakekernel.Memory) {
	intT := &ktype.Int{Name: "int", Size: 4, Encoding: ktype.Signed}
	uintT := &ktype.Int{Name: "unsigned int", Size: 4}
	shortT := &ktype.Int{Name: "short", Size: 2, Encoding: ktype.Signed}
	charT := &ktype.Int{Name: "char", Size: 1, Encoding: ktype.Signed | ktype.Char}
	list := &ktype.Struct{Name: "list_head", Size: 16}
	list.Members = []ktype.Member{
		{Name: "next", Type: &ktype.Pointer{Target: list}, Offset: 0},
		{Name: "prev", Type: &ktype.Pointer{Target: list}, Offset: 64},
	}
	task := &ktype.Struct{Name: "task", Size: 48}
	task.Members = []ktype.Member{
		{Name: "pid", Type: intT, Offset: 0},
		{Name: "comm", Type: &ktype.Array{Elem: charT, Count: 8}, Offset: 32},
		{Name: "parent", Type: &ktype.Pointer{Target: task}, Offset: 96},
		{Name: "flags", Type: uintT, Offset: 160, BitfieldSize: 3},
		{Name: "state", Type: uintT, Offset: 163, BitfieldSize: 5},
		{Name: "prio", Type: shortT, Offset: 176},
		{Name: "tasks", Type: list, Offset: 256},
	}
	mem := fakekernel.Memory{}
	types := fakekernel.Types{"struct task": task, "struct list_head": list, "int": intT}
	return &Program{Mem: mem, Types: types, Syms: fakekernel.Symbols{"init_task": 0x10000, "other": 0x20000}}, mem
}

func TestObjectReads(t *testing.T) {
	p, mem := testProgram()
	mem.Write(0x10000, []byte{42, 0, 0, 0})
	mem.Write(0x10004, []byte("swapper\x00"))
	mem.U64(0x1000c, 0x20000)
	mem.Write(0x10014, []byte{0x5d}) // flags = 0b101, state = 0b01011
	mem.Write(0x10016, []byte{0xfe, 0xff})
	mem.U64(0x10020, 0x20020) // tasks.next → other.tasks
	mem.Write(0x20000, []byte{7, 0, 0, 0})
	mem.Write(0x20004, []byte("kthreadd"))
	mem.U64(0x2000c, 0)

	task := p.VarAs("init_task", "struct task")
	if v, err := task.Member("pid").Int(); err != nil || v != 42 {
		t.Errorf("pid = %d, %v", v, err)
	}
	if s, err := task.Member("comm").CString(); err != nil || s != "swapper" {
		t.Errorf("comm = %q, %v", s, err)
	}
	if v, err := task.Member("flags").Uint(); err != nil || v != 5 {
		t.Errorf("flags = %d, %v", v, err)
	}
	if v, err := task.Member("state").Uint(); err != nil || v != 11 {
		t.Errorf("state = %d, %v", v, err)
	}
	if v, err := task.Member("prio").Int(); err != nil || v != -2 {
		t.Errorf("prio = %d, %v", v, err)
	}
	parent := task.Member("parent")
	if v, err := parent.Member("pid").Int(); err != nil || v != 7 {
		t.Errorf("parent->pid = %d, %v", v, err)
	}
	// comm fills its array: no NUL, so all 8 bytes.
	if s, err := parent.Member("comm").CString(); err != nil || s != "kthreadd" {
		t.Errorf("parent->comm = %q, %v", s, err)
	}
	next, _ := task.Member("tasks.next").Uint()
	other := p.ContainerOf(next, "struct task", "tasks")
	if a, _ := other.Address(); a != 0x20000 {
		t.Errorf("container_of = %#x", a)
	}
	if c, err := task.Member("comm").Index(3).Int(); err != nil || c != 'p' {
		t.Errorf("comm[3] = %c, %v", c, err)
	}
	if a, err := task.Member("tasks").AddressOf().Uint(); err != nil || a != 0x10020 {
		t.Errorf("&tasks = %#x, %v", a, err)
	}
	if !task.HasMember("tasks.prev") || task.HasMember("__state") {
		t.Error("HasMember")
	}
}

func TestObjectErrorsCarryPath(t *testing.T) {
	p, mem := testProgram()
	mem.U64(0x1000c, 0x99000) // parent points to unmapped memory
	_, err := p.VarAs("init_task", "struct task").Member("parent").Member("pid").Int()
	if err == nil || !strings.Contains(err.Error(), "*init_task.parent") || !strings.Contains(err.Error(), "not mapped") {
		t.Errorf("error %v: want the path and the cause", err)
	}
	mem.U64(0x1000c, 0)
	_, err = p.VarAs("init_task", "struct task").Member("parent").Member("pid").Int()
	if err == nil || !strings.Contains(err.Error(), "NULL") {
		t.Errorf("NULL deref: %v", err)
	}
	_, err = p.VarAs("init_task", "struct task").Member("nosuch").Int()
	if !errors.Is(err, ktype.ErrNotFound) {
		t.Errorf("missing member: %v, want ErrNotFound", err)
	}
	_, err = p.VarAs("nosym", "struct task").Member("pid").Int()
	if err == nil || !strings.Contains(err.Error(), "nosym") {
		t.Errorf("missing symbol: %v", err)
	}
	if _, err := p.Var("init_task").Member("pid").Int(); err == nil {
		t.Error("Var without a variable-type source must fail")
	}
}

// Paths are spelled only when asked for; every kind of step must read as
// the C expression it stands for.
func TestPathSpelling(t *testing.T) {
	p, mem := testProgram()
	mem.U64(0x1000c, 0x20000)
	task := p.VarAs("init_task", "struct task")
	taskT, _ := p.Type("struct task")
	for _, c := range []struct {
		o    Object
		want string
	}{
		{task.Member("parent").Member("comm").Index(2), "*init_task.parent.comm[2]"},
		{task.Member("tasks.next"), "init_task.tasks.next"},
		{task.Member("parent").Deref(), "*init_task.parent"},
		{task.Member("parent").Deref().Member("pid"), "*init_task.parent.pid"},
		{task.Member("parent").Settle().Member("pid"), "*init_task.parent.pid"},
		{task.Member("parent").Deref().Settle().Member("comm").Index(1), "*init_task.parent.comm[1]"},
		{task.Member("parent").Member("pid").AddressOf(), "&*init_task.parent.pid"},
		{task.Member("pid").AddressOf(), "&init_task.pid"},
		{task.Member("pid").Cast("int"), "((int)init_task.pid)"},
		{p.Object(taskT, 0x30000, ""), "*(struct task *)0x30000"},
		{p.ContainerOf(0x20020, "struct task", "tasks").Member("pid"), "container_of(0x20020, struct task, tasks).pid"},
	} {
		if got := c.o.Path(); got != c.want {
			t.Errorf("path %q, want %q", got, c.want)
		}
	}
}
