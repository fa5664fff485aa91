package dump

import (
	"bytes"
	"fmt"
	"testing"

	lzo "github.com/anchore/go-lzo"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// sameAsAnchore checks that decodeLZO and github.com/anchore/go-lzo, the
// decoder it replaced, accept the same streams and write the same bytes.
func sameAsAnchore(t *testing.T, src []byte, size int) {
	t.Helper()
	want := make([]byte, size)
	got := make([]byte, size)
	wn, werr := func() (n int, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return lzo.Decompress(src, want)
	}()
	gn, gerr := decodeLZO(src, got)
	if (werr == nil) != (gerr == nil) || (werr == nil && (wn != gn || !bytes.Equal(want[:wn], got[:gn]))) {
		t.Fatalf("src %x: anchore %d %v, ours %d %v", src, wn, werr, gn, gerr)
	}
}

// Every eighth LZO page of every fixture dump decodes as with anchore's decoder,
// and so does each page cut short, with a byte changed or dropped.
func TestDecodeLZOSameAsAnchore(t *testing.T) {
	sets := fixtures.Every(t)
	if b, err := fixtures.LoadBench(); err == nil {
		sets = append(sets, b)
	}
	pages := 0
	for _, s := range sets {
		for _, role := range roles(s) {
			if s.Role(role).Format == "elf" || s.Role(role).Compression != "lzo" {
				continue
			}
			d := openRole(t, s, role)
			m, ok := d.mem.(*kdumpMem)
			if !ok {
				continue
			}
			var raw []byte
			for _, r := range m.dataRanges() {
				for pfn := r.Start / m.pageSize; pfn < r.End/m.pageSize; pfn++ {
					if pfn%8 != 0 {
						continue // a sample: both decoders over every page take a minute
					}
					loc, err := m.locate(pfn)
					if err != nil || loc.d.Flags&dumpDHCompressedLZO == 0 {
						continue
					}
					raw = append(raw[:0], make([]byte, loc.d.Size)...)
					if n, _ := loc.part.r.ReadAt(raw, loc.d.Offset); n != len(raw) {
						continue
					}
					sameAsAnchore(t, raw, int(m.pageSize))
					if pages%13 == 0 {
						sameAsAnchore(t, raw[:len(raw)/2], int(m.pageSize))
						sameAsAnchore(t, raw, int(m.pageSize)/2)
						c := bytes.Clone(raw)
						c[pages%len(c)] ^= byte(pages>>3) | 1
						sameAsAnchore(t, c, int(m.pageSize))
						sameAsAnchore(t, append(bytes.Clone(raw[:len(raw)/3]), raw[len(raw)/3+1:]...), int(m.pageSize))
					}
					pages++
				}
			}
		}
	}
	if pages == 0 {
		fixtures.Missing(t, fmt.Errorf("no LZO page in the fixture dumps"))
	}
	t.Logf("%d pages", pages)
}

func FuzzDecodeLZO(f *testing.F) {
	f.Add([]byte{0x11, 0, 0}, 16)
	f.Add([]byte{0x16, 'a', 'b', 'c', 'd', 'e', 0x11, 0, 0}, 16)
	f.Add([]byte{0x15, 'a', 'b', 'c', 'd', 0x00, 0x01, 0x11, 0, 0}, 64)
	f.Add([]byte{0x13, 'a', 'b', 0x21, 0x04, 0x00, 0x11, 0, 0}, 64)
	f.Fuzz(func(t *testing.T, src []byte, size int) {
		if size < 0 || size > 1<<16 {
			return
		}
		sameAsAnchore(t, src, size)
	})
}
