package unwind

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/allocbound"
)

// FuzzReadTable reads an ORC table from fuzzed memory (ips, then entries
// of as many) and looks up addresses in and around it: errors, never a
// panic, and memory in proportion to what the memory holds.
func FuzzReadTable(f *testing.F) {
	seed := make([]byte, 8*4+8*EntrySize)
	for i := range 8 {
		binary.LittleEndian.PutUint32(seed[4*i:], uint32(16*i-4*i)) // ip i at base+16i, relative to its slot
	}
	f.Add(seed, uint8(8), uint8(0))
	f.Add(seed, uint8(200), uint8(2))
	layouts := []Layout{LayoutV1, LayoutV2, LayoutV3}
	f.Fuzz(func(t *testing.T, mem []byte, n, layout uint8) {
		const base = 0xffffffff81000000
		r := bytes.NewReader(mem)
		allocbound.Check(t, "ORC table", allocbound.Limit(int64(len(mem)), 4, 1<<20), func() {
			tab, err := ReadTable(offsetReader{r, base}, base, base+4*uint64(n), base+4*uint64(n), base+4*uint64(n)+EntrySize*uint64(n),
				layouts[int(layout)%len(layouts)])
			if err != nil {
				return
			}
			lo, hi := tab.Range()
			for _, pc := range []uint64{lo, hi, lo - 1, hi + 1, (lo + hi) / 2, base} {
				_, _ = tab.Find(pc)
			}
		})
	})
}

// offsetReader reads r as if it started at base.
type offsetReader struct {
	r    *bytes.Reader
	base uint64
}

func (o offsetReader) ReadAt(p []byte, off int64) (int, error) {
	return o.r.ReadAt(p, off-int64(o.base))
}
