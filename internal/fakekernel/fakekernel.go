// Package fakekernel gives tests a hand-built kernel: sparse memory,
// a map of types and a map of symbols, to exercise object and kernel/linux
// helpers on structures (corrupt lists, cycles, long partial lists) that
// the fixture dumps do not contain.
package fakekernel

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// Memory is a sparse virtual memory of 4 KiB pages; reading an absent page
// fails like a page missing from a dump.
type Memory map[uint64][]byte

// ReadVirtAt implements object.Memory.
func (m Memory) ReadVirtAt(p []byte, va uint64) (int, error) {
	for i := range p {
		pg, ok := m[(va+uint64(i))&^4095]
		if !ok {
			return i, fmt.Errorf("read virt %#x: not mapped", va+uint64(i))
		}
		p[i] = pg[(va+uint64(i))&4095]
	}
	return len(p), nil
}

// Write stores b at va, mapping pages as needed.
func (m Memory) Write(va uint64, b []byte) {
	for i, c := range b {
		a := va + uint64(i)
		if m[a&^4095] == nil {
			m[a&^4095] = make([]byte, 4096)
		}
		m[a&^4095][a&4095] = c
	}
}

// U64 stores a little-endian 64-bit value at va.
func (m Memory) U64(va, v uint64) { m.Write(va, binary.LittleEndian.AppendUint64(nil, v)) }

// Types is a ktype.Source over a map keyed "struct NAME", "union NAME",
// "enum NAME" or a plain type name ("int", "unsigned long").
type Types map[string]ktype.Type

func (f Types) get(key string) (ktype.Type, error) {
	if t, ok := f[key]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("%s: %w", key, ktype.ErrNotFound)
}

// StructByName implements ktype.Source.
func (f Types) StructByName(n string) (*ktype.Struct, error) {
	t, err := f.get("struct " + n)
	if err != nil {
		return nil, err
	}
	s, ok := t.(*ktype.Struct)
	if !ok {
		return nil, fmt.Errorf("struct %s: %w", n, ktype.ErrNotFound)
	}
	return s, nil
}

// UnionByName implements ktype.Source.
func (f Types) UnionByName(n string) (*ktype.Union, error) {
	t, err := f.get("union " + n)
	if err != nil {
		return nil, err
	}
	u, ok := t.(*ktype.Union)
	if !ok {
		return nil, fmt.Errorf("union %s: %w", n, ktype.ErrNotFound)
	}
	return u, nil
}

// TypedefByName implements ktype.Source.
func (f Types) TypedefByName(n string) (*ktype.Typedef, error) {
	if t, ok := f[n].(*ktype.Typedef); ok {
		return t, nil
	}
	return nil, fmt.Errorf("typedef %s: %w", n, ktype.ErrNotFound)
}

// EnumByName implements ktype.Source.
func (f Types) EnumByName(n string) (*ktype.Enum, error) {
	t, err := f.get("enum " + n)
	if err != nil {
		return nil, err
	}
	e, ok := t.(*ktype.Enum)
	if !ok {
		return nil, fmt.Errorf("enum %s: %w", n, ktype.ErrNotFound)
	}
	return e, nil
}

// TypeByName implements ktype.Source (plain names only).
func (f Types) TypeByName(n string, _ ktype.Kind) (ktype.Type, error) { return f.get(n) }

// EnumValue implements ktype.Source over the enums in the map.
func (f Types) EnumValue(n string) (int64, error) {
	for _, t := range f {
		if e, ok := t.(*ktype.Enum); ok {
			if v, ok := e.Value(n); ok {
				return v, nil
			}
		}
	}
	return 0, fmt.Errorf("enumerator %s: %w", n, ktype.ErrNotFound)
}

// Symbols maps symbol names to addresses (object.Symbols).
type Symbols map[string]uint64

// Addr implements object.Symbols.
func (s Symbols) Addr(n string) (uint64, error) {
	if a, ok := s[n]; ok {
		return a, nil
	}
	return 0, errors.New(n + ": no symbol")
}
