package dump

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/vmcore-report/vmcore-report/internal/lru"
)

// Reading pages of kdump-compressed dumps: PFN → 2nd bitmap → rank →
// page_desc → data, decoded pages kept in a byte-bounded LRU.

// kdumpMem serves physical reads from one or more kdump parts.
type kdumpMem struct {
	parts    []*kdumpPart // sorted by startPFN, disjoint
	pageSize uint64
	maxPFN   uint64
	pages    *lru.LRU[pageKey]
	meta     *lru.LRU[metaKey]
	dec      decoder
	scratch  []byte
	free     [][]byte
	seen     uint32 // compression flags met in descriptors
	// hot remembers the decoded page of recently read PFNs, so that the
	// many small reads of one structure skip the bitmap, rank and
	// descriptor lookups. Entries point into the LRU's pages and are
	// dropped when the LRU evicts (and recycles) those.
	hot [hotPages]hotPage
}

const hotPages = 256 // a power of two

type hotPage struct {
	pfn  uint64 // +1; 0 is an empty slot
	data []byte
}

func (m *kdumpMem) remember(pfn uint64, page []byte) {
	m.hot[pfn&(hotPages-1)] = hotPage{pfn: pfn + 1, data: page}
}

func (m *kdumpMem) forget(page []byte) {
	if len(page) == 0 {
		return
	}
	for i := range m.hot {
		if h := &m.hot[i]; len(h.data) > 0 && &h.data[0] == &page[0] {
			*h = hotPage{}
		}
	}
}

// pageKey names a decoded page by where its data is, so the pages that
// share makedumpfile's zero page share one cache entry.
type pageKey struct {
	part  int32
	flags uint32
	off   int64
	size  uint32
}

const (
	defaultPageCache = 64 << 20
	defaultMetaCache = 16 << 20
	maxRunBytes      = 1 << 20 // page data read in one go
)

func newKdumpMem(parts []*kdumpPart, meta *lru.LRU[metaKey]) *kdumpMem {
	m := &kdumpMem{parts: parts, pageSize: uint64(parts[0].blockSize), maxPFN: parts[0].maxPFN,
		pages: lru.New[pageKey](defaultPageCache), meta: meta}
	m.pages.OnEvict = func(b []byte) {
		m.forget(b)
		if len(m.free) < 64 && uint64(cap(b)) >= m.pageSize {
			m.free = append(m.free, b[:m.pageSize])
		}
	}
	return m
}

func (m *kdumpMem) setCacheSize(bytes int64) { m.pages.SetMax(bytes) }

func (m *kdumpMem) close() {
	m.dec.close()
	m.pages = lru.New[pageKey](m.pages.Max())
	m.meta = lru.New[metaKey](m.meta.Max())
	m.hot = [hotPages]hotPage{}
	for _, p := range m.parts {
		p.meta = m.meta
		p.bm1.meta, p.bm2.meta = m.meta, m.meta
	}
}

func (m *kdumpMem) partFor(pfn uint64) *kdumpPart {
	for _, p := range m.parts {
		if pfn >= p.startPFN && pfn < p.endPFN {
			return p
		}
	}
	return nil
}

// pageLoc says where a page's data is.
type pageLoc struct {
	part *kdumpPart
	pfn  uint64
	d    pageDesc
}

func (l pageLoc) key() pageKey {
	return pageKey{part: int32(l.part.idx), flags: l.d.Flags, off: l.d.Offset, size: l.d.Size}
}

