package kdwarf

import "fmt"

// enumeratorEntry is an enumerator's value, and whether another enum gives
// the same name a different one.
type enumeratorEntry struct {
	value    int64
	conflict bool
}

// ensureEnumerators builds the enumerator index from the enums the name
// index found, reading their units again in order. It is separate from the
// name index because only EnumValue needs it.
func (d *Data) ensureEnumerators() error {
	if err := d.ensureIndex(); err != nil {
		return err
	}
	if d.enumsDone {
		return d.enumsErr
	}
	d.enumsDone = true
	d.enums = make(map[string]enumeratorEntry)
	ix := indexer{d: d}
	q := d.info.scanner()
	var (
		u    *unit
		data []byte
	)
	for _, off := range d.enumOffs {
		if u == nil || uint64(off) >= u.end {
			if u = d.unitAt(uint64(off)); u == nil {
				continue // cannot happen: the index found it in a unit
			}
			var err error
			if data, err = q.get(u.off, u.end-u.off); err == nil {
				err = parseAbbrevs(d.abbrev, u.abbrevOff, u.format, d.be, &ix.tab)
			}
			if err != nil {
				d.enumsErr = fmt.Errorf("kdwarf: enumerator index: unit at 0x%x: %w", u.off, err)
				return d.enumsErr
			}
		}
		if err := ix.enumerators(u, data, uint64(off)); err != nil {
			d.enumsErr = fmt.Errorf("kdwarf: enumerator index: unit at 0x%x: %w", u.off, err)
			return d.enumsErr
		}
	}
	return nil
}

// enumerators records the enumerators of the enum at off. The enum entry
// is decoded in full; its children, a million or so over all units, by a
// skimmer that looks only at names and values.
func (ix *indexer) enumerators(u *unit, data []byte, off uint64) error {
	v := unitView{d: ix.d, u: u, data: data, tab: &ix.tab}
	e, err := v.entry(off)
	if err != nil || e.decl || !e.children {
		return err
	}
	size, err := size32(&e)
	if err != nil {
		return err
	}
	signed, err := enumSigned(&e, &v)
	if err != nil {
		return err
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
	return r.err
}
