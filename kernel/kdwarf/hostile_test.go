package kdwarf

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/allocbound"
)

// TestIssue17CompressedInfoClaimsHuge: a small file whose compressed
// .debug_info claims to inflate to nearly 4 GiB, with a section header
// claiming 64 MiB of stored bytes the file does not have and a unit
// claiming the whole section. Nothing near the claimed sizes may be
// allocated (issue 17: kdwarf allocated up to 4 GiB for an 8.5 KB file).
func TestIssue17CompressedInfoClaimsHuge(t *testing.T) {
	for _, algo := range []elf.CompressionType{elf.COMPRESS_ZLIB, elf.COMPRESS_ZSTD} {
		b := &dwBuilder{}
		i := mk(tagBaseType, aName("int"), aSize(4), at(atEncoding, formData1, uint64(ateSigned)))
		b.units = []*dwUnit{{version: 5, root: mk(tagCompileUnit).kids(i)}}
		abbrev, info, str, _ := b.build()
		binary.LittleEndian.PutUint32(info[0:], 0xfffffff0-4) // unit length: the whole claimed section
		// Enough real bytes (zeros compress to almost nothing) to fill the
		// first scan window, so that the unit's length is acted on.
		info = append(info, make([]byte, scanWindow+(1<<20))...)
		file := buildELF(false, []elfSection{{".debug_abbrev", abbrev, 0}, {".debug_info", info, algo}, {".debug_str", str, 0}})
		f, err := elf.NewFile(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		s := f.Section(".debug_info")
		binary.LittleEndian.PutUint64(file[s.Offset+8:], 0xfffffff0) // ch_size
		shoff := binary.LittleEndian.Uint64(file[40:])
		for k, sec := range f.Sections {
			if sec.Name == ".debug_info" {
				binary.LittleEndian.PutUint64(file[shoff+uint64(k)*64+32:], 64<<20) // sh_size
			}
		}
		allocbound.Check(t, algo.String()+" .debug_info claiming 4 GiB", allocbound.Limit(int64(len(file)), 64, 16<<20), func() {
			d, err := Open(bytes.NewReader(file))
			if err == nil {
				_, err = d.StructByName("s")
			}
			if err == nil {
				t.Errorf("%v: no error", algo)
			}
		})
	}
}
