package dump

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
)

// The flattened format (makedumpfile -F, and QEMU's kdump output) lets a
// dump be written to a pipe: a 4096-byte header, then records
//
//	{ int64 offset; int64 size } big-endian, then size bytes
//
// each holding bytes of the real (kdump-compressed or ELF) file at offset,
// ended by a record whose offset and size are both -1. One streaming pass
// indexes the records; the inner file is then served through the index.

const (
	flatSignature  = "makedumpfile"
	flatHeaderSize = 4096
	flatRecordHead = 16
	flatReadBuf    = 4 << 20 // bytes per read of the indexing pass
	// maxFlatRecords bounds the index (24 bytes a record): makedumpfile
	// writes 64 KiB records and QEMU 16 KiB ones, so this is ~128 GiB of
	// dump data at QEMU's rate.
	maxFlatRecords = 1 << 23
	// A stream may hold at most one record per flatMinAvgRecord bytes of
	// file, plus flatFreeRecords: real streams average 15–32 KiB a record,
	// and the bound keeps the index (and the overlay of overlapping
	// records, a few times more) under a fixed fraction of the file
	// whatever a crafted stream of tiny records claims.
	flatMinAvgRecord = 512
	flatFreeRecords  = 1 << 16
	maxFlatHoles     = 16 << 20
)

// flatRecordLimit is how many records a flattened file of size bytes may
// hold.
func flatRecordLimit(size int64) int {
	return int(min(maxFlatRecords, size/flatMinAvgRecord+flatFreeRecords))
}

// flatSeg says where bytes [virt, virt+n) of the inner file are in the
// flattened file.
type flatSeg struct {
	virt, file, n int64
}

// flatReader is the inner file of a flattened stream. Its ReadAt fails on
// bytes no record wrote; readAtSparse reads them as zeros.
type flatReader struct {
	r         io.ReaderAt
	fileSize  int64     // size of the flattened file
	size      int64     // size of the inner file: end of the furthest record
	segs      []flatSeg // sorted by virt, disjoint
	records   int
	truncated bool // the stream ends without its end marker
	overlaps  bool // some records overwrote others
	// skipped counts records that could not be placed: their inner offset
	// lies far beyond anything the stream could have written.
	skipped  int
	warnings []string
}

// isFlattened reports whether head starts with the flattened header.
func isFlattened(head []byte) bool {
	return len(head) >= 16 && string(head[:12]) == flatSignature && string(head[12:16]) == "\x00\x00\x00\x00"
}

// openFlat checks the header and indexes the records in one pass of large
// sequential reads, skipping record bodies without reading them when they
// run past the buffer. A stream cut short keeps what it has.
func openFlat(r io.ReaderAt, size int64) (*flatReader, error) {
	head := make([]byte, 32)
	n, _ := r.ReadAt(head, 0)
	if !isFlattened(head[:n]) {
		return nil, ErrNotThisFormat
	}
	if n < 32 {
		return nil, formatErr(16, "flattened header: file ends inside header", n)
	}
	if typ := int64(binary.BigEndian.Uint64(head[16:])); typ != 1 {
		return nil, formatErr(16, "flattened header: bad type", typ)
	}
	if ver := int64(binary.BigEndian.Uint64(head[24:])); ver != 1 {
		return nil, formatErr(24, "flattened header: bad version", ver)
	}
	f := &flatReader{r: r, fileSize: size}
	br := &streamReader{r: r, size: size, pos: flatHeaderSize, buf: make([]byte, 0, min(flatReadBuf, max(size, 0)))}
	var segs []flatSeg
	limit := flatRecordLimit(size)
	// Real streams write nearly every byte of the inner file; a record
	// placed far beyond what the stream could hold would make reads of the
	// hole before it (zeros for metadata) cost without bound. Such records
	// are skipped and counted, not fatal.
	maxInner := 2*size + maxFlatHoles
	for {
		hdr, err := br.next(flatRecordHead)
		if err != nil {
			if isEOF(err) {
				f.truncated = true
				break
			}
			return nil, fmt.Errorf("flattened record at %#x: %w", br.pos, err)
		}
		off := int64(binary.BigEndian.Uint64(hdr[0:]))
		n := int64(binary.BigEndian.Uint64(hdr[8:]))
		if off == -1 && n == -1 {
			break
		}
		recAt := br.pos - flatRecordHead
		if off < 0 || n < 0 || off > (1<<62) || n > (1<<62) {
			// A damaged record: keep what came before, as for a cut stream.
			f.truncated = true
			break
		}
		if f.records >= limit {
			f.truncated = true
			f.warnings = append(f.warnings, fmt.Sprintf(
				"flattened stream: more than %d records (one per %d bytes of file at most); records from offset %#x on ignored",
				limit, flatMinAvgRecord, recAt))
			break
		}
		data := br.pos
		avail := min(n, size-data)
		switch {
		case avail > 0 && off+avail > maxInner:
			f.skipped++
		case avail > 0:
			segs = append(segs, flatSeg{virt: off, file: data, n: avail})
			f.size = max(f.size, off+avail)
		}
		f.records++
		if avail < n {
			f.truncated = true
			break
		}
		br.skip(n)
	}
	if f.skipped > 0 {
		f.warnings = append(f.warnings, fmt.Sprintf(
			"flattened stream: %d records placed beyond inner offset %#x (twice the stream's size) skipped", f.skipped, maxInner))
	}
	f.segs = resolveFlatSegs(segs, &f.overlaps)
	return f, nil
}

