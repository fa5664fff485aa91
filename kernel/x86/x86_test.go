package x86

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/vmcoreinfo"
)

// fakeMemory is sparse physical memory made of 4 KiB pages (after delve's
// fakeMemory). Pages that were never written do not exist: reading them
// fails with errNoPage, as an excluded page of a dump would.
type fakeMemory struct {
	pages map[uint64][]byte
	reads int
	fail  map[uint64]bool // pages whose reads fail even if present
}

var errNoPage = errors.New("page not in dump")

func newFakeMemory() *fakeMemory {
	return &fakeMemory{pages: map[uint64][]byte{}, fail: map[uint64]bool{}}
}

func (m *fakeMemory) page(pa uint64) []byte {
	pfn := pa >> 12
	p, ok := m.pages[pfn]
	if !ok {
		p = make([]byte, PageSize)
		m.pages[pfn] = p
	}
	return p
}

func (m *fakeMemory) write(pa uint64, b []byte) {
	for len(b) > 0 {
		p := m.page(pa)
		n := copy(p[pa&(PageSize-1):], b)
		b, pa = b[n:], pa+uint64(n)
	}
}

func (m *fakeMemory) set(table, idx, entry uint64) {
	binary.LittleEndian.PutUint64(m.page(table)[idx*8:], entry)
}

func (m *fakeMemory) ReadPhysAt(p []byte, pa uint64) (int, error) {
	m.reads++
	n := 0
	for n < len(p) {
		pfn := (pa + uint64(n)) >> 12
		pg, ok := m.pages[pfn]
		if !ok || m.fail[pfn] {
			return n, fmt.Errorf("phys %#x: %w", pa+uint64(n), errNoPage)
		}
		n += copy(p[n:], pg[(pa+uint64(n))&(PageSize-1):])
	}
	return n, nil
}

const (
	fP   = pagePresent
	fRW  = 1 << 1
	fA   = 1 << 5
	fD   = 1 << 6
	fPS  = pagePSE
	fG   = 1 << 8
	fNX  = 1 << 63
	fPK  = 0xf << 59 // protection-key bits
	fPAT = 1 << 12   // _PAGE_PAT_LARGE on 2 MiB / 1 GiB entries
	tbl  = fP | fRW | fA | fD
)

func idx(va uint64, level int) uint64 { return (va >> (12 + 9*uint(level))) & 511 }

// layout4 builds a 4-level address space:
//
//	va4k  → one 4 KiB page at 0x5000 (entry with NX, G, pkey bits)
//	va4k+0x1000 → not present
//	va2m  → a 2 MiB page at 0x40000000 (entry with NX and PAT_LARGE)
//	va1g  → a 1 GiB page at 0x80000000
const (
	pgd4         = 0x1000
	va4k  uint64 = 0xffffc90000012000
	va2m  uint64 = 0xffffc90000400000
	va1g  uint64 = 0xffffea0040000000
	pa4k         = 0x5000
	pa2m         = 0x40000000
	pa1g         = 0x80000000
	pBase        = 0x3c000000 // phys_base
)

func layout4(t testing.TB) (*fakeMemory, *Translator) {
	m := newFakeMemory()
	pud, pmd, pte, pud2 := uint64(0x2000), uint64(0x3000), uint64(0x4000), uint64(0x6000)
	m.set(pgd4, idx(va4k, 3), pud|tbl)
	m.set(pud, idx(va4k, 2), pmd|tbl)
	m.set(pmd, idx(va4k, 1), pte|tbl)
	m.set(pte, idx(va4k, 0), pa4k|fP|fRW|fG|fNX|fPK)
	m.set(pmd, idx(va2m, 1), pa2m|fP|fPS|fNX|fPAT)
	m.set(pgd4, idx(va1g, 3), pud2|tbl)
	m.set(pud2, idx(va1g, 2), pa1g|fP|fPS|fNX)
	m.write(pa4k, []byte("four-kib page"))
	m.write(pa2m+0x1234, []byte("two-mib page"))
	m.write(pa1g+0x123456, []byte("one-gib page"))
	tr, err := New(m, Config{PGD: pgd4, PhysBase: pBase})
	if err != nil {
		t.Fatal(err)
	}
	return m, tr
}

