package dump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/vmcore-report/vmcore-report/internal/lru"
)

// The kdump-compressed format as makedumpfile writes it (diskdump_mod.h):
//
//	block 0             disk_dump_header
//	block 1…            kdump_sub_header, then the ELF notes it points at
//	1+sub_hdr_size      1st bitmap (page is RAM), then 2nd bitmap (page is dumped)
//	…+bitmap_blocks     page_desc per dumped page, in PFN order
//	then                page data (one shared zero page first with dump level bit 0)
//
// Field sizes follow the dumped machine: "long" is 4 or 8 bytes and the
// byte order is the machine's.

const kdumpSignature = "KDUMP   "

// newUtsname mirrors struct new_utsname: six NUL-padded 65-byte strings.
type newUtsname struct {
	Sysname, Nodename, Release, Version, Machine, Domainname [65]byte
}

// diskDumpHeader mirrors struct disk_dump_header of makedumpfile's
// diskdump_mod.h, field for field.
type diskDumpHeader struct {
	Signature      [8]byte
	HeaderVersion  int32
	Utsname        newUtsname
	Timestamp      [2]int64 // struct timeval: tv_sec, tv_usec (longs)
	Status         uint32
	BlockSize      int32
	SubHdrSize     int32 // in blocks
	BitmapBlocks   uint32
	MaxMapnr       uint32 // truncated to 32 bits; see kdumpSubHeader.MaxMapnr64
	TotalRAMBlocks uint32
	DeviceBlocks   uint32
	WrittenBlocks  uint32
	CurrentCPU     uint32
	NrCPUs         int32
}

// kdumpSubHeader mirrors struct kdump_sub_header of diskdump_mod.h; the
// comment on each field gives the header_version that added it.
type kdumpSubHeader struct {
	PhysBase         uint64 // unsigned long; 1
	DumpLevel        int32  // 1
	Split            int32  // 2
	StartPFN         uint64 // unsigned long; 2, obsolete for 32-bit machines
	EndPFN           uint64 // unsigned long; 2
	OffsetVmcoreinfo int64  // off_t; 3
	SizeVmcoreinfo   uint64 // unsigned long; 3
	OffsetNote       int64  // off_t; 4
	SizeNote         uint64 // unsigned long; 4
	OffsetEraseinfo  int64  // off_t; 5
	SizeEraseinfo    uint64 // unsigned long; 5
	StartPFN64       uint64 // 6
	EndPFN64         uint64 // 6
	MaxMapnr64       uint64 // 6
}

// pageDesc mirrors struct page_desc (24 bytes: off_t is 64-bit everywhere
// makedumpfile builds).
type pageDesc struct {
	Offset    int64
	Size      uint32
	Flags     uint32
	PageFlags uint64
}

const pageDescSize = 24

// field is an (offset, size) pair in an on-disk structure.
type field struct{ off, size int }

// kdumpLayout places the header fields for one word size and alignment.
type kdumpLayout struct {
	name                string
	long                int // sizeof(long) of the dumped machine
	timestamp, status   int // offsets in disk_dump_header
	headerSize          int
	physBase, dumpLevel field
	split, start, end   field
	offVmci, sizeVmci   field
	offNote, sizeNote   field
	offErase, sizeErase field
	start64, end64, max field
	subSize             int
}

var (
	layout64 = &kdumpLayout{
		name: "64-bit", long: 8, timestamp: 408, status: 424, headerSize: 464,
		physBase: field{0, 8}, dumpLevel: field{8, 4}, split: field{12, 4}, start: field{16, 8}, end: field{24, 8},
		offVmci: field{32, 8}, sizeVmci: field{40, 8}, offNote: field{48, 8}, sizeNote: field{56, 8},
		offErase: field{64, 8}, sizeErase: field{72, 8}, start64: field{80, 8}, end64: field{88, 8}, max: field{96, 8},
		subSize: 104,
	}
	// 32-bit machines whose 64-bit types are 4-byte aligned (i386).
	layout32Pack = &kdumpLayout{
		name: "32-bit", long: 4, timestamp: 404, status: 412, headerSize: 452,
		physBase: field{0, 4}, dumpLevel: field{4, 4}, split: field{8, 4}, start: field{12, 4}, end: field{16, 4},
		offVmci: field{20, 8}, sizeVmci: field{28, 4}, offNote: field{32, 8}, sizeNote: field{40, 4},
		offErase: field{44, 8}, sizeErase: field{52, 4}, start64: field{56, 8}, end64: field{64, 8}, max: field{72, 8},
		subSize: 80,
	}
	// 32-bit machines that align 64-bit types to 8 bytes (32-bit Arm).
	layout32Pad = &kdumpLayout{
		name: "32-bit padded", long: 4, timestamp: 404, status: 412, headerSize: 452,
		physBase: field{0, 4}, dumpLevel: field{4, 4}, split: field{8, 4}, start: field{12, 4}, end: field{16, 4},
		offVmci: field{24, 8}, sizeVmci: field{32, 4}, offNote: field{40, 8}, sizeNote: field{48, 4},
		offErase: field{56, 8}, sizeErase: field{64, 4}, start64: field{72, 8}, end64: field{80, 8}, max: field{88, 8},
		subSize: 96,
	}
)

