package btf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// splitSample builds a module's split BTF on top of sample():
//
//	struct mod_priv { struct list_head list; old_bits bits; int n:3 (int-encoded, base type); struct mod_priv *self; };
//	enum mod_state { MOD_A = 7 };
func splitSample(order byteOrder) (base, split []byte, ids map[string]TypeID) {
	bb, ids := sample(order)
	sb := newSplitBuilder(bb)
	ids["mod_priv"] = sb.composite(kindStruct, "mod_priv", 32, false,
		bmember{"list", ids["list_head"], 0},  // a base type
		bmember{"bits", ids["old_bits"], 128}, // a base type again
		bmember{"n", ids["int:3@2"], 192},     // a base int-encoded bitfield
		bmember{"self", sb.last + 2, 200})     // a split pointer made next
	ids["mod_priv *"] = sb.ptr(ids["mod_priv"])
	ids["mod_state"] = sb.enum("mod_state", 4, false, "MOD_A", 7)
	return bb.blob(), sb.blob(), ids
}

func TestSplitSpec(t *testing.T) {
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		baseBlob, splitBlob, ids := splitSample(order)
		base, err := LoadSpec(bytes.NewReader(baseBlob), int64(len(baseBlob)))
		if err != nil {
			t.Fatal(err)
		}
		s, err := LoadSplitSpec(bytes.NewReader(splitBlob), int64(len(splitBlob)), base)
		if err != nil {
			t.Fatal(err)
		}
		if s.StartID() != TypeID(base.NumTypes()+1) || s.NumTypes() != base.NumTypes()+3 || s.Base() != base {
			t.Fatalf("start %d, %d types, base %d types", s.StartID(), s.NumTypes(), base.NumTypes())
		}
		mp, err := s.StructByName("mod_priv")
		if err != nil {
			t.Fatal(err)
		}
		lh, _ := base.StructByName("list_head")
		if mp.Members[0].Type != lh {
			t.Errorf("member list is %s, not the base's list_head", ktype.String(mp.Members[0].Type))
		}
		if m, err := ktype.FindMember(mp, "bits.b"); err != nil || m.Offset != 128+32 {
			t.Errorf("bits.b: %+v %v", m, err)
		}
		if m := mp.Members[2]; m.BitfieldSize != 3 || m.Offset != 194 {
			t.Errorf("n: a base int-encoded bitfield decoded as %+v", m)
		}
		if p, ok := mp.Members[3].Type.(*ktype.Pointer); !ok || p.Target != mp {
			t.Errorf("self: %s", ktype.String(mp.Members[3].Type))
		}
		// Lookups see the base's names too, the base's first.
		if got, err := s.StructByName("list_head"); err != nil || got != lh {
			t.Errorf("list_head through the split spec: %v", err)
		}
		if v, err := s.EnumValue("MOD_A"); err != nil || v != 7 {
			t.Errorf("MOD_A = %d, %v", v, err)
		}
		if v, err := s.EnumValue("NR_VM_ZONE_STAT_ITEMS"); err != nil || v != 11 {
			t.Errorf("base enumerator through the split spec = %d, %v", v, err)
		}
		if _, err := s.EnumValue("CLASH"); !errors.Is(err, ktype.ErrMultipleMatches) {
			t.Errorf("CLASH: %v", err)
		}
		if typ, err := s.TypeByID(ids["int"]); err != nil || typ.TypeName() != "int" {
			t.Errorf("base ID through the split spec: %v %v", typ, err)
		}
		n := 0
		for typ, err := range s.All() {
			if err != nil {
				t.Fatal(err)
			}
			n++
			_ = typ
		}
		if n != 3 {
			t.Errorf("All yields %d types, want the 3 of the split spec", n)
		}
		if _, err := base.StructByName("mod_priv"); !errors.Is(err, ErrNotFound) {
			t.Errorf("the base sees a split type: %v", err)
		}
	}
}

// TestSplitSpecBadReferences: references past the last type and names past
// the joint string sections are FormatErrors.
func TestSplitSpecBadReferences(t *testing.T) {
	bb, _ := sample(binary.LittleEndian)
	base, err := LoadSpec(bytes.NewReader(bb.blob()), int64(len(bb.blob())))
	if err != nil {
		t.Fatal(err)
	}
	sb := newSplitBuilder(bb)
	sb.ptr(TypeID(base.NumTypes() + 5)) // past the end
	blob := sb.blob()
	s, err := LoadSplitSpec(bytes.NewReader(blob), int64(len(blob)), base)
	if err != nil {
		t.Fatal(err)
	}
	var fe *FormatError
	if _, err := s.TypeByID(s.StartID()); !errors.As(err, &fe) {
		t.Errorf("dangling reference: %v", err)
	}
	sb = newSplitBuilder(bb)
	sb.rec("", kindInt, false, 0, 4, 32)
	raw := sb.blob()
	binary.LittleEndian.PutUint32(raw[btfHeaderLen:], uint32(len(bb.strs))+100) // name past both sections
	if _, err := LoadSplitSpec(bytes.NewReader(raw), int64(len(raw)), base); !errors.As(err, &fe) {
		t.Errorf("name past the strings: %v", err)
	}
	if _, err := LoadSplitSpec(bytes.NewReader(raw), int64(len(raw)), nil); err == nil {
		t.Error("split BTF without a base loaded")
	}
}

// FuzzLoadSplitSpec feeds arbitrary split blobs on top of the sample base:
// bad input ends in a *FormatError, never a panic, and decoding never
// changes the base.
func FuzzLoadSplitSpec(f *testing.F) {
	_, split, _ := splitSample(binary.LittleEndian)
	f.Add(split)
	bb, _ := sample(binary.LittleEndian)
	baseBlob := bb.blob()
	f.Fuzz(func(t *testing.T, data []byte) {
		base, err := LoadSpec(bytes.NewReader(baseBlob), int64(len(baseBlob)))
		if err != nil {
			t.Fatal(err)
		}
		s, err := LoadSplitSpec(bytes.NewReader(data), int64(len(data)), base)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("LoadSplitSpec error is %T, not *FormatError: %v", err, err)
			}
			return
		}
		for id := int(s.StartID()); id <= s.NumTypes(); id++ {
			typ, err := s.TypeByID(TypeID(id))
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("TypeByID(%d) error is %T, not *FormatError: %v", id, err, err)
				}
				continue
			}
			_ = ktype.String(typ)
			_, _ = ktype.Sizeof(typ)
			if name := typ.TypeName(); name != "" {
				_, _ = s.TypeByName(name, typ.Kind())
			}
		}
		if _, err := base.StructByName("list_head"); err != nil {
			t.Fatalf("base after split decode: %v", err)
		}
	})
}
