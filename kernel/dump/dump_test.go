package dump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func openBytes(tb testing.TB, name string, b []byte) *Dump {
	tb.Helper()
	d, err := Open(name, bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatalf("Open(%s): %v", name, err)
	}
	return d
}

// wantPage is what reading pfn must give for spec s: the page, or the
// sentinel its FaultError wraps.
func wantPage(s *kdumpSpec, pfn uint64) ([]byte, error) {
	switch {
	case s.written(pfn):
		return pageContent(pfn, s.pageSize), nil
	case s.isDumped(pfn):
		return nil, ErrTruncated // in another split part
	case s.split && (pfn < s.start || pfn >= s.end) && s.inRAM(pfn):
		return nil, ErrTruncated // RAM that another split part describes
	case pfn < s.maxPFN && s.inRAM(pfn):
		return nil, ErrExcluded
	default:
		return nil, ErrNoMemory
	}
}

// checkPages reads every page (and a few past the end) one by one and as
// one big read, and compares with want.
func checkPages(t *testing.T, d *Dump, ps int, maxPFN uint64, want func(pfn uint64) ([]byte, error)) {
	t.Helper()
	buf := make([]byte, ps)
	for pfn := uint64(0); pfn < maxPFN+3; pfn++ {
		wb, werr := want(pfn)
		n, err := d.ReadPhysAt(buf, pfn*uint64(ps))
		if werr != nil {
			var fe *FaultError
			if !errors.As(err, &fe) || !errors.Is(err, werr) || n != 0 || fe.Addr != pfn*uint64(ps) {
				t.Fatalf("pfn %#x: got n=%d err=%v, want 0 and FaultError at %#x wrapping %v", pfn, n, err, pfn*uint64(ps), werr)
			}
			continue
		}
		if err != nil || n != ps || !bytes.Equal(buf, wb) {
			t.Fatalf("pfn %#x: got n=%d err=%v equal=%v", pfn, n, err, bytes.Equal(buf, wb))
		}
	}
	// One read from pfn 0: stops at the first missing page, data before it exact.
	big := make([]byte, int(maxPFN)*ps)
	n, err := d.ReadPhysAt(big, 0)
	var firstBad uint64
	for firstBad = 0; firstBad < maxPFN; firstBad++ {
		if _, e := want(firstBad); e != nil {
			break
		}
	}
	if n != int(firstBad)*ps {
		t.Fatalf("big read: n=%d, want %d (err %v)", n, int(firstBad)*ps, err)
	}
	for pfn := uint64(0); pfn < firstBad; pfn++ {
		wb, _ := want(pfn)
		if !bytes.Equal(big[pfn*uint64(ps):(pfn+1)*uint64(ps)], wb) {
			t.Fatalf("big read: pfn %#x differs", pfn)
		}
	}
	// Page-crossing reads between present neighbours.
	for pfn := uint64(0); pfn+1 < maxPFN; pfn++ {
		a, ea := want(pfn)
		b, eb := want(pfn + 1)
		if ea != nil || eb != nil {
			continue
		}
		got := make([]byte, 16)
		n, err := d.ReadPhysAt(got, (pfn+1)*uint64(ps)-8)
		wantB := append(append([]byte(nil), a[ps-8:]...), b[:8]...)
		if n != 16 || err != nil || !bytes.Equal(got, wantB) {
			t.Fatalf("crossing read at pfn %#x: n=%d err=%v", pfn, n, err)
		}
	}
}

