package dump

// Builders of synthetic dumps for the tests: small kdump-compressed files
// of every header version and layout, ELF cores and flattened streams,
// written the way makedumpfile and QEMU write them.

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
)

// pageContent is the deterministic content of a synthetic page: every
// fifth page is zero, some are random (incompressible), the rest text.
func pageContent(pfn uint64, ps int) []byte {
	b := make([]byte, ps)
	switch pfn % 5 {
	case 0:
	case 1:
		r := rand.New(rand.NewPCG(pfn, 7))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
	default:
		var w bytes.Buffer
		for i := 0; w.Len() < ps; i++ {
			fmt.Fprintf(&w, "pfn %#x line %d of a synthetic page\n", pfn, i)
		}
		copy(b, w.Bytes())
	}
	return b
}

// lzoLiteral encodes src as an LZO1X stream of literals only: a literal
// run (the first-byte form for 5..238 bytes, else the long form: 0..15 =
// length-3, or 0, zero bytes counting 255 each and a final byte) and the
// end-of-stream M4 (0x11 0x00 0x00).
func lzoLiteral(src []byte) []byte {
	var out []byte
	switch l := len(src); {
	case l == 0:
	case l <= 3:
		out = append(out, byte(17+l))
	case l <= 238 && l >= 5:
		out = append(out, byte(17+l))
	case l-3 <= 15:
		out = append(out, byte(l-3))
	default:
		out = append(out, 0)
		rest := l - 18
		for rest > 255 {
			out = append(out, 0)
			rest -= 255
		}
		out = append(out, byte(rest))
	}
	out = append(out, src...)
	return append(out, 0x11, 0, 0)
}

var (
	testZstdEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
)

// compressPage compresses page with the codec of flags, falling back to
// raw (flags 0) when it does not shrink, as makedumpfile does.
func compressPage(flags uint32, page []byte) ([]byte, uint32) {
	var out []byte
	switch flags {
	case dumpDHCompressedZlib:
		var b bytes.Buffer
		w, _ := zlib.NewWriterLevel(&b, zlib.BestSpeed)
		w.Write(page)
		w.Close()
		out = b.Bytes()
	case dumpDHCompressedLZO:
		out = lzoLiteral(page)
	case dumpDHCompressedSnappy:
		out = snappy.Encode(nil, page)
	case dumpDHCompressedZstd:
		out = testZstdEnc.EncodeAll(page, nil)
	default:
		return page, 0
	}
	if flags != dumpDHCompressedLZO && len(out) >= len(page) {
		return page, 0
	}
	return out, flags
}

// note encodes one ELF note with 4-byte padding.
func note(name string, typ uint32, desc []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, [3]uint32{uint32(len(name) + 1), uint32(len(desc)), typ})
	b.WriteString(name)
	b.WriteByte(0)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	b.Write(desc)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

// prstatusDesc is an x86_64 elf_prstatus with pid and registers r[i] =
// base + i.
func prstatusDesc(pid int32, base uint64) []byte {
	d := make([]byte, prstatusSizeX8664)
	binary.LittleEndian.PutUint32(d[32:], uint32(pid))
	for i := 0; i < 27; i++ {
		binary.LittleEndian.PutUint64(d[prstatusRegsOff+8*i:], base+uint64(i))
	}
	return d
}

// qemuStateDesc is a QEMUCPUState (version 1) with cr3 set.
func qemuStateDesc(cr3 uint64) []byte {
	d := make([]byte, qemuCPUStateV1Size)
	binary.LittleEndian.PutUint32(d[0:], 1)
	binary.LittleEndian.PutUint32(d[4:], qemuCPUStateV1Size)
	binary.LittleEndian.PutUint64(d[136:], 0xffffffff81000000) // rip
	binary.LittleEndian.PutUint64(d[392+3*8:], cr3)
	return d
}

const testVMCOREINFO = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffffffff82a0a000\n"

