// Package kdwarf reads C types, and the types of global variables, from the
// DWARF debug info of a vmlinux, producing the shared model of kernel/ktype.
//
// A distribution vmlinux carries 150–250 MB of .debug_info, so nothing here
// loads it whole or builds the full entry tree the way debug/dwarf does.
// Open reads the ELF headers and the small string and abbreviation sections
// (a few MB, one read each). The first lookup scans .debug_info once, unit by
// unit, with a skimmer that decodes abbreviations and skips attribute values
// by form, and builds a name index of the top-level types and variables of
// every unit. A type is then decoded only when asked, from the unit that
// holds its first definition, and memoised by entry offset.
//
// A C type is defined again in every compile unit that includes its header.
// The reader keeps one model per name: when a type refers to a named struct,
// union, enum, typedef or base type, it uses the first definition of that
// name in .debug_info if that definition has the same shape (size, member
// names and offsets, enumerators) as the one referred to, and decodes the
// referring unit's own definition otherwise. A declaration ("struct foo;")
// resolves to the first definition with a body, so pointers to opaque types
// in one unit still reach the full struct.
//
// Sections compressed with SHF_COMPRESSED (zlib or zstd, as some distributions
// ship) are supported: the small sections are decompressed whole, and
// .debug_info is decompressed as a stream during the index scan and kept in
// memory recompressed in 1 MiB blocks for later random access. The store
// is snappy: its codec is linked anyway for snappy dump pages, where a zstd
// encoder added ~0.1 MB to the browser's compressed main.wasm; it costs
// ~35 MB more than zstd's fastest level for a 6.1 distribution kernel and
// less CPU (BenchmarkOpenCompressed: 141 against 106 MB in use, 1.7 against
// 2.5 s), against 15 MB for the index of an uncompressed one.
//
// Not supported: types defined inside a function body (not indexed; a
// kernel has a few dozen, which BTF does list); split DWARF (DWARF 5
// skeleton units are refused); dwz's supplementary files and relocatable
// objects such as .ko modules, whose .debug_info needs relocating first
// (both refused by Open).
//
// Security: every offset, length and count read from the file is checked
// before use and malformed input yields a DecodeError naming the section
// offset, but the reader does not validate DWARF beyond what it needs.
package kdwarf

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/vmcore-report/vmcore-report/internal/elfcheck"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// ErrNoDWARF: the ELF file has no .debug_info (a stripped vmlinux).
var ErrNoDWARF = errors.New("no DWARF debug info")

// Limits on what the file may make us allocate.
const (
	// maxSmallSection bounds .debug_abbrev, .debug_str, .debug_line_str and
	// .debug_str_offsets. The 6.12 cloud kernel's .debug_str is 4.4 MiB.
	maxSmallSection = 256 << 20
	// maxInfoSize bounds .debug_info: the index stores entry offsets in 32
	// bits. The 6.12 cloud kernel's is 200 MiB.
	maxInfoSize = 1<<32 - 1
)

// Data is the DWARF of one vmlinux. Its methods are safe for concurrent use.
type Data struct {
	be         bool
	abbrev     []byte
	str        []byte
	lineStr    []byte
	strOffsets []byte
	info       *infoSource

	mu      sync.Mutex
	indexed bool
	ixErr   error
	units   []unit
	names   [numNameKinds]nameIndex
	sigs    map[uint64]uint64 // type unit signature → type entry offset

	enumsErr error
	enums    map[string]enumeratorEntry

	mat materializer
}

var _ ktype.Source = (*Data)(nil)

// Open reads the ELF headers and the small DWARF sections of a vmlinux. The
// name index over .debug_info is built by the first lookup, or by Index.
// It wraps ErrNoDWARF when there is no .debug_info.
func Open(r io.ReaderAt) (*Data, error) {
	if err := elfcheck.Tables(r); err != nil {
		return nil, fmt.Errorf("kdwarf: %w", err)
	}
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("kdwarf: %w", err)
	}
	if f.Type == elf.ET_REL {
		// Relocatable objects (.ko) need .rela.debug_* applied first.
		return nil, fmt.Errorf("kdwarf: relocatable ELF object: DWARF relocations not supported")
	}
	d := &Data{be: f.Data == elf.ELFDATA2MSB}
	info := section(f, "info")
	if info == nil {
		return nil, fmt.Errorf("kdwarf: %w", ErrNoDWARF)
	}
	if f.Section(".gnu_debugaltlink") != nil || f.Section(".debug_sup") != nil {
		// dwz moved shared entries and strings to a supplementary file
		// (DW_FORM_GNU_ref_alt, DW_FORM_GNU_strp_alt): names would be
		// missing and references dangling.
		return nil, fmt.Errorf("kdwarf: DWARF refers to a supplementary file (dwz): not supported")
	}
	abbrev := section(f, "abbrev")
	if abbrev == nil {
		return nil, fmt.Errorf("kdwarf: no .debug_abbrev")
	}
	small := []*elf.Section{abbrev, section(f, "str"), section(f, "line_str"), section(f, "str_offsets")}
	bufs, err := readSmall(r, small)
	if err != nil {
		return nil, fmt.Errorf("kdwarf: %w", err)
	}
	d.abbrev, d.str, d.lineStr, d.strOffsets = bufs[0], bufs[1], bufs[2], bufs[3]
	if d.info, err = newInfoSource(r, f, info); err != nil {
		return nil, fmt.Errorf("kdwarf: %w", err)
	}
	d.mat.init(d)
	return d, nil
}

