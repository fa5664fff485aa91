package kdwarf

import "fmt"

// enumeratorEntry is an enumerator's value, and whether another enum gives
// the same name a different one.
type enumeratorEntry struct {
	value    int64
	conflict bool
}

// ensureEnumerators makes sure the enumerator index is built: the name
// index records every enum's enumerators as it meets them. (A second pass
// over the units just for them read all of .debug_info again, 500 MB in a
// browser, for the one lookup every report makes.)
func (d *Data) ensureEnumerators() error {
	if err := d.ensureIndex(); err != nil {
		return err
	}
	return d.enumsErr
}

// enumChildren records the enumerators of the enum at off, whose
// attributes r has just read, and moves r past its children. An enum that
// cannot be decoded is skipped; the first such error is kept for
// EnumValue, and the name index carries on.
func (ix *indexer) enumChildren(r *reader, u *unit, data []byte, off, sib uint64) {
	end, err := ix.enumerators(u, data, off)
	if err == nil && end > r.off() && end <= u.end {
		r.seek(end)
		return
	}
	if err != nil && ix.d.enumsErr == nil {
		ix.d.enumsErr = fmt.Errorf("kdwarf: enumerator index: unit at 0x%x: %w", u.off, err)
	}
	ix.skipChildren(r, u, off, sib)
}

// enumerators records the enumerators of the enum at off and returns the
// offset just past its children. The enum entry is decoded in full; its
// children, a million or so over all units, by a skimmer that looks only
// at names and values.
func (ix *indexer) enumerators(u *unit, data []byte, off uint64) (uint64, error) {
	v := unitView{d: ix.d, u: u, data: data, tab: &ix.tab}
	e, err := v.entry(off)
	if err != nil {
		return 0, err
	}
	if e.decl || !e.children {
		return 0, fmt.Errorf("enum at 0x%x: no enumerators", off)
	}
	size, err := size32(&e)
	if err != nil {
		return 0, err
	}
	signed, err := enumSigned(&e, &v)
	if err != nil {
		return 0, err
	}
	d, enums := ix.d, ix.d.enums
	r := reader{data: data, base: u.off, sec: ".debug_info", be: d.be}
	r.seek(e.next)
	for r.err == nil {
		childOff := r.off()
		ab := ix.entryAbbrev(&r)
		if ab == nil {
			break
		}
		if ab.tag != tagEnumerator {
			sib := ix.skipAttrs(&r, u, ab)
			if ab.children {
				ix.skipChildren(&r, u, childOff, sib)
			}
			continue
		}
		var c die
		for i := range ab.attrs {
			s := &ab.attrs[i]
			switch s.attr {
			case atName:
				c.name = d.readStr(&r, u, s.form)
			case atConstValue:
				c.constForm = s.form
				c.constValue = d.constAttr(&r, u, s, &c.has, hasConstValue)
			default:
				r.skipAttr(s, u.format)
			}
		}
		if ab.children {
			ix.skipChildren(&r, u, childOff, 0)
		}
		if r.err != nil || len(c.name) == 0 || c.has&hasConstValue == 0 {
			continue
		}
		val := enumeratorValue(&c, signed, size)
		if old, ok := enums[string(c.name)]; ok {
			if old.value != val && !old.conflict {
				old.conflict = true
				enums[string(c.name)] = old
			}
			continue
		}
		enums[string(c.name)] = enumeratorEntry{value: val}
	}
	return r.off(), r.err
}
