package btf

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/allocbound"
)

// setSectionSize rewrites the sh_size of the named section of an ELF64
// file built by buildELF.
func setSectionSize(t *testing.T, file []byte, name string, size uint64) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	shoff := binary.LittleEndian.Uint64(file[40:])
	for k, s := range f.Sections {
		if s.Name == name {
			binary.LittleEndian.PutUint64(file[shoff+uint64(k)*64+32:], size)
			return
		}
	}
	t.Fatalf("no section %s", name)
}

// TestIssue17SectionClaims: a .BTF whose header claims far more bytes
// than the file has, or a compressed one claiming a huge inflated size,
// fails before anything near the claim is allocated (issue 17: 240–512 MiB
// allocated before the sections were checked against the file).
func TestIssue17SectionClaims(t *testing.T) {
	blob := []byte{0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}
	t.Run("plain", func(t *testing.T) {
		file := buildELF(t, []elfSection{{name: ".BTF", typ: elf.SHT_PROGBITS, data: blob}})
		setSectionSize(t, file, ".BTF", 200<<20)
		allocbound.Check(t, ".BTF claiming 200 MiB", allocbound.Limit(int64(len(file)), 4, 1<<20), func() {
			if _, err := LoadSpecFromELF(bytes.NewReader(file)); err == nil {
				t.Error("no error")
			}
		})
	})
	t.Run("compressed", func(t *testing.T) {
		data := compressed(t, elf.COMPRESS_ZLIB, blob)
		binary.LittleEndian.PutUint64(data[8:], 250<<20) // ch_size
		file := buildELF(t, []elfSection{{name: ".BTF", typ: elf.SHT_PROGBITS, flags: elf.SHF_COMPRESSED, data: data}})
		allocbound.Check(t, "compressed .BTF claiming 250 MiB", allocbound.Limit(int64(len(file)), 4, 1<<20), func() {
			if _, err := LoadSpecFromELF(bytes.NewReader(file)); err == nil {
				t.Error("no error")
			}
		})
	})
}
