package linux

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"

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
	start, size, err := RodataStrings(p)
	if err != nil {
		return nil, err
	}
	return ReaderContains(virtAt{p.Mem, start}, int64(size), needles...)
}

// RodataContainsIn is RodataContains reading the vmlinux's .rodata
// section when vmlinux is not nil (plain file reads), else the kernel's
// memory (every page decompressed: a quarter of a second in a browser).
func RodataContainsIn(p *object.Program, vmlinux io.ReaderAt, needles ...string) (map[string]bool, error) {
	if vmlinux != nil {
		if f, err := elf.NewFile(vmlinux); err == nil {
			// __start_rodata opens the .rodata section.
			if sec := f.Section(".rodata"); sec != nil && sec.Type == elf.SHT_PROGBITS {
				size := sec.Size
				if _, n, err := RodataStrings(p); err == nil && n < size {
					size = n
				}
				return ReaderContains(sec, int64(size), needles...)
			}
		}
	}
	return RodataContains(p, needles...)
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
// read in 1 MiB pieces (overlapping by the longest needle). RodataContains
// uses it on memory; with a vmlinux, callers scan its .rodata section
// instead, which needs no page decompression.
func ReaderContains(r io.ReaderAt, size int64, needles ...string) (map[string]bool, error) {
	longest := 0
	for _, n := range needles {
		longest = max(longest, len(n))
	}
	found := map[string]bool{}
	if longest == 0 {
		return found, nil
	}
	// Pieces of 4 MiB: a cached reader passes reads this large straight
	// through, without reading ahead past the end.
	const chunk = 4 << 20
	buf := make([]byte, min(int64(chunk), size)+int64(longest))
	keep := 0 // bytes carried over from the previous piece
	for off := int64(0); off < size; off += chunk {
		n := int64(chunk)
		if size-off < n {
			n = size - off
		}
		if _, err := r.ReadAt(buf[keep:keep+int(n)], off); err != nil && err != io.EOF {
			return nil, fmt.Errorf("kernel rodata: %w", err)
		}
		data := buf[:keep+int(n)]
		for _, s := range needles {
			if !found[s] && bytes.Contains(data, []byte(s)) {
				found[s] = true
			}
		}
		if len(found) == len(needles) {
			break
		}
		keep = min(longest-1, len(data))
		copy(buf, data[len(data)-keep:])
	}
	return found, nil
}
