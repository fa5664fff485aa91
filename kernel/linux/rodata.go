package linux

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// maxRodata bounds the read-only data scanned (a distribution kernel has
// 5-15 MiB).
const maxRodata = 64 << 20

// RodataContains reports which of needles occur in the kernel's read-only
// data (see RodataStrings). It tells whether the kernel carries a format
// string at all: some lines of /proc files were added without any change
// of layout a type or symbol would show (the "Kthread:\t%c\n" line of
// /proc/PID/status, added between 6.1 and 6.12), and the kernel prints a
// line exactly when its format string is in .rodata.
func RodataContains(p *object.Program, needles ...string) (map[string]bool, error) {
	return NewRodataScanner(p, nil).Contains(needles...)
}

// RodataContainsIn is RodataContains reading the vmlinux's .rodata
// section when vmlinux is not nil (plain file reads), else the kernel's
// memory (every page decompressed: a quarter of a second in a browser).
func RodataContainsIn(p *object.Program, vmlinux io.ReaderAt, needles ...string) (map[string]bool, error) {
	return NewRodataScanner(p, vmlinux).Contains(needles...)
}

// NewRodataScanner reads the kernel's read-only data as RodataContainsIn
// does, keeping what it read for the next Contains: a run that asks
// several times reads .rodata once (3.7 MiB of the 6.1 fixture's vmlinux,
// a tenth of what a browser report read).
func NewRodataScanner(p *object.Program, vmlinux io.ReaderAt) *RodataScanner {
	if vmlinux != nil {
		if f, err := elf.NewFile(vmlinux); err == nil {
			// __start_rodata opens the .rodata section.
			if sec := f.Section(".rodata"); sec != nil && sec.Type == elf.SHT_PROGBITS {
				size := sec.Size
				if _, n, err := RodataStrings(p); err == nil && n < size {
					size = n
				}
				return NewReaderScanner(sec, int64(size))
			}
		}
	}
	start, size, err := RodataStrings(p)
	if err != nil {
		return &RodataScanner{err: err}
	}
	return NewReaderScanner(virtAt{p.Mem, start}, int64(size))
}

// RodataStrings is where the compiler's read-only data is: from
// __start_rodata on, size bytes. The compiler's .rodata and .rodata.*
// (format strings among them) come first in the output section; what
// follows (ro_after_init data, tracepoint pointers, PCI fixups, ksymtab,
// .BTF) holds none and is more than half of the range, every page of it
// read for nothing.
func RodataStrings(p *object.Program) (start, size uint64, err error) {
	start, err = p.Syms.Addr("__start_rodata")
	if err != nil {
		return 0, 0, err
	}
	end, err := p.Syms.Addr("__end_rodata")
	if err != nil {
		return 0, 0, err
	}
	for _, next := range []string{"__start_ro_after_init", "__start___tracepoints_ptrs", "__start_pci_fixups_early"} {
		if a, err := p.Syms.Addr(next); err == nil && a > start && a < end {
			end = a
		}
	}
	if end <= start || end-start > maxRodata {
		return 0, 0, fmt.Errorf("rodata %#x-%#x, not plausible", start, end)
	}
	return start, end - start, nil
}

// virtAt reads kernel virtual memory from base as a file.
type virtAt struct {
	m    object.Memory
	base uint64
}

func (v virtAt) ReadAt(b []byte, off int64) (int, error) {
	return v.m.ReadVirtAt(b, v.base+uint64(off))
}

// ReaderContains reports which needles occur in the first size bytes of r,
// read in 4 MiB pieces. RodataContains uses it on memory; with a vmlinux,
// callers scan its .rodata section instead, which needs no page
// decompression.
func ReaderContains(r io.ReaderAt, size int64, needles ...string) (map[string]bool, error) {
	return NewReaderScanner(r, size).Contains(needles...)
}

// rodataPiece is the size of one read of a RodataScanner: a cached
// reader passes reads this large straight through, without reading ahead
// past the end.
const rodataPiece = 4 << 20

// RodataScanner looks for strings in the first size bytes of a reader,
// reading it in pieces only as far as a search needs, and keeping the
// pieces for later searches. Safe for concurrent use.
type RodataScanner struct {
	mu     sync.Mutex
	r      io.ReaderAt
	size   int64
	pieces [][]byte // read so far, in order
	err    error    // why the next piece (or the scanner) cannot be read
}

// NewReaderScanner scans the first size bytes of r.
func NewReaderScanner(r io.ReaderAt, size int64) *RodataScanner {
	return &RodataScanner{r: r, size: max(size, 0)}
}

// piece returns piece i, reading it when it is the next one; ok is false
// past the end, and err is a read error (kept: later calls get it too).
func (s *RodataScanner) piece(i int) (b []byte, ok bool, err error) {
	if i < len(s.pieces) {
		return s.pieces[i], true, nil
	}
	if s.err != nil {
		return nil, false, s.err
	}
	off := int64(i) * rodataPiece
	if off >= s.size {
		return nil, false, nil
	}
	b = make([]byte, min(rodataPiece, s.size-off))
	if _, err := s.r.ReadAt(b, off); err != nil && err != io.EOF {
		s.err = fmt.Errorf("kernel rodata: %w", err)
		return nil, false, s.err
	}
	s.pieces = append(s.pieces, b)
	return b, true, nil
}

// Contains reports which needles occur, reading no further than the
// piece where the last of them is found.
func (s *RodataScanner) Contains(needles ...string) (map[string]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := map[string]bool{}
	if s.r == nil && s.err != nil {
		return nil, s.err
	}
	longest := 0
	for _, n := range needles {
		longest = max(longest, len(n))
	}
	if longest == 0 {
		return found, nil
	}
	var prev []byte
	for i := 0; ; i++ {
		b, ok, err := s.piece(i)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		// A needle across the seam starts in the last len-1 bytes of
		// the previous piece and ends in the first len-1 of this one.
		keep := min(longest-1, len(prev))
		seam := append(slices.Clip(prev[len(prev)-keep:]), b[:min(longest-1, len(b))]...)
		for _, n := range needles {
			if !found[n] && (bytes.Contains(seam, []byte(n)) || bytes.Contains(b, []byte(n))) {
				found[n] = true
			}
		}
		if len(found) == len(needles) {
			break
		}
		prev = b
	}
	return found, nil
}
