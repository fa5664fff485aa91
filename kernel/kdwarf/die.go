package kdwarf

import (
	"fmt"
	"strconv"
)

// readStr reads a value of a string form and returns the string, or skips
// a value of another form and returns nil. Strings alias the section.
func (d *Data) readStr(r *reader, u *unit, form uint16) []byte {
	var sec []byte
	var off uint64
	secName := ".debug_str"
	switch form {
	case formString:
		return r.cstr()
	case formStrp:
		sec, off = d.str, r.uint(int(u.offSize))
	case formLineStrp:
		sec, off, secName = d.lineStr, r.uint(int(u.offSize)), ".debug_line_str"
	case formStrx, formGNUStrIndex:
		return d.strx(r, u, r.uleb())
	case formStrx1:
		return d.strx(r, u, uint64(r.u8()))
	case formStrx2:
		return d.strx(r, u, r.uint(2))
	case formStrx3:
		return d.strx(r, u, r.uint(3))
	case formStrx4:
		return d.strx(r, u, r.uint(4))
	default:
		r.skipForm(form, u.format)
		return nil
	}
	if r.err != nil {
		return nil
	}
	s, ok := cstrAt(sec, off)
	if !ok {
		r.fail("string offset 0x" + strconv.FormatUint(off, 16) + " outside " + secName)
	}
	return s
}

// strx resolves a string index through .debug_str_offsets.
func (d *Data) strx(r *reader, u *unit, idx uint64) []byte {
	if r.err != nil {
		return nil
	}
	base := u.strOffsetsBase
	if base == 0 {
		base = 8 // just past the first contribution's header (DWARF 5, 7.26)
		if u.offSize == 8 {
			base = 16
		}
	}
	n := uint64(u.offSize)
	if idx > (uint64(len(d.strOffsets))-min(base, uint64(len(d.strOffsets))))/n {
		r.fail("string index " + strconv.FormatUint(idx, 10) + " outside .debug_str_offsets")
		return nil
	}
	so := reader{data: d.strOffsets, sec: ".debug_str_offsets", be: d.be}
	so.seek(base + idx*n)
	off := so.uint(int(n))
	if so.err != nil {
		r.fail("string index " + strconv.FormatUint(idx, 10) + " outside .debug_str_offsets")
		return nil
	}
	s, ok := cstrAt(d.str, off)
	if !ok {
		r.fail("string offset 0x" + strconv.FormatUint(off, 16) + " outside .debug_str")
	}
	return s
}

// readFlag reads a flag-class value (any other form reads as false).
func (d *Data) readFlag(r *reader, u *unit, s *attrSpec) bool {
	switch s.form {
	case formFlagPresent:
		return true
	case formFlag:
		return r.u8() != 0
	case formImplicitConst:
		return s.implicit != 0
	}
	r.skipForm(s.form, u.format)
	return false
}

// readRef reads a reference and returns the section offset it points to,
// or 0 for forms this reader cannot follow (references into other files,
// unknown type signatures) and for unit-relative references outside the
// unit. Callers decide whether that is an error: a bad DW_AT_sibling only
// means scanning instead of jumping.
func (d *Data) readRef(r *reader, u *unit, form uint16) uint64 {
	var v uint64
	switch form {
	case formRef1:
		v = uint64(r.u8())
	case formRef2:
		v = r.uint(2)
	case formRef4:
		v = r.uint(4)
	case formRef8:
		v = r.u64()
	case formRefUdata:
		v = r.uleb()
	case formRefAddr:
		return r.uint(u.refAddrSize())
	case formRefSig8:
		return d.sigs[r.u64()]
	default:
		r.skipForm(form, u.format)
		return 0
	}
	if v >= u.end-u.off {
		return 0
	}
	return u.off + v
}

// readUconst reads an unsigned constant (or a section offset, for
// attributes such as DW_AT_str_offsets_base). sdata and implicit_const
// values come back as their two's complement bits.
func readUconst(r *reader, u *unit, s *attrSpec) uint64 {
	switch s.form {
	case formData1:
		return uint64(r.u8())
	case formData2:
		return r.uint(2)
	case formData4:
		return r.uint(4)
	case formData8:
		return r.u64()
	case formUdata:
		return r.uleb()
	case formSdata:
		return uint64(r.sleb())
	case formImplicitConst:
		return uint64(s.implicit)
	case formSecOffset:
		return r.uint(int(u.offSize))
	}
	r.skipForm(s.form, u.format)
	return 0
}