// resolveFlatSegs sorts the records by inner offset; where they overlap,
// later records win, as they would in the file makedumpfile -R rebuilds.
func resolveFlatSegs(segs []flatSeg, overlaps *bool) []flatSeg {
	sorted := true
	for i := 1; i < len(segs); i++ {
		if segs[i].virt < segs[i-1].virt+segs[i-1].n {
			sorted = false
			break
		}
	}
	if sorted {
		return segs
	}
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].virt < segs[j].virt })
	disjoint := true
	for i := 1; i < len(segs); i++ {
		if segs[i].virt < segs[i-1].virt+segs[i-1].n {
			disjoint = false
			break
		}
	}
	if disjoint {
		return segs
	}
	*overlaps = true
	// Records sorted by offset lost their stream order; the file offset of
	// a record's data grows with it, so it serves as the priority.
	spans := make([]span, len(segs))
	for i, s := range segs {
		spans[i] = span{start: uint64(s.virt), end: uint64(s.virt + s.n), base: s.file, prio: s.file}
	}
	pieces := overlay(spans)
	out := make([]flatSeg, len(pieces))
	for i, p := range pieces {
		out[i] = flatSeg{virt: int64(p.start), file: p.base, n: int64(p.end - p.start)}
	}
	return out
}

// ReadAt reads inner-file bytes; a byte no record wrote is an error that
// wraps ErrTruncated.
func (f *flatReader) ReadAt(p []byte, off int64) (int, error) {
	return f.read(p, off, false)
}

func (f *flatReader) readAtSparse(p []byte, off int64) (int, error) {
	return f.read(p, off, true)
}

func (f *flatReader) read(p []byte, off int64, sparse bool) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("flattened: negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= f.size {
			return n, io.EOF
		}
		i := sort.Search(len(f.segs), func(i int) bool { return f.segs[i].virt+f.segs[i].n > pos })
		if i == len(f.segs) || f.segs[i].virt > pos {
			// A hole: no record wrote these bytes.
			holeEnd := f.size
			if i < len(f.segs) {
				holeEnd = f.segs[i].virt
			}
			if !sparse {
				return n, fmt.Errorf("flattened: inner offset %#x was never written: %w", pos, ErrTruncated)
			}
			k := int(min(int64(len(p)-n), holeEnd-pos))
			clear(p[n : n+k])
			n += k
			continue
		}
		s := f.segs[i]
		k := int(min(int64(len(p)-n), s.virt+s.n-pos))
		m, err := f.r.ReadAt(p[n:n+k], s.file+(pos-s.virt))
		n += m
		if m < k {
			if err == nil || isEOF(err) {
				err = fmt.Errorf("flattened: record data at %#x cut short: %w", s.file+(pos-s.virt)+int64(m), ErrTruncated)
			}
			return n, err
		}
	}
	return n, nil
}

// streamReader reads small headers from a large io.ReaderAt sequentially,
// refilling its buffer with one big read and skipping without I/O.
type streamReader struct {
	r      io.ReaderAt
	size   int64
	pos    int64 // file offset of the next byte
	buf    []byte
	bufOff int64 // file offset of buf[0]
}

// next returns the n bytes at pos and advances; io.EOF when they are not
// all in the file.
func (s *streamReader) next(n int) ([]byte, error) {
	if s.pos+int64(n) > s.size {
		return nil, io.ErrUnexpectedEOF
	}
	if s.pos < s.bufOff || s.pos+int64(n) > s.bufOff+int64(len(s.buf)) {
		want := min(int64(cap(s.buf)), s.size-s.pos)
		want = max(want, int64(n))
		if int64(cap(s.buf)) < want {
			s.buf = make([]byte, 0, want)
		}
		s.buf = s.buf[:want]
		m, err := s.r.ReadAt(s.buf, s.pos)
		s.buf = s.buf[:m]
		s.bufOff = s.pos
		if m < n {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	i := s.pos - s.bufOff
	s.pos += int64(n)
	return s.buf[i : i+int64(n)], nil
}

func (s *streamReader) skip(n int64) { s.pos += n }
