package btf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

func loadBlob(t testing.TB, blob []byte) *Spec {
	t.Helper()
	s, err := LoadSpec(bytes.NewReader(blob), int64(len(blob)))
	if err != nil {
		t.Fatalf("LoadSpec: %v", err)
	}
	return s
}

func mustID(t *testing.T, s *Spec, id TypeID) ktype.Type {
	t.Helper()
	typ, err := s.TypeByID(id)
	if err != nil {
		t.Fatalf("TypeByID(%d): %v", id, err)
	}
	return typ
}

func TestSyntheticKinds(t *testing.T) {
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(order.String(), func(t *testing.T) {
			b, ids := sample(order)
			s := loadBlob(t, b.blob())
			if s.ByteOrder() != order {
				t.Errorf("ByteOrder = %v", s.ByteOrder())
			}
			if s.NumTypes() != int(b.last) {
				t.Errorf("NumTypes = %d, want %d", s.NumTypes(), b.last)
			}
			checkSample(t, s, ids)
		})
	}
}

func checkSample(t *testing.T, s *Spec, ids map[string]TypeID) {
	// Ints and their encodings.
	for name, want := range map[string]ktype.Int{
		"int":  {Name: "int", Size: 4, Encoding: ktype.Signed},
		"char": {Name: "char", Size: 1, Encoding: ktype.Signed | ktype.Char},
		"bool": {Name: "_Bool", Size: 1, Encoding: ktype.Bool},
		"uint": {Name: "unsigned int", Size: 4},
	} {
		if got, ok := mustID(t, s, ids[name]).(*ktype.Int); !ok || *got != want {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}

	// A cycle: list_head.next points back at list_head.
	lh, err := s.StructByName("list_head")
	if err != nil {
		t.Fatal(err)
	}
	if lh != mustID(t, s, ids["list_head"]) {
		t.Error("StructByName(list_head) did not pick the lowest ID")
	}
	next, ok := lh.Members[0].Type.(*ktype.Pointer)
	if !ok || next.Target != lh || lh.Members[1].Offset != 64 {
		t.Errorf("list_head = %+v", lh.Members)
	}
	if got := ktype.String(lh.Members[1].Type); got != "struct list_head *" {
		t.Errorf("list_head.prev type = %q", got)
	}

	// kind_flag bitfields and anonymous members.
	ip, err := s.StructByName("iphdr")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path           string
		offset, bitlen ktype.Bits
		typ            string
	}{
		{"ihl", 0, 4, "__u8"},
		{"version", 4, 4, "__u8"},
		{"tos", 8, 0, "__u8"},
		{"saddr", 96, 0, "__be32"},
		{"daddr", 128, 0, "__be32"},
		{"addrs.daddr", 128, 0, "__be32"},
	} {
		m, err := ktype.FindMember(ip, tc.path)
		if err != nil || m.Offset != tc.offset || m.BitfieldSize != tc.bitlen || ktype.String(m.Type) != tc.typ {
			t.Errorf("iphdr.%s = %+v, %v; want offset %d bits %d %s", tc.path, m, err, tc.offset, tc.bitlen, tc.typ)
		}
	}

	// A bitfield encoded in its INT type (no kind_flag): 3 bits at bit 2.
	ob := mustID(t, s, ids["old_bits"]).(*ktype.Struct)
	if m := ob.Members[0]; m.Offset != 2 || m.BitfieldSize != 3 {
		t.Errorf("old_bits.a = offset %d size %d, want 2, 3", m.Offset, m.BitfieldSize)
	}
	if m := ob.Members[1]; m.Offset != 32 || m.BitfieldSize != 0 {
		t.Errorf("old_bits.b = offset %d size %d, want 32, 0", m.Offset, m.BitfieldSize)
	}

	// Qualifiers, tags and typedefs.
	cs, err := s.TypedefByName("cstr_t")
	if err != nil {
		t.Fatal(err)
	}
	if got := ktype.String(cs.Type); got != "volatile const char *restrict" {
		t.Errorf("cstr_t = %q", got)
	}
	p, ok := ktype.As[*ktype.Pointer](cs)
	if !ok {
		t.Fatalf("cstr_t is not a pointer: %v", ktype.Underlying(cs))
	}
	if tag, ok := p.Target.(*ktype.TypeTag); !ok || tag.Value != "user" {
		t.Errorf("pointer target = %#v, want type tag user", p.Target)
	}
	if c, ok := ktype.As[*ktype.Int](p.Target); !ok || c.Name != "char" {
		t.Errorf("Underlying(target) = %v", c)
	}

	// Enums, ENUM64, signedness and the enumerator index.
	zsi, err := s.EnumByName("zone_stat_item")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := zsi.Value("NR_VM_ZONE_STAT_ITEMS"); !ok || v != 11 || zsi.Signed || zsi.Size != 4 {
		t.Errorf("zone_stat_item = %+v", zsi)
	}
	for name, want := range map[string]int64{
		"NR_FREE_PAGES":    0,
		"NR_ZONE_LRU_BASE": 1, // also in enum other, same value
		"NEG":              -1,
		"BIG":              math.MinInt64, // bit pattern of 1<<63
		"SBIG":             -2,
	} {
		if v, err := s.EnumValue(name); err != nil || v != want {
			t.Errorf("EnumValue(%s) = %d, %v; want %d", name, v, err, want)
		}
	}
	if _, err := s.EnumValue("CLASH"); !errors.Is(err, ktype.ErrMultipleMatches) {
		t.Errorf("EnumValue(CLASH) error = %v, want ErrMultipleMatches", err)
	}
	if _, err := s.EnumValue("NOPE"); !errors.Is(err, ErrNotFound) {
		t.Errorf("EnumValue(NOPE) error = %v, want ErrNotFound", err)
	}
	if big, _ := s.EnumByName("big"); big == nil || big.Size != 8 || uint64(big.Values[0].Value) != 1<<63 {
		t.Errorf("enum big = %+v", big)
	}

	// Functions and prototypes.
	fn := mustID(t, s, ids["printk"]).(*ktype.Func)
	if fn.Linkage != ktype.GlobalLinkage || !fn.Proto.Variadic || len(fn.Proto.Params) != 1 || fn.Proto.Params[0].Name != "fmt" {
		t.Errorf("printk = %+v proto %+v", fn, fn.Proto)
	}
	if got := ktype.String(fn); got != "int printk(const char *, ...)" {
		t.Errorf("String(printk) = %q", got)
	}
	if got := ktype.String(mustID(t, s, ids["void_fn"])); got != "void do_nothing(void)" {
		t.Errorf("String(do_nothing) = %q", got)
	}
	if typ, err := s.TypeByName("printk", ktype.KindFunc); err != nil || typ != fn {
		t.Errorf("TypeByName(printk, func) = %v, %v", typ, err)
	}

	// Arrays, a flexible tail, sizes and offsets.
	rq, err := s.StructByName("rq")
	if err != nil {
		t.Fatal(err)
	}
	if got := ktype.Declaration(rq.Members[0].Type, "comm"); got != "char comm[16]" {
		t.Errorf("rq.comm = %q", got)
	}
	if off, err := ktype.MemberOffset(rq, "cfs_tasks.prev"); err != nil || off != 24 {
		t.Errorf("offsetof(rq, cfs_tasks.prev) = %d, %v", off, err)
	}
	if off, err := ktype.MemberOffset(rq, "tail[3].prev"); err != nil || off != 64+3*16+8 {
		t.Errorf("offsetof(rq, tail[3].prev) = %d, %v", off, err)
	}
	if size, err := ktype.Sizeof(rq.Members[0].Type); err != nil || size != 16 {
		t.Errorf("sizeof(rq.comm) = %d, %v", size, err)
	}

	// Per-cpu variables in their data section.
	v, err := s.VarByName("runqueues")
	if err != nil || v.Type != ktype.Type(rq) || v.Linkage != ktype.GlobalLinkage {
		t.Errorf("VarByName(runqueues) = %+v, %v", v, err)
	}
	if sec, off, err := s.VarLocation("runqueues"); err != nil || sec != ".data..percpu" || off != 64 {
		t.Errorf("VarLocation(runqueues) = %q, %d, %v", sec, off, err)
	}
	if _, _, err := s.VarLocation("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("VarLocation(nope) error = %v", err)
	}
	ds, err := s.TypeByName(".data..percpu", ktype.KindDatasec)
	if err != nil {
		t.Fatal(err)
	}
	if d := ds.(*ktype.Datasec); len(d.Vars) != 2 || d.Vars[1].Type != ktype.Type(v) || d.Vars[1].Size != 64 || d.Size != 128 {
		t.Errorf("datasec = %+v", d)
	}

	// Forward declarations, floats and decl tags.
	if f := mustID(t, s, ids["fwd_union"]).(*ktype.Fwd); f.Of != ktype.FwdUnion || ktype.String(f) != "union fwd_me" {
		t.Errorf("fwd union = %+v", f)
	}
	if f := mustID(t, s, ids["fwd_struct"]).(*ktype.Fwd); f.Of != ktype.FwdStruct {
		t.Errorf("fwd struct = %+v", f)
	}
	if _, err := ktype.Sizeof(mustID(t, s, ids["fwd_struct"])); !errors.Is(err, ktype.ErrIncomplete) {
		t.Errorf("sizeof(struct later) error = %v", err)
	}
	if f, ok := mustID(t, s, ids["double"]).(*ktype.Float); !ok || f.Size != 8 || f.Name != "double" {
		t.Errorf("double = %+v", f)
	}
	if d := mustID(t, s, ids["decl_tag"]).(*ktype.DeclTag); d.Index != -1 || d.Value != "my_tag" || d.Type != ktype.Type(lh) {
		t.Errorf("decl tag = %+v", d)
	}
	if d := mustID(t, s, ids["member_tag"]).(*ktype.DeclTag); d.Index != 1 {
		t.Errorf("member decl tag = %+v", d)
	}

	// Names shared between kinds and between definitions.
	if typ, err := s.TypeByName("pair", ktype.KindTypedef); err != nil || typ.Kind() != ktype.KindTypedef {
		t.Errorf("TypeByName(pair, typedef) = %v, %v", typ, err)
	}
	if typ, err := s.TypeByName("pair", ktype.KindStruct); err != nil || typ.Kind() != ktype.KindStruct {
		t.Errorf("TypeByName(pair, struct) = %v, %v", typ, err)
	}
	if all, err := s.TypesByName("list_head"); err != nil || len(all) != 2 {
		t.Errorf("TypesByName(list_head) = %v, %v", all, err)
	}
	if got := s.TypeIDsByName("list_head"); len(got) != 2 || got[0] != ids["list_head"] || got[1] != ids["list_head#2"] {
		t.Errorf("TypeIDsByName(list_head) = %v", got)
	}
	for _, lookup := range []func() error{
		func() error { _, err := s.StructByName("nope"); return err },
		func() error { _, err := s.UnionByName("list_head"); return err },
		func() error { _, err := s.TypedefByName("iphdr"); return err },
		func() error { _, err := s.EnumByName(""); return err },
		func() error { _, err := s.VarByName("printk"); return err },
		func() error { _, err := s.TypesByName("nope"); return err },
		func() error { _, err := s.TypeByID(TypeID(s.NumTypes() + 1)); return err },
	} {
		if err := lookup(); !errors.Is(err, ErrNotFound) {
			t.Errorf("lookup error = %v, want ErrNotFound", err)
		}
	}
	if v, err := s.TypeByID(0); err != nil || v != ktype.Type(ktype.TheVoid) {
		t.Errorf("TypeByID(0) = %v, %v", v, err)
	}

	n := 0
	for typ, err := range s.All() {
		if err != nil || typ == nil {
			t.Fatalf("All: %v, %v", typ, err)
		}
		_ = ktype.String(typ)
		n++
	}
	if n != s.NumTypes() {
		t.Errorf("All yielded %d types, want %d", n, s.NumTypes())
	}
}

