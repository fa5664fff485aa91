package kdwarf

import (
	"bytes"
	"debug/elf"
	"slices"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/allocbound"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// exercise runs every lookup the index offers on d, as a fuzz target
// must: malformed input may fail, never panic or hang.
func exercise(d *Data) {
	if d.Index() != nil {
		return
	}
	for k := range numNameKinds {
		names := make([]string, 0, len(d.names[k].ids))
		for n := range d.names[k].ids {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names[:min(len(names), 64)] {
			var t ktype.Type
			var err error
			switch k {
			case nkStruct:
				t, err = d.StructByName(n)
			case nkUnion:
				t, err = d.UnionByName(n)
			case nkEnum:
				t, err = d.EnumByName(n)
			case nkTypedef:
				t, err = d.TypedefByName(n)
			case nkBase:
				if t, err = d.TypeByName(n, ktype.KindInt); err != nil {
					t, err = d.TypeByName(n, ktype.KindFloat)
				}
			case nkVar:
				t, err = d.VarType(n)
			}
			if err == nil {
				_ = ktype.String(t)
				_, _ = ktype.Sizeof(t)
			}
			_, _ = d.TypeByName(n, ktype.KindFwd)
		}
	}
	_, _ = d.EnumValue("EA")
}

func FuzzOpen(f *testing.F) {
	for _, h := range handBuiltVariants {
		f.Add(handBuiltDWARF(h))
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		// Compressed sections may inflate 64-fold (the cap); the index and
		// the types decoded are a small multiple of the DWARF; the
		// constant covers the 8 MiB scan window and the codecs' state.
		allocbound.Check(t, "Open and every lookup", allocbound.Limit(int64(len(file)), 64*8, 40<<20), func() {
			d, err := Open(bytes.NewReader(file))
			if err != nil {
				return
			}
			exercise(d)
		})
	})
}

// FuzzCU fuzzes .debug_info alone, with the abbreviations and strings of
// the hand-built DWARF 5 unit, so that mutations reach the entry decoders
// rather than the ELF and unit headers only.
func FuzzCU(f *testing.F) {
	file := handBuiltDWARF(handBuilt{version: 5})
	ef, err := elf.NewFile(bytes.NewReader(file))
	if err != nil {
		f.Fatal(err)
	}
	get := func(name string) []byte {
		data, err := ef.Section(name).Data()
		if err != nil {
			f.Fatal(err)
		}
		return data
	}
	abbrev, str, strOffsets := get(".debug_abbrev"), get(".debug_str"), get(".debug_str_offsets")
	f.Add(get(".debug_info"))
	for _, v := range []int{2, 4} {
		file := handBuiltDWARF(handBuilt{version: v})
		ef, err := elf.NewFile(bytes.NewReader(file))
		if err != nil {
			f.Fatal(err)
		}
		info, _ := ef.Section(".debug_info").Data()
		f.Add(info)
	}
	f.Fuzz(func(t *testing.T, info []byte) {
		file := buildELF(false, []elfSection{
			{".debug_abbrev", abbrev, 0}, {".debug_info", info, 0},
			{".debug_str", str, 0}, {".debug_str_offsets", strOffsets, 0},
		})
		d, err := Open(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err) // the ELF around the fuzzed bytes is well formed
		}
		exercise(d)
	})
}
