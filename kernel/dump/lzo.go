package dump

import "errors"

// decodeLZO decompresses one LZO1X block, as makedumpfile writes a page
// with liblzo2's lzo1x_1_compress, into dst and returns the bytes written.
// The format is that of the kernel's Documentation/staging/lzo.rst (no
// lzo-rle: makedumpfile does not write it). The stream must end with its
// end marker exactly at the end of src.
//
// It replaces github.com/anchore/go-lzo on the page path: that decoder
// copies matches and literals a byte at a time through its state, and
// decompressing was a seventh of a report of a 2,000-task dump; this one
// copies with copy() unless a match overlaps what it writes. It accepts
// the same streams and writes the same bytes (TestDecodeLZOSameAsAnchore,
// FuzzDecodeLZO).
func decodeLZO(src, dst []byte) (int, error) {
	if len(src) < 3 {
		return 0, errLZOInput
	}
	ip, op := 0, 0
	// state is the number of literals the last instruction copied (4: four
	// or more), which says what a 0..15 instruction means.
	state := 0
	if b := int(src[0]); b >= 18 {
		// 18..255: a first literal run of b-17 bytes.
		n := b - 17
		ip = 1
		if ip+n > len(src) {
			return 0, errLZOInput
		}
		if n > len(dst) {
			return 0, errLZOOutput
		}
		op = copy(dst, src[ip:ip+n])
		ip += n
		state = min(n, 4)
	}
	for {
		if ip >= len(src) {
			return op, errLZOInput
		}
		inst := int(src[ip])
		ip++
		var dist, length, next int
		switch {
		case inst >= 64: // M2: 3-8 bytes within 2 KiB, one distance byte
			if ip >= len(src) {
				return op, errLZOInput
			}
			dist = int(src[ip])<<3 + (inst>>2)&7 + 1
			ip++
			length = inst>>5 + 1
			next = inst & 3
		case inst >= 32: // M3: within 16 KiB, LE16 distance
			var v int
			var err error
			if length, v, err = lzoLongMatch(src, &ip, inst&31, 31); err != nil {
				return op, err
			}
			dist = v>>2 + 1
			next = v & 3
		case inst >= 16: // M4: within 16-48 KiB, or the end marker
			var v int
			var err error
			if length, v, err = lzoLongMatch(src, &ip, inst&7, 7); err != nil {
				return op, err
			}
			dist = (inst&8)<<11 + v>>2
			next = v & 3
			if dist == 0 {
				switch {
				case length != 3:
					return op, errLZOCorrupt
				case ip < len(src):
					return op, errLZONotConsumed
				}
				return op, nil
			}
			dist += 16384
		case state == 0: // a literal run of 4 or more bytes
			length = inst + 3
			if length == 3 {
				n, err := lzoRun(src, &ip, 15)
				if err != nil {
					return op, err
				}
				length += n
			}
			if ip+length > len(src) {
				return op, errLZOInput
			}
			if op+length > len(dst) {
				return op, errLZOOutput
			}
			op += copy(dst[op:], src[ip:ip+length])
			ip += length
			state = 4
			continue
		default: // M1: 2 bytes within 1 KiB, or 3 bytes at 2-3 KiB after a long literal run
			if ip >= len(src) {
				return op, errLZOInput
			}
			dist = inst>>2 + int(src[ip])<<2 + 1
			ip++
			length = 2
			if state == 4 {
				dist += 2048
				length = 3
			}
			next = inst & 3
		}
		m := op - dist
		switch {
		case m < 0:
			return op, errLZOLookbehind
		case ip+next > len(src):
			return op, errLZOInput
		case op+length+next > len(dst):
			return op, errLZOOutput
		}
		if dist >= length {
			copy(dst[op:op+length], dst[m:m+length])
		} else {
			// The match overlaps its own output: the bytes repeat with
			// period dist, each copy doubling what is written.
			for n := 0; n < length; {
				n += copy(dst[op+n:op+length], dst[m:op+n])
			}
		}
		op += length
		for i := range next {
			dst[op+i] = src[ip+i]
		}
		op += next
		ip += next
		state = next
	}
}

// lzoRun reads a length's zero bytes and final byte: 255 per zero byte,
// plus base, plus the final byte.
func lzoRun(src []byte, ip *int, base int) (int, error) {
	i := *ip
	for i < len(src) && src[i] == 0 {
		i++
	}
	if i >= len(src) {
		return 0, errLZOInput
	}
	n := (i-*ip)*255 + base + int(src[i])
	*ip = i + 1
	return n, nil
}

var (
	errLZOInput       = errors.New("lzo: input overrun")
	errLZOOutput      = errors.New("lzo: output overrun")
	errLZOLookbehind  = errors.New("lzo: lookbehind overrun")
	errLZONotConsumed = errors.New("lzo: input not fully consumed")
	errLZOCorrupt     = errors.New("lzo: end marker of a wrong length")
)

// lzoLongMatch reads the rest of an M3 or M4 instruction whose length
// field (at most fieldMax) is field: the length (field + 2, or a zero-run
// extension counted from fieldMax when the field is 0) and the little-endian 16-bit word holding the distance and
// the next literal count.
func lzoLongMatch(src []byte, ip *int, field, fieldMax int) (length, v int, err error) {
	length = field + 2
	if field == 0 {
		n, err := lzoRun(src, ip, fieldMax)
		if err != nil {
			return 0, 0, err
		}
		length += n
	}
	if *ip+2 > len(src) {
		return 0, 0, errLZOInput
	}
	v = int(src[*ip]) | int(src[*ip+1])<<8
	*ip += 2
	return length, v, nil
}