func TestKdumpVersionsAndLayouts(t *testing.T) {
	layouts := []*kdumpLayout{layout64, layout32Pack, layout32Pad}
	for _, l := range layouts {
		for v := int32(1); v <= 6; v++ {
			if l == layout32Pad && v < 3 {
				continue // identical to packed below version 3
			}
			t.Run(fmt.Sprintf("%s/v%d", l.name, v), func(t *testing.T) {
				s := standardSpec()
				s.layout, s.version = l, v
				if l.long == 4 {
					s.machine = "i686"
					if l == layout32Pad {
						s.machine = "armv7l"
					}
				}
				d := openBytes(t, "synthetic", buildKdump(t, &s))
				info := d.Info()
				if info.Format != "kdump" || info.HeaderVersion != int(v) || info.WordSize != l.long || info.PageSize != 4096 || info.MaxPFN != s.maxPFN {
					t.Fatalf("info: %+v", info)
				}
				if info.DumpLevel != 31 || !info.HasPhysBase || info.PhysBase != 0x1000000 {
					t.Errorf("dump level %d phys_base %#x", info.DumpLevel, info.PhysBase)
				}
				if info.Utsname.Release != "6.1.0-test" || info.Machine != s.machine {
					t.Errorf("utsname %+v", info.Utsname)
				}
				if info.DumpedPages != int64(len(s.dumped)) || info.Truncated || info.Incomplete {
					t.Errorf("dumped %d truncated %v", info.DumpedPages, info.Truncated)
				}
				vmci := d.VMCOREINFO()
				if (v >= 3) != (string(vmci) == testVMCOREINFO) {
					t.Errorf("VMCOREINFO %q", vmci)
				}
				wantNotes, wantPR := 0, 0
				if v >= 4 {
					wantNotes = 3 // 2 × PRSTATUS + VMCOREINFO
					if l == layout64 {
						wantPR = 2 // decoded for x86_64 only
					}
				}
				if len(d.Notes()) != wantNotes || len(d.PRStatus()) != wantPR {
					t.Errorf("%d notes, %d PRSTATUS", len(d.Notes()), len(d.PRStatus()))
				}
				if l == layout32Pad && v >= 3 && d.dumpLayout() != layout32Pad {
					t.Errorf("layout %s, want padded", d.dumpLayout().name)
				}
				checkPages(t, d, s.pageSize, s.maxPFN, func(pfn uint64) ([]byte, error) { return wantPage(&s, pfn) })
			})
		}
	}
}

// dumpLayout is the header layout a kdump Dump decided on.
func (d *Dump) dumpLayout() *kdumpLayout { return d.mem.(*kdumpMem).parts[0].layout }

func TestKdumpCodecs(t *testing.T) {
	codecs := []uint32{0, dumpDHCompressedZlib, dumpDHCompressedLZO, dumpDHCompressedSnappy, dumpDHCompressedZstd}
	for _, c := range codecs {
		for _, zero := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/zeropage=%v", compressionName(c), zero), func(t *testing.T) {
				s := standardSpec()
				s.flags = func(uint64) uint32 { return c }
				s.zeroPage = zero
				d := openBytes(t, "synthetic", buildKdump(t, &s))
				checkPages(t, d, s.pageSize, s.maxPFN, func(pfn uint64) ([]byte, error) { return wantPage(&s, pfn) })
				info := d.Info()
				if info.Compression != compressionName(c) {
					t.Errorf("declared compression %q", info.Compression)
				}
				if c != 0 && !slices.Contains(info.CompressionsSeen, compressionName(c)) {
					t.Errorf("codecs seen %v", info.CompressionsSeen)
				}
			})
		}
	}
	t.Run("mixed", func(t *testing.T) {
		s := standardSpec()
		s.flags = func(pfn uint64) uint32 { return codecs[pfn%uint64(len(codecs))] }
		s.zeroPage = true
		d := openBytes(t, "synthetic", buildKdump(t, &s))
		checkPages(t, d, s.pageSize, s.maxPFN, func(pfn uint64) ([]byte, error) { return wantPage(&s, pfn) })
	})
}

func TestKdumpBigEndianUnknownMachine(t *testing.T) {
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		s := standardSpec()
		s.bo, s.machine = bo, "" // QEMU leaves utsname empty
		d := openBytes(t, "synthetic", buildKdump(t, &s))
		if info := d.Info(); info.BigEndian != (bo == binary.BigEndian) || info.WordSize != 8 {
			t.Fatalf("%v: info %+v", bo, info)
		}
		checkPages(t, d, s.pageSize, s.maxPFN, func(pfn uint64) ([]byte, error) { return wantPage(&s, pfn) })
	}
}