func TestTranslate4Level(t *testing.T) {
	_, tr := layout4(t)
	for _, tc := range []struct {
		va, pa, size uint64
	}{
		{va4k, pa4k, PageSize},
		{va4k + 0xabc, pa4k + 0xabc, PageSize},
		{va2m + 0x1234, pa2m + 0x1234, LargeSize},
		{va2m + LargeSize - 1, pa2m + LargeSize - 1, LargeSize},
		{va1g + 0x123456, pa1g + 0x123456, HugeSize},
		{StartKernelMap + 0x1000000, pBase + 0x1000000, PageSize},
	} {
		for pass := 0; pass < 2; pass++ { // the second pass hits the TLB
			pa, size, err := tr.Translate(tc.va)
			if err != nil || pa != tc.pa || size != tc.size {
				t.Errorf("pass %d: Translate(%#x) = %#x, %#x, %v; want %#x, %#x", pass, tc.va, pa, size, err, tc.pa, tc.size)
			}
		}
	}
}

func TestTranslateNotMapped(t *testing.T) {
	_, tr := layout4(t)
	for _, tc := range []struct {
		va    uint64
		level string
	}{
		{va4k + PageSize, "pte"},
		{va4k + 4*LargeSize, "pmd"},
		{va1g + HugeSize, "pud"},
		{0xffff888000000000, "pgd"},
		{0x1000, "pgd"},
	} {
		_, _, err := tr.Translate(tc.va)
		var fe *FaultError
		if !errors.As(err, &fe) || !errors.Is(err, ErrNotMapped) {
			t.Errorf("Translate(%#x) = %v; want a FaultError wrapping ErrNotMapped", tc.va, err)
			continue
		}
		if fe.Addr != tc.va || fe.Level != tc.level || fe.Space != "virt" {
			t.Errorf("Translate(%#x): fault %+v; want level %s", tc.va, fe, tc.level)
		}
	}
	_, _, err := tr.Translate(0x0000800000000000)
	if !errors.Is(err, ErrNonCanonical) || !errors.Is(err, ErrNotMapped) {
		t.Errorf("non-canonical: %v", err)
	}
}

func TestTranslateSMEMask(t *testing.T) {
	m := newFakeMemory()
	const sme = 1 << 47
	pud, pmd, pte := uint64(0x2000), uint64(0x3000), uint64(0x4000)
	m.set(pgd4, idx(va4k, 3), pud|tbl|sme)
	m.set(pud, idx(va4k, 2), pmd|tbl|sme)
	m.set(pmd, idx(va4k, 1), pte|tbl|sme)
	m.set(pte, idx(va4k, 0), pa4k|fP|sme|fNX)
	m.set(pmd, idx(va2m, 1), pa2m|fP|fPS|sme)
	tr, err := New(m, Config{PGD: pgd4, SMEMask: sme})
	if err != nil {
		t.Fatal(err)
	}
	if pa, _, err := tr.Translate(va4k + 8); err != nil || pa != pa4k+8 {
		t.Errorf("4k with C-bit: %#x, %v", pa, err)
	}
	if pa, _, err := tr.Translate(va2m + 8); err != nil || pa != pa2m+8 {
		t.Errorf("2m with C-bit: %#x, %v", pa, err)
	}
}

