package btf

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/allocbound"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// FuzzLoadSpec feeds arbitrary blobs to LoadSpec and, when one loads, decodes
// and walks every type: bad input must end in a *FormatError, never a panic
// or a hang. Interesting inputs found so far are kept in
// testdata/fuzz/FuzzLoadSpec and rerun by every `go test`.
func FuzzLoadSpec(f *testing.F) {
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		b, _ := sample(order)
		f.Add(b.blob())
	}
	b := newBuilder(binary.LittleEndian)
	b.ptr(1)
	b.composite(kindStruct, "box", 4, true, bmember{"", 2, 3<<24 | 1})
	b.ref(kindTypedef, "loop", 4)
	b.ref(kindConst, "", 3)
	f.Add(b.blob())

	f.Fuzz(walkSpec)
}

// FuzzLoadSpecFromELF loads .BTF from arbitrary ELF files, plain or
// compressed: errors, never a panic, and memory in proportion to the file.
func FuzzLoadSpecFromELF(f *testing.F) {
	b, _ := sample(binary.LittleEndian)
	blob := b.blob()
	f.Add(buildELF(f, []elfSection{{name: ".BTF", typ: elf.SHT_PROGBITS, data: blob}}))
	for _, algo := range []elf.CompressionType{elf.COMPRESS_ZLIB, elf.COMPRESS_ZSTD} {
		f.Add(buildELF(f, []elfSection{{name: ".BTF", typ: elf.SHT_PROGBITS, flags: elf.SHF_COMPRESSED, data: compressed(f, algo, blob)}}))
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		// A compressed .BTF may inflate 64-fold; then as for LoadSpec.
		allocbound.Check(t, "LoadSpecFromELF", allocbound.Limit(int64(len(file)), 64*8, 4<<20), func() {
			_, _ = LoadSpecFromELF(bytes.NewReader(file))
		})
	})
}

// walkSpec loads data and decodes every type. Loading copies the blob's
// sections once and indexes them (a few bytes per type); the bound leaves
// out the walk, whose transient strings are not held.
func walkSpec(t *testing.T, data []byte) {
	{
		var s *Spec
		var err error
		allocbound.Check(t, "LoadSpec", allocbound.Limit(int64(len(data)), 8, 1<<20), func() {
			s, err = LoadSpec(bytes.NewReader(data), int64(len(data)))
		})
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("LoadSpec error is %T, not *FormatError: %v", err, err)
			}
			return
		}
		for id := 1; id <= s.NumTypes(); id++ {
			typ, err := s.TypeByID(TypeID(id))
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("TypeByID(%d) error is %T, not *FormatError: %v", id, err, err)
				}
				continue
			}
			_ = ktype.String(typ)
			_, _ = ktype.Sizeof(typ)
			if c, ok := ktype.As[ktype.Composite](typ); ok {
				for i, m := range c.MemberList() {
					if i == 64 { // each lookup may scan them all
						break
					}
					_, _ = ktype.FindMember(typ, m.Name)
				}
			}
			if name := typ.TypeName(); name != "" {
				_, _ = s.TypeByName(name, typ.Kind())
				_, _, _ = s.VarLocation(name)
			}
			if e, ok := typ.(*ktype.Enum); ok && len(e.Values) > 0 {
				_, _ = s.EnumValue(e.Values[0].Name)
			}
		}
	}
}

// FuzzLoadDamagedSpec feeds arbitrary blobs to LoadDamagedSpec with the
// type section cut at cut and a string hole at [holeLo, holeLo+holeLen),
// read as zeros as the kernel's reader gives them, and walks every kept
// type: errors, never a panic, memory as LoadSpec's, and a lookup that
// misses says lost or not found.
func FuzzLoadDamagedSpec(f *testing.F) {
	blob, cut := damagedBlob()
	f.Add(blob, uint32(cut+4), uint32(0), uint16(0))
	b, _ := sample(binary.LittleEndian)
	s := b.blob()
	f.Add(s, uint32(btfHeaderLen+len(b.types)/2), uint32(btfHeaderLen+len(b.types)+len(b.strs)/2), uint16(8))
	f.Fuzz(func(t *testing.T, data []byte, cut, holeLo uint32, holeLen uint16) {
		data = bytes.Clone(data)
		lo, hi := min(int(holeLo), len(data)), min(int(holeLo)+int(holeLen), len(data))
		clear(data[lo:hi])
		if int(cut) < len(data) {
			clear(data[cut:])
		}
		d := Damage{TypesEnd: int64(cut)}
		if hi > lo {
			d.StringHoles = [][2]int64{{int64(lo), int64(hi)}}
		}
		var s *Spec
		var err error
		allocbound.Check(t, "LoadDamagedSpec", allocbound.Limit(int64(len(data)), 8, 1<<20), func() {
			s, err = LoadDamagedSpec(bytes.NewReader(data), int64(len(data)), d)
		})
		if err != nil {
			return
		}
		for id := 1; id <= s.NumTypes(); id++ {
			typ, err := s.TypeByID(TypeID(id))
			if err != nil {
				continue
			}
			_ = ktype.String(typ)
			_, _ = ktype.Sizeof(typ)
			if c, ok := ktype.As[ktype.Composite](typ); ok {
				for i, m := range c.MemberList() {
					if i == 64 {
						break
					}
					_, _ = ktype.FindMember(typ, m.Name)
				}
			}
		}
		for _, name := range []string{"task", "int", "nosuch", "KEPT"} {
			_, err := s.StructByName(name)
			if err != nil && !errors.Is(err, ktype.ErrNotFound) && !errors.Is(err, ktype.ErrLost) && !isFormatErr(err) {
				t.Fatalf("StructByName(%s): %v is neither not found, lost nor a format error", name, err)
			}
			_, _ = s.EnumValue(name)
			_, _, _ = s.VarLocation(name)
		}
		_, _ = s.Lost()
	})
}

func isFormatErr(err error) bool {
	var fe *FormatError
	return errors.As(err, &fe)
}