// TestCycles checks that self-referencing types decode and print.
func TestCycles(t *testing.T) {
	b := newBuilder(binary.LittleEndian)
	self := b.ptr(1)                                  // 1: a pointer to itself
	loop := b.ref(kindTypedef, "loop", 3)             // 2: typedef loop -> const loop
	b.ref(kindConst, "", loop)                        // 3
	node := b.composite(kindStruct, "node", 8, false, // 4: struct node { struct node *next; }
		bmember{"next", 5, 0})
	b.ptr(node) // 5
	// 6: struct box { struct box; }, which C cannot say but BTF can.
	b.composite(kindStruct, "box", 0, false, bmember{"", b.last + 1, 0})
	s := loadBlob(t, b.blob())

	p := mustID(t, s, self).(*ktype.Pointer)
	if p.Target != ktype.Type(p) {
		t.Error("self pointer does not point at itself")
	}
	_ = ktype.String(p)
	if _, err := ktype.Sizeof(mustID(t, s, loop)); err == nil {
		t.Error("sizeof a typedef loop succeeded")
	}
	n, err := s.StructByName("node")
	if err != nil {
		t.Fatal(err)
	}
	if n.Members[0].Type.(*ktype.Pointer).Target != ktype.Type(n) {
		t.Error("node.next does not point at node")
	}
	bx, err := s.StructByName("box")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ktype.FindMember(bx, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindMember in self-containing struct: %v", err)
	}
}