// A machine of 3 Mi PFNs: the bitmaps span two chunks and many rank
// blocks, with RAM only around the chunk boundary.
func TestKdumpLargeSparseBitmap(t *testing.T) {
	s := kdumpSpec{maxPFN: 3 << 20, machine: "x86_64", version: 6}
	edge := uint64(bitmapChunkBytes * 8)
	s.ram = []pfnRange{{5, 9}, {edge - 300, edge + 300}, {3<<20 - 10, 3 << 20}}
	for _, r := range s.ram {
		for pfn := r.Start; pfn < r.End; pfn++ {
			if pfn%7 != 3 {
				s.dumped = append(s.dumped, pfn)
			}
		}
	}
	d := openBytes(t, "large", buildKdump(t, &s))
	buf := make([]byte, 4096)
	for _, r := range s.ram {
		for pfn := r.Start - 2; pfn < r.End+2 && pfn < s.maxPFN; pfn++ {
			wb, werr := wantPage(&s, pfn)
			_, err := d.ReadPhysAt(buf, pfn*4096)
			if werr != nil {
				if !errors.Is(err, werr) {
					t.Fatalf("pfn %#x: %v, want %v", pfn, err, werr)
				}
			} else if err != nil || !bytes.Equal(buf, wb) {
				t.Fatalf("pfn %#x: err %v", pfn, err)
			}
		}
	}
	rs := d.PhysRanges()
	want := []Range{{5 * 4096, 9 * 4096}, {(edge - 300) * 4096, (edge + 300) * 4096}, {(3<<20 - 10) * 4096, (3 << 20) * 4096}}
	if !slices.Equal(rs, want) {
		t.Errorf("PhysRanges %x, want %x", rs, want)
	}
}

