package kdwarf

import "strconv"

// format is what a unit header says about how to decode its values.
type format struct {
	version  uint8
	addrSize uint8
	offSize  uint8 // 4 for 32-bit DWARF, 8 for 64-bit DWARF
}

// refAddrSize is the size of DW_FORM_ref_addr: an address in DWARF 2, an
// offset since DWARF 3.
func (f format) refAddrSize() int {
	if f.version <= 2 {
		return int(f.addrSize)
	}
	return int(f.offSize)
}

// formSize is the size of a value of form, or -1 when the size is encoded
// in the value (LEB128, strings, blocks) or the form is unknown.
func formSize(form uint16, f format) int {
	switch form {
	case formFlagPresent, formImplicitConst:
		return 0
	case formData1, formRef1, formFlag, formStrx1, formAddrx1:
		return 1
	case formData2, formRef2, formStrx2, formAddrx2:
		return 2
	case formStrx3, formAddrx3:
		return 3
	case formData4, formRef4, formStrx4, formAddrx4, formRefSup4:
		return 4
	case formData8, formRef8, formRefSig8, formRefSup8:
		return 8
	case formData16:
		return 16
	case formAddr:
		return int(f.addrSize)
	case formStrp, formSecOffset, formLineStrp, formStrpSup, formGNURefAlt, formGNUStrpAlt:
		return int(f.offSize)
	case formRefAddr:
		return f.refAddrSize()
	}
	return -1
}

// knownForm reports whether the reader can at least skip a value of form.
func knownForm(form uint16) bool {
	if form >= formAddr && form <= formAddrx4 && form != 0x02 {
		return true
	}
	switch form {
	case formGNUAddrIndex, formGNUStrIndex, formGNURefAlt, formGNUStrpAlt:
		return true
	}
	return false
}

// skipAttr skips the value of attribute s.
func (r *reader) skipAttr(s *attrSpec, f format) {
	if s.size >= 0 {
		if int(s.size) > len(r.data)-r.pos {
			r.fail("underflow")
			return
		}
		r.pos += int(s.size)
		return
	}
	r.skipForm(s.form, f)
}

// skipForm skips one value of form.
func (r *reader) skipForm(form uint16, f format) {
	for range 4 { // DW_FORM_indirect may name another form; a chain is malformed
		if n := formSize(form, f); n >= 0 {
			r.skip(uint64(n))
			return
		}
		switch form {
		case formString:
			r.cstr()
		case formSdata, formUdata, formRefUdata, formStrx, formAddrx, formLoclistx,
			formRnglistx, formGNUAddrIndex, formGNUStrIndex:
			r.skipLEB()
		case formBlock1:
			r.skip(uint64(r.u8()))
		case formBlock2:
			r.skip(uint64(r.u16()))
		case formBlock4:
			r.skip(uint64(r.u32()))
		case formBlock, formExprloc:
			r.skip(r.uleb())
		case formIndirect:
			form = uint16(r.uleb())
			continue
		default:
			r.fail("unknown attribute form 0x" + strconv.FormatUint(uint64(form), 16))
		}
		return
	}
	r.fail("DW_FORM_indirect chain")
}

// attrSpec is one (attribute, form) pair of an abbreviation.
type attrSpec struct {
	attr     uint32
	form     uint16
	size     int16 // formSize of form for the unit's format, -1 if variable
	implicit int64 // the value of a DW_FORM_implicit_const attribute
}

// abbrev is one abbreviation declaration, plus what the index skimmer
// precomputes to skip entries without looking at every value.
type abbrev struct {
	tag      uint32
	children bool
	attrs    []attrSpec
	// size is the total size of the attribute values when every form has a
	// fixed size, else -1.
	size int32
	// sibOff is the offset of the DW_AT_sibling value from the first value
	// when it is present and every value before it has a fixed size, else -1.
	sibOff  int32
	sibForm uint16
}

// abbrevTable maps abbreviation codes to declarations. Producers number
// codes 1, 2, 3, …, so a slice serves them; other codes go to a map.
type abbrevTable struct {
	dense  []abbrev
	sparse map[uint64]*abbrev
	specs  []attrSpec // backing store of every attrs slice, reused by reset
	codes  []uint64   // scratch for parseAbbrevs
	decls  []abbrev   // scratch for parseAbbrevs
}

func (t *abbrevTable) get(code uint64) *abbrev {
	if code-1 < uint64(len(t.dense)) {
		return &t.dense[code-1]
	}
	return t.sparse[code]
}

func (t *abbrevTable) reset() {
	t.dense = t.dense[:0]
	t.specs = t.specs[:0]
	clear(t.sparse)
}

// maxAbbrevAttrs bounds the attributes of one declaration: DWARF defines
// fewer than 150 attributes, so more than this is corrupt input.
const maxAbbrevAttrs = 1024

// parseAbbrevs decodes the abbreviation table at off in .debug_abbrev into
// t, reusing t's storage. f decides the precomputed sizes.
func parseAbbrevs(sec []byte, off uint64, f format, be bool, t *abbrevTable) error {
	t.reset()
	r := reader{data: sec, base: 0, sec: ".debug_abbrev", be: be}
	r.seek(off)
	decls, codes := t.decls[:0], t.codes[:0]
	defer func() { t.decls, t.codes = decls[:0], codes[:0] }()
	for r.err == nil {
		code := r.uleb()
		if code == 0 || r.err != nil {
			break
		}
		a := abbrev{tag: uint32(r.uleb()), children: r.u8() != 0, size: 0, sibOff: -1}
		first := len(t.specs)
		fixed := true
		for n := 0; ; n++ {
			if n > maxAbbrevAttrs {
				r.fail("abbreviation has too many attributes")
				break
			}
			attr, form := r.uleb(), r.uleb()
			if r.err != nil || attr == 0 && form == 0 {
				break
			}
			if form > 0xffff || !knownForm(uint16(form)) {
				r.fail("unknown attribute form 0x" + strconv.FormatUint(form, 16))
				break
			}
			s := attrSpec{attr: uint32(min(attr, 0xffffffff)), form: uint16(form), size: int16(formSize(uint16(form), f))}
			if s.form == formImplicitConst {
				s.implicit = r.sleb()
			}
			if s.attr == atSibling && fixed {
				a.sibOff, a.sibForm = a.size, s.form
			}
			if s.size >= 0 && fixed {
				a.size += int32(s.size)
			} else {
				fixed = false
			}
			t.specs = append(t.specs, s)
		}
		if !fixed {
			a.size = -1
		}
		a.attrs = t.specs[first:len(t.specs):len(t.specs)]
		decls = append(decls, a)
		codes = append(codes, code)
	}
	if r.err != nil {
		return r.err
	}
	// specs may have moved while growing: re-slice every declaration.
	pos := 0
	for i := range decls {
		n := len(decls[i].attrs)
		decls[i].attrs = t.specs[pos : pos+n : pos+n]
		pos += n
		if codes[i] == uint64(len(t.dense))+1 {
			t.dense = append(t.dense, decls[i])
			continue
		}
		if t.sparse == nil {
			t.sparse = make(map[uint64]*abbrev)
		}
		d := decls[i]
		t.sparse[codes[i]] = &d
	}
	return nil
}
