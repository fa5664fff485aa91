package x86

import (
	"encoding/binary"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/allocbound"
)

// FuzzTranslate walks page tables made of fuzzed bytes: the input is
// physical memory from address 0, the root table is its first page, and
// the walk follows whatever entries it holds (cycles, self-references,
// huge pages, entries pointing past memory). It must end in an address or
// an error, with memory bounded by the table cache, the TLB and a read.
// FindPageOffset is left out: on tables of random bytes it spends its
// whole candidate budget (~70k reads, a tenth of a second), which would
// slow the fuzzer a hundredfold; TestFindPageOffset covers it.
func FuzzTranslate(f *testing.F) {
	seed := make([]byte, 5*PageSize)
	le := binary.LittleEndian
	le.PutUint64(seed[idx(0xffffffff81000000, 3)*8:], PageSize|tbl)              // PML4 → PDPT at 1 page
	le.PutUint64(seed[PageSize+idx(0xffffffff81000000, 2)*8:], 2*PageSize|tbl)   // PDPT → PD
	le.PutUint64(seed[2*PageSize+idx(0xffffffff81000000, 1)*8:], 3*PageSize|tbl) // PD → PT
	le.PutUint64(seed[3*PageSize+idx(0xffffffff81000000, 0)*8:], 4*PageSize|tbl) // PT → page
	le.PutUint64(seed[idx(0xffff888000000000, 3)*8:], 0|tbl)                     // a self-reference
	le.PutUint64(seed[PageSize+idx(0xffff888040000000, 2)*8:], 0|tbl|fPS)        // a 1 GiB page
	f.Add(seed, false)
	f.Add(seed[:PageSize], true)
	vas := []uint64{0xffffffff81000000, 0xffffffff81000ff8, 0xffff888000000000, 0xffff888040001000,
		0xffffc90000000000, 0xffffea0000000000, 0x00007fffffffe000, 0xff11000000000000, 0}
	f.Fuzz(func(t *testing.T, mem []byte, l5 bool) {
		m := newFakeMemory()
		m.write(0, mem)
		allocbound.Check(t, "page-table walks", allocbound.Limit(int64(len(mem)), 4, 2*defaultTableCachePages*PageSize+(1<<20)), func() {
			tr, err := New(m, Config{PGD: 0, L5: l5})
			if err != nil {
				return
			}
			buf := make([]byte, 3*PageSize)
			for i, va := range vas {
				_, _, _ = tr.Translate(va)
				_, _ = tr.ReadVirtAt(buf[:1+i*512], va+uint64(i))
			}
		})
	})
}
