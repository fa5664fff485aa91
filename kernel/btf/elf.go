package btf

import (
	"bytes"
	"compress/zlib"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/vmcore-report/vmcore-report/internal/elfcheck"
	"github.com/vmcore-report/vmcore-report/internal/zstd"
)

// ErrNoBTF is wrapped by LoadSpecFromELF when the file has no .BTF section
// (a kernel built without CONFIG_DEBUG_INFO_BTF).
var ErrNoBTF = errors.New("no .BTF section")

// LoadSpecFromELF loads the .BTF section of an ELF file such as vmlinux. Only
// the ELF headers and that section are read: the section by LoadSpec's three
// reads, or, when it is marked SHF_COMPRESSED (zlib or zstd), by one read of
// the compressed bytes, decompressed into a buffer of the declared size.
func LoadSpecFromELF(r io.ReaderAt) (*Spec, error) { return loadFromELF(r, nil) }

// LoadSplitSpecFromELF loads the split .BTF section of a kernel module
// (.ko) on top of base, the BTF of the vmlinux it was built against.
func LoadSplitSpecFromELF(r io.ReaderAt, base *Spec) (*Spec, error) {
	if base == nil {
		return nil, errors.New("btf: split BTF without a base")
	}
	return loadFromELF(r, base)
}

func loadFromELF(r io.ReaderAt, base *Spec) (*Spec, error) {
	if err := elfcheck.Tables(r); err != nil {
		return nil, fmt.Errorf("btf: %w", err)
	}
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("btf: %w", err)
	}
	sec := f.Section(".BTF")
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("btf: %w", ErrNoBTF)
	}
	if sec.Flags&elf.SHF_COMPRESSED == 0 {
		if sec.FileSize > maxBlobSize {
			return nil, fmt.Errorf("btf: .BTF of %d bytes exceeds the %d-byte limit", sec.FileSize, maxBlobSize)
		}
		if err := inFile(r, sec); err != nil {
			return nil, fmt.Errorf("btf: %w", err)
		}
		// One read of the whole section: in a browser each read has a fixed
		// cost, and a cached reader would read ahead past the end of
		// pieces (Data() would grow a buffer by appending instead).
		blob := make([]byte, sec.FileSize)
		if err := readFull(sec.ReaderAt, blob, 0); err != nil {
			return nil, fmt.Errorf("btf: read .BTF: %w", err)
		}
		return loadSpec(memBlob(blob), int64(len(blob)), base)
	}
	blob, err := decompressSection(r, f, sec)
	if err != nil {
		return nil, fmt.Errorf("btf: .BTF: %w", err)
	}
	return loadSpec(memBlob(blob), int64(len(blob)), base)
}

// maxCompressionRatio bounds the size a compressed .BTF may claim against
// its stored bytes; BTF deflates about fivefold.
const maxCompressionRatio = 64

// inFile makes sure the file holds the last byte of sec before anything is
// allocated for it: a section header may claim any size, and an
// io.ReaderAt does not tell the file's.
func inFile(r io.ReaderAt, sec *elf.Section) error {
	if sec.FileSize == 0 {
		return nil
	}
	if err := elfcheck.HasBytes(r, sec.Offset, sec.FileSize); err != nil {
		return fmt.Errorf("section %s: %d bytes at %#x: past end of file: %w", sec.Name, sec.FileSize, sec.Offset, err)
	}
	return nil
}

// decompressSection reads a SHF_COMPRESSED section: an Elf64_Chdr (or
// Elf32_Chdr) giving the algorithm and the uncompressed size, then the
// compressed stream.
func decompressSection(r io.ReaderAt, f *elf.File, sec *elf.Section) ([]byte, error) {
	if sec.FileSize > maxBlobSize {
		return nil, fmt.Errorf("compressed size %d exceeds the %d-byte limit", sec.FileSize, maxBlobSize)
	}
	if err := inFile(r, sec); err != nil {
		return nil, err
	}
	raw := make([]byte, sec.FileSize)
	if _, err := r.ReadAt(raw, int64(sec.Offset)); err != nil {
		return nil, fmt.Errorf("read %d bytes at %#x: %w", sec.FileSize, sec.Offset, err)
	}
	var (
		algo    elf.CompressionType
		size    uint64
		hdrSize int
	)
	switch f.Class {
	case elf.ELFCLASS64:
		var ch elf.Chdr64
		hdrSize = binary.Size(ch)
		if len(raw) < hdrSize {
			return nil, fmt.Errorf("compression header truncated")
		}
		algo, size = elf.CompressionType(f.ByteOrder.Uint32(raw)), f.ByteOrder.Uint64(raw[8:])
	case elf.ELFCLASS32:
		var ch elf.Chdr32
		hdrSize = binary.Size(ch)
		if len(raw) < hdrSize {
			return nil, fmt.Errorf("compression header truncated")
		}
		algo, size = elf.CompressionType(f.ByteOrder.Uint32(raw)), uint64(f.ByteOrder.Uint32(raw[4:]))
	default:
		return nil, fmt.Errorf("unknown ELF class %v", f.Class)
	}
	if size > maxBlobSize {
		return nil, fmt.Errorf("uncompressed size %d exceeds the %d-byte limit", size, maxBlobSize)
	}
	if size/maxCompressionRatio > sec.FileSize {
		return nil, fmt.Errorf("%d bytes claim to inflate to %d", sec.FileSize, size)
	}
	stream := raw[hdrSize:]
	var out []byte
	switch algo {
	case elf.COMPRESS_ZLIB:
		zr, err := zlib.NewReader(bytes.NewReader(stream))
		if err != nil {
			return nil, fmt.Errorf("zlib: %w", err)
		}
		// The buffer grows as data arrives, up to the declared size.
		out, err = io.ReadAll(io.LimitReader(zr, int64(size)))
		if err == nil && uint64(len(out)) != size {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, fmt.Errorf("zlib: %w", err)
		}
	case elf.COMPRESS_ZSTD:
		got, err := io.ReadAll(io.LimitReader(zstd.NewReader(bytes.NewReader(stream)), int64(size)+1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		if uint64(len(got)) != size {
			return nil, fmt.Errorf("zstd: got %d bytes, header says %d", len(got), size)
		}
		out = got
	default:
		return nil, fmt.Errorf("unsupported compression %v", algo)
	}
	return out, nil
}
