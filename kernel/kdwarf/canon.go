package kdwarf

import (
	"encoding/binary"
	"math/bits"
)

// Every compile unit that includes a header defines its types again, so a
// kernel has hundreds of DWARF definitions of struct list_head. The
// materializer models each named type once, from the first definition of
// its name (the canonical one), and redirects other definitions there when
// their shape matches. Shapes are compared by a fingerprint of the raw
// entries, computed for canonical definitions while indexing, so that a
// redirect never has to read the canonical definition's unit: two
// file-local structs that share a name but not a layout keep their own
// models.

// maxShapeDepth bounds how far a fingerprint follows DW_AT_type through
// unnamed types (pointer to const pointer to …).
const maxShapeDepth = 8

// canonical returns the offset of the entry whose model stands for e, a
// named type entry of the given kind in view v: e.off itself when e is
// canonical or shaped differently from the canonical definition of its
// name, and otherwise the first definition (or, for a type never defined,
// the first declaration). It also returns that name's index entry.
func (m *materializer) canonical(e *die, kind nameKind, v *unitView) (uint64, nameEntry, error) {
	ent, ok := m.d.names[kind].lookup(string(e.name))
	if !ok {
		return e.off, ent, nil // a type local to a function
	}
	if e.decl {
		switch {
		case ent.def != 0:
			return uint64(ent.def), ent, nil
		case ent.decl != 0:
			return uint64(ent.decl), ent, nil
		}
		return e.off, ent, nil
	}
	if ent.def == 0 || uint64(ent.def) == e.off {
		return e.off, ent, nil
	}
	shape, _, err := v.shape(e.off, 0)
	if err != nil {
		return 0, ent, err
	}
	if shape != ent.shape {
		return e.off, ent, nil
	}
	return uint64(ent.def), ent, nil
}

// shape fingerprints the entry at off: its tag, name and size, its
// members' names and offsets or its enumerators, and what it refers to (by
// name when that is named, by shape when not). It follows references only
// inside the unit. It also returns the decoded entry.
func (v *unitView) shape(off uint64, depth int) (uint64, die, error) {
	e, err := v.entry(off)
	if err != nil {
		return 0, e, err
	}
	h := newShapeHash()
	h.u(uint64(e.tag))
	h.b(e.name)
	h.u(e.byteSize)
	h.u(e.encoding)
	if e.decl {
		h.u(1)
	}
	h.u(e.signature)
	switch e.tag {
	case tagStructureType, tagUnionType, tagClassType, tagEnumerationType, tagArrayType, tagSubroutineType:
		err := v.children(&e, func(c *die) error {
			h.u(uint64(c.tag))
			h.b(c.name)
			h.u(c.memberLoc)
			h.b(c.memberLocExpr)
			h.u(c.bitSize)
			h.u(c.bitOffset)
			h.u(c.dataBitOffset)
			h.u(c.constValue)
			h.u(c.count)
			h.u(c.upperBound)
			return nil
		})
		if err != nil {
			return 0, e, err
		}
	}
	switch e.tag {
	case tagTypedef, tagPointerType, tagConstType, tagVolatileType, tagRestrictType,
		tagAtomicType, tagArrayType, tagSubroutineType:
		if e.has&hasType == 0 || depth >= maxShapeDepth {
			break
		}
		if e.typ < v.u.dieOff || e.typ >= v.u.end {
			h.u(e.typ) // in another unit: equal only to itself
			break
		}
		t, err := v.entry(e.typ)
		if err != nil {
			return 0, e, err
		}
		if _, indexed := kindOfTag(t.tag); indexed && len(t.name) > 0 {
			// Named targets are redirected by name themselves; a
			// declaration and a definition of one struct count as equal.
			h.u(uint64(t.tag))
			h.b(t.name)
			if t.tag == tagBaseType {
				h.u(t.byteSize)
				h.u(t.encoding)
			}
			break
		}
		fp, _, err := v.shape(e.typ, depth+1)
		if err != nil {
			return 0, e, err
		}
		h.u(fp)
	}
	return h.sum, e, nil
}

// shapeHash mixes words and byte strings into a 64-bit fingerprint, a word
// at a time (the multiply-rotate round of xxHash64). Collisions only cost a
// missed redirect or, with odds of 2^-64, a wrong one.
type shapeHash struct{ sum uint64 }

const (
	prime1 = 11400714785074694791
	prime2 = 14029467366897019727
)

func newShapeHash() shapeHash { return shapeHash{0x27d4eb2f165667c5} }

func (h *shapeHash) u(v uint64) {
	h.sum ^= bits.RotateLeft64(v*prime2, 31) * prime1
	h.sum = bits.RotateLeft64(h.sum, 27)*prime1 + 0x85ebca77c2b2ae63
}

func (h *shapeHash) b(p []byte) {
	h.u(uint64(len(p)))
	for len(p) >= 8 {
		h.u(binary.LittleEndian.Uint64(p))
		p = p[8:]
	}
	var tail uint64
	for i, c := range p {
		tail |= uint64(c) << (8 * i)
	}
	h.u(tail)
}