func TestTranslate5Level(t *testing.T) {
	m := newFakeMemory()
	const (
		pgd = 0x10000
		va  = 0xff11000012345000 // 5-level direct map region
		vaL = 0xffa0000000200000 // 5-level vmalloc, 2 MiB page
		pa  = 0x7000
	)
	p4d, pud, pmd, pte := uint64(0x11000), uint64(0x12000), uint64(0x13000), uint64(0x14000)
	m.set(pgd, idx(va, 4), p4d|tbl)
	m.set(p4d, idx(va, 3), pud|tbl)
	m.set(pud, idx(va, 2), pmd|tbl)
	m.set(pmd, idx(va, 1), pte|tbl)
	m.set(pte, idx(va, 0), pa|fP|fNX)
	m.set(pgd, idx(vaL, 4), 0x15000|tbl)
	m.set(0x15000, idx(vaL, 3), 0x16000|tbl)
	m.set(0x16000, idx(vaL, 2), 0x17000|tbl)
	m.set(0x17000, idx(vaL, 1), 0x600000|fP|fPS)
	tr, err := New(m, Config{PGD: pgd, L5: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, size, err := tr.Translate(va + 0x10); err != nil || got != pa+0x10 || size != PageSize {
		t.Errorf("5-level 4k: %#x %#x %v", got, size, err)
	}
	if got, size, err := tr.Translate(vaL + 0x1234); err != nil || got != 0x601234 || size != LargeSize {
		t.Errorf("5-level 2m: %#x %#x %v", got, size, err)
	}
	// A 4-level-canonical address is not canonical with 57 bits.
	if _, _, err := tr.Translate(0xffff888000000000); !errors.Is(err, ErrNotMapped) {
		t.Errorf("unmapped 5-level: %v", err)
	}
	if _, _, err := tr.Translate(0xfe00000000000000); !errors.Is(err, ErrNonCanonical) {
		t.Errorf("non-canonical 5-level: %v", err)
	}
	// The same tables read as 4-level give a different answer: the mode
	// matters.
	tr4, err := New(m, Config{PGD: pgd})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := tr4.Translate(va); err == nil && got == pa {
		t.Errorf("4-level walk of 5-level tables translated %#x to %#x", uint64(va), got)
	}
}

// A top-level entry that points back at the top-level table must not make
// the walk loop: the depth is fixed.
func TestTranslateTableCycle(t *testing.T) {
	m := newFakeMemory()
	const va uint64 = 0xffff000000000000 | 261<<39 | 5<<30 | 5<<21 | 5<<12
	m.set(pgd4, idx(va, 3), pgd4|tbl)
	m.set(pgd4, 5, pgd4|tbl)
	tr, err := New(m, Config{PGD: pgd4})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint64{va, va + PageSize, va &^ (1<<39 - 1)} {
		pa, _, err := tr.Translate(v)
		if err == nil && pa&^(PageSize-1) != pgd4 {
			t.Errorf("Translate(%#x) = %#x through a cycle", v, pa)
		}
	}
}

func TestTranslateTableReadError(t *testing.T) {
	m, tr := layout4(t)
	m.fail[0x4000>>12] = true // the PTE table of va4k
	tr.tables = newTableCache(m, 8)
	tr.tlb = new(tlb)
	_, _, err := tr.Translate(va4k)
	var fe *FaultError
	if !errors.As(err, &fe) || !errors.Is(err, errNoPage) || errors.Is(err, ErrNotMapped) {
		t.Fatalf("Translate with unreadable table: %v", err)
	}
	if fe.Level != "pte" || fe.PA != 0x4000+idx(va4k, 0)*8 {
		t.Errorf("fault %+v; want pte entry at %#x", fe, 0x4000+idx(va4k, 0)*8)
	}
	// An unreadable root still gives a translator (truncated dumps keep
	// their text and direct-map fast paths); walks report the root's fault.
	tr2, err := New(m, Config{PGD: 0x9000, PhysBase: 0})
	if err != nil {
		t.Fatalf("New with unreadable root: %v", err)
	}
	if _, _, err := tr2.Translate(va4k); !errors.Is(err, errNoPage) {
		t.Errorf("walk from an unreadable root: %v", err)
	}
	if pa, _, err := tr2.Translate(StartKernelMap + 0x1000); err != nil || pa != 0x1000 {
		t.Errorf("text fast path with unreadable root: %#x, %v", pa, err)
	}
	if _, err := New(m, Config{PGD: 0x9008}); err == nil {
		t.Errorf("New with unaligned root succeeded")
	}
}

func TestDirectMap(t *testing.T) {
	m, tr := layout4(t)
	m.write(0x12345678, []byte("direct"))
	const base = 0xffff9a0000000000 // a randomized page_offset_base
	tr.SetPageOffset(base)
	pa, _, err := tr.Translate(base + 0x12345678)
	if err != nil || pa != 0x12345678 {
		t.Fatalf("direct map: %#x %v", pa, err)
	}
	got := make([]byte, 6)
	if n, err := tr.ReadVirtAt(got, base+0x12345678); n != 6 || err != nil || string(got) != "direct" {
		t.Errorf("ReadVirtAt direct = %d %v %q", n, err, got)
	}
	// Past the direct-map size the tables decide.
	tr.SetDirectMapSize(1 << 30)
	if _, _, err := tr.Translate(base + 1<<30); !errors.Is(err, ErrNotMapped) {
		t.Errorf("beyond direct map size: %v", err)
	}
	if tr.Config().PageOffset != base || tr.PageOffset() != base {
		t.Errorf("PageOffset not recorded")
	}
}

func TestReadVirtAt(t *testing.T) {
	m, tr := layout4(t)
	for _, tc := range []struct {
		va   uint64
		want string
	}{
		{va4k, "four-kib page"},
		{va2m + 0x1234, "two-mib page"},
		{va1g + 0x123456, "one-gib page"},
	} {
		got := make([]byte, len(tc.want))
		n, err := tr.ReadVirtAt(got, tc.va)
		if n != len(got) || err != nil || string(got) != tc.want {
			t.Errorf("ReadVirtAt(%#x) = %d, %v, %q", tc.va, n, err, got)
		}
	}

	// A read across the end of va4k's page runs into the unmapped next page:
	// the bytes of the first page come back, and the error names the VA.
	m.write(pa4k+PageSize-4, []byte("tail"))
	buf := make([]byte, 16)
	n, err := tr.ReadVirtAt(buf, va4k+PageSize-4)
	var fe *FaultError
	if n != 4 || string(buf[:4]) != "tail" || !errors.As(err, &fe) || !errors.Is(err, ErrNotMapped) {
		t.Fatalf("read across into unmapped: n=%d %q err=%v", n, buf[:n], err)
	}
	if fe.Addr != va4k+PageSize {
		t.Errorf("fault addr %#x; want %#x", fe.Addr, va4k+PageSize)
	}
	if want := fmt.Sprintf("read virt %#x", uint64(va4k+PageSize)); !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Errorf("error %q does not name %s", err, want)
	}

	// Mapped but the physical page is excluded from the dump.
	delete(m.pages, pa1g>>12)
	_, err = tr.ReadVirtAt(make([]byte, 8), va1g)
	if !errors.As(err, &fe) || !errors.Is(err, errNoPage) || fe.PA != pa1g || fe.Addr != va1g {
		t.Errorf("excluded data page: %v (%+v)", err, fe)
	}
}

// Pages of a 2 MiB mapping are contiguous: one physical read serves them.
func TestReadVirtAtMerges(t *testing.T) {
	m, tr := layout4(t)
	m.write(pa2m, make([]byte, 64<<10))
	if _, _, err := tr.Translate(va2m); err != nil { // warm the table cache
		t.Fatal(err)
	}
	m.reads = 0
	if n, err := tr.ReadVirtAt(make([]byte, 64<<10), va2m); n != 64<<10 || err != nil {
		t.Fatalf("ReadVirtAt: %d %v", n, err)
	}
	if m.reads != 1 {
		t.Errorf("64 KiB in a 2 MiB page took %d physical reads; want 1", m.reads)
	}
	// Four 4 KiB pages mapped to consecutive frames also merge.
	pte := uint64(0x4000)
	for i := uint64(0); i < 4; i++ {
		m.set(pte, idx(va4k, 0)+i, (0x20000+i*PageSize)|fP)
		m.write(0x20000+i*PageSize, bytes.Repeat([]byte{byte('a' + i)}, PageSize))
	}
	tr.tables = newTableCache(m, 8) // forget the old PTE page
	tr.tlb = new(tlb)
	got := make([]byte, 4*PageSize)
	m.reads = 0
	if n, err := tr.ReadVirtAt(got, va4k); n != len(got) || err != nil {
		t.Fatalf("ReadVirtAt: %d %v", n, err)
	}
	if got[0] != 'a' || got[3*PageSize] != 'd' {
		t.Errorf("wrong data")
	}
	if m.reads > 5 { // the PTE table (plus upper levels) once, then one data read
		t.Errorf("%d physical reads for 4 contiguous pages", m.reads)
	}
}

func TestTableCacheBounded(t *testing.T) {
	m := newFakeMemory()
	// 64 PTE tables under one PMD, each mapping its first page.
	const va0 = 0xffffc90000000000
	pud, pmd := uint64(0x2000), uint64(0x3000)
	m.set(pgd4, idx(va0, 3), pud|tbl)
	m.set(pud, idx(va0, 2), pmd|tbl)
	for i := uint64(0); i < 64; i++ {
		pte := 0x100000 + i*PageSize
		m.set(pmd, i, pte|tbl)
		m.set(pte, 0, (0x800000+i*PageSize)|fP)
	}
	tr, err := New(m, Config{PGD: pgd4})
	if err != nil {
		t.Fatal(err)
	}
	tr.tables = newTableCache(m, 8)
	for round := 0; round < 3; round++ {
		for i := uint64(0); i < 64; i++ {
			va := va0 + i*LargeSize
			pa, err := tr.walkOnly(va)
			if err != nil || pa != 0x800000+i*PageSize {
				t.Fatalf("round %d: %#x -> %#x %v", round, va, pa, err)
			}
		}
	}
	if n := len(tr.tables.index); n > 8 {
		t.Errorf("cache holds %d tables; bound is 8", n)
	}
}

// walkOnly walks without the TLB.
func (t *Translator) walkOnly(va uint64) (uint64, error) {
	pa, _, err := t.walk(va)
	return pa, err
}

func TestFindPageOffset(t *testing.T) {
	for _, tc := range []struct {
		name string
		l5   bool
		base uint64
	}{
		{"default-l4", false, PageOffsetBaseL4},
		{"kaslr-l4", false, 0xffff9d5c40000000},
		{"default-l5", true, PageOffsetBaseL5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newFakeMemory()
			levels := 4
			if tc.l5 {
				levels = 5
			}
			next := uint64(0x100000)
			alloc := func() uint64 { next += PageSize; return next }
			pgd := alloc()
			// mapVA maps va → pa at the given leaf level (2 = 1 GiB, 1 = 2 MiB).
			mapVA := func(va, pa uint64, leaf int) {
				table := pgd
				for level := levels - 1; level > leaf; level-- {
					i := idx(va, level)
					e := binary.LittleEndian.Uint64(m.page(table)[i*8:])
					if e == 0 {
						e = alloc() | tbl
						m.set(table, i, e)
					}
					table = e & physAddrMask
				}
				flags := uint64(fP)
				if leaf > 0 {
					flags |= fPS
				}
				m.set(table, idx(va, leaf), pa|flags)
			}
			// An LDT-remap-like mapping below the direct map, of other memory.
			ldt := uint64(0xffff880000000000)
			if tc.l5 {
				ldt = 0xff10000000000000
			}
			mapVA(ldt, 0x40000000, 1)
			mapVA(tc.base, 0, 2) // first GiB as a 1 GiB page
			mapVA(tc.base+HugeSize, HugeSize, 2)
			mapVA(StartKernelMap, 0x1000000, 1) // kernel text
			tr, err := New(m, Config{PGD: pgd, L5: tc.l5})
			if err != nil {
				t.Fatal(err)
			}
			got, err := tr.FindPageOffset()
			if err != nil || got != tc.base {
				t.Errorf("FindPageOffset = %#x, %v; want %#x", got, err, tc.base)
			}
		})
	}
	_, tr := layout4(t)
	if _, err := tr.FindPageOffset(); !errors.Is(err, ErrPageOffsetNotFound) {
		t.Errorf("no direct map: %v", err)
	}
}