// kdumpSpec describes a synthetic kdump-compressed file.
type kdumpSpec struct {
	layout     *kdumpLayout
	version    int32
	bo         binary.ByteOrder
	pageSize   int
	maxPFN     uint64
	ram        []pfnRange // 1st bitmap
	dumped     []uint64   // 2nd bitmap (sorted); pages written unless split excludes them
	flags      func(pfn uint64) uint32
	zeroPage   bool // all-zero pages share one descriptor (dump level bit 0)
	split      bool
	start, end uint64
	status     uint32
	vmcoreinfo string
	notes      []byte
	machine    string
	dumpLevel  int32
	physBase   uint64
}

func (s *kdumpSpec) defaults() {
	if s.layout == nil {
		s.layout = layout64
	}
	if s.version == 0 {
		s.version = 6
	}
	if s.bo == nil {
		s.bo = binary.LittleEndian
	}
	if s.pageSize == 0 {
		s.pageSize = 4096
	}
	if s.flags == nil {
		s.flags = func(uint64) uint32 { return dumpDHCompressedLZO }
	}
}

// standardSpec: 64 PFNs of RAM in two ranges, every third page excluded.
func standardSpec() kdumpSpec {
	s := kdumpSpec{maxPFN: 80, ram: []pfnRange{{0, 40}, {48, 72}}, machine: "x86_64",
		vmcoreinfo: testVMCOREINFO, dumpLevel: 31, physBase: 0x1000000}
	for _, r := range s.ram {
		for pfn := r.Start; pfn < r.End; pfn++ {
			if pfn%3 != 2 {
				s.dumped = append(s.dumped, pfn)
			}
		}
	}
	s.notes = append(note("CORE", ntPRStatus, prstatusDesc(1, 0x1000)), note("CORE", ntPRStatus, prstatusDesc(2, 0x2000))...)
	s.defaults()
	return s
}

func (s *kdumpSpec) inRAM(pfn uint64) bool {
	for _, r := range s.ram {
		if pfn >= r.Start && pfn < r.End {
			return true
		}
	}
	return false
}

func (s *kdumpSpec) isDumped(pfn uint64) bool {
	i := sort.Search(len(s.dumped), func(i int) bool { return s.dumped[i] >= pfn })
	return i < len(s.dumped) && s.dumped[i] == pfn
}

// written reports whether pfn's page is in this file.
func (s *kdumpSpec) written(pfn uint64) bool {
	return s.isDumped(pfn) && (!s.split || pfn >= s.start && pfn < s.end)
}

func put(b []byte, f field, bo binary.ByteOrder, v uint64) {
	if f.size == 4 {
		bo.PutUint32(b[f.off:], uint32(v))
	} else {
		bo.PutUint64(b[f.off:], v)
	}
}

