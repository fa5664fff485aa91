package x86

import "testing"

// benchSpace maps 4096 consecutive 4 KiB pages of vmalloc space (8 PTE
// tables) to frames at 16 MiB, and enables the direct map, so the same
// physical pages can be reached both ways.
func benchSpace(b *testing.B) (*Translator, uint64, uint64) {
	m := newFakeMemory()
	const (
		va0    = 0xffffc90000000000
		frames = 0x1000000
		base   = PageOffsetBaseL4
		pages  = 4096
	)
	pud, pmd := uint64(0x2000), uint64(0x3000)
	m.set(pgd4, idx(va0, 3), pud|tbl)
	m.set(pud, idx(va0, 2), pmd|tbl)
	for i := uint64(0); i < pages; i++ {
		va := va0 + i*PageSize
		pte := 0x100000 + idx(va, 1)*PageSize
		m.set(pmd, idx(va, 1), pte|tbl)
		// Scatter the frames so that walks cannot be merged.
		frame := frames + ((i*7)%pages)*PageSize
		m.set(pte, idx(va, 0), frame|fP|fNX)
		m.page(frame)
	}
	tr, err := New(m, Config{PGD: pgd4})
	if err != nil {
		b.Fatal(err)
	}
	tr.SetPageOffset(base)
	return tr, va0, base + frames
}

// BenchmarkTranslate measures page-table walks over more pages than the TLB
// holds, with every table page in the cache, and TLB hits.
func BenchmarkTranslate(b *testing.B) {
	b.Run("walk", func(b *testing.B) {
		tr, va0, _ := benchSpace(b)
		for i := uint64(0); i < 4096; i++ { // warm the table cache
			tr.Translate(va0 + i*PageSize)
		}
		b.ReportAllocs()
		i := uint64(0)
		for b.Loop() {
			// A stride of 1025 pages defeats the 1024-slot TLB.
			i = (i + 1025) % 4096
			if _, _, err := tr.Translate(va0 + i*PageSize); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tlb", func(b *testing.B) {
		tr, va0, _ := benchSpace(b)
		b.ReportAllocs()
		i := uint64(0)
		for b.Loop() {
			i = (i + 1) % 512
			if _, _, err := tr.Translate(va0 + i*PageSize); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		tr, _, d0 := benchSpace(b)
		b.ReportAllocs()
		i := uint64(0)
		for b.Loop() {
			i = (i + 1025) % 4096
			if _, _, err := tr.Translate(d0 + i*PageSize); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadVirt reads 4 KiB and 64 KiB through the direct map and
// through page-table walks (table cache warm, TLB cold).
func BenchmarkReadVirt(b *testing.B) {
	for _, size := range []int{8, 4096, 64 << 10} {
		for _, how := range []string{"direct", "walk"} {
			b.Run(how+"/"+byteSize(size), func(b *testing.B) {
				tr, va0, d0 := benchSpace(b)
				for i := uint64(0); i < 4096; i++ {
					tr.Translate(va0 + i*PageSize)
				}
				start := va0
				if how == "direct" {
					start = d0
				}
				buf := make([]byte, size)
				span := uint64(4096 - (size+PageSize-1)/PageSize)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				i := uint64(0)
				for b.Loop() {
					i = (i + 1025) % span
					if _, err := tr.ReadVirtAt(buf, start+i*PageSize); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<10:
		return itoa(n>>10) + "KiB"
	default:
		return itoa(n) + "B"
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