// locate finds the descriptor of pfn: 2nd bitmap, then its rank, then the
// descriptor. The error says why a page is not there.
func (m *kdumpMem) locate(pfn uint64) (pageLoc, error) {
	if pfn >= m.maxPFN {
		return pageLoc{}, ErrNoMemory
	}
	p := m.partFor(pfn)
	if p == nil {
		if in1, err := m.parts[0].bm1.test(pfn); err == nil && !in1 {
			return pageLoc{}, ErrNoMemory
		}
		return pageLoc{}, fmt.Errorf("pfn %#x is in no split part given: %w", pfn, ErrTruncated)
	}
	in2, err := p.bm2.test(pfn)
	if err != nil {
		p.truncated = true
		return pageLoc{}, fmt.Errorf("2nd bitmap: %w", err)
	}
	if !in2 {
		in1, err := p.bm1.test(pfn)
		if err != nil {
			p.truncated = true
			return pageLoc{}, fmt.Errorf("1st bitmap: %w", err)
		}
		if in1 {
			return pageLoc{}, ErrExcluded
		}
		return pageLoc{}, ErrNoMemory
	}
	idx, err := p.rank.rank(pfn)
	if err != nil {
		p.truncated = true
		return pageLoc{}, fmt.Errorf("2nd bitmap rank: %w", err)
	}
	d, err := p.desc(idx)
	if err != nil {
		return pageLoc{}, err
	}
	if d.Offset == 0 || d.Size == 0 {
		// makedumpfile zeroes the descriptors it could not complete.
		p.truncated = true
		return pageLoc{}, fmt.Errorf("page descriptor %d empty: %w", idx, ErrTruncated)
	}
	if d.Offset < 0 || uint64(d.Size) > 2*m.pageSize || d.Offset > math.MaxInt64-int64(d.Size) {
		return pageLoc{}, fmt.Errorf("page descriptor %d: offset %#x size %#x: %w", idx, d.Offset, d.Size, ErrCorrupt)
	}
	m.seen |= d.Flags & compressionMask
	return pageLoc{part: p, pfn: pfn, d: d}, nil
}

