package linux

import (
	"errors"
	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// mapleTypes are the 64-bit layouts of include/linux/maple_tree.h.
func mapleTypes() fakekernel.Types {
	ulong := &ktype.Int{Name: "long unsigned int", Size: 8}
	uint := &ktype.Int{Name: "unsigned int", Size: 4}
	uchar := &ktype.Int{Name: "unsigned char", Size: 1}
	void := &ktype.Pointer{Target: ktype.TheVoid}
	meta := &ktype.Struct{Name: "maple_metadata", Size: 2, Members: []ktype.Member{
		{Name: "end", Type: uchar}, {Name: "gap", Type: uchar, Offset: 8}}}
	r64 := &ktype.Struct{Name: "maple_range_64", Size: 256, Members: []ktype.Member{
		{Name: "parent", Type: void},
		{Name: "pivot", Type: &ktype.Array{Elem: ulong, Count: 15}, Offset: 8 * 8},
		{Name: "slot", Type: &ktype.Array{Elem: void, Count: 16}, Offset: 128 * 8},
		{Name: "meta", Type: meta, Offset: 248 * 8},
	}}
	a64 := &ktype.Struct{Name: "maple_arange_64", Size: 256, Members: []ktype.Member{
		{Name: "parent", Type: void},
		{Name: "pivot", Type: &ktype.Array{Elem: ulong, Count: 9}, Offset: 8 * 8},
		{Name: "slot", Type: &ktype.Array{Elem: void, Count: 10}, Offset: 80 * 8},
		{Name: "gap", Type: &ktype.Array{Elem: ulong, Count: 10}, Offset: 160 * 8},
		{Name: "meta", Type: meta, Offset: 240 * 8},
	}}
	mt := &ktype.Struct{Name: "maple_tree", Size: 16, Members: []ktype.Member{
		{Name: "ma_flags", Type: uint, Offset: 4 * 8}, {Name: "ma_root", Type: void, Offset: 8 * 8}}}
	return fakekernel.Types{"struct maple_range_64": r64, "struct maple_arange_64": a64, "struct maple_tree": mt}
}

// enode encodes a node address and type as a maple_enode.
func enode(addr uint64, typ uint64) uint64 { return addr | typ<<mapleNodeTypeSh | 4 }

// buildMaple makes the tree of sparse_irqs as 6.12 keeps it: an arange
// root over two leaves, irqs 0-2 in the first, 5 and 7 in the second.
func buildMaple(m fakekernel.Memory) *object.Program {
	const tree, root, leaf1, leaf2 = 0x1000, 0x2000, 0x3000, 0x4000
	// leaf1 covers 0..4: entries at 0, 1, 2, then NULL for 3-4.
	for i, piv := range []uint64{0, 1, 2, 4} {
		m.U64(leaf1+8+8*uint64(i), piv)
	}
	for i, e := range []uint64{0xa000, 0xa100, 0xa200, 0} {
		m.U64(leaf1+128+8*uint64(i), e)
	}
	m.Write(leaf1+248, []byte{3})
	// leaf2 covers 5..ULONG_MAX: 5, NULL 6, 7, NULL to the end.
	for i, piv := range []uint64{5, 6, 7, ^uint64(0)} {
		m.U64(leaf2+8+8*uint64(i), piv)
	}
	for i, e := range []uint64{0xa500, 0, 0xa700, 0} {
		m.U64(leaf2+128+8*uint64(i), e)
	}
	m.Write(leaf2+248, []byte{3})
	m.U64(root+8, 4)
	m.U64(root+80, enode(leaf1, mapleLeaf64))
	m.U64(root+88, enode(leaf2, mapleLeaf64))
	m.Write(root+240, []byte{1})
	m.U64(tree+8, enode(root, mapleArange64)|mapleRootNode)
	return &object.Program{Mem: m, Types: mapleTypes(), Syms: fakekernel.Symbols{}}
}

func TestMtForEach(t *testing.T) {
	p := buildMaple(fakekernel.Memory{})
	typ, _ := p.Type("struct maple_tree")
	var got []MapleEntry
	for e, err := range MtForEach(p.Object(typ, 0x1000, "sparse_irqs")) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	want := []MapleEntry{{0, 0, 0xa000}, {1, 1, 0xa100}, {2, 2, 0xa200}, {5, 5, 0xa500}, {7, 7, 0xa700}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestMtForEachLoop: a corrupt tree whose leaf points back at the root
// ends in an error after the depth bound, not a hang.
func TestMtForEachLoop(t *testing.T) {
	m := fakekernel.Memory{}
	p := buildMaple(m)
	m.U64(0x3000+128, enode(0x2000, mapleArange64)) // a "leaf" slot naming the root
	m.U64(0x2000+80, enode(0x2000, mapleArange64))  // the root's first child is itself
	typ, _ := p.Type("struct maple_tree")
	var err error
	for _, e := range MtForEach(p.Object(typ, 0x1000, "sparse_irqs")) {
		if e != nil {
			err = e
		}
	}
	if !errors.Is(err, ErrTooLong) {
		t.Errorf("err %v, want ErrTooLong", err)
	}
}

// FuzzMtForEach: any node contents end the walk with entries or an error,
// never a panic or a hang.
func FuzzMtForEach(f *testing.F) {
	m := fakekernel.Memory{}
	buildMaple(m)
	seed := make([]byte, 0, 8+3*256)
	seed = append(seed, m[0x1000][8:16]...)
	for _, n := range []uint64{0x2000, 0x3000, 0x4000} {
		seed = append(seed, m[n][:256]...)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		m := fakekernel.Memory{}
		p := buildMaple(m)
		if len(data) >= 8 {
			m.Write(0x1008, data[:8])
			data = data[8:]
		}
		for i, n := range []uint64{0x2000, 0x3000, 0x4000} {
			if len(data) > 256*i {
				m.Write(n, data[256*i:min(len(data), 256*(i+1))])
			}
		}
		typ, _ := p.Type("struct maple_tree")
		count := 0
		for _, err := range MtForEach(p.Object(typ, 0x1000, "mt")) {
			if count++; err != nil || count > 1<<16 {
				break
			}
		}
	})
}
