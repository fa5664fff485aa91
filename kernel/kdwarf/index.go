package kdwarf

import (
	"fmt"
	"math"
	"strconv"
)

// nameKind is what a name in the index names.
type nameKind uint8

const (
	nkStruct nameKind = iota
	nkUnion
	nkEnum
	nkTypedef
	nkBase
	nkVar
	numNameKinds
)

var nameKindWords = [numNameKinds]string{"struct", "union", "enum", "typedef", "base type", "variable"}

// kindOfTag maps the tags the index records to name kinds.
func kindOfTag(tag uint32) (nameKind, bool) {
	switch tag {
	case tagStructureType:
		return nkStruct, true
	case tagUnionType:
		return nkUnion, true
	case tagEnumerationType:
		return nkEnum, true
	case tagTypedef:
		return nkTypedef, true
	case tagBaseType:
		return nkBase, true
	case tagVariable:
		return nkVar, true
	}
	return 0, false
}

// nameEntry holds, for one name, the offsets of its first definition and of
// its first declaration (0: none; no entry can sit at offset 0, where the
// first unit header is). For types it also keeps what the materializer
// needs to stand for the definition without reading its unit: the shape
// fingerprint (see canon.go), the byte size and a base type's encoding.
type nameEntry struct {
	def, decl uint32
	size      uint32
	encoding  uint8
	shape     uint64
}

// nameIndex maps the names of one kind to their entries. A name is stored
// once as a Go string however many units define it: about 200,000 names
// for a distribution kernel.
type nameIndex struct {
	ids     map[string]uint32
	entries []nameEntry
}

// add records a definition or declaration of name at off, and returns the
// entry when off became its first definition.
func (x *nameIndex) add(name []byte, off uint64, decl bool) *nameEntry {
	id, ok := x.ids[string(name)]
	if !ok {
		id = uint32(len(x.entries))
		x.ids[string(name)] = id
		x.entries = append(x.entries, nameEntry{})
	}
	e := &x.entries[id]
	if decl {
		if e.decl == 0 {
			e.decl = uint32(off)
		}
	} else if e.def == 0 {
		e.def = uint32(off)
		return e
	}
	return nil
}

func (x *nameIndex) lookup(name string) (nameEntry, bool) {
	id, ok := x.ids[name]
	if !ok {
		return nameEntry{}, false
	}
	return x.entries[id], true
}

// Index builds the name index over .debug_info if no lookup has done so
// yet, and returns the error that building it met, if any. Calling it is
// optional; it lets a caller pay for the scan at a time of its choosing.
func (d *Data) Index() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ensureIndex()
}

func (d *Data) ensureIndex() error {
	if !d.indexed {
		d.indexed = true
		d.ixErr = d.buildIndex()
		if d.ixErr != nil {
			d.ixErr = fmt.Errorf("kdwarf: index: %w", d.ixErr)
		}
	}
	return d.ixErr
}

// buildIndex scans .debug_info once, unit by unit.
func (d *Data) buildIndex() error {
	for k := range d.names {
		d.names[k] = nameIndex{ids: make(map[string]uint32)}
	}
	d.sigs = make(map[uint64]uint64)
	d.enums = make(map[string]enumeratorEntry)
	ix := indexer{d: d}
	q := d.info.scanner()
	if q.release != nil {
		defer q.release()
	}
	size := d.info.size
	for off := uint64(0); off < size; {
		hdr, err := q.get(off, min(maxUnitHeader, size-off))
		if err != nil {
			return err
		}
		u, sig, typeOff, err := parseUnitHeader(hdr, off, size, d.be)
		if err != nil {
			return err
		}
		data, err := q.get(off, u.end-off)
		if err != nil {
			return err
		}
		if err := ix.unit(&u, data); err != nil {
			return err
		}
		d.units = append(d.units, u)
		if u.unitType == utType && typeOff != 0 {
			d.sigs[sig] = typeOff
		}
		off = u.end
	}
	if q.finish != nil {
		return q.finish()
	}
	return nil
}

