package object

import (
	"fmt"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
)

// The page cache gives the bytes and the errors of the memory under it:
// scalars of every size, reads across pages, pages pushed out by others of
// the same set, and reads that touch a page the memory does not have.
func TestPageCache(t *testing.T) {
	mem := fakekernel.Memory{}
	for pg := uint64(0); pg < 6; pg++ {
		if pg == 3 {
			continue // a hole
		}
		b := make([]byte, cachePageSize)
		for i := range b {
			b[i] = byte(pg*31 + uint64(i)*7)
		}
		mem.Write(0x100000+pg*cachePageSize, b)
		// The same set, cacheSets pages further: three of them evict.
		mem.Write(0x100000+(pg+cacheSets)*cachePageSize, b[:64])
		mem.Write(0x100000+(pg+2*cacheSets)*cachePageSize, b[:64])
	}
	plain := &Program{Mem: mem}
	cached := &Program{Mem: mem}
	cached.CacheReads()
	type read struct {
		va uint64
		n  int
	}
	var reads []read
	for _, va := range []uint64{0x100000, 0x100ff8, 0x100ffc, 0x101001, 0x102ffa, 0x103000, 0x104000, 0x105ff0,
		0x100000 + cacheSets*cachePageSize, 0x100000 + 2*cacheSets*cachePageSize + 8, 0x100010} {
		for _, n := range []int{1, 2, 4, 8, 16, 5000, 9000} {
			reads = append(reads, read{va, n})
		}
	}
	for _, r := range reads {
		want := make([]byte, r.n)
		got := make([]byte, r.n)
		werr := plain.readMem(want, r.va)
		gerr := cached.readMem(got, r.va)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) || (werr == nil && string(want) != string(got)) {
			t.Errorf("read %d at %#x: %v %x, want %v %x", r.n, r.va, gerr, got[:min(8, r.n)], werr, want[:min(8, r.n)])
		}
		if r.n <= 8 {
			wv, wok := uint64(0), werr == nil
			for i := range want {
				wv |= uint64(want[i]) << (8 * i)
			}
			if v, ok := cached.pages.uint(mem, r.va, uint64(r.n)); ok != (wok && r.va%cachePageSize+uint64(r.n) <= cachePageSize) || (ok && v != wv) {
				t.Errorf("uint %d at %#x: %#x %v, want %#x", r.n, r.va, v, ok, wv)
			}
		}
	}
}