// buildKdump writes the file s describes.
func buildKdump(tb testing.TB, s *kdumpSpec) []byte {
	tb.Helper()
	s.defaults()
	bs := s.pageSize
	l := s.layout
	bo := s.bo

	// Sub header, then the notes (with VMCOREINFO) as makedumpfile lays them out.
	sub := make([]byte, l.subSize)
	notes := s.notes
	vmciOffInNotes := -1
	if s.vmcoreinfo != "" && s.version >= 4 {
		vmciOffInNotes = len(notes) + 12 + 12 // header + "VMCOREINFO\0" padded to 12
		notes = append(append([]byte(nil), notes...), note(noteVMCOREINFO, 0, []byte(s.vmcoreinfo))...)
	}
	subArea := append(sub, notes...)
	if s.vmcoreinfo != "" && s.version == 3 {
		vmciOffInNotes = len(notes)
		subArea = append(subArea, s.vmcoreinfo...)
	}
	subBlocks := (len(subArea) + bs - 1) / bs
	bitmapBytes := (int(s.maxPFN) + 7) / 8
	bitmapBlocksEach := (bitmapBytes + bs - 1) / bs
	if bitmapBlocksEach == 0 {
		bitmapBlocksEach = 1
	}
	bitmapBlocks := 2 * bitmapBlocksEach

	if s.version >= 1 {
		put(sub, l.physBase, bo, s.physBase)
		put(sub, l.dumpLevel, bo, uint64(s.dumpLevel))
	}
	if s.version >= 2 && s.split {
		put(sub, l.split, bo, 1)
		put(sub, l.start, bo, s.start)
		put(sub, l.end, bo, s.end)
	}
	if s.version >= 3 && vmciOffInNotes >= 0 {
		put(sub, l.offVmci, bo, uint64(bs+l.subSize+vmciOffInNotes))
		put(sub, l.sizeVmci, bo, uint64(len(s.vmcoreinfo)))
	}
	if s.version >= 4 && len(notes) > 0 {
		put(sub, l.offNote, bo, uint64(bs+l.subSize))
		put(sub, l.sizeNote, bo, uint64(len(notes)))
	}
	if s.version >= 6 {
		if s.split {
			put(sub, l.start64, bo, s.start)
			put(sub, l.end64, bo, s.end)
		}
		put(sub, l.max, bo, s.maxPFN)
	}
	copy(subArea, sub)

	// Header.
	h := make([]byte, bs)
	copy(h, kdumpSignature)
	bo.PutUint32(h[8:], uint32(s.version))
	copy(h[12:], "Linux")
	copy(h[12+2*65:], "6.1.0-test")
	copy(h[12+4*65:], s.machine)
	if l.long == 8 {
		bo.PutUint64(h[l.timestamp:], 1700000000)
		bo.PutUint64(h[l.timestamp+8:], 250000)
	} else {
		bo.PutUint32(h[l.timestamp:], 1700000000)
		bo.PutUint32(h[l.timestamp+4:], 250000)
	}
	o := l.status
	status := s.status
	if status&compressionMask == 0 {
		status |= s.flags(0) & compressionMask
	}
	bo.PutUint32(h[o:], status)
	bo.PutUint32(h[o+4:], uint32(bs))
	bo.PutUint32(h[o+8:], uint32(subBlocks))
	bo.PutUint32(h[o+12:], uint32(bitmapBlocks))
	bo.PutUint32(h[o+16:], uint32(min(s.maxPFN, 0xffffffff)))
	bo.PutUint32(h[o+36:], 2) // nr_cpus

	var file bytes.Buffer
	file.Write(h)
	area := make([]byte, subBlocks*bs)
	copy(area, subArea)
	file.Write(area)

	bm1 := make([]byte, bitmapBlocksEach*bs)
	bm2 := make([]byte, bitmapBlocksEach*bs)
	for pfn := uint64(0); pfn < s.maxPFN; pfn++ {
		if s.inRAM(pfn) {
			bm1[pfn/8] |= 1 << (pfn % 8)
		}
	}
	for _, pfn := range s.dumped {
		bm2[pfn/8] |= 1 << (pfn % 8)
	}
	file.Write(bm1)
	file.Write(bm2)

	var written []uint64
	for _, pfn := range s.dumped {
		if s.written(pfn) {
			written = append(written, pfn)
		}
	}
	descOff := file.Len()
	dataOff := int64(descOff + len(written)*pageDescSize)
	var descs, data bytes.Buffer
	zero := make([]byte, bs)
	var zeroDesc []byte
	if s.zeroPage {
		zeroDesc = make([]byte, pageDescSize)
		bo.PutUint64(zeroDesc[0:], uint64(dataOff))
		bo.PutUint32(zeroDesc[8:], uint32(bs))
		data.Write(zero)
	}
	for _, pfn := range written {
		page := pageContent(pfn, bs)
		if s.zeroPage && bytes.Equal(page, zero) {
			descs.Write(zeroDesc)
			continue
		}
		c, flags := compressPage(s.flags(pfn), page)
		d := make([]byte, pageDescSize)
		bo.PutUint64(d[0:], uint64(dataOff+int64(data.Len())))
		bo.PutUint32(d[8:], uint32(len(c)))
		bo.PutUint32(d[12:], flags)
		descs.Write(d)
		data.Write(c)
	}
	file.Write(descs.Bytes())
	file.Write(data.Bytes())
	return file.Bytes()
}

