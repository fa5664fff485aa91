package dump

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/golang/snappy"

	"github.com/vmcore-report/vmcore-report/internal/zstd"
)

// Page compression flags of page_desc.flags and, for the dump-wide choice,
// disk_dump_header.status (DUMP_DH_COMPRESSED_* in diskdump_mod.h).
const (
	dumpDHCompressedZlib       = 0x1
	dumpDHCompressedLZO        = 0x2
	dumpDHCompressedSnappy     = 0x4
	dumpDHCompressedIncomplete = 0x8  // status only: dump stopped early
	dumpDHExcludedVmemmap      = 0x10 // status only
	dumpDHCompressedZstd       = 0x20

	compressionMask = dumpDHCompressedZlib | dumpDHCompressedLZO | dumpDHCompressedSnappy | dumpDHCompressedZstd
)

// compressionNames spells the flag bits in compressionMask.
func compressionNames(flags uint32) []string {
	var out []string
	for _, c := range []struct {
		bit  uint32
		name string
	}{{dumpDHCompressedZlib, "zlib"}, {dumpDHCompressedLZO, "lzo"}, {dumpDHCompressedSnappy, "snappy"}, {dumpDHCompressedZstd, "zstd"}} {
		if flags&c.bit != 0 {
			out = append(out, c.name)
		}
	}
	return out
}

func compressionName(flags uint32) string {
	names := compressionNames(flags & compressionMask)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "+")
}

// decoder turns one compressed page back into page-size bytes, keeping the
// zlib and zstd state between pages. Not safe for concurrent use.
type decoder struct {
	zr   io.ReadCloser
	zsrc bytes.Reader
	zstd *zstd.Reader
}

// decode decompresses src into dst, which must come out exactly full.
// flags is page_desc.flags; a page without a compression flag is stored raw.
// Errors wrap ErrCorrupt.
func (d *decoder) decode(flags uint32, src, dst []byte) (err error) {
	defer func() {
		// The decoders are third-party code fed untrusted bytes: a panic
		// there must become a bad page, not a crashed analysis.
		if r := recover(); r != nil {
			err = fmt.Errorf("%s decoder panicked: %v: %w", compressionName(flags), r, ErrCorrupt)
		}
	}()
	if flags&^uint32(compressionMask) != 0 {
		return fmt.Errorf("unknown page flags %#x: %w", flags, ErrCorrupt)
	}
	var n int
	switch {
	case flags == 0:
		if len(src) != len(dst) {
			return fmt.Errorf("raw page of %d bytes, want %d: %w", len(src), len(dst), ErrCorrupt)
		}
		copy(dst, src)
		return nil
	case flags&dumpDHCompressedZlib != 0:
		n, err = d.zlib(src, dst)
	case flags&dumpDHCompressedLZO != 0:
		n, err = decodeLZO(src, dst)
	case flags&dumpDHCompressedSnappy != 0:
		n, err = decodeSnappy(src, dst)
	case flags&dumpDHCompressedZstd != 0:
		n, err = d.decodeZstd(src, dst)
	}
	name := compressionName(flags)
	if err != nil {
		return fmt.Errorf("%s: %v: %w", name, err, ErrCorrupt)
	}
	if n != len(dst) {
		return fmt.Errorf("%s: page decompressed to %d bytes, want %d: %w", name, n, len(dst), ErrCorrupt)
	}
	return nil
}

func (d *decoder) zlib(src, dst []byte) (int, error) {
	d.zsrc.Reset(src)
	if d.zr == nil {
		zr, err := zlib.NewReader(&d.zsrc)
		if err != nil {
			return 0, err
		}
		d.zr = zr
	} else if err := d.zr.(zlib.Resetter).Reset(&d.zsrc, nil); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(d.zr, dst)
	if err != nil {
		return n, err
	}
	// The stream must end exactly here (this also checks the Adler-32).
	var one [1]byte
	if m, err := d.zr.Read(one[:]); m != 0 || (err != nil && err != io.EOF) {
		if err == nil {
			err = errors.New("data after page end")
		}
		return n, err
	}
	return n, nil
}

func decodeSnappy(src, dst []byte) (int, error) {
	n, err := snappy.DecodedLen(src)
	if err != nil {
		return 0, err
	}
	if n != len(dst) {
		return n, fmt.Errorf("snappy length %d", n)
	}
	out, err := snappy.Decode(dst, src)
	return len(out), err
}

func (d *decoder) decodeZstd(src, dst []byte) (int, error) {
	if d.zstd == nil {
		// Kept between pages: Reset reuses its tables and buffers.
		d.zstd = zstd.NewReader(nil)
	}
	d.zsrc.Reset(src)
	d.zstd.Reset(&d.zsrc)
	n, err := io.ReadFull(d.zstd, dst)
	if err != nil {
		return n, err
	}
	// The frame must end exactly here (this also checks its checksum).
	var one [1]byte
	if m, err := d.zstd.Read(one[:]); m != 0 || err != io.EOF {
		if err == nil {
			err = errors.New("data after page end")
		}
		return n, err
	}
	return n, nil
}

func (d *decoder) close() {
	d.zstd = nil
}
