package main

import (
	"errors"
	"fmt"
)

// mergeDataSegments rewrites the data section of a WebAssembly module so
// that segments closer than maxGap bytes in memory become one, the gap
// written as zeros. Go's linker starts a new segment at every run of 8 or
// more zero bytes, which is smallest uncompressed but not compressed: a
// Go 1.26 main.wasm has ~85,000 segments, most of them two bytes of
// runtime.findfunctab each behind a 7-byte header whose memory offset
// grows irregularly. Brotli cannot predict those offsets and spends
// ~100 KB on them; written out as zeros the same bytes cost almost
// nothing (main.wasm 1.53 → 1.43 MB brotli, 2.14 → 1.99 MB gzip, 8.3 →
// 9.1 MB raw). Memory starts zeroed, so the instance sees the same bytes.
// Segments out of address order are kept apart, as the linker wrote them.
func mergeDataSegments(mod []byte, maxGap int) ([]byte, error) {
	if len(mod) < 8 || string(mod[:4]) != "\x00asm" || string(mod[4:8]) != "\x01\x00\x00\x00" {
		return nil, errors.New("not a WebAssembly 1.0 module")
	}
	out := append([]byte(nil), mod[:8]...)
	done := false
	for p := 8; p < len(mod); {
		id := mod[p]
		size, n, err := uleb(mod[p+1:])
		if err != nil {
			return nil, fmt.Errorf("section at %d: %w", p, err)
		}
		body := p + 1 + n
		end := body + int(size)
		if size > uint64(len(mod)) || end > len(mod) {
			return nil, fmt.Errorf("section %d at %d: %d bytes past the end", id, p, size)
		}
		switch id {
		case 12:
			// A data count section would have to match the new count;
			// Go does not write one.
			return nil, errors.New("module has a data count section")
		case 11:
			sec, err := mergeSegments(mod[body:end], maxGap)
			if err != nil {
				return nil, fmt.Errorf("data section: %w", err)
			}
			out = append(out, 11)
			out = appendUleb(out, uint64(len(sec)))
			out = append(out, sec...)
			done = true
		default:
			out = append(out, mod[p:end]...)
		}
		p = end
	}
	if !done {
		return nil, errors.New("no data section")
	}
	return out, nil
}

// segment is one active data segment of memory 0.
type segment struct {
	addr uint32
	data []byte
}

func mergeSegments(sec []byte, maxGap int) ([]byte, error) {
	segs, err := parseSegments(sec)
	if err != nil {
		return nil, err
	}
	var merged []segment
	for _, s := range segs {
		if k := len(merged) - 1; k >= 0 {
			last := &merged[k]
			lastEnd := int64(last.addr) + int64(len(last.data))
			if gap := int64(s.addr) - lastEnd; gap >= 0 && gap <= int64(maxGap) {
				last.data = append(last.data, make([]byte, gap)...)
				last.data = append(last.data, s.data...)
				continue
			}
		}
		merged = append(merged, segment{s.addr, append([]byte(nil), s.data...)})
	}
	out := appendUleb(nil, uint64(len(merged)))
	for _, s := range merged {
		out = append(out, 0, 0x41) // active, memory 0; i32.const
		out = appendSleb(out, int64(int32(s.addr)))
		out = append(out, 0x0b) // end
		out = appendUleb(out, uint64(len(s.data)))
		out = append(out, s.data...)
	}
	return out, nil
}

// parseSegments reads the segments Go writes: active, memory 0, offset an
// i32.const. Anything else is refused rather than rewritten wrongly.
func parseSegments(sec []byte) ([]segment, error) {
	count, n, err := uleb(sec)
	if err != nil {
		return nil, err
	}
	if count > uint64(len(sec)) {
		return nil, fmt.Errorf("%d segments in %d bytes", count, len(sec))
	}
	p := n
	segs := make([]segment, 0, count)
	for i := uint64(0); i < count; i++ {
		if p+2 > len(sec) || sec[p] != 0 || sec[p+1] != 0x41 {
			return nil, fmt.Errorf("segment %d: not an active segment at an i32.const offset", i)
		}
		p += 2
		addr, n, err := sleb(sec[p:])
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		p += n
		if p >= len(sec) || sec[p] != 0x0b {
			return nil, fmt.Errorf("segment %d: offset expression is not one i32.const", i)
		}
		p++
		size, n, err := uleb(sec[p:])
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		p += n
		if size > uint64(len(sec)-p) {
			return nil, fmt.Errorf("segment %d: %d bytes past the section end", i, size)
		}
		segs = append(segs, segment{uint32(addr), sec[p : p+int(size)]})
		p += int(size)
	}
	if p != len(sec) {
		return nil, fmt.Errorf("%d bytes after the last segment", len(sec)-p)
	}
	return segs, nil
}

var errLEB = errors.New("bad LEB128 number")

func uleb(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errLEB
}

func sleb(b []byte) (int64, int, error) {
	var v int64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= int64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			if shift := 7 * (i + 1); shift < 64 && b[i]&0x40 != 0 {
				v |= -1 << shift
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, errLEB
}

func appendUleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendSleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