func TestKdumpSplit(t *testing.T) {
	for _, v := range []int32{2, 5, 6} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			full := standardSpec()
			full.version = v
			full.flags = func(pfn uint64) uint32 { return dumpDHCompressedZlib }
			mk := func(start, end uint64) kdumpSpec {
				s := full
				s.split, s.start, s.end = true, start, end
				return s
			}
			s1, s2 := mk(0, 30), mk(30, 80)
			b1, b2 := buildKdump(t, &s1), buildKdump(t, &s2)
			// Given in reverse order.
			d, err := OpenParts([]Part{{"part2", bytes.NewReader(b2), int64(len(b2))}, {"part1", bytes.NewReader(b1), int64(len(b1))}})
			if err != nil {
				t.Fatal(err)
			}
			info := d.Info()
			if info.Format != "kdump-split" || len(info.Parts) != 2 || info.Parts[0].Name != "part1" || info.Parts[1].StartPFN != 30 || len(info.Warnings) != 0 {
				t.Fatalf("info %+v", info)
			}
			checkPages(t, d, 4096, full.maxPFN, func(pfn uint64) ([]byte, error) { return wantPage(&full, pfn) })

			// A part may itself be flattened.
			f2 := buildFlat(splitRecords(b2, 5000), true)
			df, err := OpenParts([]Part{{"part1", bytes.NewReader(b1), int64(len(b1))}, {"part2.flat", bytes.NewReader(f2), int64(len(f2))}})
			if err != nil {
				t.Fatal(err)
			}
			if !df.Info().Parts[1].Flattened {
				t.Errorf("parts %+v", df.Info().Parts)
			}
			checkPages(t, df, 4096, full.maxPFN, func(pfn uint64) ([]byte, error) { return wantPage(&full, pfn) })

			// One part alone: the other's pages are ErrTruncated.
			d2 := openBytes(t, "part2", b2)
			if !d2.Info().Split {
				t.Error("split flag lost")
			}
			checkPages(t, d2, 4096, full.maxPFN, func(pfn uint64) ([]byte, error) { return wantPage(&s2, pfn) })
		})
	}
	t.Run("overlap", func(t *testing.T) {
		s := standardSpec()
		s.split, s.start, s.end = true, 0, 50
		b := buildKdump(t, &s)
		_, err := OpenParts([]Part{{"a", bytes.NewReader(b), int64(len(b))}, {"b", bytes.NewReader(b), int64(len(b))}})
		if err == nil || !strings.Contains(err.Error(), "overlaps") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestKdumpIncomplete(t *testing.T) {
	s := standardSpec()
	s.status = dumpDHCompressedIncomplete | dumpDHCompressedLZO
	b := buildKdump(t, &s)
	// Zero the descriptors of the last 10 dumped pages, as makedumpfile
	// leaves them when the disk fills up.
	d0 := openBytes(t, "probe", b)
	p := d0.mem.(*kdumpMem).parts[0]
	n := len(s.dumped)
	for i := n - 10; i < n; i++ {
		clear(b[p.descOff+int64(i)*pageDescSize:][:pageDescSize])
	}
	d := openBytes(t, "incomplete", b)
	info := d.Info()
	if !info.Incomplete || !info.Truncated {
		t.Errorf("incomplete %v truncated %v", info.Incomplete, info.Truncated)
	}
	last := s.dumped[n-10:]
	checkPages(t, d, 4096, s.maxPFN, func(pfn uint64) ([]byte, error) {
		if slices.Contains(last, pfn) {
			return nil, ErrTruncated
		}
		return wantPage(&s, pfn)
	})
}

// TestKdumpTruncation cuts the file at every page boundary and inside the
// descriptor table: Open never panics, and what it serves is exact.
func TestKdumpTruncation(t *testing.T) {
	s := standardSpec()
	s.flags = func(pfn uint64) uint32 { return []uint32{0, dumpDHCompressedLZO, dumpDHCompressedZstd}[pfn%3] }
	s.zeroPage = true
	full := buildKdump(t, &s)
	p := openBytes(t, "full", full).mem.(*kdumpMem).parts[0]
	cuts := []int{0, 7, 100, 464, 4096 + 50}
	for c := 4096; c < len(full); c += 4096 {
		cuts = append(cuts, c, c-1)
	}
	for i := int64(0); i <= int64(len(s.dumped)); i += 3 {
		cuts = append(cuts, int(p.descOff+i*pageDescSize+5))
	}
	for c := len(full) - 1; c > len(full)-40000 && c > 0; c -= 997 {
		cuts = append(cuts, c)
	}
	for _, c := range cuts {
		b := full[:c]
		d, err := Open("cut", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if int64(c) >= p.descOff {
				t.Errorf("cut at %d, after the headers and bitmaps: %v", c, err)
			}
			continue
		}
		if c < len(full) && !d.Info().Truncated {
			// Every byte of the data area is needed, so a cut shows.
			t.Errorf("cut at %d: not reported truncated", c)
		}
		checkServedExact(t, d, &s, fmt.Sprintf("cut at %d", c))
		d.PhysRanges()
	}
}

// checkServedExact reads every page: a success must give the right bytes,
// a failure must be a FaultError with a sentinel consistent with s.
func checkServedExact(t *testing.T, d *Dump, s *kdumpSpec, what string) {
	t.Helper()
	buf := make([]byte, s.pageSize)
	for pfn := uint64(0); pfn < s.maxPFN+2; pfn++ {
		wb, werr := wantPage(s, pfn)
		n, err := d.ReadPhysAt(buf, pfn*uint64(s.pageSize))
		if err == nil {
			if werr != nil || !bytes.Equal(buf, wb) {
				t.Fatalf("%s: pfn %#x read without error but wrong (want err %v)", what, pfn, werr)
			}
			continue
		}
		var fe *FaultError
		if !errors.As(err, &fe) || n != 0 {
			t.Fatalf("%s: pfn %#x: %v (n=%d)", what, pfn, err, n)
		}
		switch {
		case werr != nil && errors.Is(err, werr):
		case werr == nil && (errors.Is(err, ErrTruncated) || errors.Is(err, ErrCorrupt)):
		case errors.Is(err, ErrTruncated):
			// metadata beyond the cut hides whether the page existed
		default:
			t.Fatalf("%s: pfn %#x: %v, want %v", what, pfn, err, werr)
		}
	}
}

func TestKdumpCorruptPage(t *testing.T) {
	s := standardSpec()
	s.flags = func(uint64) uint32 { return dumpDHCompressedZlib }
	b := buildKdump(t, &s)
	p := openBytes(t, "probe", b).mem.(*kdumpMem).parts[0]
	d0, _ := p.desc(3)
	b[d0.Offset+5] ^= 0xff
	d := openBytes(t, "corrupt", b)
	pfn := s.dumped[3]
	_, err := d.ReadPhysAt(make([]byte, 8), pfn*4096)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err %v, want ErrCorrupt", err)
	}
}

func TestFaultErrorMessage(t *testing.T) {
	s := standardSpec()
	d := openBytes(t, "msg", buildKdump(t, &s))
	_, err := d.ReadPhysAt(make([]byte, 8), 2*4096)
	if err == nil || err.Error() != "read phys 0x2000: page excluded from dump" {
		t.Fatalf("%v", err)
	}
}

func TestELF(t *testing.T) {
	ps := 4096
	seg1 := make([]byte, 3*ps)
	for i := range seg1 {
		seg1[i] = byte(i * 7)
	}
	seg2 := pageContent(11, 2*ps)
	notes := slices.Concat(
		note("CORE", ntPRStatus, prstatusDesc(1, 0x100)),
		note("CORE", ntPRStatus, prstatusDesc(2, 0x200)),
		note(noteQEMU, 0, qemuStateDesc(0x2a0a000)),
		note(noteQEMU, 0, qemuStateDesc(0x2a0b000)),
		note(noteVMCOREINFO, 0, append([]byte(testVMCOREINFO), 0, 0, 0)),
	)
	segs := []elfSeg{
		{paddr: 0x1000, data: seg1, memsz: uint64(5 * ps)}, // 2 excluded pages after
		{paddr: 0x100000, data: seg2},
		{paddr: 0x101000, data: seg2[ps:]}, // overlaps seg2 (like the kernel-text PT_LOAD)
	}
	b := buildELF(200, segs, notes, 0)
	d := openBytes(t, "elf", b)
	info := d.Info()
	if info.Format != "elf" || info.Machine != "x86_64" || info.PageSize != 4096 || info.Truncated || info.WordSize != 8 {
		t.Fatalf("info %+v", info)
	}
	if string(d.VMCOREINFO()) != testVMCOREINFO {
		t.Errorf("VMCOREINFO %q", d.VMCOREINFO())
	}
	prs := d.PRStatus()
	if len(prs) != 2 || prs[1].Pid != 2 || prs[1].RIP() != 0x200+16 || prs[0].RSP() != 0x100+19 {
		t.Errorf("prstatus %+v", prs)
	}
	if v, ok := prs[0].Reg("gs"); !ok || v != 0x100+26 {
		t.Errorf("gs %#x", v)
	}
	qs := d.QEMUCPUStates()
	if len(qs) != 2 || qs[1].CR[3] != 0x2a0b000 || qs[0].RIP != 0xffffffff81000000 {
		t.Errorf("qemu states %+v", qs)
	}
	if len(d.Notes()) != 5 {
		t.Errorf("%d notes", len(d.Notes()))
	}
	want := func(pfn uint64) ([]byte, error) {
		switch {
		case pfn >= 1 && pfn < 4:
			return seg1[(pfn-1)*4096 : pfn*4096], nil
		case pfn >= 4 && pfn < 6:
			return nil, ErrExcluded
		case pfn >= 0x100 && pfn < 0x102:
			return seg2[(pfn-0x100)*4096 : (pfn-0x100+1)*4096], nil
		}
		return nil, ErrNoMemory
	}
	checkPages(t, d, ps, 0x104, want)
	got := make([]byte, ps+100)
	n, err := d.ReadPhysAt(got, uint64(0x100000+ps-100))
	if n != ps+100 || err != nil || !bytes.Equal(got, seg2[ps-100:]) {
		t.Errorf("cross-segment read: %d %v", n, err)
	}
	rs := d.PhysRanges()
	if !slices.Equal(rs, []Range{{0x1000, 0x6000}, {0x100000, 0x102000}}) {
		t.Errorf("ranges %x", rs)
	}

	// Truncated inside the first segment: its start is served, then ErrTruncated.
	cut := len(b) - len(seg2) - len(seg2[ps:]) - ps - 10
	dt := openBytes(t, "elf-cut", b[:cut])
	if !dt.Info().Truncated {
		t.Error("not truncated")
	}
	n, err = dt.ReadPhysAt(make([]byte, 3*ps), 0x1000)
	if n != 2*ps-10 || !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated read: n=%d err=%v", n, err)
	}
	var fe *FaultError
	if errors.As(err, &fe) && fe.Addr != 0x1000+uint64(2*ps-10) {
		t.Errorf("fault at %#x", fe.Addr)
	}
}

