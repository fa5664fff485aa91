package kdwarf

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// handBuilt describes one encoding of the hand-built test DWARF.
type handBuilt struct {
	version  int
	dwarf64  bool
	be       bool
	compress elf.CompressionType
}

func (h handBuilt) String() string {
	s := fmt.Sprintf("v%d", h.version)
	if h.dwarf64 {
		s += "-dwarf64"
	}
	if h.be {
		s += "-be"
	}
	switch h.compress {
	case elf.COMPRESS_ZLIB:
		s += "-zlib"
	case elf.COMPRESS_ZSTD:
		s += "-zstd"
	}
	return s
}

var handBuiltVariants = []handBuilt{
	{version: 5}, {version: 5, dwarf64: true}, {version: 5, be: true},
	{version: 4}, {version: 3, be: true}, {version: 2},
	{version: 5, compress: elf.COMPRESS_ZLIB}, {version: 4, dwarf64: true, compress: elf.COMPRESS_ZSTD},
}

// handBuiltDWARF builds one compile unit (and, in DWARF 5, a type unit)
// using many forms:
//
//	struct s {                     // 24 bytes
//		int a;                     // @0, DW_OP_plus_uconst (v2/3) or udata
//		unsigned int bits:3;       // @32 (DW_AT_bit_offset 29 of 4 bytes)
//		unsigned int span:4;       // @30, a negative DW_AT_bit_offset
//		unsigned int d5:5;         // @40 (DW_AT_data_bit_offset, v4+)
//		struct s *p;               // @64, reached by ref_udata
//		short arr[4];              // @128, DW_AT_count
//		int q;                     // @192, reached by ref_addr
//	};
//	typedef struct s s_t;
//	enum e : short { EA = -5, EB = -2 (data2 0xfffe), EC = 7 };
//	void (*fp)(int, ...);
//	s_t v; extern short w[]; short w[9]; struct tu tv; // tu in a type unit
func handBuiltDWARF(h handBuilt) []byte {
	b := &dwBuilder{be: h.be}
	strForm := uint16(formStrp)
	if h.version >= 5 {
		strForm = formStrx1
	}
	nm := func(s string) dwAttr { return at(atName, strForm, s) }
	integer := mk(tagBaseType, nm("int"), aSize(4), at(atEncoding, formData1, uint64(ateSigned)))
	short := mk(tagBaseType, at(atName, formString, "short int"), aSize(2), at(atEncoding, formData1, uint64(ateSigned)))
	uint := mk(tagBaseType, aName("unsigned int"), aSize(4), at(atEncoding, formData1, uint64(ateUnsigned)))
	s := mk(tagStructureType, aName("s"), at(atByteSize, formUdata, uint64(24)))
	ptr := mk(tagPointerType, aSize(8), aType(s))
	arr := mk(tagArrayType, aType(short)).kids(mk(tagSubrangeType, at(atCount, formUdata, uint64(4))))
	var firstLoc dwAttr
	if h.version <= 3 {
		firstLoc = at(atDataMemberLoc, formBlock1, []byte{opPlusUconst, 0})
	} else {
		firstLoc = at(atDataMemberLoc, formUdata, uint64(0))
	}
	members := []*dwDIE{
		mk(tagMember, at(atName, formString, "a"), aType(integer), firstLoc),
		mk(tagMember, aName("bits"), aType(uint), aSize(4), at(atBitSize, formData1, uint64(3)),
			at(atBitOffset, formData1, uint64(29)), aLoc(4)),
	}
	if !h.be { // -2 bits from the most significant end would start before the struct
		members = append(members, mk(tagMember, aName("span"), aType(uint), aSize(4), at(atBitSize, formData1, uint64(4)),
			at(atBitOffset, formSdata, int64(-2)), aLoc(0)))
	}
	if h.version >= 4 {
		members = append(members, mk(tagMember, aName("d5"), aType(uint), at(atBitSize, formData1, uint64(5)),
			at(atDataBitOffset, formData2, uint64(40))))
	}
	members = append(members,
		mk(tagMember, aName("p"), at(atType, formRefUdata, ptr), aLoc(8)),
		mk(tagMember, aName("arr"), aType(arr), at(atDataMemberLoc, formData2, uint64(16))),
		mk(tagMember, aName("q"), at(atType, formRefAddr, integer), at(atDataMemberLoc, formImplicitConst, int64(24))),
	)
	s.kids(members...)
	sT := mk(tagTypedef, aName("s_t"), aType(s))
	enum := mk(tagEnumerationType, aName("e"), aSize(2), aType(short)).kids(
		mk(tagEnumerator, aName("EA"), at(atConstValue, formSdata, int64(-5))),
		mk(tagEnumerator, aName("EB"), at(atConstValue, formData2, uint64(0xfffe))),
		mk(tagEnumerator, aName("EC"), at(atConstValue, formUdata, uint64(7))),
	)
	proto := mk(tagSubroutineType, at(atPrototyped, formFlagPresent, nil)).kids(
		mk(tagFormalParameter, aType(integer)),
		mk(tagUnspecifiedParams),
	)
	fpType := mk(tagPointerType, aSize(8), aType(proto))
	wDecl := mk(tagVariable, aName("w"), aType(mk(tagArrayType, aType(short)).kids(mk(tagSubrangeType))),
		at(atDeclaration, formFlagPresent, nil), at(atExternal, formFlag, uint64(1)))
	wArr := mk(tagArrayType, aType(short)).kids(mk(tagSubrangeType, at(atUpperBound, formData1, uint64(8))))
	kids := []*dwDIE{
		integer, short, uint, s, ptr, arr, sT, enum, proto, fpType,
		mk(tagVariable, aName("v"), aType(sT), at(atLocation, formExprloc, []byte{0x03, 1, 2, 3, 4, 5, 6, 7, 8})),
		mk(tagVariable, aName("fp"), aType(fpType)),
		mk(tagVariable, aName("big"), aType(integer), at(atConstValue, formData16, make([]byte, 16))),
		wDecl, wArr.kids(), mk(tagVariable, at(atSpecification, formRef4, wDecl), aType(wArr)),
		mk(tagUnspecifiedType, aName("void")),
	}
	var rootAttrs []dwAttr
	if h.version >= 5 {
		base := uint64(8)
		if h.dwarf64 {
			base = 16
		}
		rootAttrs = append(rootAttrs, at(atStrOffsetsBase, formSecOffset, base))
	}
	rootAttrs = append(rootAttrs, at(atName, formString, "synthetic.c"))
	cu := &dwUnit{version: h.version, dwarf64: h.dwarf64, root: mk(tagCompileUnit, rootAttrs...).kids(kids...)}
	b.units = append(b.units, cu)
	if h.version >= 5 {
		tuStruct := mk(tagStructureType, aName("tu"), aSize(8)).kids(
			mk(tagMember, aName("x"), aType(mk(tagBaseType, aName("long int"), aSize(8), at(atEncoding, formData1, uint64(ateSigned)))), aLoc(0)))
		tuStruct.kids()
		tuInt := tuStruct.children[0].attrs[1].val.(*dwDIE)
		tu := &dwUnit{version: 5, dwarf64: h.dwarf64, unitType: utType, sig: 0x1122334455667788,
			typeDIE: tuStruct, root: mk(tagTypeUnit).kids(tuStruct, tuInt)}
		stub := mk(tagStructureType, at(atSignature, formRefSig8, uint64(0x1122334455667788)))
		cu.root.kids(stub, mk(tagVariable, aName("tv"), aType(stub)))
		b.units = append(b.units, tu)
	}
	return b.elf(h.compress)
}

