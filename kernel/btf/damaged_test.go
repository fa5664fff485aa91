package btf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// damagedBlob builds
//
//	struct task { int pid; struct mm *mm; struct later l; };  (types 1-3, kept)
//	enum e { KEPT = 1 };                                         (type 4, kept)
//	struct later { int x; };  enum e2 { LOST = 2 };              (types 5-6, lost)
//	struct mm { int users; };                                    (type 7, lost)
//
// and returns it with the blob offset where type 5's record starts.
func damagedBlob() ([]byte, int64) {
	b := newBuilder(byteOrder(binary.LittleEndian))
	i := b.intType("int", 4, btfIntSigned, 0, 32)
	ptr := b.ptr(7)
	b.composite(kindStruct, "task", 24, false, bmember{"pid", i, 0}, bmember{"mm", ptr, 64}, bmember{"l", 5, 128})
	b.enum("e", 4, false, "KEPT", 1)
	cut := int64(btfHeaderLen + len(b.types))
	b.composite(kindStruct, "later", 4, false, bmember{"x", i, 0})
	b.enum("e2", 4, false, "LOST", 2)
	b.composite(kindStruct, "mm", 4, false, bmember{"users", i, 0})
	return b.blob(), cut
}

// TestDamagedTypeSection: a BTF blob whose type records are unreadable
// from some byte on keeps the types before it, with references to lost
// ones as *ktype.Lost, and never answers "not found" for a name a lost type
// may have had (issue 17: a bad page among the kernel BTF's type records
// failed every output of a dump-alone report).
func TestDamagedTypeSection(t *testing.T) {
	blob, cut := damagedBlob()
	// The bytes past the cut read as zeros, as the kernel's reader gives
	// them; a few bytes into type 5's record, so that it is cut too.
	zeroed := bytes.Clone(blob)
	clear(zeroed[cut+4 : btfHeaderLen+int64(binary.LittleEndian.Uint32(blob[12:]))])
	if _, err := LoadSpec(bytes.NewReader(zeroed), int64(len(zeroed))); err == nil {
		t.Fatal("the zeroed blob loads whole: the test does not damage it")
	}
	s, err := LoadDamagedSpec(bytes.NewReader(zeroed), int64(len(zeroed)), Damage{TypesEnd: cut + 4})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := s.Lost(); first != 5 || !errors.Is(err, ktype.ErrLost) {
		t.Fatalf("Lost() = %d, %v; want 5 and ErrLost", first, err)
	}
	task, err := s.StructByName("task")
	if err != nil {
		t.Fatal(err)
	}
	// Its own layout is whole; the members of lost types are there, with
	// their offsets, and fail only when their type is needed.
	m, err := ktype.FindMember(task, "pid")
	if err != nil || m.Offset != 0 {
		t.Errorf("pid: %+v, %v", m, err)
	}
	l, err := ktype.FindMember(task, "l")
	if err != nil || l.Offset != 128 {
		t.Fatalf("l: %+v, %v", l, err)
	}
	if _, err := ktype.Sizeof(l.Type); !errors.Is(err, ktype.ErrLost) {
		t.Errorf("sizeof a lost member type: %v, want ErrLost", err)
	}
	if _, err := ktype.FindMember(task, "l.x"); !errors.Is(err, ktype.ErrLost) {
		t.Errorf("member of a lost type: %v, want ErrLost", err)
	}
	mm, _ := ktype.FindMember(task, "mm")
	if p, ok := ktype.As[*ktype.Pointer](mm.Type); !ok || p.Target.Kind() != ktype.KindLost {
		t.Errorf("mm: %v, want a pointer to a lost type", mm.Type)
	}
	if v, err := s.EnumValue("KEPT"); err != nil || v != 1 {
		t.Errorf("KEPT: %d, %v", v, err)
	}
	// Lookups that miss: lost, not absent, for names in the string section
	// (the strings were read whole); absent for a name that is in no
	// string at all, whichever type it would have been.
	for _, c := range []struct {
		name string
		err  error
	}{
		{"mm", ktype.ErrLost}, {"later", ktype.ErrLost}, {"nosuch", ktype.ErrNotFound},
	} {
		if _, err := s.StructByName(c.name); !errors.Is(err, c.err) || (c.err == ktype.ErrLost && errors.Is(err, ktype.ErrNotFound)) {
			t.Errorf("StructByName(%s): %v, want %v", c.name, err, c.err)
		}
	}
	if _, err := s.EnumValue("LOST"); !errors.Is(err, ktype.ErrLost) || errors.Is(err, ktype.ErrNotFound) {
		t.Errorf("EnumValue(LOST): %v, want ErrLost only", err)
	}
	if _, err := s.EnumValue("NOSUCH"); !errors.Is(err, ktype.ErrNotFound) {
		t.Errorf("EnumValue(NOSUCH): %v, want ErrNotFound", err)
	}
	if _, err := s.TypeByID(6); !errors.Is(err, ktype.ErrLost) {
		t.Errorf("TypeByID(6): %v, want ErrLost", err)
	}
}

