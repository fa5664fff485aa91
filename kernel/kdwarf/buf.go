package kdwarf

import (
	"bytes"
	"encoding/binary"
	"strconv"
)

// DecodeError reports malformed DWARF: the section, the byte offset inside it
// where decoding failed, and what was wrong. It mirrors debug/dwarf's
// DecodeError so that messages read the same.
type DecodeError struct {
	Section string // ".debug_info", ".debug_abbrev", …
	Offset  uint64 // byte offset in Section
	Err     string
}

func (e DecodeError) Error() string {
	return "decoding dwarf section " + e.Section + " at offset 0x" + strconv.FormatUint(e.Offset, 16) + ": " + e.Err
}

// reader decodes a byte slice that starts at section offset base. Its error
// is sticky: after the first failure every read returns zero, so decoders
// can run straight through and check err once (as debug/dwarf's buf does).
type reader struct {
	data []byte
	pos  int
	base uint64 // section offset of data[0]
	sec  string
	be   bool // big-endian
	err  error
}

// off is the section offset of the next byte.
func (r *reader) off() uint64 { return r.base + uint64(r.pos) }

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = DecodeError{Section: r.sec, Offset: r.off(), Err: msg}
	}
	r.pos = len(r.data)
}

// seek moves to section offset off, which must lie inside data.
func (r *reader) seek(off uint64) {
	if off < r.base || off-r.base > uint64(len(r.data)) {
		r.fail("offset 0x" + strconv.FormatUint(off, 16) + " out of range")
		return
	}
	r.pos = int(off - r.base)
}

func (r *reader) skip(n uint64) {
	if n > uint64(len(r.data)-r.pos) {
		r.fail("underflow")
		return
	}
	r.pos += int(n)
}

func (r *reader) bytes(n uint64) []byte {
	if n > uint64(len(r.data)-r.pos) {
		r.fail("underflow")
		return nil
	}
	b := r.data[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b
}

func (r *reader) u8() uint8 {
	if r.pos >= len(r.data) {
		r.fail("underflow")
		return 0
	}
	v := r.data[r.pos]
	r.pos++
	return v
}

func (r *reader) u16() uint16 { return uint16(r.uint(2)) }

func (r *reader) u32() uint32 {
	if 4 > len(r.data)-r.pos {
		r.fail("underflow")
		return 0
	}
	b := r.data[r.pos : r.pos+4]
	r.pos += 4
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *reader) u64() uint64 {
	if 8 > len(r.data)-r.pos {
		r.fail("underflow")
		return 0
	}
	b := r.data[r.pos : r.pos+8]
	r.pos += 8
	if r.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// uint reads an n-byte unsigned integer (n ≤ 8) in the file's byte order.
func (r *reader) uint(n int) uint64 {
	switch n {
	case 4:
		return uint64(r.u32())
	case 8:
		return r.u64()
	}
	if n > len(r.data)-r.pos {
		r.fail("underflow")
		return 0
	}
	b := r.data[r.pos : r.pos+n]
	r.pos += n
	var v uint64
	if r.be {
		for _, c := range b {
			v = v<<8 | uint64(c)
		}
	} else {
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
	}
	return v
}

// uleb reads an unsigned LEB128 number. Bits beyond 64 are dropped, as
// debug/dwarf does.
func (r *reader) uleb() uint64 {
	if r.pos < len(r.data) && r.data[r.pos] < 0x80 { // the common one-byte case, inlined
		r.pos++
		return uint64(r.data[r.pos-1])
	}
	return r.ulebSlow()
}

func (r *reader) ulebSlow() uint64 {
	var v uint64
	var shift uint
	for i := r.pos; i < len(r.data); i++ {
		c := r.data[i]
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		shift += 7
		if c < 0x80 {
			r.pos = i + 1
			return v
		}
	}
	r.fail("unterminated LEB128")
	return 0
}

// sleb reads a signed LEB128 number.
func (r *reader) sleb() int64 {
	var v int64
	var shift uint
	for i := r.pos; i < len(r.data); i++ {
		c := r.data[i]
		if shift < 64 {
			v |= int64(c&0x7f) << shift
		}
		shift += 7
		if c < 0x80 {
			r.pos = i + 1
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
	r.fail("unterminated LEB128")
	return 0
}

// skipLEB skips a LEB128 number of either signedness.
func (r *reader) skipLEB() {
	for j := r.pos; j < len(r.data); j++ {
		if r.data[j] < 0x80 {
			r.pos = j + 1
			return
		}
	}
	r.fail("unterminated LEB128")
}

// cstr reads a NUL-terminated string and returns it without the NUL.
func (r *reader) cstr() []byte {
	i := bytes.IndexByte(r.data[r.pos:], 0)
	if i < 0 {
		r.fail("unterminated string")
		return nil
	}
	s := r.data[r.pos : r.pos+i]
	r.pos += i + 1
	return s
}

// cstrAt returns the NUL-terminated string at off in a string section, or
// nil and false when off is out of range or the string is unterminated.
func cstrAt(sec []byte, off uint64) ([]byte, bool) {
	if off >= uint64(len(sec)) {
		return nil, false
	}
	s := sec[off:]
	i := bytes.IndexByte(s, 0)
	if i < 0 {
		return nil, false
	}
	return s[:i], true
}
