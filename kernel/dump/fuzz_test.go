package dump

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/allocbound"
)

// Fuzzed dumps may allocate at most fuzzAllocPerByte bytes per input byte
// plus fuzzAllocConst: the metadata caps of docs/architecture.md are far
// below the first, and the second covers the fixed costs (a 4 MiB read
// buffer for flattened streams, the codecs' decoder state, the ≤ 300
// pages exercise reads and their descriptor and bitmap chunks).
const (
	fuzzAllocPerByte = 32
	fuzzAllocConst   = 48 << 20
)

// exercise opens b and reads what a caller would: info, notes, ranges and
// pages. Bad input must end in errors, never a panic, a hang or memory
// out of proportion to the input.
func exercise(t *testing.T, b []byte) {
	allocbound.Check(t, "opening and reading the dump", allocbound.Limit(int64(len(b)), fuzzAllocPerByte, fuzzAllocConst), func() {
		exerciseParts(t, []Part{{Name: "fuzz", R: bytes.NewReader(b), Size: int64(len(b))}})
	})
}

func exerciseParts(t *testing.T, parts []Part) {
	d, err := OpenParts(parts)
	if err != nil {
		return
	}
	info := d.Info()
	_ = d.VMCOREINFO()
	_ = d.PRStatus()
	_ = d.QEMUCPUStates()
	d.PhysRanges()
	d.DataRanges()
	ps := uint64(info.PageSize)
	buf := make([]byte, 3*ps)
	// 300 pages, or 4 MiB of them: a mutated block_size of 1 MiB must not
	// make each run decode hundreds of MiB.
	for pfn := uint64(0); pfn < min(info.MaxPFN, 300, (4<<20)/max(ps, 1)); pfn++ {
		n, err := d.ReadPhysAt(buf[:ps], pfn*ps)
		if err != nil {
			var fe *FaultError
			if !errors.As(err, &fe) {
				t.Fatalf("pfn %#x: error %v is not a FaultError", pfn, err)
			}
			if n != int(fe.Addr-pfn*ps) {
				t.Fatalf("pfn %#x: n=%d but fault at %#x", pfn, n, fe.Addr)
			}
		}
	}
	d.ReadPhysAt(buf, ps/2)
	d.ReadPhysAt(buf, (info.MaxPFN-1)*ps)
	d.ReadPhysAt(buf, ^uint64(0)-10)
	d.Close()
}

func kdumpSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, l := range []*kdumpLayout{layout64, layout32Pack, layout32Pad} {
		for _, v := range []int32{1, 3, 6} {
			s := standardSpec()
			s.maxPFN, s.ram = 40, []pfnRange{{0, 12}, {20, 40}}
			s.dumped = []uint64{1, 2, 3, 5, 8, 21, 22, 30}
			s.layout, s.version = l, v
			s.pageSize = minBlockSize // small inputs fuzz faster and keep the corpus small
			s.flags = func(pfn uint64) uint32 {
				return []uint32{0, dumpDHCompressedZlib, dumpDHCompressedLZO, dumpDHCompressedSnappy, dumpDHCompressedZstd}[pfn%5]
			}
			s.zeroPage = v == 6
			if l.long == 4 {
				s.machine = "i686"
			}
			seeds = append(seeds, buildKdump(tb, &s))
		}
	}
	return seeds
}

func FuzzOpenKdump(f *testing.F) {
	for _, s := range kdumpSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(exercise)
}

func FuzzOpenFlattened(f *testing.F) {
	for i, s := range kdumpSeeds(f)[:4] {
		recs := splitRecords(s, 3000+i*1000)
		if i%2 == 1 {
			recs[0], recs[len(recs)-1] = recs[len(recs)-1], recs[0]
		}
		f.Add(buildFlat(recs, i != 2))
	}
	f.Add(buildFlat(splitRecords(buildELF(192, []elfSeg{{paddr: 0x1000, data: pageContent(3, 4096)}}, nil, 0), 700), true))
	f.Fuzz(exercise)
}

func FuzzOpenELF(f *testing.F) {
	notes := append(note("CORE", ntPRStatus, prstatusDesc(1, 0)), note(noteVMCOREINFO, 0, []byte(testVMCOREINFO))...)
	f.Add(buildELF(192, []elfSeg{{paddr: 0x1000, data: pageContent(3, 8192), memsz: 16384}, {paddr: 0x9000, data: pageContent(4, 4096)}}, notes, 0))
	f.Add(buildELF(64, []elfSeg{{paddr: 0, data: pageContent(2, 4096)}, {paddr: 0, data: pageContent(2, 4096)}}, notes, 1))
	f.Add(buildELF(200, nil, note(noteQEMU, 0, qemuStateDesc(0x1000)), 0))
	f.Fuzz(exercise)
}

// FuzzOpenSplit opens two --split parts, as given (in any order, with
// mutations to either).
func FuzzOpenSplit(f *testing.F) {
	for i, l := range []*kdumpLayout{layout64, layout32Pack} {
		var parts [2][]byte
		for k := range parts {
			s := standardSpec()
			s.maxPFN, s.ram = 40, []pfnRange{{0, 12}, {20, 40}}
			s.dumped = []uint64{1, 2, 3, 5, 8, 21, 22, 30}
			s.layout, s.pageSize = l, minBlockSize
			if l.long == 4 {
				s.machine = "i686"
			}
			s.split, s.start, s.end = true, uint64(k*20), uint64(20+k*20)
			parts[k] = buildKdump(f, &s)
		}
		if i == 1 {
			parts[0], parts[1] = parts[1], parts[0]
		}
		f.Add(parts[0], parts[1])
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		allocbound.Check(t, "opening and reading the split dump", allocbound.Limit(int64(len(a)+len(b)), fuzzAllocPerByte, fuzzAllocConst), func() {
			exerciseParts(t, []Part{{Name: "a", R: bytes.NewReader(a), Size: int64(len(a))}, {Name: "b", R: bytes.NewReader(b), Size: int64(len(b))}})
		})
	})
}

// FuzzCodecs feeds arbitrary bytes to each page decoder (no panic, exact
// size or ErrCorrupt) and checks that each codec's own encoding of the
// bytes round-trips.
func FuzzCodecs(f *testing.F) {
	for _, c := range []uint32{0, dumpDHCompressedZlib, dumpDHCompressedLZO, dumpDHCompressedSnappy, dumpDHCompressedZstd} {
		p := pageContent(uint64(c)+2, 4096)
		enc, _ := compressPage(c, p)
		f.Add(uint8(c), enc)
		f.Add(uint8(c), p[:100])
	}
	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		var d decoder
		defer d.close()
		flags := []uint32{0, dumpDHCompressedZlib, dumpDHCompressedLZO, dumpDHCompressedSnappy, dumpDHCompressedZstd, uint32(sel) << 3}[int(sel)%6]
		dst := make([]byte, 4096)
		if err := d.decode(flags, data, dst); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decode error %v does not wrap ErrCorrupt", err)
		}
		page := make([]byte, 4096)
		copy(page, data)
		if flags&^uint32(compressionMask) != 0 {
			return
		}
		enc, used := compressPage(flags, page)
		if err := d.decode(used, enc, dst); err != nil || !bytes.Equal(dst, page) {
			t.Fatalf("%s round trip: %v", compressionName(used), err)
		}
	})
}