// machines64 are utsname machine strings of 64-bit kernels.
var machines64 = map[string]bool{
	"x86_64": true, "aarch64": true, "arm64": true, "ppc64": true, "ppc64le": true, "s390x": true,
	"riscv64": true, "mips64": true, "loongarch64": true, "sparc64": true, "ia64": true, "alpha": true,
}

// machines32 are utsname machine strings of 32-bit kernels.
var machines32 = map[string]bool{
	"i386": true, "i486": true, "i586": true, "i686": true, "ppc": true, "s390": true, "mips": true,
	"riscv32": true, "sparc": true,
}

func getUint(b []byte, f field, bo binary.ByteOrder) uint64 {
	switch f.size {
	case 4:
		return uint64(bo.Uint32(b[f.off:]))
	default:
		return bo.Uint64(b[f.off:])
	}
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

const (
	minBlockSize = 512
	maxBlockSize = 1 << 20
)

func saneBlockSize(v uint32) bool {
	return v >= minBlockSize && v <= maxBlockSize && v&(v-1) == 0
}

// decodeDiskDumpHeader decodes block 0 and decides the word size and byte
// order of the dumped machine. It returns ErrNotThisFormat without the
// KDUMP signature.
//
// The header's fields check one another: where utsname's machine names a
// word size whose block_size is not sane but the other word size's is, the
// machine string is the damaged field; on x86_64 block_size must be the
// 4 KiB page size. Such repairs are returned as warnings.
func decodeDiskDumpHeader(b []byte) (h diskDumpHeader, l *kdumpLayout, bo binary.ByteOrder, warnings []string, err error) {
	h, l, bo, err = decodeDiskDumpHeaderFields(b, &warnings)
	return h, l, bo, warnings, err
}

func decodeDiskDumpHeaderFields(b []byte, warnings *[]string) (diskDumpHeader, *kdumpLayout, binary.ByteOrder, error) {
	var h diskDumpHeader
	if len(b) < 8 || string(b[:8]) != kdumpSignature {
		return h, nil, nil, ErrNotThisFormat
	}
	if len(b) < layout32Pack.headerSize {
		return h, nil, nil, formatErr(0, "kdump header: file ends inside disk_dump_header", len(b))
	}
	// header_version is small, which tells the byte order.
	var bo binary.ByteOrder = binary.LittleEndian
	if v := binary.LittleEndian.Uint32(b[8:]); v > 0xffff {
		if binary.BigEndian.Uint32(b[8:]) > 0xffff {
			return h, nil, nil, formatErr(8, "kdump header: bad header_version", v)
		}
		bo = binary.BigEndian
	}
	copy(h.Signature[:], b)
	h.HeaderVersion = int32(bo.Uint32(b[8:]))
	for i, s := range []*[65]byte{&h.Utsname.Sysname, &h.Utsname.Nodename, &h.Utsname.Release,
		&h.Utsname.Version, &h.Utsname.Machine, &h.Utsname.Domainname} {
		copy(s[:], b[12+65*i:])
	}

	machine := cString(h.Utsname.Machine[:])
	sane64 := len(b) >= layout64.headerSize && saneBlockSize(bo.Uint32(b[layout64.status+4:]))
	sane32 := saneBlockSize(bo.Uint32(b[layout32Pack.status+4:]))
	var l *kdumpLayout
	switch {
	case machines64[machine] && len(b) >= layout64.headerSize && (sane64 || !sane32):
		l = layout64
	case (machines32[machine] || len(machine) >= 3 && machine[:3] == "arm") && (sane32 || !sane64):
		l = layout32Pack
	case machines64[machine] || machines32[machine] || len(machine) >= 3 && machine[:3] == "arm":
		// The machine's word size gives a bad block_size and the other a
		// good one: the machine string is what is wrong.
		l = layout64
		if !sane64 {
			l = layout32Pack
		}
		*warnings = append(*warnings, fmt.Sprintf("kdump header: utsname machine %q does not fit the header's layout; read as %s", machine, l.name))
	default:
		// Unknown machine (QEMU may leave utsname empty): the layout whose
		// block_size is sane wins.
		if len(b) >= layout64.headerSize && saneBlockSize(bo.Uint32(b[layout64.status+4:])) {
			l = layout64
		} else if saneBlockSize(bo.Uint32(b[layout32Pack.status+4:])) {
			l = layout32Pack
		} else {
			return h, nil, nil, formatErr(int64(layout64.status+4), "kdump header: no sane block_size in either word size", bo.Uint32(b[layout64.status+4:]))
		}
	}
	if len(b) < l.headerSize {
		return h, nil, nil, formatErr(0, "kdump header: file ends inside disk_dump_header", len(b))
	}
	if l.long == 8 {
		h.Timestamp = [2]int64{int64(bo.Uint64(b[l.timestamp:])), int64(bo.Uint64(b[l.timestamp+8:]))}
	} else {
		h.Timestamp = [2]int64{int64(int32(bo.Uint32(b[l.timestamp:]))), int64(int32(bo.Uint32(b[l.timestamp+4:])))}
	}
	o := l.status
	h.Status = bo.Uint32(b[o:])
	h.BlockSize = int32(bo.Uint32(b[o+4:]))
	h.SubHdrSize = int32(bo.Uint32(b[o+8:]))
	h.BitmapBlocks = bo.Uint32(b[o+12:])
	h.MaxMapnr = bo.Uint32(b[o+16:])
	h.TotalRAMBlocks = bo.Uint32(b[o+20:])
	h.DeviceBlocks = bo.Uint32(b[o+24:])
	h.WrittenBlocks = bo.Uint32(b[o+28:])
	h.CurrentCPU = bo.Uint32(b[o+32:])
	h.NrCPUs = int32(bo.Uint32(b[o+36:]))

	if h.HeaderVersion < 0 {
		return h, nil, nil, formatErr(8, "kdump header: negative header_version", h.HeaderVersion)
	}
	if !saneBlockSize(uint32(h.BlockSize)) {
		return h, nil, nil, formatErr(int64(o+4), "kdump header: bad block_size", h.BlockSize)
	}
	// makedumpfile's block_size is the page size, which on x86_64 is
	// always 4 KiB; any other value there is a damaged field, and reading
	// the sub header and bitmaps at its multiples would give garbage.
	if machine == "x86_64" && h.BlockSize != 4096 && l == layout64 {
		*warnings = append(*warnings, fmt.Sprintf("kdump header: block_size %d is not the x86_64 page size; read as 4096", h.BlockSize))
		h.BlockSize = 4096
	}
	if h.SubHdrSize < 0 || h.SubHdrSize > 1<<24 {
		return h, nil, nil, formatErr(int64(o+8), "kdump header: bad sub_hdr_size", h.SubHdrSize)
	}
	if h.BitmapBlocks == 0 {
		return h, nil, nil, formatErr(int64(o+12), "kdump header: no bitmap blocks", h.BitmapBlocks)
	}
	return h, l, bo, nil
}

// subHeaderSize is how many bytes of kdump_sub_header hold the fields of
// header_version.
func (l *kdumpLayout) subHeaderSize(version int32) int {
	last := l.dumpLevel
	switch {
	case version >= 6:
		last = l.max
	case version == 5:
		last = l.sizeErase
	case version == 4:
		last = l.sizeNote
	case version == 3:
		last = l.sizeVmci
	case version == 2:
		last = l.end
	case version <= 0:
		return 0
	}
	return last.off + last.size
}

// decodeKdumpSubHeader decodes the fields that header_version has, from
// the sub-header bytes b (read at offset block_size).
func decodeKdumpSubHeader(b []byte, l *kdumpLayout, bo binary.ByteOrder, version int32) kdumpSubHeader {
	var s kdumpSubHeader
	get := func(f field) uint64 {
		if f.off+f.size > len(b) {
			return 0
		}
		return getUint(b, f, bo)
	}
	if version >= 1 {
		s.PhysBase = get(l.physBase)
		s.DumpLevel = int32(get(l.dumpLevel))
	}
	if version >= 2 {
		s.Split = int32(get(l.split))
		s.StartPFN = get(l.start)
		s.EndPFN = get(l.end)
	}
	if version >= 3 {
		s.OffsetVmcoreinfo = int64(get(l.offVmci))
		s.SizeVmcoreinfo = get(l.sizeVmci)
	}
	if version >= 4 {
		s.OffsetNote = int64(get(l.offNote))
		s.SizeNote = get(l.sizeNote)
	}
	if version >= 5 {
		s.OffsetEraseinfo = int64(get(l.offErase))
		s.SizeEraseinfo = get(l.sizeErase)
	}
	if version >= 6 {
		s.StartPFN64 = get(l.start64)
		s.EndPFN64 = get(l.end64)
		s.MaxMapnr64 = get(l.max)
	}
	return s
}

// pick32Layout tells the i386 packing from the 32-bit Arm padding by
// whether the VMCOREINFO and note offsets each would give land inside the
// sub-header blocks, where makedumpfile puts them.
func pick32Layout(b []byte, bo binary.ByteOrder, version int32, blockSize, subEnd int64) *kdumpLayout {
	if version < 3 {
		return layout32Pack // identical up to version 2
	}
	plausible := func(l *kdumpLayout) bool {
		s := decodeKdumpSubHeader(b, l, bo, version)
		ok := func(off int64, size uint64) bool {
			return (off == 0 && size == 0) || (off >= blockSize && size <= uint64(subEnd) && off <= subEnd-int64(size))
		}
		return ok(s.OffsetVmcoreinfo, s.SizeVmcoreinfo) && (version < 4 || ok(s.OffsetNote, s.SizeNote))
	}
	if !plausible(layout32Pack) && plausible(layout32Pad) {
		return layout32Pad
	}
	return layout32Pack
}

// metaKey names a cached chunk of bitmap or descriptor table.
type metaKey struct {
	part int32
	kind uint8
	idx  int64
}

const (
	metaBitmap1 = iota
	metaBitmap2
	metaDesc
)

// descChunk is how many page descriptors one read fetches (384 KiB).
const descChunk = 16384

// eagerRankLimit: a 2nd bitmap up to this many bytes is counted at open
// (8 MiB covers 256 GiB of 4 KiB pages), which gives the number of dumped
// pages and lets Open see a truncated file at once.
const eagerRankLimit = 8 << 20

// kdumpPart is one kdump-compressed file: a whole dump or one --split part.
type kdumpPart struct {
	idx        int
	name       string
	r          io.ReaderAt // page data; holes and EOF are errors
	size       int64
	flat       *flatReader // set when r is a flattened stream's inner file
	bo         binary.ByteOrder
	layout     *kdumpLayout
	hdr        diskDumpHeader
	sub        kdumpSubHeader
	blockSize  int64
	maxPFN     uint64
	startPFN   uint64
	endPFN     uint64 // exclusive
	split      bool
	bm1, bm2   *bitmap
	rank       *rankIndex
	descOff    int64
	dumped     int64 // pages in the 2nd bitmap within [startPFN, endPFN); -1 unknown
	truncated  bool
	wantSize   int64 // end of the last page data described; 0 unknown
	notes      []Note
	vmcoreinfo []byte
	warnings   []string
	meta       *lru.LRU[metaKey]
	// notesProblem and vmcoreinfoProblem say why the notes or the
	// VMCOREINFO blob the sub header points at could not be read whole.
	notesProblem, vmcoreinfoProblem string
}

// openKdumpPart reads a kdump-compressed file's headers, notes and
// VMCOREINFO; bitmaps and descriptors are read later, in chunks, through
// meta.
func openKdumpPart(name string, r io.ReaderAt, size int64, idx int, meta *lru.LRU[metaKey]) (*kdumpPart, error) {
	head := make([]byte, layout64.headerSize)
	n, err := readMeta(r, head, 0)
	if n < 8 {
		if err != nil && !isEOF(err) {
			return nil, fmt.Errorf("read kdump header: %w", err)
		}
		return nil, ErrNotThisFormat
	}
	h, l, bo, hw, err := decodeDiskDumpHeader(head[:n])
	if err != nil {
		return nil, err
	}
	p := &kdumpPart{idx: idx, name: name, r: r, size: size, bo: bo, layout: l, hdr: h,
		blockSize: int64(h.BlockSize), dumped: -1, meta: meta, warnings: hw}
	if fr, ok := r.(*flatReader); ok {
		p.flat = fr
	}
	bs := p.blockSize
	subEnd := (1 + int64(h.SubHdrSize)) * bs
	if h.HeaderVersion >= 1 {
		sb := make([]byte, 128)
		m, err := readMeta(r, sb, bs)
		sb = sb[:m]
		if l.long == 4 {
			l = pick32Layout(sb, bo, h.HeaderVersion, bs, subEnd)
			p.layout = l
		}
		if need := l.subHeaderSize(h.HeaderVersion); m < need {
			if err == nil || isEOF(err) {
				err = ErrTruncated
			}
			return nil, fmt.Errorf("read kdump sub header (%d of %d bytes) at %#x: %w", m, need, bs, err)
		}
		p.sub = decodeKdumpSubHeader(sb, l, bo, h.HeaderVersion)
	}
	if h.HeaderVersion >= 2 && p.sub.Split != 0 {
		p.split = true
	}

	maxMapnr := uint64(h.MaxMapnr)
	if h.HeaderVersion >= 6 && p.sub.MaxMapnr64 != 0 {
		maxMapnr = p.sub.MaxMapnr64
	}
	bitmapLen := int64(h.BitmapBlocks) * bs / 2
	if capacity := uint64(bitmapLen) * 8; maxMapnr > capacity {
		p.warnings = append(p.warnings, fmt.Sprintf("max_mapnr %#x exceeds the bitmap's %#x bits; clamped", maxMapnr, capacity))
		maxMapnr = capacity
	}
	p.maxPFN = maxMapnr
	p.startPFN, p.endPFN = 0, maxMapnr
	if p.split {
		start, end := p.sub.StartPFN, p.sub.EndPFN
		if h.HeaderVersion >= 6 {
			start, end = p.sub.StartPFN64, p.sub.EndPFN64
		}
		end = min(end, maxMapnr)
		if start > end {
			return nil, formatErr(bs+int64(l.start.off),
				fmt.Sprintf("kdump sub header (read at block_size %d): split start_pfn after end_pfn; the sub header or the block_size it is found by is damaged", bs),
				fmt.Sprintf("%#x > %#x", start, end))
		}
		p.startPFN, p.endPFN = start, end
	}

	bm1Off := subEnd
	p.bm1 = &bitmap{r: r, off: bm1Off, nbytes: bitmapLen, meta: meta, key: metaKey{part: int32(idx), kind: metaBitmap1}}
	p.bm2 = &bitmap{r: r, off: bm1Off + bitmapLen, nbytes: bitmapLen, meta: meta, key: metaKey{part: int32(idx), kind: metaBitmap2}}
	p.rank = newRankIndex(p.bm2, p.startPFN, p.endPFN)
	p.descOff = subEnd + int64(h.BitmapBlocks)*bs

	if h.HeaderVersion >= 3 && p.sub.SizeVmcoreinfo > 0 {
		b, err := readBlob(r, size, p.sub.OffsetVmcoreinfo, p.sub.SizeVmcoreinfo, 16<<20)
		if err != nil {
			p.vmcoreinfoProblem = fmt.Sprintf("VMCOREINFO (%d bytes at %#x): %v", p.sub.SizeVmcoreinfo, p.sub.OffsetVmcoreinfo, err)
			p.warnings = append(p.warnings, p.vmcoreinfoProblem)
		} else {
			p.vmcoreinfo = trimVMCOREINFO(b)
		}
	}
	if h.HeaderVersion >= 4 && p.sub.SizeNote > 0 {
		b, err := readBlob(r, size, p.sub.OffsetNote, p.sub.SizeNote, maxNotesSize)
		if err != nil {
			p.notesProblem = fmt.Sprintf("notes (%d bytes at %#x): %v", p.sub.SizeNote, p.sub.OffsetNote, err)
		} else if ns, prob := parseNotes(b, bo); prob != "" {
			p.notes, p.notesProblem = ns, "notes: "+prob
		} else {
			p.notes = ns
		}
		if p.notesProblem != "" {
			p.warnings = append(p.warnings, p.notesProblem)
		}
	}

	if size < p.descOff {
		p.truncated = true
	}
	if (p.endPFN-p.startPFN)/8 <= eagerRankLimit {
		p.checkEnd()
	}
	return p, nil
}

// checkEnd counts the dumped pages and checks that the data of the last
// descriptor chunk is inside the file. Data offsets grow with the PFN
// except for references to the shared zero page, hence the whole chunk.
func (p *kdumpPart) checkEnd() {
	total, err := p.rank.rank(p.endPFN)
	if err != nil {
		p.truncated = true
		return
	}
	p.dumped = int64(total)
	if total == 0 {
		return
	}
	if p.descOff+p.dumped*pageDescSize > p.size {
		p.truncated = true
		p.wantSize = p.descOff + p.dumped*pageDescSize
		return
	}
	ci := int64((total - 1) / descChunk)
	data, err := p.descChunk(ci)
	if err != nil || int64(len(data)) < (p.dumped-ci*descChunk)*pageDescSize {
		p.truncated = true
		return
	}
	for b := data; len(b) >= pageDescSize; b = b[pageDescSize:] {
		d := p.decodeDesc(b)
		if d.Offset <= 0 || d.Offset > 1<<62 || d.Size > 1<<30 {
			p.truncated = true
			return
		}
		p.wantSize = max(p.wantSize, d.Offset+int64(d.Size))
	}
	if p.wantSize > p.size {
		p.truncated = true
	}
}

// readBlob reads size bytes at off of a file of fileSize bytes, refusing
// sizes over limit.
func readBlob(r io.ReaderAt, fileSize, off int64, size, limit uint64) ([]byte, error) {
	if size > limit || off < 0 {
		return nil, fmt.Errorf("bad offset %#x or size %#x", off, size)
	}
	if off > fileSize || int64(size) > fileSize-off {
		return nil, fmt.Errorf("%#x bytes at %#x beyond end of file: %w", size, off, ErrTruncated)
	}
	b := make([]byte, size)
	// Not readMeta: a blob the header declares is data, not padding, so
	// bytes a flattened stream never wrote are missing, not zeros (issue
	// 17: a record moved elsewhere left the notes reading as zeros, and
	// VMCOREINFO was taken from memory without a word).
	n, err := r.ReadAt(b, off)
	if n < len(b) {
		if err == nil || isEOF(err) {
			err = ErrTruncated
		}
		return nil, fmt.Errorf("read %d bytes at %#x: %w", size, off, err)
	}
	return b, nil
}

// descChunk returns descriptor chunk ci (descChunk descriptors, fewer at
// the table's or the file's end), reading it on a miss.
func (p *kdumpPart) descChunk(ci int64) ([]byte, error) {
	k := metaKey{part: int32(p.idx), kind: metaDesc, idx: ci}
	if data, ok := p.meta.Get(k); ok {
		return data, nil
	}
	n := int64(descChunk)
	if p.dumped >= 0 {
		n = min(n, p.dumped-ci*descChunk)
	}
	if n <= 0 {
		return nil, fmt.Errorf("page descriptor chunk %d beyond the table's %d descriptors: %w", ci, p.dumped, ErrCorrupt)
	}
	off := p.descOff + ci*descChunk*pageDescSize
	buf := make([]byte, n*pageDescSize)
	m, err := readMeta(p.r, buf, off)
	if m < len(buf) && err != nil && !isEOF(err) && !errors.Is(err, ErrTruncated) {
		return nil, fmt.Errorf("read page descriptors at %#x: %w", off, err)
	}
	data := buf[:m-m%pageDescSize]
	p.meta.Add(k, data)
	return data, nil
}

// desc returns page descriptor i of the table.
func (p *kdumpPart) desc(i uint64) (pageDesc, error) {
	data, err := p.descChunk(int64(i / descChunk))
	if err != nil {
		return pageDesc{}, err
	}
	in := int64(i%descChunk) * pageDescSize
	if in+pageDescSize > int64(len(data)) {
		p.truncated = true
		return pageDesc{}, fmt.Errorf("page descriptor %d beyond end of file: %w", i, ErrTruncated)
	}
	return p.decodeDesc(data[in:]), nil
}

func (p *kdumpPart) decodeDesc(b []byte) pageDesc {
	return pageDesc{
		Offset:    int64(p.bo.Uint64(b[0:])),
		Size:      p.bo.Uint32(b[8:]),
		Flags:     p.bo.Uint32(b[12:]),
		PageFlags: p.bo.Uint64(b[16:]),
	}
}

func (p *kdumpPart) utsname() Utsname {
	u := &p.hdr.Utsname
	return Utsname{
		Sysname: cString(u.Sysname[:]), Nodename: cString(u.Nodename[:]), Release: cString(u.Release[:]),
		Version: cString(u.Version[:]), Machine: cString(u.Machine[:]), Domainname: cString(u.Domainname[:]),
	}
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
