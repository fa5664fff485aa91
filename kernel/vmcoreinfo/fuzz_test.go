package vmcoreinfo

import (
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/allocbound"
)

// FuzzParse checks that no input makes Parse panic, and that what it
// returns is consistent: a nil error means at least one entry, and every
// kept line is in the input.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample61))
	f.Add([]byte(sample61[:1000]))
	f.Add([]byte("OSRELEASE=6.1\x00garbage"))
	f.Add([]byte("SYMBOL(x)=zz\nNUMBER(y)=0x\nSIZE()=1\nOFFSET(a.b)=-9223372036854775809\n"))
	f.Add([]byte("CONFIG_=y\nKERNELOFFSET=0x\nCRASHTIME=\nPAGESIZE=0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var info *Info
		var err error
		// Maps and lines of the parsed text: a small multiple of it.
		allocbound.Check(t, "Parse", allocbound.Limit(int64(len(b)), 32, 1<<20), func() {
			info, err = Parse(b)
		})
		if err != nil {
			if info != nil {
				t.Fatalf("error %v with non-nil info", err)
			}
			return
		}
		if len(info.Lines) == 0 {
			t.Fatalf("success with no lines")
		}
		s := string(b)
		for _, l := range info.Lines {
			if !strings.Contains(s, l) {
				t.Fatalf("line %q not in input", l)
			}
		}
		if info.PageSize&(info.PageSize-1) != 0 {
			t.Fatalf("PAGESIZE %d is not a power of two", info.PageSize)
		}
		_ = info.String()
	})
}

// FuzzFindInMemory scans fuzzed physical memory (the bytes at 0, then a
// hole, then the bytes again at 1 MiB, and an unreadable range) for VMCOREINFO: it must end, with
// memory bounded by its fixed scan buffer and the text it keeps.
func FuzzFindInMemory(f *testing.F) {
	page := make([]byte, 2*scanPage)
	copy(page, sample61)
	f.Add(page, uint8(0))
	note := make([]byte, 2*scanPage)
	copy(note[12:], "VMCOREINFO\x00\x00")
	note[0] = 11
	copy(note[noteDescOff:], sample61)
	f.Add(note, uint8(1))
	f.Fuzz(func(t *testing.T, mem []byte, holes uint8) {
		m := &fakeMemory{pages: map[uint64][]byte{}}
		for i, base := range []uint64{0, 1 << 20} {
			if holes>>i&1 == 0 {
				m.write(base, mem)
			}
		}
		ranges := []Range{{0, uint64(len(mem))}, {1 << 20, 1<<20 + uint64(len(mem))}, {1 << 40, 1<<40 + 64<<10}}
		allocbound.Check(t, "FindInMemory", allocbound.Limit(int64(len(mem)), 4, scanChunk+2*maxText+(1<<20)), func() {
			text, _, err := FindInMemory(m, ranges)
			if err == nil && !valid(text) {
				t.Fatalf("found text that does not validate: %q", text)
			}
		})
	})
}
