package kdwarf

import (
	"bytes"
	"compress/zlib"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/golang/snappy"
	"github.com/vmcore-report/vmcore-report/internal/zstd"
)

const (
	// blockSize is the unit of the recompressed (snappy) store of a
	// compressed .debug_info: large enough to compress well (~20 compile
	// units of a vmlinux), small enough to decompress in a millisecond.
	blockSize = 1 << 20
	// maxCachedBlocks bounds the cache of decompressed blocks. Units are
	// copied out of blocks and cached by the materializer, so a few blocks
	// for locality between neighbouring units are enough.
	maxCachedBlocks = 4
	// scanWindow is the read size of sequential scans: browsers read 8 MiB
	// chunks at 400–480 MB/s, against 250–340 MB/s for 1 MiB chunks.
	scanWindow = 8 << 20
)

// infoSource gives access to the bytes of .debug_info: sequentially during
// scans, and unit by unit afterwards.
type infoSource struct {
	size uint64
	raw  io.ReaderAt // the section's bytes, when not compressed
	// open starts decompressing a compressed section from its beginning.
	open func() (io.ReadCloser, error)

	// The recompressed store of a compressed section, written by the first
	// scan (which is the only pass that reads the decompressing stream).
	stored   [][]byte
	partial  []byte
	scratch  []byte
	complete bool

	cache []cachedBlock
	tick  uint64
}

type cachedBlock struct {
	index int
	data  []byte
	used  uint64
}

func newInfoSource(r io.ReaderAt, f *elf.File, s *elf.Section) (*infoSource, error) {
	src := &infoSource{}
	if compressed(s) {
		var err error
		if src.open, err = decompressor(r, f, s); err != nil {
			return nil, fmt.Errorf("section %s: %w", s.Name, err)
		}
		if s.Size/maxCompressionRatio > s.FileSize {
			return nil, fmt.Errorf("section %s: %d bytes claim to inflate to %d", s.Name, s.FileSize, s.Size)
		}
		// The stored bytes must be in the file: the declared size is only
		// bounded by them.
		if err := checkFileBytes(r, s, s.FileSize); err != nil {
			return nil, err
		}
	} else {
		if err := checkExtent(r, s); err != nil {
			return nil, err
		}
		src.raw = s
	}
	src.size = s.Size
	if src.size > maxInfoSize {
		return nil, fmt.Errorf("section %s: size %d exceeds %d", s.Name, s.Size, uint64(maxInfoSize))
	}
	return src, nil
}

// decompressor returns a function that starts decompressing s. It decodes
// the compression header itself rather than use Section.Open, which would
// read the stream through debug/elf's own section reader.
func decompressor(r io.ReaderAt, f *elf.File, s *elf.Section) (func() (io.ReadCloser, error), error) {
	var (
		algo elf.CompressionType
		hdr  int64
	)
	switch {
	case s.Flags&elf.SHF_COMPRESSED == 0:
		// .zdebug_*: "ZLIB", the size as 8 big-endian bytes, a zlib stream.
		var b [12]byte
		if _, err := r.ReadAt(b[:], int64(s.Offset)); err != nil || string(b[:4]) != "ZLIB" {
			return nil, errors.New("bad .zdebug header")
		}
		s.Size = binary.BigEndian.Uint64(b[4:])
		algo, hdr = elf.COMPRESS_ZLIB, 12
	case f.Class == elf.ELFCLASS64:
		var b [24]byte // Elf64_Chdr: ch_type, ch_reserved, ch_size, ch_addralign
		if _, err := r.ReadAt(b[:], int64(s.Offset)); err != nil {
			return nil, fmt.Errorf("read compression header: %w", err)
		}
		algo, hdr = elf.CompressionType(f.ByteOrder.Uint32(b[0:])), 24
	default:
		var b [12]byte // Elf32_Chdr: ch_type, ch_size, ch_addralign
		if _, err := r.ReadAt(b[:], int64(s.Offset)); err != nil {
			return nil, fmt.Errorf("read compression header: %w", err)
		}
		algo, hdr = elf.CompressionType(f.ByteOrder.Uint32(b[0:])), 12
	}
	if uint64(hdr) > s.FileSize {
		return nil, errors.New("compression header past section end")
	}
	body := func() io.Reader { return io.NewSectionReader(r, int64(s.Offset)+hdr, int64(s.FileSize)-hdr) }
	switch algo {
	case elf.COMPRESS_ZLIB:
		return func() (io.ReadCloser, error) { return zlib.NewReader(body()) }, nil
	case elf.COMPRESS_ZSTD:
		return func() (io.ReadCloser, error) {
			// ld and objcopy write windows of a few MB; the decoder
			// keeps at most 8 MiB of window whatever a frame claims.
			return io.NopCloser(zstd.NewReader(body())), nil
		}, nil
	}
	return nil, fmt.Errorf("unknown compression type %d", algo)
}