// TestMalformed checks that bad blobs give a *FormatError, not a panic.
func TestMalformed(t *testing.T) {
	good := func() *builder {
		b := newBuilder(binary.LittleEndian)
		i := b.intType("int", 4, btfIntSigned, 0, 32)
		b.composite(kindStruct, "s", 4, false, bmember{"a", i, 0})
		return b
	}
	le := binary.LittleEndian
	for _, tc := range []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"short header", func(b []byte) []byte { return b[:20] }},
		{"bad magic", func(b []byte) []byte { b[0] = 0; return b }},
		{"bad version", func(b []byte) []byte { b[2] = 2; return b }},
		{"flags", func(b []byte) []byte { b[3] = 1; return b }},
		{"hdr_len short", func(b []byte) []byte { le.PutUint32(b[4:], 8); return b }},
		{"hdr_len huge", func(b []byte) []byte { le.PutUint32(b[4:], math.MaxUint32); return b }},
		{"type_off unaligned", func(b []byte) []byte { le.PutUint32(b[8:], 2); return b }},
		{"type_len odd", func(b []byte) []byte { le.PutUint32(b[12:], le.Uint32(b[12:])-2); return b }},
		{"types overlap strings", func(b []byte) []byte { le.PutUint32(b[12:], le.Uint32(b[12:])+4); return b }},
		{"strings past end", func(b []byte) []byte { le.PutUint32(b[20:], le.Uint32(b[20:])+1); return b }},
		{"strings huge", func(b []byte) []byte { le.PutUint32(b[20:], math.MaxUint32); return b }},
		{"no strings", func(b []byte) []byte { le.PutUint32(b[20:], 0); return b }},
		{"strings unterminated", func(b []byte) []byte { b[len(b)-1] = 'x'; return b }},
		{"strings not starting with NUL", func(b []byte) []byte { b[24+le.Uint32(b[16:])] = 'x'; return b }},
		{"truncated type record", func(b []byte) []byte {
			// Shrink the type section by 8 bytes: the struct's member runs off.
			le.PutUint32(b[12:], le.Uint32(b[12:])-8)
			return b
		}},
		{"unknown kind", func(b []byte) []byte { b[24+7] = 25; return b }},
		{"vlen past section", func(b []byte) []byte { le.PutUint32(b[24+16+4:], uint32(kindStruct)<<24|1000); return b }},
		{"name past strings", func(b []byte) []byte { le.PutUint32(b[24:], 1<<20); return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blob := tc.mutate(good().blob())
			_, err := LoadSpec(bytes.NewReader(blob), int64(len(blob)))
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("LoadSpec error = %v, want *FormatError", err)
			}
			if fe.Error() == "" {
				t.Error("empty message")
			}
		})
	}

	// Problems found only when a type is decoded.
	for _, tc := range []struct {
		name  string
		build func(b *builder) TypeID
	}{
		{"pointer past last type", func(b *builder) TypeID { return b.ptr(99) }},
		{"member type past last type", func(b *builder) TypeID {
			return b.composite(kindStruct, "s", 4, false, bmember{"a", 1000, 0})
		}},
		{"array elem past last type", func(b *builder) TypeID { return b.array(77, 1, 2) }},
		{"member name past strings", func(b *builder) TypeID {
			id := b.composite(kindStruct, "s", 4, false, bmember{"a", 1, 0})
			binary.LittleEndian.PutUint32(b.types[len(b.types)-12:], 1<<20)
			return id
		}},
		{"param name past strings", func(b *builder) TypeID {
			id := b.funcProto(1, false, bmember{"a", 1, 0})
			binary.LittleEndian.PutUint32(b.types[len(b.types)-8:], 1<<20)
			return id
		}},
		{"enumerator name past strings", func(b *builder) TypeID {
			id := b.enum("e", 4, false, "A", 1)
			binary.LittleEndian.PutUint32(b.types[len(b.types)-8:], 1<<20)
			return id
		}},
		{"func without proto", func(b *builder) TypeID { return b.rec("f", kindFunc, false, 0, 1) }},
		{"datasec var past last type", func(b *builder) TypeID {
			return b.rec(".data", kindDatasec, false, 1, 4, 500, 0, 4)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(binary.LittleEndian)
			b.intType("int", 4, btfIntSigned, 0, 32)
			id := tc.build(b)
			s := loadBlob(t, b.blob())
			_, err := s.TypeByID(id)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("TypeByID error = %v, want *FormatError", err)
			}
			// The failure must not leave half-built types behind, and the
			// good part must still decode.
			if _, err := s.TypeByID(id); err == nil {
				t.Error("second TypeByID succeeded")
			}
			if typ, err := s.TypeByID(1); err != nil || typ.Kind() != ktype.KindInt {
				t.Errorf("TypeByID(1) = %v, %v", typ, err)
			}
		})
	}
}

