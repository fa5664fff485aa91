package kdwarf

import (
	"sort"
	"strconv"
)

// unit is one unit of .debug_info: a compile unit, or a partial or type
// unit.
type unit struct {
	off       uint64 // offset of the unit header
	dieOff    uint64 // offset of the unit's root entry
	end       uint64 // one past the unit's last byte
	abbrevOff uint64
	// strOffsetsBase is DW_AT_str_offsets_base of the root entry, for the
	// DW_FORM_strx forms (0 until the index scan has seen the root).
	strOffsetsBase uint64
	format
	unitType uint8
}

// maxUnitHeader is the longest unit header: 64-bit DWARF 5 type unit.
const maxUnitHeader = 4 + 8 + 2 + 1 + 1 + 8 + 8 + 8

// parseUnitHeader decodes the unit header in hdr, which starts at section
// offset off and holds at most maxUnitHeader bytes (fewer at the end of the
// section). size is the section size. For a DWARF 5 type unit it also
// returns the type signature and the offset of the type's entry.
func parseUnitHeader(hdr []byte, off, size uint64, be bool) (u unit, sig, typeOff uint64, err error) {
	r := reader{data: hdr, base: off, sec: ".debug_info", be: be}
	u.off = off
	length := uint64(r.u32())
	u.offSize = 4
	switch {
	case length == 0xffffffff:
		length = r.u64()
		u.offSize = 8
	case length >= 0xfffffff0:
		r.fail("reserved unit length 0x" + strconv.FormatUint(length, 16))
	}
	if r.err != nil {
		return u, 0, 0, r.err
	}
	lenEnd := r.off()
	if length > size-lenEnd {
		r.pos -= int(u.offSize)
		r.fail("unit length 0x" + strconv.FormatUint(length, 16) + " past end of section")
		return u, 0, 0, r.err
	}
	u.end = lenEnd + length
	v := r.u16()
	if v < 2 || v > 5 {
		r.pos -= 2
		r.fail("unsupported DWARF version " + strconv.Itoa(int(v)))
		return u, 0, 0, r.err
	}
	u.version = uint8(v)
	u.unitType = utCompile
	if v >= 5 {
		u.unitType = r.u8()
		u.addrSize = r.u8()
		u.abbrevOff = r.uint(int(u.offSize))
		switch u.unitType {
		case utCompile, utPartial:
		case utType:
			sig = r.u64()
			to := r.uint(int(u.offSize))
			typeOff = off + to
			if to >= u.end-off {
				typeOff = 0
			}
		case utSkeleton, utSplitCompile, utSplitType:
			r.fail("split DWARF units are not supported")
		default:
			r.fail("unknown unit type " + strconv.Itoa(int(u.unitType)))
		}
	} else {
		u.abbrevOff = r.uint(int(u.offSize))
		u.addrSize = r.u8()
	}
	switch u.addrSize {
	case 1, 2, 4, 8:
	default:
		if r.err == nil {
			r.fail("bad address size " + strconv.Itoa(int(u.addrSize)))
		}
	}
	if r.err != nil {
		return u, 0, 0, r.err
	}
	u.dieOff = r.off()
	if u.dieOff > u.end {
		r.fail("unit header longer than unit")
		return u, 0, 0, r.err
	}
	return u, sig, typeOff, nil
}

// unitAt returns the unit holding section offset off, or nil.
func (d *Data) unitAt(off uint64) *unit {
	i := sort.Search(len(d.units), func(i int) bool { return d.units[i].end > off })
	if i < len(d.units) && d.units[i].dieOff <= off {
		return &d.units[i]
	}
	return nil
}