func TestELFNotCore(t *testing.T) {
	b := buildELF(64, nil, nil, 0)
	binary.LittleEndian.PutUint16(b[16:], 2) // ET_EXEC
	_, err := Open("vmlinux", bytes.NewReader(b), int64(len(b)))
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("err %v, want FormatError", err)
	}
}

func TestNotADump(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("hello"), make([]byte, 10000)} {
		_, err := Open("junk", bytes.NewReader(b), int64(len(b)))
		if !errors.Is(err, ErrNotThisFormat) {
			t.Errorf("%d bytes: %v", len(b), err)
		}
	}
}

func TestFlattened(t *testing.T) {
	s := standardSpec()
	s.flags = func(pfn uint64) uint32 { return []uint32{dumpDHCompressedZlib, dumpDHCompressedLZO, 0}[pfn%3] }
	inner := buildKdump(t, &s)
	want := func(pfn uint64) ([]byte, error) { return wantPage(&s, pfn) }
	cases := []struct {
		name string
		recs func() []flatRec
	}{
		{"in order", func() []flatRec { return splitRecords(inner, 5000) }},
		{"one record", func() []flatRec { return splitRecords(inner, len(inner)) }},
		{"shuffled", func() []flatRec {
			r := splitRecords(inner, 3000)
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(r), func(i, j int) { r[i], r[j] = r[j], r[i] })
			return r
		}},
		{"overlapping", func() []flatRec {
			// Garbage first, then the real bytes over it in overlapping records,
			// then a rewrite of the header, as makedumpfile does at the end.
			junk := bytes.Repeat([]byte{0xee}, len(inner))
			r := splitRecords(junk, 7000)
			r = append(r, splitRecords(inner, 4000)...)
			for off := 1000; off+3000 < len(inner); off += 9000 {
				r = append(r, flatRec{int64(off), inner[off : off+3000]})
			}
			return append(r, flatRec{0, inner[:4096]})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := buildFlat(c.recs(), true)
			d := openBytes(t, "flat", f)
			info := d.Info()
			if info.Format != "flattened" || info.Inner != "kdump" || info.Truncated || !info.Parts[0].Flattened {
				t.Fatalf("info %+v", info)
			}
			if string(d.VMCOREINFO()) != testVMCOREINFO {
				t.Errorf("VMCOREINFO %q", d.VMCOREINFO())
			}
			checkPages(t, d, 4096, s.maxPFN, want)
		})
	}
	t.Run("elf inside", func(t *testing.T) {
		seg := pageContent(2, 8192)
		e := buildELF(192, []elfSeg{{paddr: 0x2000, data: seg}}, note(noteVMCOREINFO, 0, []byte(testVMCOREINFO)), 0)
		d := openBytes(t, "flat-elf", buildFlat(splitRecords(e, 1000), true))
		if info := d.Info(); info.Format != "flattened" || info.Inner != "elf" {
			t.Fatalf("info %+v", info)
		}
		got := make([]byte, 8192)
		if n, err := d.ReadPhysAt(got, 0x2000); n != 8192 || err != nil || !bytes.Equal(got, seg) {
			t.Fatalf("read: %d %v", n, err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		f := buildFlat(splitRecords(inner, 4096), false)
		innerPart := openBytes(t, "inner", inner).mem.(*kdumpMem).parts[0]
		cuts := []int{flatHeaderSize + 16 + 4096 + 5}
		for c := flatHeaderSize + int(innerPart.descOff) + 16*int(innerPart.descOff/4096); c < len(f); c += 1531 {
			cuts = append(cuts, c)
		}
		cuts = append(cuts, len(f))
		opened := 0
		for _, c := range cuts {
			d, err := Open("flat-cut", bytes.NewReader(f[:c]), int64(c))
			if err != nil {
				continue
			}
			opened++
			if !d.Info().Truncated {
				t.Errorf("cut %d: not truncated", c)
			}
			checkServedExact(t, d, &s, fmt.Sprintf("flat cut at %d", c))
		}
		if opened < len(cuts)-2 {
			t.Errorf("only %d of %d cut streams opened", opened, len(cuts))
		}
		// The whole stream without its end marker still serves everything.
		d := openBytes(t, "flat-noend", f)
		checkPages(t, d, 4096, s.maxPFN, want)
	})
}

func TestOverlay(t *testing.T) {
	f := func(start, end uint64, base, prio int64) span {
		return span{start: start, end: end, base: base, prio: prio}
	}
	cases := []struct {
		name    string
		in, out []span
	}{
		{"disjoint", []span{f(10, 20, 0, 1), f(0, 5, 100, 2)}, []span{f(0, 5, 100, 2), f(10, 20, 0, 1)}},
		{"later wins inside", []span{f(0, 100, 0, 1), f(10, 20, 500, 2)},
			[]span{f(0, 10, 0, 1), f(10, 20, 500, 2), f(20, 100, 20, 1)}},
		{"lower loses", []span{f(0, 100, 0, 2), f(10, 20, 500, 1)}, []span{f(0, 100, 0, 2)}},
		{"overwrite end", []span{f(0, 10, 0, 1), f(5, 15, 100, 2)}, []span{f(0, 5, 0, 1), f(5, 15, 100, 2)}},
		{"empty dropped", []span{f(5, 5, 0, 1)}, []span{}},
	}
	for _, c := range cases {
		got := overlay(c.in)
		if len(got) == 0 && len(c.out) == 0 {
			continue
		}
		if !slices.Equal(got, c.out) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.out)
		}
	}
}