// TestDamagedStringSection: a type a name of which touches a string hole
// is lost (a name cut short by zeros would read as another, shorter name),
// and lookups that miss say lost, since any name may have been in the hole.
func TestDamagedStringSection(t *testing.T) {
	b := newBuilder(byteOrder(binary.LittleEndian))
	i := b.intType("int", 4, btfIntSigned, 0, 32)
	b.composite(kindStruct, "kept", 4, false, bmember{"a", i, 0})
	b.composite(kindStruct, "holder", 8, false, bmember{"a", i, 0}, bmember{"victim_member", i, 32})
	blob := b.blob()
	strStart := int64(btfHeaderLen + len(b.types))
	off := int64(b.strOffs["victim_member"])
	// The hole starts in the middle of "victim_member": "victim" would be
	// read.
	lo, hi := strStart+off+6, strStart+off+14
	clear(blob[lo:hi])
	s, err := LoadDamagedSpec(bytes.NewReader(blob), int64(len(blob)), Damage{StringHoles: [][2]int64{{lo, hi}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StructByName("kept"); err != nil {
		t.Errorf("kept: %v", err)
	}
	if _, err := s.StructByName("holder"); !errors.Is(err, ktype.ErrLost) {
		t.Errorf("holder: %v, want ErrLost", err)
	}
	// No struct lost its own name: a name none has is absent.
	if _, err := s.StructByName("nosuch"); !errors.Is(err, ktype.ErrNotFound) {
		t.Errorf("nosuch: %v, want ErrNotFound", err)
	}

	// A struct whose own name is in the hole: any struct name not found
	// may have been its.
	b = newBuilder(byteOrder(binary.LittleEndian))
	i = b.intType("int", 4, btfIntSigned, 0, 32)
	b.composite(kindStruct, "kept", 4, false, bmember{"a", i, 0})
	b.composite(kindStruct, "victim", 4, false, bmember{"a", i, 0})
	blob = b.blob()
	strStart = int64(btfHeaderLen + len(b.types))
	lo = strStart + int64(b.strOffs["victim"])
	hi = lo + 3
	clear(blob[lo:hi])
	s, err = LoadDamagedSpec(bytes.NewReader(blob), int64(len(blob)), Damage{StringHoles: [][2]int64{{lo, hi}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StructByName("kept"); err != nil {
		t.Errorf("kept: %v", err)
	}
	for _, name := range []string{"victim", "nosuch"} {
		if _, err := s.StructByName(name); !errors.Is(err, ktype.ErrLost) || errors.Is(err, ktype.ErrNotFound) {
			t.Errorf("%s: %v, want ErrLost only", name, err)
		}
	}
	// Other kinds did not lose names.
	if _, err := s.TypedefByName("nosuch"); !errors.Is(err, ktype.ErrNotFound) {
		t.Errorf("typedef nosuch: %v, want ErrNotFound", err)
	}
}