// Bits of die.has.
const (
	hasType uint32 = 1 << iota
	hasByteSize
	hasBitSize
	hasBitOffset
	hasDataBitOffset
	hasMemberLoc
	hasUpperBound
	hasCount
	hasLowerBound
	hasEncoding
	hasConstValue
	hasSpec
	hasOrigin
	hasSignature
	boundNotConst // a bound is an expression or reference: a variable-length array
	refBroken     // DW_AT_type or DW_AT_signature points nowhere this reader can follow
	memberLocNotConst
)

// die is the decoded form of one debugging information entry: the
// attributes the type decoder uses, and where its children start.
type die struct {
	off      uint64
	tag      uint32
	children bool
	has      uint32
	next     uint64 // offset just past the attributes: the first child, if any
	sibling  uint64
	name     []byte // aliases a section or unit buffer

	typ           uint64
	byteSize      uint64
	bitSize       uint64
	bitOffset     uint64
	dataBitOffset uint64
	memberLoc     uint64
	memberLocExpr []byte
	upperBound    uint64
	upperForm     uint16
	count         uint64
	lowerBound    uint64
	encoding      uint64
	constValue    uint64
	constForm     uint16
	spec, origin  uint64
	signature     uint64 // the type unit entry this one stands for
	decl          bool
	external      bool
	vector        bool
}

// unitView is a unit's bytes and abbreviations, ready for decoding entries.
type unitView struct {
	d    *Data
	u    *unit
	data []byte // the whole unit, header included
	tab  *abbrevTable
	used uint64 // materializer's LRU clock
}

// entry decodes the entry at off.
func (v *unitView) entry(off uint64) (die, error) {
	d, u, data, tab := v.d, v.u, v.data, v.tab
	e := die{off: off}
	r := reader{data: data, base: u.off, sec: ".debug_info", be: d.be}
	if off < u.dieOff || off >= u.end {
		return e, DecodeError{".debug_info", off, "entry offset outside its unit"}
	}
	r.seek(off)
	code := r.uleb()
	if r.err != nil {
		return e, r.err
	}
	if code == 0 {
		return e, DecodeError{".debug_info", off, "null entry where an entry was expected"}
	}
	ab := tab.get(code)
	if ab == nil {
		return e, DecodeError{".debug_info", off, "unknown abbreviation code " + strconv.FormatUint(code, 10)}
	}
	e.tag, e.children = ab.tag, ab.children
	for i := range ab.attrs {
		s := &ab.attrs[i]
		switch s.attr {
		case atName:
			e.name = d.readStr(&r, u, s.form)
		case atType:
			if e.typ = d.readRef(&r, u, s.form); e.typ != 0 {
				e.has |= hasType
			} else {
				e.has |= refBroken
			}
		case atSibling:
			e.sibling = d.readRef(&r, u, s.form)
		case atSpecification:
			if e.spec = d.readRef(&r, u, s.form); e.spec != 0 {
				e.has |= hasSpec
			}
		case atSignature:
			if e.signature = d.readRef(&r, u, s.form); e.signature != 0 {
				e.has |= hasSignature
			} else {
				e.has |= refBroken
			}
		case atAbstractOrigin:
			if e.origin = d.readRef(&r, u, s.form); e.origin != 0 {
				e.has |= hasOrigin
			}
		case atDeclaration:
			e.decl = d.readFlag(&r, u, s)
		case atExternal:
			e.external = d.readFlag(&r, u, s)
		case atGNUVector:
			e.vector = d.readFlag(&r, u, s)
		case atByteSize:
			e.byteSize = d.constAttr(&r, u, s, &e.has, hasByteSize)
		case atBitSize:
			e.bitSize = d.constAttr(&r, u, s, &e.has, hasBitSize)
		case atBitOffset:
			e.bitOffset = d.constAttr(&r, u, s, &e.has, hasBitOffset)
		case atDataBitOffset:
			e.dataBitOffset = d.constAttr(&r, u, s, &e.has, hasDataBitOffset)
		case atEncoding:
			e.encoding = d.constAttr(&r, u, s, &e.has, hasEncoding)
		case atCount:
			e.count = d.constAttr(&r, u, s, &e.has, hasCount)
		case atLowerBound:
			e.lowerBound = d.constAttr(&r, u, s, &e.has, hasLowerBound)
		case atUpperBound:
			e.upperForm = s.form
			e.upperBound = d.constAttr(&r, u, s, &e.has, hasUpperBound)
		case atConstValue:
			e.constForm = s.form
			e.constValue = d.constAttr(&r, u, s, &e.has, hasConstValue)
		case atDataMemberLoc:
			switch s.form {
			case formExprloc, formBlock, formBlock1, formBlock2, formBlock4:
				e.memberLocExpr = d.readBlock(&r, u, s.form)
				e.has |= hasMemberLoc | memberLocNotConst
			default:
				e.memberLoc = d.constAttr(&r, u, s, &e.has, hasMemberLoc)
			}
		default:
			r.skipAttr(s, u.format)
		}
	}
	if r.err != nil {
		return e, r.err
	}
	e.next = r.off()
	return e, nil
}

