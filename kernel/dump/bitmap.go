package dump

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"

	"github.com/vmcore-report/vmcore-report/internal/lru"
)

// Bitmaps of a kdump-compressed file: bit n (byte n/8, bit n%8, least
// significant first) stands for PFN n. A 1 TiB machine has 32 MiB bitmaps,
// so they are read in chunks through the part's metadata cache, never whole.

const bitmapChunkBytes = 256 << 10 // 2 Mi PFNs = 8 GiB of 4 KiB pages per read

type bitmap struct {
	r      io.ReaderAt
	off    int64 // file offset
	nbytes int64 // length in bytes
	meta   *lru.LRU[metaKey]
	key    metaKey // part and kind; idx is set per chunk
}

// chunk returns chunk ci, shorter than bitmapChunkBytes at the bitmap's end
// or where the file ends.
func (b *bitmap) chunk(ci int64) ([]byte, error) {
	k := b.key
	k.idx = ci
	if data, ok := b.meta.Get(k); ok {
		return data, nil
	}
	start := ci * bitmapChunkBytes
	if start >= b.nbytes {
		return nil, nil
	}
	buf := make([]byte, min(bitmapChunkBytes, b.nbytes-start))
	n, err := readMeta(b.r, buf, b.off+start)
	if n < len(buf) && err != nil && !isEOF(err) {
		return nil, fmt.Errorf("read bitmap at %#x: %w", b.off+start, err)
	}
	buf = buf[:n]
	b.meta.Add(k, buf)
	return buf, nil
}

// test reports bit i. Bits past the file's end are ErrTruncated.
func (b *bitmap) test(i uint64) (bool, error) {
	byteIdx := int64(i / 8)
	if byteIdx >= b.nbytes || byteIdx < 0 {
		return false, nil
	}
	ci := byteIdx / bitmapChunkBytes
	data, err := b.chunk(ci)
	if err != nil {
		return false, err
	}
	in := byteIdx - ci*bitmapChunkBytes
	if in >= int64(len(data)) {
		return false, fmt.Errorf("bitmap byte %#x beyond end of file: %w", b.off+byteIdx, ErrTruncated)
	}
	return data[in]>>(i%8)&1 != 0, nil
}

// count returns the number of set bits in [from, to).
func (b *bitmap) count(from, to uint64) (uint64, error) {
	if to > uint64(b.nbytes)*8 {
		return 0, fmt.Errorf("bitmap count to bit %#x past the bitmap's %#x: %w", to, b.nbytes*8, ErrCorrupt)
	}
	var total uint64
	for from < to {
		byteIdx := int64(from / 8)
		ci := byteIdx / bitmapChunkBytes
		data, err := b.chunk(ci)
		if err != nil {
			return 0, err
		}
		base := uint64(ci) * bitmapChunkBytes * 8 // first bit of the chunk
		stop := min(to, base+uint64(len(data))*8)
		if stop <= from {
			return 0, fmt.Errorf("bitmap byte %#x beyond end of file: %w", b.off+byteIdx, ErrTruncated)
		}
		total += countBits(data, from-base, stop-base)
		from = stop
	}
	return total, nil
}

// countBits counts the set bits [from, to) of data.
func countBits(data []byte, from, to uint64) uint64 {
	var n uint64
	for from < to && from%8 != 0 {
		n += uint64(data[from/8] >> (from % 8) & 1)
		from++
	}
	full := to / 8
	if from/8 < full {
		n += popcount8(data[from/8 : full])
		from = full * 8
	}
	for from < to {
		n += uint64(data[from/8] >> (from % 8) & 1)
		from++
	}
	return n
}

// maxRanges bounds the runs a bitmap walk returns (16 bytes each): a
// crafted bitmap of alternating bits would otherwise give four runs per
// byte of file.
const maxRanges = 1 << 20

// ranges lists the runs of set bits below limit, as PFN ranges. Where the
// file ends first, it returns the runs before that point and an error.
// Past maxRanges runs, later runs extend the last one.
func (b *bitmap) ranges(limit uint64) ([]pfnRange, error) {
	return b.runs(0, limit, math.MaxUint64, true)
}