func TestConcurrentReads(t *testing.T) {
	s := standardSpec()
	s.flags = func(uint64) uint32 { return dumpDHCompressedZstd }
	d := openBytes(t, "conc", buildKdump(t, &s))
	d.SetCacheSize(3 * 4096)
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			buf := make([]byte, 4096)
			for i := 0; i < 500; i++ {
				pfn := s.dumped[(i*7+g)%len(s.dumped)]
				if _, err := d.ReadPhysAt(buf, pfn*4096); err != nil || !bytes.Equal(buf, pageContent(pfn, 4096)) {
					done <- fmt.Errorf("pfn %#x: %v", pfn, err)
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestLZOLiteralEncoder(t *testing.T) {
	var d decoder
	for _, n := range []int{1, 3, 4, 5, 18, 19, 238, 239, 273, 274, 4096} {
		src := pageContent(uint64(n), n)
		dst := make([]byte, n)
		if err := d.decode(dumpDHCompressedLZO, lzoLiteral(src), dst); err != nil || !bytes.Equal(dst, src) {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
}

// The hot-page table points into the page LRU, whose evicted buffers are
// reused: with a cache of a few pages, every read must still give its own
// page, on first reads, repeats and zero-page neighbours alike.
func TestKdumpHotPagesSurviveEviction(t *testing.T) {
	s := standardSpec()
	s.zeroPage = true
	d := openBytes(t, "synthetic", buildKdump(t, &s))
	d.SetCacheSize(int64(3 * s.pageSize))
	buf := make([]byte, s.pageSize)
	for round := 0; round < 3; round++ {
		for i := uint64(0); i < s.maxPFN; i++ {
			// Stride through the pages and straight back to one read just
			// before, so hits, misses and evictions interleave.
			for _, pfn := range []uint64{(i * 7) % s.maxPFN, (i*7 + 3) % s.maxPFN, (i * 7) % s.maxPFN} {
				want, werr := wantPage(&s, pfn)
				n, err := d.ReadPhysAt(buf, pfn*uint64(s.pageSize))
				if werr != nil {
					if !errors.Is(err, werr) {
						t.Fatalf("round %d pfn %#x: err %v, want %v", round, pfn, err, werr)
					}
					continue
				}
				if err != nil || n != s.pageSize || !bytes.Equal(buf, want) {
					t.Fatalf("round %d pfn %#x: n=%d err=%v, content equal %v", round, pfn, n, err, bytes.Equal(buf, want))
				}
			}
		}
	}
}