// block returns decompressed block i, from the cache when it is there.
func (s *infoSource) block(i int) ([]byte, error) {
	s.tick++
	for k := range s.cache {
		if s.cache[k].index == i {
			s.cache[k].used = s.tick
			return s.cache[k].data, nil
		}
	}
	b, err := s.load(i)
	if err != nil {
		return nil, err
	}
	if len(s.cache) < maxCachedBlocks {
		s.cache = append(s.cache, cachedBlock{i, b, s.tick})
		return b, nil
	}
	oldest := 0
	for k := range s.cache {
		if s.cache[k].used < s.cache[oldest].used {
			oldest = k
		}
	}
	s.cache[oldest] = cachedBlock{i, b, s.tick}
	return b, nil
}

// load reads block i, bypassing the cache.
func (s *infoSource) load(i int) ([]byte, error) {
	start := uint64(i) * blockSize
	if i < 0 || start >= s.size {
		return nil, fmt.Errorf("block %d out of range", i)
	}
	n := min(blockSize, s.size-start)
	if s.raw != nil {
		b := make([]byte, n)
		if _, err := s.raw.ReadAt(b, int64(start)); err != nil {
			return nil, fmt.Errorf("read .debug_info at 0x%x: %w", start, err)
		}
		return b, nil
	}
	if !s.complete || i >= len(s.stored) {
		return nil, errors.New("compressed .debug_info not scanned")
	}
	b, err := snappy.Decode(make([]byte, n), s.stored[i])
	if err != nil {
		return nil, fmt.Errorf("decompress .debug_info block %d: %w", i, err)
	}
	if uint64(len(b)) != n {
		return nil, fmt.Errorf("decompress .debug_info block %d: got %d bytes, want %d", i, len(b), n)
	}
	return b, nil
}

// read returns a new buffer with the n bytes at off: one ReadAt when the
// section is stored plainly, else assembled from decompressed blocks.
func (s *infoSource) read(off, n uint64) ([]byte, error) {
	if off > s.size || n > s.size-off {
		return nil, fmt.Errorf(".debug_info range 0x%x+0x%x out of bounds", off, n)
	}
	out := make([]byte, n)
	if s.raw != nil {
		if _, err := s.raw.ReadAt(out, int64(off)); err != nil {
			return nil, fmt.Errorf("read .debug_info at 0x%x: %w", off, err)
		}
		return out, nil
	}
	if err := s.copyBlocks(out, off, s.block); err != nil {
		return nil, err
	}
	return out, nil
}

// copyBlocks fills p with the bytes at off, fetching blocks with get.
func (s *infoSource) copyBlocks(p []byte, off uint64, get func(int) ([]byte, error)) error {
	for len(p) > 0 {
		i := int(off / blockSize)
		b, err := get(i)
		if err != nil {
			return err
		}
		o := off - uint64(i)*blockSize
		if o >= uint64(len(b)) {
			return fmt.Errorf(".debug_info offset 0x%x past block end", off)
		}
		n := copy(p, b[o:])
		p = p[n:]
		off += uint64(n)
	}
	return nil
}