// elfSeg is one PT_LOAD of a synthetic ELF core.
type elfSeg struct {
	paddr uint64
	data  []byte
	memsz uint64 // > len(data) for an excluded tail
}

// buildELF writes an ELF64 core with program headers at phoff (QEMU uses
// 192 and a bogus e_ehsize), one PT_NOTE and the segments.
func buildELF(phoff int, segs []elfSeg, notes []byte, eflags uint32) []byte {
	le := binary.LittleEndian
	phnum := 1 + len(segs)
	h := make([]byte, phoff+56*phnum)
	copy(h, "\x7fELF\x02\x01\x01")
	le.PutUint16(h[16:], uint16(4)) // ET_CORE
	le.PutUint16(h[18:], 62)        // EM_X86_64
	le.PutUint32(h[20:], 1)
	le.PutUint64(h[32:], uint64(phoff))
	le.PutUint32(h[48:], eflags)
	le.PutUint16(h[52:], 0x1234) // bogus e_ehsize, as QEMU's
	le.PutUint16(h[54:], 56)
	le.PutUint16(h[56:], uint16(phnum))
	off := uint64(len(h))
	ph := h[phoff:]
	le.PutUint32(ph[0:], 4) // PT_NOTE
	le.PutUint64(ph[8:], off)
	le.PutUint64(ph[32:], uint64(len(notes)))
	le.PutUint64(ph[40:], uint64(len(notes)))
	body := append([]byte(nil), notes...)
	off += uint64(len(notes))
	for i, s := range segs {
		p := ph[56*(i+1):]
		le.PutUint32(p[0:], 1) // PT_LOAD
		le.PutUint32(p[4:], 7)
		le.PutUint64(p[8:], off)
		le.PutUint64(p[16:], 0xffff888000000000+s.paddr)
		le.PutUint64(p[24:], s.paddr)
		le.PutUint64(p[32:], uint64(len(s.data)))
		memsz := max(s.memsz, uint64(len(s.data)))
		le.PutUint64(p[40:], memsz)
		body = append(body, s.data...)
		off += uint64(len(s.data))
	}
	return append(h, body...)
}

// flatRec is one record of a flattened stream.
type flatRec struct {
	off  int64
	data []byte
}

// splitRecords cuts inner into records of at most size bytes.
func splitRecords(inner []byte, size int) []flatRec {
	var recs []flatRec
	for off := 0; off < len(inner); off += size {
		recs = append(recs, flatRec{int64(off), inner[off:min(off+size, len(inner))]})
	}
	return recs
}

// buildFlat writes a flattened stream of recs, with the end marker if end.
func buildFlat(recs []flatRec, end bool) []byte {
	var b bytes.Buffer
	h := make([]byte, flatHeaderSize)
	copy(h, flatSignature)
	binary.BigEndian.PutUint64(h[16:], 1)
	binary.BigEndian.PutUint64(h[24:], 1)
	b.Write(h)
	for _, r := range recs {
		var rh [16]byte
		binary.BigEndian.PutUint64(rh[0:], uint64(r.off))
		binary.BigEndian.PutUint64(rh[8:], uint64(len(r.data)))
		b.Write(rh[:])
		b.Write(r.data)
	}
	if end {
		var rh [16]byte
		binary.BigEndian.PutUint64(rh[0:], ^uint64(0))
		binary.BigEndian.PutUint64(rh[8:], ^uint64(0))
		b.Write(rh[:])
	}
	return b.Bytes()
}