// readPhys implements ReadPhysAt: page by page, from the cache or from
// runs of pages whose data lie back to back in the file.
func (m *kdumpMem) readPhys(p []byte, addr uint64) (int, error) {
	ps := m.pageSize
	n := 0
	for n < len(p) {
		a := addr + uint64(n)
		if a < addr {
			return n, &FaultError{Addr: a, Err: ErrNoMemory}
		}
		pfn, in := a/ps, a%ps
		if h := &m.hot[pfn&(hotPages-1)]; h.pfn == pfn+1 {
			n += copy(p[n:], h.data[in:])
			continue
		}
		loc, err := m.locate(pfn)
		if err != nil {
			return n, &FaultError{Addr: a, Err: err}
		}
		if pg, ok := m.pages.Get(loc.key()); ok {
			m.remember(pfn, pg)
			n += copy(p[n:], pg[in:])
			continue
		}
		need := in + uint64(len(p)-n) // bytes wanted from the start of this page
		run := []pageLoc{loc}
		end := loc.d.Offset + int64(loc.d.Size)
		for k := uint64(1); k*ps < need && end-loc.d.Offset < maxRunBytes; k++ {
			next, err := m.locate(pfn + k)
			if err != nil || next.part != loc.part || next.d.Offset != end {
				break
			}
			if _, ok := m.pages.Get(next.key()); ok {
				break
			}
			run = append(run, next)
			end += int64(next.d.Size)
		}
		done, err := m.readRun(run, p[n:], in)
		n += done
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readRun reads the data of run in one call, decodes each page into the
// cache and copies it to dst (the first page from byte in on). It returns
// the bytes copied and, for the first page it could not serve, a
// *FaultError.
func (m *kdumpMem) readRun(run []pageLoc, dst []byte, in uint64) (int, error) {
	ps := m.pageSize
	part := run[0].part
	start := run[0].d.Offset
	last := run[len(run)-1].d
	end := last.Offset + int64(last.Size)
	if int64(cap(m.scratch)) < end-start {
		m.scratch = make([]byte, end-start)
	}
	buf := m.scratch[:end-start]
	got := 0
	var rerr error
	if start < part.size {
		got, rerr = part.r.ReadAt(buf[:min(end, part.size)-start], start)
	}
	n := 0
	for i, loc := range run {
		addr := loc.pfn * ps
		if i == 0 {
			addr += in
		}
		off := loc.d.Offset - start
		if off+int64(loc.d.Size) > int64(got) {
			part.truncated = true
			var err error
			switch {
			case loc.d.Offset+int64(loc.d.Size) > part.size:
				err = fmt.Errorf("page data at %#x+%#x beyond end of file (%#x bytes): %w",
					loc.d.Offset, loc.d.Size, part.size, ErrTruncated)
			case rerr != nil && !isEOF(rerr):
				err = fmt.Errorf("read page data at %#x: %w", loc.d.Offset, rerr)
			default:
				err = fmt.Errorf("page data at %#x cut short: %w", loc.d.Offset, ErrTruncated)
			}
			return n, &FaultError{Addr: addr, Err: err}
		}
		page := m.pageBuf()
		if err := m.dec.decode(loc.d.Flags, buf[off:off+int64(loc.d.Size)], page); err != nil {
			return n, &FaultError{Addr: addr, Err: fmt.Errorf("pfn %#x, data at %#x: %w", loc.pfn, loc.d.Offset, err)}
		}
		if i == 0 {
			n += copy(dst[n:], page[in:])
		} else {
			n += copy(dst[n:], page)
		}
		m.pages.Add(loc.key(), page)
		m.remember(loc.pfn, page)
	}
	return n, nil
}

func (m *kdumpMem) pageBuf() []byte {
	if k := len(m.free); k > 0 {
		b := m.free[k-1]
		m.free = m.free[:k-1]
		return b
	}
	return make([]byte, m.pageSize)
}

// physRanges lists the RAM the 1st bitmaps mark, merged over all parts.
func (m *kdumpMem) physRanges() ([]Range, error) {
	var spans []span
	var firstErr error
	for _, p := range m.parts {
		rs, err := p.bm1.ranges(m.maxPFN)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: 1st bitmap: %w", p.name, err)
		}
		for _, r := range rs {
			spans = append(spans, span{start: r.Start * m.pageSize, end: r.End * m.pageSize})
		}
	}
	return mergeRanges(spans), firstErr
}

// dataRanges lists the pages whose data the files hold: the runs of the
// 2nd bitmap within each part's PFN range, clipped after as many pages as
// the part has page descriptors in its file.
func (m *kdumpMem) dataRanges() []Range {
	var spans []span
	for _, p := range m.parts {
		descs := uint64(0)
		if p.size > p.descOff {
			descs = uint64(p.size-p.descOff) / pageDescSize
		}
		rs, _ := p.bm2.runs(p.startPFN, p.endPFN, descs, false)
		for _, r := range rs {
			spans = append(spans, span{start: r.Start * m.pageSize, end: r.End * m.pageSize})
		}
	}
	return mergeRanges(spans)
}

func (m *kdumpMem) updateInfo(info *Info) {
	info.CompressionsSeen = compressionNames(m.seen)
	for i, p := range m.parts {
		if p.truncated {
			info.Truncated = true
			if i < len(info.Parts) {
				info.Parts[i].Truncated = true
			}
		}
	}
}

// kdumpInfo describes the dump from its first part's headers.
func kdumpInfo(parts []*kdumpPart) Info {
	p := parts[0]
	h := &p.hdr
	info := Info{
		Format:        "kdump",
		Compression:   compressionName(h.Status),
		DumpLevel:     -1,
		Incomplete:    h.Status&dumpDHCompressedIncomplete != 0,
		PageSize:      int(h.BlockSize),
		MaxPFN:        p.maxPFN,
		HeaderVersion: int(h.HeaderVersion),
		WordSize:      p.layout.long,
		BigEndian:     p.bo == binary.BigEndian,
		Utsname:       p.utsname(),
		Timestamp:     time.Unix(h.Timestamp[0], h.Timestamp[1]*1000).UTC(),
		Status:        h.Status,
		NrCPUs:        int(h.NrCPUs),
		CurrentCPU:    int(h.CurrentCPU),
		DumpedPages:   0,
		Split:         p.split,
	}
	info.Machine = info.Utsname.Machine
	if h.HeaderVersion >= 1 {
		info.DumpLevel = int(p.sub.DumpLevel)
		info.PhysBase = p.sub.PhysBase
		info.HasPhysBase = true
	}
	if h.HeaderVersion >= 5 {
		info.EraseInfoSize = int64(p.sub.SizeEraseinfo)
	}
	for _, q := range parts {
		if q.hdr.Status&dumpDHCompressedIncomplete != 0 {
			info.Incomplete = true
		}
		if q.dumped < 0 || info.DumpedPages < 0 {
			info.DumpedPages = -1
		} else {
			info.DumpedPages += q.dumped
		}
		pi := PartInfo{Name: q.name, Size: q.size, StartPFN: q.startPFN, EndPFN: q.endPFN,
			Split: q.split, Truncated: q.truncated, Flattened: q.flat != nil, WantSize: q.wantSize}
		if q.flat != nil {
			pi.Size = q.flat.fileSize
			pi.FlatRecords = len(q.flat.segs)
			pi.WantSize = 0 // the offsets are the inner file's
			if q.flat.truncated {
				pi.Truncated = true
			}
			for _, w := range q.flat.warnings {
				info.Warnings = append(info.Warnings, q.name+": "+w)
			}
		}
		info.Parts = append(info.Parts, pi)
		info.Truncated = info.Truncated || pi.Truncated
		for _, w := range q.warnings {
			info.Warnings = append(info.Warnings, q.name+": "+w)
		}
	}
	return info
}
