package btf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

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

	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := LoadSpec(bytes.NewReader(data), int64(len(data)))
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
	})
}