// section finds .debug_<name>, or the old GNU-compressed .zdebug_<name>.
func section(f *elf.File, name string) *elf.Section {
	if s := f.Section(".debug_" + name); s != nil && s.Type != elf.SHT_NOBITS {
		return s
	}
	if s := f.Section(".zdebug_" + name); s != nil && s.Type != elf.SHT_NOBITS {
		return s
	}
	return nil
}

// compressed reports whether debug/elf must decompress s.
func compressed(s *elf.Section) bool {
	return s.Flags&elf.SHF_COMPRESSED != 0 || len(s.Name) > 2 && s.Name[:2] == ".z"
}

// readSmall reads the given sections (nil ones give nil). Uncompressed
// sections share one allocation and take one ReadAt each; compressed ones
// are inflated by debug/elf.
func readSmall(r io.ReaderAt, secs []*elf.Section) ([][]byte, error) {
	var total uint64
	for _, s := range secs {
		if s == nil {
			continue
		}
		if s.Size > maxSmallSection || (compressed(s) && s.FileSize > maxSmallSection) {
			return nil, fmt.Errorf("section %s: size %d too large", s.Name, s.Size)
		}
		if compressed(s) && s.Size/maxCompressionRatio > s.FileSize {
			return nil, fmt.Errorf("section %s: %d bytes claim to inflate to %d", s.Name, s.FileSize, s.Size)
		}
		if !compressed(s) {
			total += s.Size
		}
	}
	for _, s := range secs {
		switch {
		case s == nil:
		case compressed(s):
			if err := checkFileBytes(r, s, s.FileSize); err != nil {
				return nil, err
			}
		default:
			if err := checkExtent(r, s); err != nil {
				return nil, err
			}
		}
	}
	all := make([]byte, total)
	out := make([][]byte, len(secs))
	for i, s := range secs {
		if s == nil {
			continue
		}
		if compressed(s) {
			b, err := readCompressed(s)
			if err != nil {
				return nil, fmt.Errorf("section %s: %w", s.Name, err)
			}
			out[i] = b
			continue
		}
		b := all[:s.Size:s.Size]
		all = all[s.Size:]
		if _, err := r.ReadAt(b, int64(s.Offset)); err != nil {
			return nil, fmt.Errorf("read section %s: %w", s.Name, err)
		}
		out[i] = b
	}
	return out, nil
}

// checkExtent makes sure the file holds the last byte of a section before
// anything is allocated for it: a header may claim any size, and the
// ReaderAt does not tell the file's.
func checkExtent(r io.ReaderAt, s *elf.Section) error {
	return checkFileBytes(r, s, s.Size)
}

// checkFileBytes makes sure the file holds n bytes from s's offset: the
// stored (compressed) size of a compressed section, or the size of a plain
// one.
func checkFileBytes(r io.ReaderAt, s *elf.Section, n uint64) error {
	if n == 0 {
		return nil
	}
	if err := elfcheck.HasBytes(r, s.Offset, n); err != nil {
		return fmt.Errorf("section %s: %d bytes at 0x%x: past end of file: %w", s.Name, n, s.Offset, err)
	}
	return nil
}

// maxCompressionRatio bounds the size a compressed section may claim,
// against its compressed size. DWARF deflates 4 to 8 times.
const maxCompressionRatio = 64

// readCompressed inflates a small compressed section, refusing to grow past
// maxSmallSection whatever its header claims.
// The buffer grows as the data arrives, never past the size the header
// declares (itself bounded by maxCompressionRatio times the stored bytes).
func readCompressed(s *elf.Section) ([]byte, error) {
	limit := min(s.Size, maxSmallSection)
	b, err := io.ReadAll(io.LimitReader(s.Open(), int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if uint64(len(b)) > limit {
		return nil, fmt.Errorf("decompressed size exceeds the %d bytes declared", limit)
	}
	return b, nil
}
