package dump

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

var benchRoles = []string{"qemu-elf", "qemu-kdump-zlib", "lzo-d31", "zlib-d31", "zstd-d31", "raw-d31", "elf-d31", "lzo-d1", "lzo-d31-flat", "split-lzo-d31"}

// firstSet is the first fixture set, for benchmarks.
func firstSet(b *testing.B) *fixtures.Set {
	sets := fixtures.All(b)
	if len(sets) == 0 {
		b.Skip("no fixture sets")
	}
	return sets[0]
}

func BenchmarkOpen(b *testing.B) {
	s := firstSet(b)
	for _, role := range benchRoles {
		if s.Role(role) == nil {
			continue
		}
		b.Run(role, func(b *testing.B) {
			var parts []Part
			for _, f := range s.Parts(role) {
				parts = append(parts, Part{Name: f.Name, R: mustOpen(b, f.Path), Size: f.Size})
			}
			b.ReportAllocs()
			for b.Loop() {
				d, err := OpenParts(parts)
				if err != nil {
					b.Fatal(err)
				}
				d.Close()
			}
		})
	}
}

func BenchmarkRandomPageRead(b *testing.B) {
	s := firstSet(b)
	for _, role := range benchRoles {
		if s.Role(role) == nil {
			continue
		}
		for _, cache := range []int64{defaultPageCache, 0} {
			name := role
			if cache == 0 {
				name += "/nocache"
			}
			b.Run(name, func(b *testing.B) {
				d := openRole(b, s, role)
				pfns := presentPages(b, d, 1<<20)
				d.SetCacheSize(cache)
				buf := make([]byte, 4096)
				r := rand.New(rand.NewPCG(1, 1))
				b.SetBytes(4096)
				b.ReportAllocs()
				for b.Loop() {
					pfn := pfns[r.IntN(len(pfns))]
					if _, err := d.ReadPhysAt(buf, pfn*4096); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSequentialRead reads every present page in PFN order, 1 MiB at
// a time, stepping over the pages the dump lacks.
func BenchmarkSequentialRead(b *testing.B) {
	s := firstSet(b)
	for _, role := range benchRoles {
		if s.Role(role) == nil {
			continue
		}
		b.Run(role, func(b *testing.B) {
			d := openRole(b, s, role)
			d.SetCacheSize(4 << 20)
			end := d.Info().MaxPFN * 4096
			buf := make([]byte, 1<<20)
			b.ReportAllocs()
			var total int64
			for b.Loop() {
				total = 0
				for a := uint64(0); a < end; {
					n, err := d.ReadPhysAt(buf[:min(uint64(len(buf)), end-a)], a)
					total += int64(n)
					a += uint64(n)
					var fe *FaultError
					if errors.As(err, &fe) {
						a = (fe.Addr/4096 + 1) * 4096
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.SetBytes(total)
		})
	}
}

// BenchmarkSyntheticRandomRead needs no fixtures: LZO pages of a synthetic
// dump, most served from the page cache.
func BenchmarkSyntheticRandomRead(b *testing.B) {
	s := standardSpec()
	s.maxPFN, s.ram, s.dumped = 4096, []pfnRange{{0, 4096}}, nil
	for pfn := uint64(0); pfn < 4096; pfn++ {
		s.dumped = append(s.dumped, pfn)
	}
	f := buildKdump(b, &s)
	d, err := Open("synthetic", bytes.NewReader(f), int64(len(f)))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 1))
	b.SetBytes(4096)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.ReadPhysAt(buf, r.Uint64N(4096)*4096); err != nil {
			b.Fatal(err)
		}
	}
}

func mustOpen(tb testing.TB, path string) *os.File {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}
