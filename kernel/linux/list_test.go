package linux

import (
	"errors"
	"fmt"
	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// listProgram has struct item { u64 v; struct list_head link; } and the
// list_head, hlist and llist types.
func listProgram() (*object.Program, fakekernel.Memory) {
	u64 := &ktype.Int{Name: "u64", Size: 8}
	ptr := func(t ktype.Type) ktype.Type { return &ktype.Pointer{Target: t} }
	lh := &ktype.Struct{Name: "list_head", Size: 16}
	lh.Members = []ktype.Member{{Name: "next", Type: ptr(lh)}, {Name: "prev", Type: ptr(lh), Offset: 64}}
	hn := &ktype.Struct{Name: "hlist_node", Size: 16}
	hn.Members = []ktype.Member{{Name: "next", Type: ptr(hn)}, {Name: "pprev", Type: ptr(ptr(hn)), Offset: 64}}
	hh := &ktype.Struct{Name: "hlist_head", Size: 8, Members: []ktype.Member{{Name: "first", Type: ptr(hn)}}}
	ln := &ktype.Struct{Name: "llist_node", Size: 8}
	ln.Members = []ktype.Member{{Name: "next", Type: ptr(ln)}}
	lhd := &ktype.Struct{Name: "llist_head", Size: 8, Members: []ktype.Member{{Name: "first", Type: ptr(ln)}}}
	item := &ktype.Struct{Name: "item", Size: 24, Members: []ktype.Member{
		{Name: "v", Type: u64}, {Name: "link", Type: lh, Offset: 64},
	}}
	types := fakekernel.Types{"struct list_head": lh, "struct hlist_node": hn, "struct hlist_head": hh,
		"struct llist_node": ln, "struct llist_head": lhd, "struct item": item}
	mem := fakekernel.Memory{}
	return &object.Program{Mem: mem, Types: types}, mem
}

// buildList links items at 0x1000, 0x2000, … (values 1, 2, …) after a head
// at 0x100; the link is at +8 in each item.
func buildList(mem fakekernel.Memory, n int) {
	head := uint64(0x100)
	prev := head
	for i := 1; i <= n; i++ {
		item := uint64(i) * 0x1000
		mem.U64(item, uint64(i))
		mem.U64(prev, item+8) // prev->next
		mem.U64(item+16, prev)
		prev = item + 8
	}
	mem.U64(prev, head)
	mem.U64(head+8, prev)
}

func walkValues(t *testing.T, p *object.Program) ([]uint64, error) {
	t.Helper()
	lh, _ := p.Type("struct list_head")
	var vals []uint64
	for it, err := range ListForEachEntry(p.Object(lh, 0x100, "head"), "struct item", "link") {
		if err != nil {
			return vals, err
		}
		v, err := it.Member("v").Uint()
		if err != nil {
			return vals, err
		}
		vals = append(vals, v)
	}
	return vals, nil
}

func TestListForEachEntry(t *testing.T) {
	p, mem := listProgram()
	buildList(mem, 3)
	vals, err := walkValues(t, p)
	if err != nil || fmt.Sprint(vals) != "[1 2 3]" {
		t.Errorf("walk = %v, %v", vals, err)
	}
	// An empty list yields nothing.
	p2, mem2 := listProgram()
	mem2.U64(0x100, 0x100)
	if vals, err := walkValues(t, p2); err != nil || len(vals) != 0 {
		t.Errorf("empty list: %v, %v", vals, err)
	}
}

func TestListCycleAndCorruption(t *testing.T) {
	p, mem := listProgram()
	buildList(mem, 3)
	mem.U64(0x3000+8, 0x1000+8) // item 3 points back to item 1: a cycle
	vals, err := walkValues(t, p)
	if !errors.Is(err, ErrCycle) || fmt.Sprint(vals) != "[1 2 3]" {
		t.Errorf("cycle: %v, %v; want the three items then ErrCycle", vals, err)
	}
	mem.U64(0x3000+8, 0x9000+8) // item 3 points into unmapped memory
	vals, err = walkValues(t, p)
	if err == nil || errors.Is(err, ErrCycle) || len(vals) != 3 {
		t.Errorf("dangling next: %v, %v; want the items then a read error", vals, err)
	}
	mem.U64(0x3000+8, 0) // a NULL next
	if _, err := walkValues(t, p); err == nil {
		t.Error("NULL next: no error")
	}
}

func TestHlistAndLlist(t *testing.T) {
	p, mem := listProgram()
	// Three nodes at 0x1008, 0x2008, 0x3008 (the item link) chained by next.
	mem.U64(0x100, 0x1008)
	for i := uint64(1); i <= 3; i++ {
		mem.U64(i*0x1000, i)
		next := uint64(0)
		if i < 3 {
			next = (i+1)*0x1000 + 8
		}
		mem.U64(i*0x1000+8, next)
	}
	hh, _ := p.Type("struct hlist_head")
	lh, _ := p.Type("struct llist_head")
	for name, seq := range map[string]func() []uint64{
		"hlist": func() []uint64 {
			var v []uint64
			for it, err := range HlistForEachEntry(p.Object(hh, 0x100, "h"), "struct item", "link") {
				if err != nil {
					t.Fatal(err)
				}
				x, _ := it.Member("v").Uint()
				v = append(v, x)
			}
			return v
		},
		"llist": func() []uint64 {
			var v []uint64
			for it, err := range LlistForEachEntry(p.Object(lh, 0x100, "l"), "struct item", "link") {
				if err != nil {
					t.Fatal(err)
				}
				x, _ := it.Member("v").Uint()
				v = append(v, x)
			}
			return v
		},
	} {
		if got := seq(); fmt.Sprint(got) != "[1 2 3]" {
			t.Errorf("%s: %v", name, got)
		}
	}
	mem.U64(0x3008, 0x1008) // cycle
	for _, err := range LlistForEachEntry(p.Object(lh, 0x100, "l"), "struct item", "link") {
		if err != nil {
			if !errors.Is(err, ErrCycle) {
				t.Errorf("llist cycle: %v", err)
			}
			return
		}
	}
	t.Error("llist cycle not detected")
}
