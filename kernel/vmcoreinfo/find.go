package vmcoreinfo

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// PhysReader reads the crashed machine's physical memory. It is the subset
// of the dump reader that FindInMemory needs.
type PhysReader interface {
	ReadPhysAt(p []byte, paddr uint64) (int, error)
}

// Range is a physical address range [Start, End).
type Range struct {
	Start, End uint64
}

// ErrNotFound is returned by FindInMemory when no VMCOREINFO text is found.
var ErrNotFound = errors.New("vmcoreinfo: not found in memory")

const (
	scanPage  = 4096    // x86 page; the kernel's buffers are page-aligned
	scanChunk = 4 << 20 // bytes per read: reads are expensive in the browser
	// maxText bounds how far past a match we look for the terminating NUL
	// (VMCOREINFO_BYTES is one page on 6.1, a few on the newest kernels).
	maxText = 64 << 10
)

var (
	osreleaseTag = []byte("OSRELEASE=")
	// The note copy starts with an Elf64_Nhdr {n_namesz = 11, n_descsz,
	// n_type = 0} and the name "VMCOREINFO\0" padded to 12 bytes
	// (update_vmcoreinfo_note() in kernel/crash_core.c).
	noteName = []byte("VMCOREINFO\x00")
)

const noteDescOff = 12 + 12

// FindInMemory looks for the kernel's own VMCOREINFO text in physical
// memory, for dumps written without a VMCOREINFO note (QEMU without
// -device vmcoreinfo). At boot crash_save_vmcoreinfo_init() fills a zeroed,
// page-aligned buffer (vmcoreinfo_data) that starts with "OSRELEASE=", and
// copies it into the ELF note vmcoreinfo_note, itself page-aligned; both are
// looked for at every page start of ranges. A candidate must contain
// PAGESIZE= and SYMBOL(init_uts_ns)= or KERNELOFFSET=, and must parse.
//
// It returns the text up to its first NUL and the physical address where
// the text starts. Pages that cannot be read (excluded from the dump) are
// skipped. Memory is read in chunks of a few MiB so that the number of reads
// stays small.
//
// The scan costs a read per unreadable page of ranges, so ranges should be
// the ones whose bytes the dump holds (dump.Dump.DataRanges), not what its
// headers claim exists.
func FindInMemory(r PhysReader, ranges []Range) ([]byte, uint64, error) {
	return FindInMemoryContext(context.Background(), r, ranges)
}

// FindInMemoryContext is FindInMemory that stops, with ctx's error, once
// ctx is done.
func FindInMemoryContext(ctx context.Context, r PhysReader, ranges []Range) ([]byte, uint64, error) {
	s := scanner{ctx: ctx, r: r}
	for _, rg := range ranges {
		start := (rg.Start + scanPage - 1) &^ (scanPage - 1)
		if rg.End <= start {
			continue
		}
		if s.buf == nil {
			s.buf = make([]byte, scanChunk)
		}
		end := start + (rg.End-start)&^(scanPage-1)
		if text, pa, ok := s.span(start, end); ok {
			return text, pa, nil
		}
		if s.err != nil {
			return nil, 0, s.err
		}
	}
	return nil, 0, ErrNotFound
}

type scanner struct {
	ctx context.Context
	err error // ctx's error, once it is done
	r   PhysReader
	buf []byte
	// partial is set once the reader has returned some bytes with an
	// error: from then on a read that returns nothing means its first page
	// failed, with no need to probe.
	partial bool
}

// span scans the page-aligned range [pos, end) in chunks. A failed read is
// narrowed down to the pages that fail, which are skipped: a reader that
// reports partial reads (n bytes, then the error) costs one read per
// unreadable page, one that fails a whole read costs a binary search.
func (s *scanner) span(pos, end uint64) ([]byte, uint64, bool) {
	for pos < end {
		if s.err = s.ctx.Err(); s.err != nil {
			return nil, 0, false
		}
		n := min(uint64(len(s.buf)), end-pos)
		got, err := s.r.ReadPhysAt(s.buf[:n], pos)
		if got < 0 || uint64(got) > n {
			got = 0
		}
		good := uint64(got) &^ (scanPage - 1)
		if text, pa, ok := scanChunkPages(s.r, s.buf[:good], pos); ok {
			return text, pa, true
		}
		if err == nil && uint64(got) == n {
			pos += n
			continue
		}
		if good > 0 {
			// The page right after the good part failed.
			s.partial = true
			pos += good + scanPage
			continue
		}
		if n == scanPage || s.partial {
			pos += scanPage
			continue
		}
		// Nothing came back: see whether the first page alone is readable,
		// to tell an unreadable first page from an all-or-nothing reader.
		page := s.buf[:scanPage]
		if m, err := s.r.ReadPhysAt(page, pos); err != nil || m != scanPage {
			pos += scanPage
			continue
		}
		half := (n / 2) &^ (scanPage - 1)
		if text, pa, ok := s.span(pos, pos+half); ok {
			return text, pa, true
		}
		if text, pa, ok := s.span(pos+half, pos+n); ok {
			return text, pa, true
		}
		pos += n
	}
	return nil, 0, false
}

// scanChunkPages checks each page start in chunk (which starts at physical
// address base) for the data buffer or the note copy.
func scanChunkPages(r PhysReader, chunk []byte, base uint64) ([]byte, uint64, bool) {
	for off := 0; off+scanPage <= len(chunk); off += scanPage {
		page := chunk[off : off+scanPage]
		start := -1
		switch {
		case bytes.HasPrefix(page, osreleaseTag):
			start = 0
		case binary.LittleEndian.Uint32(page) == uint32(len(noteName)) &&
			binary.LittleEndian.Uint32(page[8:]) == 0 &&
			bytes.Equal(page[12:12+len(noteName)], noteName) &&
			bytes.HasPrefix(page[noteDescOff:], osreleaseTag):
			start = noteDescOff
		}
		if start < 0 {
			continue
		}
		text, ok := readText(r, chunk[off+start:], base+uint64(off+start))
		if ok && valid(text) {
			return text, base + uint64(off+start), true
		}
	}
	return nil, 0, false
}

// readText returns a copy of the NUL-terminated text at pa, whose first
// bytes are in have; it reads on past have when the text continues.
func readText(r PhysReader, have []byte, pa uint64) ([]byte, bool) {
	if len(have) > maxText {
		have = have[:maxText]
	}
	if i := bytes.IndexByte(have, 0); i >= 0 {
		return bytes.Clone(have[:i]), true
	}
	buf := make([]byte, maxText)
	n, _ := r.ReadPhysAt(buf, pa)
	if n < 0 || n > len(buf) {
		return nil, false
	}
	if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
		return buf[:i], true
	}
	return nil, false // no terminator within maxText: not the kernel's buffer
}

func valid(text []byte) bool {
	if !bytes.Contains(text, []byte("\nPAGESIZE=")) {
		return false
	}
	if !bytes.Contains(text, []byte("\nSYMBOL(init_uts_ns)=")) && !bytes.Contains(text, []byte("\nKERNELOFFSET=")) {
		return false
	}
	info, err := Parse(text)
	return err == nil && info.OSRelease != "" && info.PageSize != 0
}

// String formats a range as [start, end).
func (r Range) String() string { return fmt.Sprintf("[%#x, %#x)", r.Start, r.End) }