func TestReadLayout(t *testing.T) {
	m, tr := layout4(t)
	const (
		symPO = StartKernelMap + 0x2000000
		symVB = StartKernelMap + 0x2000008
	)
	m.write(pBase+0x2000000, binary.LittleEndian.AppendUint64(nil, 0xffff9d5c40000000))
	m.write(pBase+0x2000008, binary.LittleEndian.AppendUint64(nil, 0xffffb00000000000))
	syms := map[string]uint64{"page_offset_base": symPO, "vmalloc_base": symVB}
	l, err := ReadLayout(tr, func(n string) (uint64, bool) { v, ok := syms[n]; return v, ok })
	want := Layout{PageOffset: 0xffff9d5c40000000, VmallocBase: 0xffffb00000000000, VmemmapBase: VmemmapBaseL4}
	if err != nil || l != want {
		t.Errorf("ReadLayout = %+v, %v; want %+v", l, err, want)
	}
	syms["vmemmap_base"] = StartKernelMap + 0x10000000 // not in the fake dump
	if _, err := ReadLayout(tr, func(n string) (uint64, bool) { v, ok := syms[n]; return v, ok }); !errors.Is(err, errNoPage) {
		t.Errorf("unreadable variable: %v", err)
	}
	if DefaultLayout(true).PageOffset != PageOffsetBaseL5 {
		t.Errorf("DefaultLayout(l5)")
	}
}