// runs lists the runs of set bits in [from, limit), stopping once maxBits
// set bits are counted (the last run clipped there). Past maxRanges runs,
// later runs extend the last one when coalesce is set and are dropped when
// it is not.
func (b *bitmap) runs(from, limit, maxBits uint64, coalesce bool) ([]pfnRange, error) {
	if maxBits == 0 {
		return nil, nil
	}
	var out []pfnRange
	var err error
	limit = min(limit, uint64(b.nbytes)*8)
	inRun := false
	var runStart, bitsSeen uint64
	add := func(r pfnRange) {
		switch {
		case len(out) < maxRanges:
			out = append(out, r)
		case coalesce:
			out[len(out)-1].End = r.End
		}
	}
	for ci := int64(from / 8 / bitmapChunkBytes); uint64(ci)*bitmapChunkBytes*8 < limit; ci++ {
		var data []byte
		data, err = b.chunk(ci)
		base := uint64(ci) * bitmapChunkBytes * 8
		if err == nil && len(data) < bitmapChunkBytes && base+uint64(len(data))*8 < limit {
			err = fmt.Errorf("bitmap at %#x beyond end of file: %w", b.off+ci*bitmapChunkBytes+int64(len(data)), ErrTruncated)
		}
		if err != nil {
			limit = min(limit, base+uint64(len(data))*8)
		}
		for i, c := range data {
			bit := base + uint64(i)*8
			if bit >= limit {
				break
			}
			if bit+8 <= from {
				continue
			}
			if bit >= from && bit+8 <= limit && bitsSeen+8 < maxBits && (c == 0 && !inRun || c == 0xff && inRun) {
				bitsSeen += uint64(c & 1 * 8)
				continue
			}
			for j := uint64(0); j < 8 && bit+j < limit; j++ {
				if bit+j < from {
					continue
				}
				set := c>>j&1 != 0
				if set && !inRun {
					inRun, runStart = true, bit+j
				} else if !set && inRun {
					inRun = false
					add(pfnRange{runStart, bit + j})
				}
				if set {
					bitsSeen++
					if bitsSeen == maxBits {
						add(pfnRange{runStart, bit + j + 1})
						return out, err
					}
				}
			}
		}
		if err != nil {
			break
		}
	}
	if inRun {
		add(pfnRange{runStart, limit})
	}
	return out, err
}

type pfnRange struct{ Start, End uint64 }

// rankBlockBits is the granularity of the rank index: 4096 bits (512
// bitmap bytes); 1 TiB of 4 KiB pages needs 64 Ki prefix entries (512 KiB).
const rankBlockBits = 4096

// rankIndex answers "how many bits are set in [base, pfn)" — the index of
// pfn's page descriptor — from prefix sums per block, computed on demand in
// PFN order and reading the bitmap in chunks.
type rankIndex struct {
	bm        *bitmap
	base, end uint64   // counted range [base, end)
	first     uint64   // base rounded down to a block
	skip      uint64   // set bits in [first, base)
	prefix    []uint64 // prefix[k]: set bits in [first, first+k*rankBlockBits) ∩ [.., end)
	skipValid bool
}

func newRankIndex(bm *bitmap, base, end uint64) *rankIndex {
	first := base - base%rankBlockBits
	return &rankIndex{bm: bm, base: base, end: end, first: first, prefix: []uint64{0}}
}

// rank returns the number of set bits in [base, pfn), base <= pfn <= end.
func (ri *rankIndex) rank(pfn uint64) (uint64, error) {
	if pfn < ri.base || pfn > ri.end {
		return 0, fmt.Errorf("rank of pfn %#x outside [%#x, %#x): %w", pfn, ri.base, ri.end, ErrCorrupt)
	}
	if !ri.skipValid {
		s, err := ri.bm.count(ri.first, ri.base)
		if err != nil {
			return 0, err
		}
		ri.skip, ri.skipValid = s, true
	}
	k := (pfn - ri.first) / rankBlockBits
	for uint64(len(ri.prefix)) <= k {
		j := uint64(len(ri.prefix) - 1)
		lo := ri.first + j*rankBlockBits
		hi := min(lo+rankBlockBits, ri.end)
		c, err := ri.bm.count(lo, hi)
		if err != nil {
			return 0, err
		}
		ri.prefix = append(ri.prefix, ri.prefix[j]+c)
	}
	lo := ri.first + k*rankBlockBits
	partial := uint64(0)
	if pfn > lo {
		c, err := ri.bm.count(lo, pfn)
		if err != nil {
			return 0, err
		}
		partial = c
	}
	return ri.prefix[k] + partial - ri.skip, nil
}

// sparseReaderAt is a reader whose unwritten regions read as zeros, like a
// sparse file: the flattened format's inner file. Metadata (headers,
// bitmaps, descriptors) may be read that way, since a zero there can only
// make a page absent; page data may not.
type sparseReaderAt interface {
	readAtSparse(p []byte, off int64) (int, error)
}

// readMeta reads metadata at off; a short count comes with an error.
func readMeta(r io.ReaderAt, p []byte, off int64) (int, error) {
	if s, ok := r.(sparseReaderAt); ok {
		return s.readAtSparse(p, off)
	}
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return n, nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// mergeRanges turns spans into sorted, merged physical ranges.
func mergeRanges(spans []span) []Range {
	for i := range spans {
		spans[i].kind, spans[i].prio, spans[i].base = spanExcluded, 0, 0
	}
	pieces := overlay(spans)
	var out []Range
	for _, s := range pieces {
		if n := len(out); n > 0 && out[n-1].End >= s.start {
			out[n-1].End = max(out[n-1].End, s.end)
			continue
		}
		out = append(out, Range{Start: s.start, End: s.end})
	}
	return out
}

// popcount8 counts set bits in b.
func popcount8(b []byte) uint64 {
	var n int
	for len(b) >= 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	for _, c := range b {
		n += bits.OnesCount8(c)
	}
	return uint64(n)
}
