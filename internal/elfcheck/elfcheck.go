// Package elfcheck checks an ELF file's header tables against the file
// before debug/elf.NewFile reads them: NewFile sizes its section and
// program tables from the header's counts, so a 64-byte file claiming
// thousands of sections costs megabytes before it fails.
package elfcheck

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrHeader is wrapped when the header's tables do not fit the file.
var ErrHeader = errors.New("ELF header tables outside the file")

// Tables makes sure the section and program header tables the ELF header
// of r describes end inside the file, by reading the last byte of each.
// Files that are not ELF pass: NewFile says what is wrong with them.
func Tables(r io.ReaderAt) error {
	var h [64]byte
	n, _ := r.ReadAt(h[:], 0)
	if n < 52 || string(h[:4]) != elf.ELFMAG {
		return nil
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if elf.Data(h[elf.EI_DATA]) == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	var phoff, shoff, phent, phnum, shent, shnum uint64
	switch elf.Class(h[elf.EI_CLASS]) {
	case elf.ELFCLASS64:
		if n < 64 {
			return nil
		}
		phoff, shoff = bo.Uint64(h[32:]), bo.Uint64(h[40:])
		phent, phnum = uint64(bo.Uint16(h[54:])), uint64(bo.Uint16(h[56:]))
		shent, shnum = uint64(bo.Uint16(h[58:])), uint64(bo.Uint16(h[60:]))
	case elf.ELFCLASS32:
		phoff, shoff = uint64(bo.Uint32(h[28:])), uint64(bo.Uint32(h[32:]))
		phent, phnum = uint64(bo.Uint16(h[42:])), uint64(bo.Uint16(h[44:]))
		shent, shnum = uint64(bo.Uint16(h[46:])), uint64(bo.Uint16(h[48:]))
	default:
		return nil
	}
	// Extended numbering, as debug/elf follows it: e_shnum 0 puts the
	// section count in section 0's sh_size. (It takes e_phnum 0xffff
	// literally, and so does this check.)
	if shnum == 0 && shoff != 0 && shoff < 1<<62 {
		var sh [64]byte
		if n, _ := r.ReadAt(sh[:], int64(shoff)); n >= 40 {
			shnum = bo.Uint64(sh[32:])
			if elf.Class(h[elf.EI_CLASS]) == elf.ELFCLASS32 {
				shnum = uint64(bo.Uint32(sh[20:]))
			}
		}
	}
	for _, t := range []struct {
		what            string
		off, ent, count uint64
	}{{"program headers", phoff, phent, phnum}, {"section headers", shoff, shent, shnum}} {
		if t.count == 0 {
			continue
		}
		end := t.off + t.ent*t.count
		if t.off > 1<<62 || t.count > 1<<32 || end < t.off {
			return fmt.Errorf("%w: %d %s at %#x", ErrHeader, t.count, t.what, t.off)
		}
		var b [1]byte
		if _, err := r.ReadAt(b[:], int64(end-1)); err != nil {
			return fmt.Errorf("%w: %d %s of %d bytes at %#x: %v", ErrHeader, t.count, t.what, t.ent, t.off, err)
		}
	}
	// NewFile also reads the section name table whole.
	is64 := elf.Class(h[elf.EI_CLASS]) == elf.ELFCLASS64
	shstrndx := uint64(bo.Uint16(h[62:]))
	if !is64 {
		shstrndx = uint64(bo.Uint16(h[50:]))
	}
	// Extended numbering again: e_shstrndx SHN_XINDEX puts the index in
	// section 0's sh_link.
	if shstrndx == uint64(elf.SHN_XINDEX) && shnum > 0 && shoff != 0 && shoff < 1<<62 {
		var sh [64]byte
		if n, _ := r.ReadAt(sh[:], int64(shoff)); n >= 28 {
			shstrndx = uint64(bo.Uint32(sh[24:])) // sh_link, at 24 in both classes
			if is64 {
				shstrndx = uint64(bo.Uint32(sh[40:]))
			}
		}
	}
	if shnum > 0 && shstrndx < shnum && shoff != 0 {
		var sh [64]byte
		if n, _ := r.ReadAt(sh[:], int64(shoff+shstrndx*shent)); n >= 40 {
			typ, flags, off, size := bo.Uint32(sh[4:]), bo.Uint64(sh[8:]), bo.Uint64(sh[24:]), bo.Uint64(sh[32:])
			if !is64 {
				typ, flags, off, size = bo.Uint32(sh[4:]), uint64(bo.Uint32(sh[8:])), uint64(bo.Uint32(sh[16:])), uint64(bo.Uint32(sh[20:]))
			}
			if elf.SectionType(typ) != elf.SHT_NOBITS && size > 0 {
				var b [1]byte
				if off > 1<<62 || size > 1<<62 {
					return fmt.Errorf("%w: section name table of %d bytes at %#x", ErrHeader, size, off)
				}
				if _, err := r.ReadAt(b[:], int64(off+size-1)); err != nil {
					return fmt.Errorf("%w: section name table of %d bytes at %#x: %v", ErrHeader, size, off, err)
				}
				if elf.SectionFlag(flags)&elf.SHF_COMPRESSED != 0 {
					return checkCompressedNames(r, bo, is64, off, size)
				}
			}
		}
	}
	return nil
}

// maxInflation bounds what a compressed section may claim per stored
// byte (zlib's own limit is about 1032:1, but section data inflating
// more than 64 times is not seen in real files).
const maxInflation = 64

// checkCompressedNames: NewFile inflates a compressed section name table
// whole, into a buffer as large as its header claims (up to 10 MiB at
// once), so the claim must be plausible for the stored bytes.
func checkCompressedNames(r io.ReaderAt, bo binary.ByteOrder, is64 bool, off, stored uint64) error {
	var ch [24]byte // Elf64_Chdr; Elf32_Chdr is 12 bytes
	if _, err := r.ReadAt(ch[:12], int64(off)); err != nil {
		return fmt.Errorf("%w: compressed section name table at %#x: %v", ErrHeader, off, err)
	}
	claimed := uint64(bo.Uint32(ch[4:]))
	if is64 {
		if _, err := r.ReadAt(ch[:], int64(off)); err != nil {
			return fmt.Errorf("%w: compressed section name table at %#x: %v", ErrHeader, off, err)
		}
		claimed = bo.Uint64(ch[8:])
	}
	if claimed > maxInflation*stored {
		return fmt.Errorf("%w: compressed section name table of %d bytes claims %d", ErrHeader, stored, claimed)
	}
	return nil
}

// Sizer is a reader that knows how many bytes it holds: a browser File
// behind the worker's read cache (and bytes.Reader, io.SectionReader).
type Sizer interface{ Size() int64 }

// HasBytes makes sure r holds n bytes at off, before anything is
// allocated for them: a header may claim any size, and an io.ReaderAt
// does not tell the file's. A Sizer answers from its size; any other
// reader by reading the last byte (a browser read costs 1-60 ms, and a
// report checks a section before each one it reads whole). The error is
// the read's (io.EOF past the end).
func HasBytes(r io.ReaderAt, off, n uint64) error {
	if n == 0 {
		return nil
	}
	end := off + n
	if end < off || end > 1<<62 {
		return io.EOF
	}
	if s, ok := r.(Sizer); ok {
		if int64(end) > s.Size() {
			return io.EOF
		}
		return nil
	}
	var b [1]byte
	_, err := r.ReadAt(b[:], int64(end-1))
	return err
}