// TestFailedInflateRollsBack checks that a shell made while decoding a type
// that then fails is not served half-filled to a later caller.
func TestFailedInflateRollsBack(t *testing.T) {
	b := newBuilder(binary.LittleEndian)
	i := b.intType("int", 4, btfIntSigned, 0, 32)
	good := b.composite(kindStruct, "good", 8, false, bmember{"a", i, 0}, bmember{"b", i, 32})  // 2
	b.composite(kindStruct, "outer", 16, false, bmember{"g", good, 0}, bmember{"bad", 999, 64}) // 3
	s := loadBlob(t, b.blob())
	if _, err := s.StructByName("outer"); err == nil {
		t.Fatal("outer decoded")
	}
	g, err := s.StructByName("good")
	if err != nil || len(g.Members) != 2 || g.Members[1].Type == nil {
		t.Errorf("good = %+v, %v", g, err)
	}
}

// TestGenerousSize loads a blob through a size larger than the BTF, as when
// reading __start_BTF.. from memory with some slack.
func TestGenerousSize(t *testing.T) {
	b, ids := sample(binary.LittleEndian)
	blob := append(b.blob(), make([]byte, 1000)...)
	s, err := LoadSpec(bytes.NewReader(blob), int64(len(blob)))
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, s, ids)
	// And a header longer than 24 bytes, as a future format might write.
	long := b.blob()
	binary.LittleEndian.PutUint32(long[4:], btfHeaderLen+8)
	long = append(append(long[:btfHeaderLen:btfHeaderLen], make([]byte, 8)...), long[btfHeaderLen:]...)
	if _, err := LoadSpec(bytes.NewReader(long), int64(len(long))); err != nil {
		t.Errorf("LoadSpec with 32-byte header: %v", err)
	}
}

