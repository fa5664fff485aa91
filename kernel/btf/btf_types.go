package btf

import "fmt"

// The on-disk BTF format, from include/uapi/linux/btf.h (Linux 6.1; 6.12
// emits nothing newer). Records are decoded by hand at fixed offsets with the
// blob's byte order.

const (
	btfMagic   = 0xeB9F // BTF_MAGIC
	btfVersion = 1      // BTF_VERSION

	// btfHeaderLen is sizeof(struct btf_header):
	//
	//	__u16 magic; __u8 version; __u8 flags; __u32 hdr_len;
	//	__u32 type_off; __u32 type_len; __u32 str_off; __u32 str_len;
	//
	// All offsets count from the end of the header (hdr_len).
	btfHeaderLen = 24

	// btfTypeLen is sizeof(struct btf_type): __u32 name_off; __u32 info;
	// union { __u32 size; __u32 type; }. info holds vlen in bits 0-15, the
	// kind in bits 24-28 and kind_flag in bit 31.
	btfTypeLen = 12

	// maxTypeID is BTF_MAX_TYPE: type IDs are 20 bits wide.
	maxTypeID = 0x000fffff

	// maxBlobSize bounds what LoadSpec allocates for one BTF blob. The 6.12
	// cloud kernel's .BTF is 4.5 MiB; 256 MiB is far beyond any kernel and
	// still affordable in a browser.
	maxBlobSize = 256 << 20
)

// btfKind is BTF_KIND_*. Later kinds note the release that added them.
type btfKind uint8

const (
	kindUnknown   btfKind = 0  // BTF_KIND_UNKN
	kindInt       btfKind = 1  // BTF_KIND_INT
	kindPointer   btfKind = 2  // BTF_KIND_PTR
	kindArray     btfKind = 3  // BTF_KIND_ARRAY
	kindStruct    btfKind = 4  // BTF_KIND_STRUCT
	kindUnion     btfKind = 5  // BTF_KIND_UNION
	kindEnum      btfKind = 6  // BTF_KIND_ENUM
	kindFwd       btfKind = 7  // BTF_KIND_FWD
	kindTypedef   btfKind = 8  // BTF_KIND_TYPEDEF
	kindVolatile  btfKind = 9  // BTF_KIND_VOLATILE
	kindConst     btfKind = 10 // BTF_KIND_CONST
	kindRestrict  btfKind = 11 // BTF_KIND_RESTRICT
	kindFunc      btfKind = 12 // BTF_KIND_FUNC, Linux 5.0
	kindFuncProto btfKind = 13 // BTF_KIND_FUNC_PROTO, Linux 5.0
	kindVar       btfKind = 14 // BTF_KIND_VAR, Linux 5.2
	kindDatasec   btfKind = 15 // BTF_KIND_DATASEC, Linux 5.2
	kindFloat     btfKind = 16 // BTF_KIND_FLOAT, Linux 5.13
	kindDeclTag   btfKind = 17 // BTF_KIND_DECL_TAG, Linux 5.16
	kindTypeTag   btfKind = 18 // BTF_KIND_TYPE_TAG, Linux 5.17
	kindEnum64    btfKind = 19 // BTF_KIND_ENUM64, Linux 6.0
)

var btfKindNames = [...]string{
	kindUnknown:   "UNKN",
	kindInt:       "INT",
	kindPointer:   "PTR",
	kindArray:     "ARRAY",
	kindStruct:    "STRUCT",
	kindUnion:     "UNION",
	kindEnum:      "ENUM",
	kindFwd:       "FWD",
	kindTypedef:   "TYPEDEF",
	kindVolatile:  "VOLATILE",
	kindConst:     "CONST",
	kindRestrict:  "RESTRICT",
	kindFunc:      "FUNC",
	kindFuncProto: "FUNC_PROTO",
	kindVar:       "VAR",
	kindDatasec:   "DATASEC",
	kindFloat:     "FLOAT",
	kindDeclTag:   "DECL_TAG",
	kindTypeTag:   "TYPE_TAG",
	kindEnum64:    "ENUM64",
}

func (k btfKind) String() string {
	if int(k) < len(btfKindNames) {
		return btfKindNames[k]
	}
	return fmt.Sprintf("BTF_KIND(%d)", uint8(k))
}

// Sizes of the records that follow struct btf_type for some kinds.
const (
	btfIntLen        = 4  // __u32: encoding bits 24-27, offset 16-23, nr_bits 0-7
	btfArrayLen      = 12 // struct btf_array { type, index_type, nelems }
	btfMemberLen     = 12 // struct btf_member { name_off, type, offset }
	btfEnumLen       = 8  // struct btf_enum { name_off; __s32 val }
	btfParamLen      = 8  // struct btf_param { name_off, type }
	btfVarLen        = 4  // struct btf_var { linkage }
	btfVarSecinfoLen = 12 // struct btf_var_secinfo { type, offset, size }
	btfDeclTagLen    = 4  // struct btf_decl_tag { __s32 component_idx }
	btfEnum64Len     = 12 // struct btf_enum64 { name_off, val_lo32, val_hi32 }
)

// extraLen returns how many bytes follow the struct btf_type of a record of
// this kind with vlen entries, or false for a kind this package does not
// know (whose length it therefore cannot skip).
func extraLen(kind btfKind, vlen int) (int, bool) {
	switch kind {
	case kindPointer, kindFwd, kindTypedef, kindVolatile, kindConst, kindRestrict,
		kindFunc, kindFloat, kindTypeTag:
		return 0, true
	case kindInt:
		return btfIntLen, true
	case kindArray:
		return btfArrayLen, true
	case kindStruct, kindUnion:
		return vlen * btfMemberLen, true
	case kindEnum:
		return vlen * btfEnumLen, true
	case kindFuncProto:
		return vlen * btfParamLen, true
	case kindVar:
		return btfVarLen, true
	case kindDatasec:
		return vlen * btfVarSecinfoLen, true
	case kindDeclTag:
		return btfDeclTagLen, true
	case kindEnum64:
		return vlen * btfEnum64Len, true
	}
	return 0, false
}

// Fields of struct btf_type's info word.
func infoKind(info uint32) btfKind { return btfKind(info >> 24 & 0x1f) }
func infoVlen(info uint32) int     { return int(info & 0xffff) }
func infoKflag(info uint32) bool   { return info>>31 != 0 }

// Fields of the __u32 after an INT's struct btf_type.
func intEncoding(v uint32) uint8 { return uint8(v >> 24 & 0x0f) }
func intOffset(v uint32) uint32  { return v >> 16 & 0xff }
func intBits(v uint32) uint32    { return v & 0xff }

// Fields of btf_member.offset when the struct's kind_flag is set.
func memberBitfieldSize(v uint32) uint32 { return v >> 24 }
func memberBitOffset(v uint32) uint32    { return v & 0xffffff }

// Integer encoding flags: BTF_INT_SIGNED, BTF_INT_CHAR, BTF_INT_BOOL.
const (
	btfIntSigned = 1 << 0
	btfIntChar   = 1 << 1
	btfIntBool   = 1 << 2
)