// scanner returns a sequential reader over the whole section. The first
// scan of a compressed section decompresses it as a stream and fills the
// recompressed store; finish must then be called after the last byte.
func (s *infoSource) scanner() *seqReader {
	q := &seqReader{size: s.size}
	switch {
	case s.raw != nil:
		q.fill = func(p []byte, off uint64) error {
			if _, err := s.raw.ReadAt(p, int64(off)); err != nil {
				return fmt.Errorf("read .debug_info at 0x%x: %w", off, err)
			}
			return nil
		}
	case s.complete:
		q.fill = func(p []byte, off uint64) error { return s.copyBlocks(p, off, s.load) }
	default:
		stream, err := s.open()
		if err != nil {
			q.fill = func([]byte, uint64) error { return fmt.Errorf("decompress .debug_info: %w", err) }
			return q
		}
		var pos uint64
		s.stored, s.partial = nil, nil
		q.fill = func(p []byte, off uint64) error {
			if off != pos {
				return fmt.Errorf("compressed .debug_info read at 0x%x, stream at 0x%x", off, pos)
			}
			if _, err := io.ReadFull(stream, p); err != nil {
				return fmt.Errorf("decompress .debug_info at 0x%x: %w", off, err)
			}
			pos += uint64(len(p))
			return s.store(p)
		}
		q.release = func() { stream.Close() }
		q.finish = func() error {
			// Units do not fill the section: read the rest so that the
			// store is whole, a window at a time.
			var rest []byte
			for pos < s.size {
				n := min(s.size-pos, scanWindow)
				if uint64(cap(rest)) < n {
					rest = make([]byte, n)
				}
				if err := q.fill(rest[:n], pos); err != nil {
					return err
				}
			}
			return s.flush()
		}
	}
	return q
}

// store appends decompressed bytes to the recompressed store.
func (s *infoSource) store(p []byte) error {
	for len(p) > 0 {
		n := min(len(p), blockSize-len(s.partial))
		s.partial = append(s.partial, p[:n]...)
		p = p[n:]
		if len(s.partial) == blockSize {
			s.compressBlock()
		}
	}
	return nil
}

// compressBlock moves the partial block to the store, compressed into a
// slice of its exact size (the encoder's output has room for the worst case).
func (s *infoSource) compressBlock() {
	s.scratch = snappy.Encode(s.scratch[:cap(s.scratch)], s.partial)
	s.stored = append(s.stored, bytes.Clone(s.scratch))
	s.partial = s.partial[:0]
}

func (s *infoSource) flush() error {
	if len(s.partial) > 0 {
		s.compressBlock()
	}
	s.partial, s.scratch = nil, nil
	s.complete = true
	return nil
}

// seqReader serves increasing ranges of the section out of a large window.
type seqReader struct {
	fill    func(p []byte, off uint64) error
	finish  func() error // completes the first scan of a compressed section
	release func()       // frees the decompressor, when there is one
	buf     []byte
	start   uint64 // section offset of buf[0]
	size    uint64 // section size
}

// get returns n bytes at off; off must not be below the previous call's.
// The result is valid until the next call.
func (q *seqReader) get(off, n uint64) ([]byte, error) {
	if off > q.size || n > q.size-off {
		return nil, fmt.Errorf(".debug_info range 0x%x+0x%x out of bounds", off, n)
	}
	if off >= q.start && off+n <= q.start+uint64(len(q.buf)) {
		o := off - q.start
		return q.buf[o : o+n], nil
	}
	want := min(max(n, scanWindow), q.size-off)
	var kept uint64
	if off >= q.start && off < q.start+uint64(len(q.buf)) {
		kept = q.start + uint64(len(q.buf)) - off
	}
	var nb []byte
	if uint64(cap(q.buf)) >= want {
		nb = q.buf[:want]
	} else {
		nb = make([]byte, want)
	}
	if kept > 0 {
		copy(nb, q.buf[off-q.start:])
	}
	if err := q.fill(nb[kept:], off+kept); err != nil {
		q.buf, q.start = nil, 0
		return nil, err
	}
	q.buf, q.start = nb, off
	return q.buf[:n], nil
}