func TestHandBuilt(t *testing.T) {
	for _, h := range handBuiltVariants {
		t.Run(h.String(), func(t *testing.T) {
			d := openBytes(t, handBuiltDWARF(h))
			s, err := d.StructByName("s")
			if err != nil {
				t.Fatal(err)
			}
			// DW_AT_bit_offset counts from the most significant bit of the
			// storage unit: 29 of 4 bytes is bit 0 of the second word on a
			// little-endian machine; big-endian numbering keeps it as is.
			bits := ktype.Bits(32)
			if h.be {
				bits = 32 + 29
			}
			want := []member{{"a", 0, 0, "int"}, {"bits", bits, 3, "unsigned int"}}
			if !h.be {
				want = append(want, member{"span", 30, 4, "unsigned int"})
			}
			if h.version >= 4 {
				want = append(want, member{"d5", 40, 5, "unsigned int"})
			}
			want = append(want, member{"p", 64, 0, "struct s *"}, member{"arr", 128, 0, "short int [4]"}, member{"q", 192, 0, "int"})
			checkMembers(t, s, 24, want)
			if p := s.Members[len(s.Members)-3].Type.(*ktype.Pointer); p.Target != s {
				t.Errorf("s.p does not point back to s")
			}
			td, err := d.TypedefByName("s_t")
			if err != nil || td.Type != s {
				t.Errorf("typedef s_t: %v, %v", td, err)
			}
			e, err := d.EnumByName("e")
			if err != nil {
				t.Fatal(err)
			}
			if !e.Signed || e.Size != 2 || len(e.Values) != 3 ||
				e.Values[0].Value != -5 || e.Values[1].Value != -2 || e.Values[2].Value != 7 {
				t.Errorf("enum e: %+v", e)
			}
			if v, err := d.EnumValue("EB"); err != nil || v != -2 {
				t.Errorf("EnumValue(EB) = %d, %v", v, err)
			}
			for name, want := range map[string]string{
				"v": "s_t", "fp": "void (*)(int, ...)", "w": "short int [9]", "big": "int",
			} {
				typ, err := d.VarType(name)
				if err != nil || ktype.String(typ) != want {
					t.Errorf("VarType(%s) = %v, %v; want %s", name, typ, err, want)
				}
			}
			if typ, err := d.TypeByName("void", ktype.KindVoid); err != nil || typ != ktype.TheVoid {
				t.Errorf("void: %v %v", typ, err)
			}
			if h.version >= 5 {
				typ, err := d.VarType("tv")
				if s, ok := typ.(*ktype.Struct); err != nil || !ok || s.Name != "tu" || len(s.Members) != 1 {
					t.Errorf("VarType(tv) = %v, %v; want struct tu from the type unit", typ, err)
				}
			}
		})
	}
}

