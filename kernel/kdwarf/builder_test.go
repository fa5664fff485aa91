package kdwarf

import (
	"bytes"
	"compress/zlib"
	"debug/elf"
	"encoding/binary"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// A small DWARF and ELF writer for tests and fuzz seeds: it covers the forms
// and encodings gcc does not write for a kernel (strx, ref_udata, ref_addr,
// data16, 64-bit DWARF, big-endian, old-style member locations).

type dwAttr struct {
	at   uint32
	form uint16
	// val is uint64 or int64 for constants, string for strings, *dwDIE for
	// references, []byte for blocks and data16, nil for flag_present.
	val any
}

type dwDIE struct {
	tag      uint32
	attrs    []dwAttr
	children []*dwDIE
	off      uint64 // section offset, set by layout
	code     uint64
}

func mk(tag uint32, attrs ...dwAttr) *dwDIE { return &dwDIE{tag: tag, attrs: attrs} }

func (d *dwDIE) kids(c ...*dwDIE) *dwDIE {
	d.children = append(d.children, c...)
	return d
}

func at(a uint32, form uint16, v any) dwAttr { return dwAttr{a, form, v} }
func aName(s string) dwAttr                  { return dwAttr{atName, formStrp, s} }
func aType(t *dwDIE) dwAttr                  { return dwAttr{atType, formRef4, t} }
func aSize(n uint64) dwAttr                  { return dwAttr{atByteSize, formData1, n} }
func aLoc(n uint64) dwAttr                   { return dwAttr{atDataMemberLoc, formData1, n} }

type dwUnit struct {
	version  int
	dwarf64  bool
	unitType uint8 // DWARF 5 only; 0 means DW_UT_compile
	sig      uint64
	typeDIE  *dwDIE // the type of a type unit
	root     *dwDIE
	off      uint64
	end      uint64
}

type dwBuilder struct {
	be       bool
	units    []*dwUnit
	str      []byte
	strOff   map[string]uint64
	strIndex []uint64 // .debug_str_offsets entries, for the strx forms
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func (b *dwBuilder) order() byteOrder {
	if b.be {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (b *dwBuilder) addStr(s string) uint64 {
	if b.strOff == nil {
		b.strOff = map[string]uint64{}
		b.str = []byte{0} // offset 0 is the empty string
	}
	if off, ok := b.strOff[s]; ok {
		return off
	}
	off := uint64(len(b.str))
	b.str = append(append(b.str, s...), 0)
	b.strOff[s] = off
	return off
}

func (b *dwBuilder) strx(s string) uint64 {
	b.strIndex = append(b.strIndex, b.addStr(s))
	return uint64(len(b.strIndex) - 1)
}

func appendULEB(p []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		p = append(p, c)
		if v == 0 {
			return p
		}
	}
}

func appendSLEB(p []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		done := v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0
		if !done {
			c |= 0x80
		}
		p = append(p, c)
		if done {
			return p
		}
	}
}

// appendPaddedULEB writes v in exactly 5 bytes, so references encoded with
// DW_FORM_ref_udata have a size known before layout.
func appendPaddedULEB(p []byte, v uint64) []byte {
	for i := 0; i < 4; i++ {
		p = append(p, byte(v&0x7f)|0x80)
		v >>= 7
	}
	return append(p, byte(v&0x7f))
}

func (b *dwBuilder) uint(p []byte, v uint64, n int) []byte {
	o := b.order()
	switch n {
	case 1:
		return append(p, byte(v))
	case 2:
		return o.AppendUint16(p, uint16(v))
	case 4:
		return o.AppendUint32(p, uint32(v))
	case 3:
		if b.be {
			return append(p, byte(v>>16), byte(v>>8), byte(v))
		}
		return append(p, byte(v), byte(v>>8), byte(v>>16))
	}
	return o.AppendUint64(p, v)
}

func asU64(v any) uint64 {
	switch v := v.(type) {
	case uint64:
		return v
	case int64:
		return uint64(v)
	case int:
		return uint64(v)
	}
	return 0
}

// value appends one attribute value; refs are resolved against laid-out
// offsets (zero in the sizing pass).
func (b *dwBuilder) value(p []byte, u *dwUnit, a dwAttr) []byte {
	offSize := 4
	if u.dwarf64 {
		offSize = 8
	}
	switch a.form {
	case formData1, formRef1, formFlag, formStrx1:
		if a.form == formStrx1 {
			return append(p, byte(b.strx(a.val.(string))))
		}
		if t, ok := a.val.(*dwDIE); ok {
			return append(p, byte(t.off-u.off))
		}
		return append(p, byte(asU64(a.val)))
	case formData2, formRef2:
		if t, ok := a.val.(*dwDIE); ok {
			return b.uint(p, t.off-u.off, 2)
		}
		return b.uint(p, asU64(a.val), 2)
	case formData4, formRef4:
		if t, ok := a.val.(*dwDIE); ok {
			return b.uint(p, t.off-u.off, 4)
		}
		return b.uint(p, asU64(a.val), 4)
	case formData8, formRef8, formRefSig8, formAddr:
		if t, ok := a.val.(*dwDIE); ok {
			return b.uint(p, t.off-u.off, 8)
		}
		return b.uint(p, asU64(a.val), 8)
	case formRefUdata:
		return appendPaddedULEB(p, a.val.(*dwDIE).off-u.off)
	case formRefAddr:
		if u.version <= 2 {
			return b.uint(p, a.val.(*dwDIE).off, 8) // an address in DWARF 2
		}
		return b.uint(p, a.val.(*dwDIE).off, offSize)
	case formSdata:
		return appendSLEB(p, int64(asU64(a.val)))
	case formUdata:
		return appendULEB(p, asU64(a.val))
	case formString:
		return append(append(p, a.val.(string)...), 0)
	case formStrp:
		return b.uint(p, b.addStr(a.val.(string)), offSize)
	case formStrx:
		return appendULEB(p, b.strx(a.val.(string)))
	case formStrx2:
		return b.uint(p, b.strx(a.val.(string)), 2)
	case formStrx3:
		return b.uint(p, b.strx(a.val.(string)), 3)
	case formStrx4:
		return b.uint(p, b.strx(a.val.(string)), 4)
	case formSecOffset:
		return b.uint(p, asU64(a.val), offSize)
	case formExprloc, formBlock:
		blk := a.val.([]byte)
		return append(appendULEB(p, uint64(len(blk))), blk...)
	case formBlock1:
		blk := a.val.([]byte)
		return append(append(p, byte(len(blk))), blk...)
	case formData16:
		return append(p, a.val.([]byte)[:16]...)
	case formFlagPresent, formImplicitConst:
		return p
	}
	panic("builder: unsupported form")
}

// build lays out and encodes .debug_abbrev, .debug_info, .debug_str and
// .debug_str_offsets.
func (b *dwBuilder) build() (abbrev, info, str, strOffsets []byte) {
	for pass := 0; pass < 2; pass++ {
		abbrev, info = nil, nil
		b.strIndex = b.strIndex[:0]
		for _, u := range b.units {
			abbrevOff := uint64(len(abbrev))
			var code uint64
			var assign func(d *dwDIE)
			assign = func(d *dwDIE) {
				code++
				d.code = code
				abbrev = appendULEB(abbrev, code)
				abbrev = appendULEB(abbrev, uint64(d.tag))
				if len(d.children) > 0 {
					abbrev = append(abbrev, 1)
				} else {
					abbrev = append(abbrev, 0)
				}
				for _, a := range d.attrs {
					abbrev = appendULEB(abbrev, uint64(a.at))
					abbrev = appendULEB(abbrev, uint64(a.form))
					if a.form == formImplicitConst {
						abbrev = appendSLEB(abbrev, int64(asU64(a.val)))
					}
				}
				abbrev = append(abbrev, 0, 0)
				for _, c := range d.children {
					assign(c)
				}
			}
			assign(u.root)
			abbrev = append(abbrev, 0)

			u.off = uint64(len(info))
			var unit []byte
			offSize := 4
			if u.dwarf64 {
				unit = b.uint([]byte{0xff, 0xff, 0xff, 0xff}, 0, 8)
				offSize = 8
			} else {
				unit = b.uint(nil, 0, 4)
			}
			lenSize := len(unit)
			unit = b.uint(unit, uint64(u.version), 2)
			if u.version >= 5 {
				ut := u.unitType
				if ut == 0 {
					ut = utCompile
				}
				unit = append(unit, ut, 8)
				unit = b.uint(unit, abbrevOff, offSize)
				if ut == utType {
					unit = b.uint(unit, u.sig, 8)
					unit = b.uint(unit, u.typeDIE.off-u.off, offSize)
				}
			} else {
				unit = b.uint(unit, abbrevOff, offSize)
				unit = append(unit, 8)
			}
			var emit func(d *dwDIE)
			emit = func(d *dwDIE) {
				d.off = u.off + uint64(len(unit))
				unit = appendULEB(unit, d.code)
				for _, a := range d.attrs {
					unit = b.value(unit, u, a)
				}
				if len(d.children) > 0 {
					for _, c := range d.children {
						emit(c)
					}
					unit = append(unit, 0)
				}
			}
			emit(u.root)
			length := uint64(len(unit) - lenSize)
			if u.dwarf64 {
				b.order().PutUint64(unit[4:], length)
			} else {
				b.order().PutUint32(unit, uint32(length))
			}
			info = append(info, unit...)
			u.end = uint64(len(info))
		}
	}
	if len(b.strIndex) > 0 {
		// One contribution, in the format of the first unit; its entries
		// start at 8 (16 in 64-bit DWARF), which DW_AT_str_offsets_base
		// must say.
		n := 4
		if b.units[0].dwarf64 {
			n = 8
			strOffsets = b.uint([]byte{0xff, 0xff, 0xff, 0xff}, uint64(4+8*len(b.strIndex)), 8)
		} else {
			strOffsets = b.uint(nil, uint64(4+4*len(b.strIndex)), 4)
		}
		strOffsets = b.uint(strOffsets, 5, 2)
		strOffsets = append(strOffsets, 0, 0)
		for _, o := range b.strIndex {
			strOffsets = b.uint(strOffsets, o, n)
		}
	}
	return abbrev, info, b.str, strOffsets
}

// elfSection is one section of a test ELF file.
type elfSection struct {
	name     string
	data     []byte
	compress elf.CompressionType // 0: stored plainly
}

// buildELF writes a 64-bit ELF executable holding only the given sections
// (and the section name table).
func buildELF(be bool, secs []elfSection) []byte {
	var o binary.ByteOrder = binary.LittleEndian
	if be {
		o = binary.BigEndian
	}
	shstr := []byte{0}
	names := make([]uint32, len(secs)+1)
	for i, s := range secs {
		names[i] = uint32(len(shstr))
		shstr = append(append(shstr, s.name...), 0)
	}
	names[len(secs)] = uint32(len(shstr))
	shstr = append(append(shstr, ".shstrtab"...), 0)

	out := make([]byte, 64)
	type hdr struct {
		name             uint32
		typ              uint32
		flags, off, size uint64
		addralign        uint64
	}
	hdrs := []hdr{{}}
	for i, s := range secs {
		data, flags := s.data, uint64(0)
		if s.compress != 0 {
			var z bytes.Buffer
			switch s.compress {
			case elf.COMPRESS_ZLIB:
				w := zlib.NewWriter(&z)
				w.Write(s.data)
				w.Close()
			case elf.COMPRESS_ZSTD:
				w, _ := zstd.NewWriter(&z)
				w.Write(s.data)
				w.Close()
			}
			chdr := make([]byte, 24)
			o.PutUint32(chdr[0:], uint32(s.compress))
			o.PutUint64(chdr[8:], uint64(len(s.data)))
			o.PutUint64(chdr[16:], 1)
			data, flags = append(chdr, z.Bytes()...), uint64(elf.SHF_COMPRESSED)
		}
		hdrs = append(hdrs, hdr{names[i], uint32(elf.SHT_PROGBITS), flags, uint64(len(out)), uint64(len(data)), 1})
		out = append(out, data...)
	}
	hdrs = append(hdrs, hdr{names[len(secs)], uint32(elf.SHT_STRTAB), 0, uint64(len(out)), uint64(len(shstr)), 1})
	out = append(out, shstr...)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	shoff := uint64(len(out))
	for _, h := range hdrs {
		sh := make([]byte, 64)
		o.PutUint32(sh[0:], h.name)
		o.PutUint32(sh[4:], h.typ)
		o.PutUint64(sh[8:], h.flags)
		o.PutUint64(sh[24:], h.off)
		o.PutUint64(sh[32:], h.size)
		o.PutUint64(sh[48:], h.addralign)
		out = append(out, sh...)
	}
	copy(out, []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	machine := elf.EM_X86_64
	if be {
		out[5] = byte(elf.ELFDATA2MSB)
		machine = elf.EM_S390
	}
	o.PutUint16(out[16:], uint16(elf.ET_EXEC))
	o.PutUint16(out[18:], uint16(machine))
	o.PutUint32(out[20:], uint32(elf.EV_CURRENT))
	o.PutUint64(out[40:], shoff)
	o.PutUint16(out[52:], 64) // e_ehsize
	o.PutUint16(out[58:], 64) // e_shentsize
	o.PutUint16(out[60:], uint16(len(hdrs)))
	o.PutUint16(out[62:], uint16(len(hdrs)-1))
	return out
}

// dwarfELF encodes b's units into a test ELF file.
func (b *dwBuilder) elf(compress elf.CompressionType) []byte {
	abbrev, info, str, strOffsets := b.build()
	secs := []elfSection{
		{".debug_abbrev", abbrev, 0},
		{".debug_info", info, compress},
		{".debug_str", str, compress},
	}
	if strOffsets != nil {
		secs = append(secs, elfSection{".debug_str_offsets", strOffsets, 0})
	}
	return buildELF(b.be, secs)
}

func openBytes(t testing.TB, file []byte) *Data {
	t.Helper()
	d, err := Open(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return d
}