// indexer skims units for the name index, reusing one abbreviation table.
type indexer struct {
	d   *Data
	tab abbrevTable
	// seen[kind][decl] has a bit per .debug_str offset, set once a name
	// stored there has been recorded as a definition (decl 0) or a
	// declaration (1): later ones change nothing, and the bit test spares
	// the map lookup for the millions of repeated definitions.
	seen [numNameKinds][2][]uint64
}

// seenBefore reports whether (kind, decl, string offset key-1) was seen,
// and marks it seen.
func (ix *indexer) seenBefore(kind nameKind, decl bool, key uint64) bool {
	if key == 0 {
		return false
	}
	k := 0
	if decl {
		k = 1
	}
	bits := ix.seen[kind][k]
	if bits == nil {
		bits = make([]uint64, len(ix.d.str)/64+1)
		ix.seen[kind][k] = bits
	}
	i := key - 1
	if i/64 >= uint64(len(bits)) {
		return false
	}
	if bits[i/64]&(1<<(i%64)) != 0 {
		return true
	}
	bits[i/64] |= 1 << (i % 64)
	return false
}

// unit indexes the top-level entries of u, whose bytes (header included)
// are data.
func (ix *indexer) unit(u *unit, data []byte) error {
	d := ix.d
	if err := parseAbbrevs(d.abbrev, u.abbrevOff, u.format, d.be, &ix.tab); err != nil {
		return fmt.Errorf("unit at 0x%x: %w", u.off, err)
	}
	r := reader{data: data, base: u.off, sec: ".debug_info", be: d.be}
	r.seek(u.dieOff)
	root := ix.entryAbbrev(&r)
	if root == nil {
		return r.err
	}
	for i := range root.attrs {
		s := &root.attrs[i]
		if s.attr == atStrOffsetsBase {
			u.strOffsetsBase = readUconst(&r, u, s)
			continue
		}
		r.skipAttr(s, u.format)
	}
	if !root.children {
		return r.err
	}
	for r.err == nil && r.pos < len(r.data) {
		off := r.off()
		ab := ix.entryAbbrev(&r)
		if ab == nil {
			break // the null entry ending the root's children, or an error
		}
		kind, named := kindOfTag(ab.tag)
		if !named {
			ix.skipEntry(&r, u, ab, off)
			continue
		}
		var (
			name       []byte
			decl       bool
			spec, sibl uint64
			key        uint64 // .debug_str offset of the name + 1
		)
		for i := range ab.attrs {
			s := &ab.attrs[i]
			switch s.attr {
			case atName:
				if s.form == formStrp {
					// Resolved below, only when not seen before.
					key = r.uint(int(u.offSize)) + 1
					continue
				}
				name = d.readStr(&r, u, s.form)
			case atDeclaration:
				decl = d.readFlag(&r, u, s)
			case atSpecification:
				spec = d.readRef(&r, u, s.form)
			case atSibling:
				sibl = d.readRef(&r, u, s.form)
			default:
				r.skipAttr(s, u.format)
			}
		}
		if ab.children {
			if kind == nkEnum && !decl {
				ix.enumChildren(&r, u, data, off, sibl)
			} else {
				ix.skipChildren(&r, u, off, sibl)
			}
		}
		if r.err != nil {
			continue
		}
		if name == nil && spec != 0 && kind == nkVar {
			// A definition completing an earlier declaration in the unit.
			name = ix.nameAt(u, data, spec)
		}
		if key != 0 {
			if ix.seenBefore(kind, decl, key) {
				continue
			}
			var ok bool
			if name, ok = cstrAt(d.str, key-1); !ok {
				return DecodeError{".debug_info", off, "name offset 0x" + strconv.FormatUint(key-1, 16) + " outside .debug_str"}
			}
		}
		if len(name) == 0 {
			continue
		}
		if ent := d.names[kind].add(name, off, decl); ent != nil && kind != nkVar {
			v := unitView{d: d, u: u, data: data, tab: &ix.tab}
			shape, e, err := v.shape(off, 0)
			if err != nil {
				return fmt.Errorf("unit at 0x%x: %w", u.off, err)
			}
			ent.shape, ent.size, ent.encoding = shape, uint32(min(e.byteSize, math.MaxUint32)), uint8(e.encoding)
		}
	}
	if r.err != nil {
		return fmt.Errorf("unit at 0x%x: %w", u.off, r.err)
	}
	return nil
}