// TestHandBuiltBigEndianBitfield checks the big-endian bit numbering of
// DWARF 2/3 bitfields on its own, without the malformed member above.
func TestHandBuiltBigEndianBitfield(t *testing.T) {
	b := &dwBuilder{be: true}
	uint := mk(tagBaseType, aName("unsigned int"), aSize(4), at(atEncoding, formData1, uint64(ateUnsigned)))
	s := mk(tagStructureType, aName("s"), aSize(8)).kids(
		mk(tagMember, aName("hi"), aType(uint), aSize(4), at(atBitSize, formData1, uint64(3)), at(atBitOffset, formData1, uint64(0)), aLoc(4)),
		mk(tagMember, aName("lo"), aType(uint), at(atBitSize, formData1, uint64(3)), at(atBitOffset, formData1, uint64(29)), aLoc(4)),
	)
	b.units = []*dwUnit{{version: 3, root: mk(tagCompileUnit).kids(uint, s)}}
	d := openBytes(t, b.elf(0))
	st, err := d.StructByName("s")
	if err != nil {
		t.Fatal(err)
	}
	checkMembers(t, st, 8, []member{{"hi", 32, 3, "unsigned int"}, {"lo", 61, 3, "unsigned int"}})
}

// Malformed inputs must end in errors that say where, never in a panic or
// a hang.
func TestMalformed(t *testing.T) {
	good := func() (*dwBuilder, *dwUnit) {
		b := &dwBuilder{}
		i := mk(tagBaseType, aName("int"), aSize(4), at(atEncoding, formData1, uint64(ateSigned)))
		u := &dwUnit{version: 5, root: mk(tagCompileUnit).kids(i,
			mk(tagStructureType, aName("s"), aSize(4)).kids(mk(tagMember, aName("x"), aType(i), aLoc(0))))}
		b.units = []*dwUnit{u}
		return b, u
	}
	withInfo := func(mod func(info []byte) []byte) []byte {
		b, _ := good()
		abbrev, info, str, _ := b.build()
		return buildELF(false, []elfSection{{".debug_abbrev", abbrev, 0}, {".debug_info", mod(info), 0}, {".debug_str", str, 0}})
	}
	cases := []struct {
		name string
		file func() []byte
		want string // in the error of Open, Index or StructByName("s")
	}{
		{"unit longer than section", func() []byte {
			return withInfo(func(info []byte) []byte { info[0] += 10; return info })
		}, "past end of section"},
		{"truncated unit header", func() []byte {
			return withInfo(func(info []byte) []byte { return append(info, 1, 0) })
		}, "at offset 0x"},
		{"bad version", func() []byte {
			return withInfo(func(info []byte) []byte { info[4] = 9; return info })
		}, "unsupported DWARF version 9"},
		{"unknown abbreviation code", func() []byte {
			return withInfo(func(info []byte) []byte { info[12] = 0x7f; return info })
		}, "unknown abbreviation code 127"},
		{"pointer to itself", func() []byte {
			b, u := good()
			p := mk(tagPointerType, aSize(8))
			p.attrs = append(p.attrs, aType(p))
			u.root.kids(p, mk(tagVariable, aName("v"), aType(p)))
			return b.elf(0)
		}, "nested deeper than"},
		{"reference outside the unit", func() []byte {
			b, u := good()
			u.root.kids(mk(tagVariable, aName("v"), at(atType, formRefAddr, &dwDIE{off: 1 << 20})))
			return b.elf(0)
		}, "outside every unit"},
		{"no .debug_info", func() []byte {
			return buildELF(false, []elfSection{{".debug_abbrev", []byte{0}, 0}})
		}, ErrNoDWARF.Error()},
		{"section past end of file", func() []byte {
			f := withInfo(func(info []byte) []byte { return info })
			return f[:len(f)-200]
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Open(bytes.NewReader(c.file()))
			if err == nil {
				err = d.Index()
			}
			if err == nil {
				_, err = d.VarType("v")
			}
			if err == nil {
				_, err = d.StructByName("s")
			}
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
			var de DecodeError
			if strings.HasPrefix(c.want, "unit") || strings.HasPrefix(c.want, "unknown") {
				if !errors.As(err, &de) {
					t.Errorf("error %q is not a DecodeError", err)
				}
			}
		})
	}
}

