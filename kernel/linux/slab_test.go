package linux

import (
	"encoding/binary"
	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Synthetic kernels for the paths the fixture dumps do not take: a
// partial list longer than count_partial_free_approx() scans, and the two
// ways x86_64 code refers to a string.

func slabTypes() fakekernel.Types {
	ulong := &ktype.Int{Name: "long unsigned int", Size: 8}
	uint := &ktype.Int{Name: "unsigned int", Size: 4}
	head := &ktype.Struct{Name: "list_head", Size: 16}
	head.Members = []ktype.Member{{Name: "next", Type: &ktype.Pointer{Target: head}}, {Name: "prev", Type: &ktype.Pointer{Target: head}, Offset: 64}}
	slab := &ktype.Struct{Name: "slab", Size: 64, Members: []ktype.Member{
		{Name: "slab_list", Type: head, Offset: 8 * 8},
		{Name: "inuse", Type: uint, Offset: 40 * 8, BitfieldSize: 16},
		{Name: "objects", Type: uint, Offset: 40*8 + 16, BitfieldSize: 15},
	}}
	node := &ktype.Struct{Name: "kmem_cache_node", Size: 32, Members: []ktype.Member{
		{Name: "nr_partial", Type: ulong, Offset: 8 * 8},
		{Name: "partial", Type: head, Offset: 16 * 8},
	}}
	return fakekernel.Types{"struct list_head": head, "struct slab": slab, "struct kmem_cache_node": node, "unsigned long": ulong}
}

// buildPartial makes a kmem_cache_node at 0x1000 whose partial list holds
// n slabs with objects and inuse(i).
func buildPartial(n int, objects uint64, inuse func(i int) uint64) (*object.Program, object.Object) {
	m := fakekernel.Memory{}
	const node, slabs = 0x1000, 0x100000
	headAddr := uint64(node + 16)
	prev := headAddr
	for i := range n {
		s := uint64(slabs + 64*i)
		m.U64(s+8, 0) // next, filled below
		m.U64(s+16, prev)
		m.U64(prev, s+8) // prev->next
		m.Write(s+40, binary.LittleEndian.AppendUint32(nil, uint32(inuse(i)|objects<<16)))
		prev = s + 8
	}
	m.U64(prev, headAddr)
	m.U64(headAddr+8, prev)
	m.U64(node+8, uint64(n))
	p := &object.Program{Mem: m, Types: slabTypes(), Syms: fakekernel.Symbols{}}
	t, _ := p.Type("struct kmem_cache_node")
	return p, p.Object(t, node, "n")
}

func TestCountPartialFree(t *testing.T) {
	// 3 slabs of 32 objects: 31, 0 and 17 free.
	_, n := buildPartial(3, 32, func(i int) uint64 { return []uint64{1, 32, 15}[i] })
	for _, approx := range []bool{false, true} {
		free, err := countPartialFree(n, 3, 96, approx)
		if err != nil || free != 48 {
			t.Errorf("approx %v: free %d, %v; want 48", approx, free, err)
		}
	}

	// 12000 slabs: the first 6000 have 10 free objects, the rest 2. The
	// kernel scans 5000 from the head (10 each) and 5000 from the tail (2
	// each): 60000 free in 10000 slabs, scaled to 12000 slabs: 72000.
	const total = 12000
	_, n = buildPartial(total, 16, func(i int) uint64 {
		if i < 6000 {
			return 6
		}
		return 14
	})
	exact, err := countPartialFree(n, total, total*16, false)
	if err != nil || exact != 6000*10+6000*2 {
		t.Errorf("count_partial: %d, %v; want %d", exact, err, 6000*10+6000*2)
	}
	approx, err := countPartialFree(n, total, total*16, true)
	if err != nil || approx != 72000 {
		t.Errorf("count_partial_free_approx: %d, %v; want 72000", approx, err)
	}
	// capped at the node's objects
	approx, err = countPartialFree(n, total, 1000, true)
	if err != nil || approx != 1000 {
		t.Errorf("capped: %d, %v; want 1000", approx, err)
	}
}

func TestFormatStringIn(t *testing.T) {
	const fn, rodata, rodataEnd uint64 = 0xffffffff81000000, 0xffffffff82000000, 0xffffffff82100000
	m := fakekernel.Memory{}
	m.Write(rodata+0x100, []byte("decoy\x00"))
	m.Write(rodata+0x200, []byte("\n  pages free     %lu\n        promo    %lu\x00"))
	m.Write(rodata+0x300, []byte("\n  per-node stats\x00"))
	low32 := func(a uint64) uint32 { return uint32(a) }
	code := []byte{0x90, 0x90}
	// mov $imm32, %rsi: 48 c7 c6 imm32 (sign-extended)
	code = append(code, 0x48, 0xc7, 0xc6)
	code = binary.LittleEndian.AppendUint32(code, low32(rodata+0x100))
	// lea disp32(%rip), %rsi: 48 8d 35 disp32, relative to the next instruction
	code = append(code, 0x48, 0x8d, 0x35)
	next := fn + uint64(len(code)) + 4
	code = binary.LittleEndian.AppendUint32(code, low32(rodata+0x300-next))
	code = append(code, 0x48, 0xc7, 0xc6)
	code = binary.LittleEndian.AppendUint32(code, low32(rodata+0x200))
	m.Write(fn, append(code, make([]byte, 64)...))
	p := &object.Program{Mem: m, Types: fakekernel.Types{}, Syms: fakekernel.Symbols{"f": fn, "__start_rodata": rodata, "__end_rodata": rodataEnd}}

	s, err := FormatStringIn(p, "f", "\n  pages free     %lu", len(code)+64, 256)
	if err != nil || s != "\n  pages free     %lu\n        promo    %lu" {
		t.Errorf("mov: %q, %v", s, err)
	}
	s, err = FormatStringIn(p, "f", "\n  per-node", len(code)+64, 256)
	if err != nil || s != "\n  per-node stats" {
		t.Errorf("lea: %q, %v", s, err)
	}
	if _, err := FormatStringIn(p, "f", "\n  absent", len(code)+64, 256); err == nil {
		t.Error("found a string the code does not refer to")
	}
}
