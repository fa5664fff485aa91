package btf

import (
	"bytes"
	"compress/zlib"
	"debug/elf"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// buildELF writes a little-endian ELF64 file with a null section, then the
// given sections in order, then .shstrtab.
func buildELF(t testing.TB, sections []elfSection) []byte {
	t.Helper()
	const ehsize, shentsize = 64, 64
	shstrtab := []byte{0}
	nameOff := map[string]uint32{}
	for _, s := range append(sections, elfSection{name: ".shstrtab"}) {
		nameOff[s.name] = uint32(len(shstrtab))
		shstrtab = append(append(shstrtab, s.name...), 0)
	}
	var body bytes.Buffer
	body.Write(make([]byte, ehsize))
	headers := []elf.Section64{{}}
	for _, s := range sections {
		headers = append(headers, elf.Section64{
			Name: nameOff[s.name], Type: uint32(s.typ), Flags: uint64(s.flags),
			Off: uint64(body.Len()), Size: uint64(len(s.data)), Addralign: 1,
		})
		body.Write(s.data)
	}
	headers = append(headers, elf.Section64{
		Name: nameOff[".shstrtab"], Type: uint32(elf.SHT_STRTAB),
		Off: uint64(body.Len()), Size: uint64(len(shstrtab)), Addralign: 1,
	})
	body.Write(shstrtab)
	for body.Len()%8 != 0 {
		body.WriteByte(0)
	}
	shoff := body.Len()
	for _, h := range headers {
		if err := binary.Write(&body, binary.LittleEndian, h); err != nil {
			t.Fatal(err)
		}
	}
	out := body.Bytes()
	var hdr bytes.Buffer
	ident := [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)}
	if err := binary.Write(&hdr, binary.LittleEndian, elf.Header64{
		Ident: ident, Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Shoff: uint64(shoff), Ehsize: ehsize, Shentsize: shentsize,
		Shnum: uint16(len(headers)), Shstrndx: uint16(len(headers) - 1),
	}); err != nil {
		t.Fatal(err)
	}
	copy(out, hdr.Bytes())
	return out
}

type elfSection struct {
	name  string
	typ   elf.SectionType
	flags elf.SectionFlag
	data  []byte
}

// compressed wraps data in an Elf64_Chdr and a zlib or zstd stream.
func compressed(t testing.TB, algo elf.CompressionType, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := binary.Write(&out, binary.LittleEndian, elf.Chdr64{
		Type: uint32(algo), Size: uint64(len(data)), Addralign: 1,
	}); err != nil {
		t.Fatal(err)
	}
	switch algo {
	case elf.COMPRESS_ZLIB:
		zw := zlib.NewWriter(&out)
		zw.Write(data)
		zw.Close()
	case elf.COMPRESS_ZSTD:
		zw, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(zw.EncodeAll(data, nil))
	default:
		out.Write(data)
	}
	return out.Bytes()
}

func TestLoadSpecFromELF(t *testing.T) {
	b, ids := sample(binary.LittleEndian)
	blob := b.blob()
	text := elfSection{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, data: make([]byte, 100)}
	for _, tc := range []struct {
		name string
		btf  elfSection
	}{
		{"plain", elfSection{name: ".BTF", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, data: blob}},
		{"zlib", elfSection{name: ".BTF", typ: elf.SHT_PROGBITS, flags: elf.SHF_COMPRESSED, data: compressed(t, elf.COMPRESS_ZLIB, blob)}},
		{"zstd", elfSection{name: ".BTF", typ: elf.SHT_PROGBITS, flags: elf.SHF_COMPRESSED, data: compressed(t, elf.COMPRESS_ZSTD, blob)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := buildELF(t, []elfSection{text, tc.btf})
			s, err := LoadSpecFromELF(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			checkSample(t, s, ids)
		})
	}

	for _, tc := range []struct {
		name     string
		sections []elfSection
		want     error
	}{
		{"no .BTF", []elfSection{text}, ErrNoBTF},
		{"NOBITS .BTF", []elfSection{{name: ".BTF", typ: elf.SHT_NOBITS}}, ErrNoBTF},
		{"unknown compression", []elfSection{{name: ".BTF", typ: elf.SHT_PROGBITS, flags: elf.SHF_COMPRESSED,
			data: compressed(t, 7, blob)}}, nil},
		{"corrupt zlib", []elfSection{{name: ".BTF", typ: elf.SHT_PROGBITS, flags: elf.SHF_COMPRESSED,
			data: compressed(t, elf.COMPRESS_ZLIB, blob)[:40]}}, nil},
		{"corrupt zstd", []elfSection{{name: ".BTF", typ: elf.SHT_PROGBITS, flags: elf.SHF_COMPRESSED,
			data: compressed(t, elf.COMPRESS_ZSTD, blob)[:40]}}, nil},
		{"bad blob", []elfSection{{name: ".BTF", typ: elf.SHT_PROGBITS, data: blob[:30]}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := buildELF(t, tc.sections)
			_, err := LoadSpecFromELF(bytes.NewReader(file))
			if err == nil {
				t.Fatal("LoadSpecFromELF succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := LoadSpecFromELF(bytes.NewReader(blob)); err == nil {
		t.Error("LoadSpecFromELF of a raw blob succeeded")
	}
}
