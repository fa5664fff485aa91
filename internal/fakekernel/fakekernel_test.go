package fakekernel

import (
	"errors"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

func TestMemory(t *testing.T) {
	m := Memory{}
	// A write across a page boundary maps both pages.
	m.Write(0x1ffe, []byte{1, 2, 3, 4})
	if len(m) != 2 || m[0x1000] == nil || m[0x2000] == nil {
		t.Fatalf("pages mapped: %d", len(m))
	}
	p := make([]byte, 4)
	if n, err := m.ReadVirtAt(p, 0x1ffe); n != 4 || err != nil || string(p) != "\x01\x02\x03\x04" {
		t.Errorf("read across pages: %d %v %x", n, err, p)
	}
	m.U64(0x2008, 0x1122334455667788)
	if _, err := m.ReadVirtAt(p, 0x2008); err != nil || string(p) != "\x88\x77\x66\x55" {
		t.Errorf("U64 is not little-endian: %x, %v", p, err)
	}
	// A read running into an absent page stops there, with an error.
	q := make([]byte, 8)
	n, err := m.ReadVirtAt(q, 0x2ffc)
	if n != 4 || err == nil {
		t.Errorf("read into an unmapped page: n %d, err %v; want 4 and an error", n, err)
	}
	if n, err := m.ReadVirtAt(q, 0x9000); n != 0 || err == nil {
		t.Errorf("read of an unmapped page: n %d, err %v", n, err)
	}
}

func TestTypes(t *testing.T) {
	s := &ktype.Struct{Name: "s", Size: 8}
	u := &ktype.Union{Name: "u", Size: 8}
	e := &ktype.Enum{Name: "e", Size: 4, Values: []ktype.EnumValue{{Name: "E_ONE", Value: 1}, {Name: "E_TWO", Value: 2}}}
	td := &ktype.Typedef{Name: "s_t", Type: s}
	i := &ktype.Int{Name: "int", Size: 4}
	ty := Types{"struct s": s, "union u": u, "enum e": e, "s_t": td, "int": i,
		"struct wrong": u} // a key whose type is not a struct

	if got, err := ty.StructByName("s"); got != s || err != nil {
		t.Errorf("StructByName: %v, %v", got, err)
	}
	if got, err := ty.UnionByName("u"); got != u || err != nil {
		t.Errorf("UnionByName: %v, %v", got, err)
	}
	if got, err := ty.EnumByName("e"); got != e || err != nil {
		t.Errorf("EnumByName: %v, %v", got, err)
	}
	if got, err := ty.TypedefByName("s_t"); got != td || err != nil {
		t.Errorf("TypedefByName: %v, %v", got, err)
	}
	if got, err := ty.TypeByName("int", 0); got != i || err != nil {
		t.Errorf("TypeByName: %v, %v", got, err)
	}
	if v, err := ty.EnumValue("E_TWO"); v != 2 || err != nil {
		t.Errorf("EnumValue(E_TWO) = %d, %v", v, err)
	}
	// Every miss is ktype.ErrNotFound, which probes rely on.
	for what, err := range map[string]error{
		"absent struct":   second(ty.StructByName("absent")),
		"not a struct":    second(ty.StructByName("wrong")),
		"struct as union": second(ty.UnionByName("s")),
		"absent enum":     second(ty.EnumByName("absent")),
		"int as typedef":  second(ty.TypedefByName("int")),
		"absent type":     second(ty.TypeByName("long", 0)),
		"enumerator":      second(ty.EnumValue("E_THREE")),
	} {
		if !errors.Is(err, ktype.ErrNotFound) {
			t.Errorf("%s: %v, want ktype.ErrNotFound", what, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestSymbols(t *testing.T) {
	s := Symbols{"jiffies": 0xffffffff82000000}
	if a, err := s.Addr("jiffies"); a != 0xffffffff82000000 || err != nil {
		t.Errorf("Addr(jiffies) = %#x, %v", a, err)
	}
	if _, err := s.Addr("absent"); err == nil {
		t.Error("an absent symbol has an address")
	}
}