// entryAbbrev reads an abbreviation code and returns its declaration, or
// nil for the null entry or an unknown code (which sets r.err).
func (ix *indexer) entryAbbrev(r *reader) *abbrev {
	code := r.uleb()
	if code == 0 || r.err != nil {
		return nil
	}
	ab := ix.tab.get(code)
	if ab == nil {
		r.pos-- // point at the code
		r.fail("unknown abbreviation code " + strconv.FormatUint(code, 10))
	}
	return ab
}

// skipEntry skips the attributes and children of the entry at off, whose
// code has been read.
func (ix *indexer) skipEntry(r *reader, u *unit, ab *abbrev, off uint64) {
	if ix.skipOne(r, u, ab, off) {
		ix.skipChildren(r, u, off, 0)
	}
}

// skipOne skips the attributes of the entry at off, whose code has been
// read, and its children too when DW_AT_sibling says where they end. It
// reports whether the children are still to be skipped.
func (ix *indexer) skipOne(r *reader, u *unit, ab *abbrev, off uint64) bool {
	if ab.children && ab.sibOff >= 0 {
		// The sibling's place is known: no need to look at the rest.
		start := r.pos
		r.skip(uint64(ab.sibOff))
		sib := ix.d.readRef(r, u, ab.sibForm)
		if sib > off && sib <= u.end && r.err == nil {
			r.seek(sib)
			return false
		}
		r.pos = start
	}
	var sib uint64
	if ab.size >= 0 {
		r.skip(uint64(ab.size))
	} else {
		sib = ix.skipAttrs(r, u, ab)
	}
	if !ab.children {
		return false
	}
	if sib > off && sib <= u.end {
		r.seek(sib)
		return false
	}
	return true
}

// skipAttrs skips an entry's attribute values and returns its
// DW_AT_sibling (0 when absent).
func (ix *indexer) skipAttrs(r *reader, u *unit, ab *abbrev) uint64 {
	var sib uint64
	for i := range ab.attrs {
		s := &ab.attrs[i]
		if s.attr == atSibling {
			sib = ix.d.readRef(r, u, s.form)
			continue
		}
		r.skipAttr(s, u.format)
	}
	return sib
}

// skipChildren moves past the children of the entry at off, jumping to its
// sibling when that lies ahead within the unit and scanning otherwise.
func (ix *indexer) skipChildren(r *reader, u *unit, off, sib uint64) {
	if sib > off && sib <= u.end {
		r.seek(sib)
		return
	}
	for depth := 1; depth > 0 && r.err == nil; {
		childOff := r.off()
		code := r.uleb()
		if code == 0 {
			depth--
			continue
		}
		ab := ix.tab.get(code)
		if ab == nil {
			r.fail("unknown abbreviation code " + strconv.FormatUint(code, 10))
			return
		}
		if ix.skipOne(r, u, ab, childOff) {
			depth++
		}
	}
}

// nameAt returns DW_AT_name of the entry at off inside data (the unit u),
// or nil.
func (ix *indexer) nameAt(u *unit, data []byte, off uint64) []byte {
	r := reader{data: data, base: u.off, sec: ".debug_info", be: ix.d.be}
	if off < u.dieOff || off >= u.end {
		return nil
	}
	r.seek(off)
	ab := ix.entryAbbrev(&r)
	if ab == nil {
		return nil
	}
	for i := range ab.attrs {
		s := &ab.attrs[i]
		if s.attr == atName {
			return ix.d.readStr(&r, u, s.form)
		}
		r.skipForm(s.form, u.format)
	}
	return nil
}