// constAttr reads a constant-class value and sets bit in has. A value of
// another class (an expression, a reference) is skipped and marked with
// boundNotConst instead, which only bounds care about.
func (d *Data) constAttr(r *reader, u *unit, s *attrSpec, has *uint32, bit uint32) uint64 {
	switch s.form {
	case formData1, formData2, formData4, formData8, formUdata, formSdata, formImplicitConst:
		*has |= bit
		return readUconst(r, u, s)
	}
	r.skipForm(s.form, u.format)
	*has |= boundNotConst
	return 0
}

// readBlock reads a block or exprloc value.
func (d *Data) readBlock(r *reader, u *unit, form uint16) []byte {
	switch form {
	case formBlock1:
		return r.bytes(uint64(r.u8()))
	case formBlock2:
		return r.bytes(r.uint(2))
	case formBlock4:
		return r.bytes(r.uint(4))
	case formBlock, formExprloc:
		return r.bytes(r.uleb())
	}
	r.skipForm(form, u.format)
	return nil
}

// children calls fn for each child of e in order, skipping grandchildren.
func (v *unitView) children(e *die, fn func(c *die) error) error {
	if !e.children {
		return nil
	}
	u, data := v.u, v.data
	off := e.next
	for {
		if off >= u.end {
			return DecodeError{".debug_info", off, "children run past end of unit"}
		}
		if data[off-u.off] == 0 {
			return nil // null entry ends the children
		}
		c, err := v.entry(off)
		if err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
		next, err := v.after(&c)
		if err != nil {
			return err
		}
		off = next
	}
}

// after returns the offset of the entry following e and its subtree.
func (v *unitView) after(e *die) (uint64, error) {
	u, data := v.u, v.data
	if !e.children {
		return e.next, nil
	}
	if e.sibling > e.off && e.sibling <= u.end {
		return e.sibling, nil
	}
	off := e.next
	for depth := 1; depth > 0; {
		if off >= u.end {
			return 0, DecodeError{".debug_info", off, "children run past end of unit"}
		}
		if data[off-u.off] == 0 {
			depth--
			off++
			continue
		}
		c, err := v.entry(off)
		if err != nil {
			return 0, err
		}
		if c.children {
			if c.sibling > c.off && c.sibling <= u.end {
				off = c.sibling
				continue
			}
			depth++
		}
		off = c.next
	}
	return off, nil
}

// describe names an entry in error messages.
func (e *die) describe() string {
	if len(e.name) > 0 {
		return fmt.Sprintf("%s %q at 0x%x", tagWord(e.tag), e.name, e.off)
	}
	return fmt.Sprintf("%s at 0x%x", tagWord(e.tag), e.off)
}

func tagWord(tag uint32) string {
	switch tag {
	case tagStructureType:
		return "struct"
	case tagUnionType:
		return "union"
	case tagEnumerationType:
		return "enum"
	case tagTypedef:
		return "typedef"
	case tagBaseType:
		return "base type"
	case tagVariable:
		return "variable"
	case tagMember:
		return "member"
	case tagArrayType:
		return "array type"
	case tagPointerType:
		return "pointer type"
	case tagSubroutineType:
		return "subroutine type"
	}
	return "entry (tag 0x" + strconv.FormatUint(uint64(tag), 16) + ")"
}
