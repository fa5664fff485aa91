package symbols

import (
	"debug/elf"
	"os"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// firstVmlinux opens the vmlinux of the first fixture kernel (6.1).
func firstVmlinux(b *testing.B) *os.File {
	sets, err := fixtures.Load()
	if err != nil {
		fixtures.Missing(b, err)
	}
	fh, err := os.Open(sets[0].Manifest.Vmlinux.Path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fh.Close() })
	return fh
}

// BenchmarkFromELF: reading and indexing the 6.1 vmlinux's .symtab.
func BenchmarkFromELF(b *testing.B) {
	fh := firstVmlinux(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromELF(fh, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromKallsyms: decoding the 6.1 kernel's kallsyms tables (read
// from the vmlinux's initialised data, as a dump would serve them).
func BenchmarkFromKallsyms(b *testing.B) {
	fh := firstVmlinux(b)
	tab, err := FromELF(fh, 0)
	if err != nil {
		b.Fatal(err)
	}
	f, err := elf.NewFile(fh)
	if err != nil {
		b.Fatal(err)
	}
	a := kallsymsAddrsOf(b, tab)
	mem := &cachedELFMemory{elfMemory: elfMemory{f}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromKallsyms(mem, a); err != nil {
			b.Fatal(err)
		}
	}
}

// cachedELFMemory keeps the PT_LOAD bytes it has read, so that the
// benchmark measures decoding rather than file reads.
type cachedELFMemory struct {
	elfMemory
	cache map[[2]uint64][]byte
}

func (m *cachedELFMemory) ReadVirtAt(p []byte, va uint64) (int, error) {
	key := [2]uint64{va, uint64(len(p))}
	if b, ok := m.cache[key]; ok {
		return copy(p, b), nil
	}
	n, err := m.elfMemory.ReadVirtAt(p, va)
	if err == nil {
		if m.cache == nil {
			m.cache = map[[2]uint64][]byte{}
		}
		m.cache[key] = append([]byte(nil), p...)
	}
	return n, err
}

// BenchmarkKallsymsLookup1000: a report's kallsyms lookups on a fresh 6.1
// vmlinux table, the index built by the first: 1,000 addresses spread over
// the kernel's text (a report of the 6.1 fixture makes about as many).
func BenchmarkKallsymsLookup1000(b *testing.B) {
	fh := firstVmlinux(b)
	stext, etext := uint64(0), uint64(0)
	for b.Loop() {
		b.StopTimer()
		tab, err := FromELF(fh, 0)
		if err != nil {
			b.Fatal(err)
		}
		stext, etext = tab.bounds.stext, tab.bounds.einittext
		if s, ok := tab.Lookup("_stext"); ok {
			stext = s.Addr
		}
		if s, ok := tab.Lookup("_etext"); ok {
			etext = s.Addr
		}
		b.StartTimer()
		for i := range uint64(1000) {
			if _, _, _, ok := tab.KallsymsLookup(stext + (etext-stext)/1000*i + 5); !ok {
				b.Fatal("no symbol")
			}
		}
	}
}