func TestNewFromVMCOREINFO(t *testing.T) {
	m := newFakeMemory()
	const (
		physBase = 0x3c000000
		topPgt   = 0xffffffff9b20a000 // KASLR-relocated init_top_pgt
	)
	pgdPA := uint64(topPgt - StartKernelMap + physBase)
	m.set(pgdPA, 0, 0) // make the page exist
	m.set(pgdPA, idx(va1g, 3), 0x2000|tbl)
	m.set(0x2000, idx(va1g, 2), pa1g|fP|fPS)
	text := fmt.Sprintf("OSRELEASE=6.1.0-56-cloud-amd64\nPAGESIZE=4096\nNUMBER(phys_base)=%d\n"+
		"SYMBOL(init_top_pgt)=%x\nNUMBER(pgtable_l5_enabled)=0\nKERNELOFFSET=1a000000\n"+
		"NUMBER(KERNEL_IMAGE_SIZE)=1073741824\nNUMBER(sme_mask)=0\n", physBase, uint64(topPgt))
	vi, err := vmcoreinfo.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewFromVMCOREINFO(m, vi)
	if err != nil {
		t.Fatal(err)
	}
	c := tr.Config()
	if c.PGD != pgdPA || c.PhysBase != physBase || c.L5 || c.KernelOffset != 0x1a000000 || c.KernelImageSize != 1<<30 {
		t.Errorf("config %+v", c)
	}
	if pa, _, err := tr.Translate(va1g + 5); err != nil || pa != pa1g+5 {
		t.Errorf("Translate: %#x %v", pa, err)
	}

	// phys_base is written as a signed decimal; a negative one (KASLR moved
	// the kernel further virtually than physically) must wrap, not fail.
	neg := int64(-0x1000000)
	text2 := fmt.Sprintf("OSRELEASE=x\nNUMBER(phys_base)=%d\nSYMBOL(init_top_pgt)=%x\n", neg, uint64(topPgt))
	vi2, _ := vmcoreinfo.Parse([]byte(text2))
	m.set(uint64(topPgt-StartKernelMap)+uint64(neg), 0, 0)
	tr2, err := NewFromVMCOREINFO(m, vi2)
	if err != nil {
		t.Fatalf("negative phys_base: %v", err)
	}
	if tr2.Config().PGD != uint64(topPgt-StartKernelMap)-0x1000000 {
		t.Errorf("negative phys_base PGD = %#x", tr2.Config().PGD)
	}
	// Text fast path uses 512 MiB without KERNEL_IMAGE_SIZE or KASLR.
	if tr2.textSize != kernelImageSizeFixed {
		t.Errorf("text size %#x", tr2.textSize)
	}

	for _, bad := range []string{
		"OSRELEASE=x\nSYMBOL(init_top_pgt)=ffffffff9b20a000\n",
		"OSRELEASE=x\nNUMBER(phys_base)=0\n",
		"OSRELEASE=x\nNUMBER(phys_base)=0\nSYMBOL(init_top_pgt)=1000\n",
	} {
		vi, err := vmcoreinfo.Parse([]byte(bad))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewFromVMCOREINFO(m, vi); err == nil {
			t.Errorf("NewFromVMCOREINFO(%q) succeeded", bad)
		}
	}
}

func TestWithPGD(t *testing.T) {
	m, tr := layout4(t)
	const user = 0x00007f0000001000
	upgd := uint64(0x30000)
	m.set(upgd, idx(user, 3), 0x31000|tbl)
	m.set(0x31000, idx(user, 2), 0x32000|tbl)
	m.set(0x32000, idx(user, 1), 0x33000|tbl)
	m.set(0x33000, idx(user, 0), 0x34000|fP)
	ut, err := tr.WithPGD(upgd)
	if err != nil {
		t.Fatal(err)
	}
	if pa, _, err := ut.Translate(user + 7); err != nil || pa != 0x34007 {
		t.Errorf("user translate: %#x %v", pa, err)
	}
	if _, _, err := tr.Translate(user); !errors.Is(err, ErrNotMapped) {
		t.Errorf("kernel pgd maps the user page: %v", err)
	}
	if _, err := tr.WithPGD(0x30001); err == nil {
		t.Errorf("unaligned pgd accepted")
	}
}