// TestTypedefCycle: a typedef naming itself decodes (the model is cyclic)
// and the ktype helpers stop on it.
func TestTypedefCycle(t *testing.T) {
	b := &dwBuilder{}
	td := mk(tagTypedef, aName("loop_t"))
	td.attrs = append(td.attrs, aType(td))
	b.units = []*dwUnit{{version: 4, root: mk(tagCompileUnit).kids(td, mk(tagVariable, aName("v"), aType(td)))}}
	d := openBytes(t, b.elf(0))
	typ, err := d.VarType("v")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ktype.Sizeof(typ); err == nil {
		t.Errorf("sizeof a self-referencing typedef succeeded")
	}
}

// TestSiblingBackwards: a DW_AT_sibling pointing backwards is ignored and
// the children are scanned instead.
func TestSiblingBackwards(t *testing.T) {
	b := &dwBuilder{}
	i := mk(tagBaseType, aName("int"), aSize(4), at(atEncoding, formData1, uint64(ateSigned)))
	s := mk(tagStructureType, aName("s"), aSize(4), at(atSibling, formRef4, i)).kids(
		mk(tagMember, aName("x"), aType(i), aLoc(0)))
	b.units = []*dwUnit{{version: 5, root: mk(tagCompileUnit).kids(i, s, mk(tagVariable, aName("after"), aType(s)))}}
	d := openBytes(t, b.elf(0))
	typ, err := d.VarType("after")
	if err != nil || ktype.String(typ) != "struct s" {
		t.Errorf("VarType(after) = %v, %v", typ, err)
	}
}

// TestConcurrentLookups: Data is safe for concurrent use (run with -race).
func TestConcurrentLookups(t *testing.T) {
	d := openBytes(t, handBuiltDWARF(handBuilt{version: 5}))
	done := make(chan error)
	for i := 0; i < 4; i++ {
		go func() {
			var err error
			for j := 0; j < 20 && err == nil; j++ {
				switch (i + j) % 4 {
				case 0:
					_, err = d.StructByName("s")
				case 1:
					_, err = d.VarType("v")
				case 2:
					_, err = d.EnumValue("EC")
				case 3:
					_, err = d.TypedefByName("s_t")
				}
			}
			done <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