// TestReadErrors checks that a failing reader's error comes back wrapped.
func TestReadErrors(t *testing.T) {
	b, _ := sample(binary.LittleEndian)
	blob := b.blob()
	boom := errors.New("boom")
	for _, failAt := range []int64{0, btfHeaderLen, btfHeaderLen + int64(len(b.types))} {
		r := failingReader{data: blob, failAt: failAt, err: boom}
		if _, err := LoadSpec(r, int64(len(blob))); !errors.Is(err, boom) {
			t.Errorf("fail at %d: error = %v", failAt, err)
		}
	}
}

// TestShortReads: a reader with less data than its claimed size fails with
// io.ErrUnexpectedEOF; one that says io.EOF along with a full read at its
// end (as io.ReaderAt allows) is fine.
func TestShortReads(t *testing.T) {
	b, _ := sample(binary.LittleEndian)
	blob := b.blob()
	if _, err := LoadSpec(bytes.NewReader(blob[:len(blob)-5]), int64(len(blob))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short reader: error = %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := LoadSpec(eofAtEnd{blob}, int64(len(blob))); err != nil {
		t.Errorf("EOF with a full read: %v", err)
	}
}

type eofAtEnd struct{ data []byte }

func (r eofAtEnd) ReadAt(p []byte, off int64) (int, error) {
	n, err := bytes.NewReader(r.data).ReadAt(p, off)
	if err == nil && off+int64(n) == int64(len(r.data)) {
		err = io.EOF
	}
	return n, err
}

type failingReader struct {
	data   []byte
	failAt int64
	err    error
}

func (r failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off == r.failAt {
		return 0, r.err
	}
	return bytes.NewReader(r.data).ReadAt(p, off)
}

func TestConcurrentDecode(t *testing.T) {
	b, _ := sample(binary.LittleEndian)
	s := loadBlob(t, b.blob())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for id := s.NumTypes(); id >= 1; id-- {
				typ, err := s.TypeByID(TypeID((id + g) % (s.NumTypes() + 1)))
				if err != nil || typ == nil {
					errs <- fmt.Errorf("type %d: %v", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
