// Package ktype is the one model of kernel C types that every debug-info
// reader of vmcore-report produces: kernel/btf decodes .BTF into it and
// kernel/kdwarf decodes DWARF into it, so kernel/object and the helpers above
// it never know where a layout came from.
//
// The model follows the C type system rather than any one format: one struct
// per kind (Int, Pointer, Array, Struct, …), member offsets as Bits, and
// qualifiers and typedefs as explicit wrapper types that Underlying peels.
// Types may be cyclic (a struct holding a pointer to itself); every helper
// that follows references caps its depth, so malformed input cannot make it
// loop.
//
// Values returned by a Source are shared between callers and must not be
// modified.
package ktype

import "fmt"

// Kind tells the concrete type behind a Type.
type Kind uint8

// Kinds of types. The set mirrors C plus what BTF adds (Var, Datasec and the
// tag kinds); a DWARF reader simply never produces the BTF-only ones.
const (
	KindUnknown Kind = iota
	KindVoid
	KindInt
	KindFloat
	KindPointer
	KindArray
	KindStruct
	KindUnion
	KindEnum
	KindFwd
	KindTypedef
	KindConst
	KindVolatile
	KindRestrict
	KindTypeTag
	KindFunc
	KindFuncProto
	KindVar
	KindDatasec
	KindDeclTag
	// KindLost is a type the debug information refers to but that could
	// not be read (Lost).
	KindLost
)

var kindNames = [...]string{
	KindUnknown:   "unknown",
	KindVoid:      "void",
	KindInt:       "int",
	KindFloat:     "float",
	KindPointer:   "pointer",
	KindArray:     "array",
	KindStruct:    "struct",
	KindUnion:     "union",
	KindEnum:      "enum",
	KindFwd:       "fwd",
	KindTypedef:   "typedef",
	KindConst:     "const",
	KindVolatile:  "volatile",
	KindRestrict:  "restrict",
	KindTypeTag:   "type_tag",
	KindFunc:      "func",
	KindFuncProto: "func_proto",
	KindVar:       "var",
	KindDatasec:   "datasec",
	KindDeclTag:   "decl_tag",
	KindLost:      "lost",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Bits is a size or offset in bits. Member offsets are Bits so that bit and
// byte quantities cannot be mixed by accident.
type Bits uint64

// Bytes converts to bytes, rounding down: a bitfield's Offset.Bytes() is the
// byte that holds its first bit.
func (b Bits) Bytes() uint64 { return uint64(b) / 8 }

// PointerSize is the size of a pointer in bytes: vmcore-report reads 64-bit
// kernels only (x86-64 now, arm64 later).
const PointerSize = 8

// Type is a C type. Concrete types are pointers to the structs below; use a
// type switch, Kind or As to tell them apart.
type Type interface {
	// Kind says which concrete type this is.
	Kind() Kind
	// TypeName is the type's own name ("task_struct", "u64"), empty when the
	// type is anonymous or has no name of its own (pointers, arrays, …).
	TypeName() string
	// String is the C spelling of the type, see String.
	String() string
}

// Keep the implementer list honest.
var (
	_ Type = (*Void)(nil)
	_ Type = (*Int)(nil)
	_ Type = (*Float)(nil)
	_ Type = (*Pointer)(nil)
	_ Type = (*Array)(nil)
	_ Type = (*Struct)(nil)
	_ Type = (*Union)(nil)
	_ Type = (*Enum)(nil)
	_ Type = (*Fwd)(nil)
	_ Type = (*Typedef)(nil)
	_ Type = (*Const)(nil)
	_ Type = (*Volatile)(nil)
	_ Type = (*Restrict)(nil)
	_ Type = (*TypeTag)(nil)
	_ Type = (*Func)(nil)
	_ Type = (*FuncProto)(nil)
	_ Type = (*Var)(nil)
	_ Type = (*Datasec)(nil)
	_ Type = (*DeclTag)(nil)
	_ Type = (*Lost)(nil)
)

// Void is C's void: the target of void * and the return type of procedures.
type Void struct{}

// TheVoid is the Void sources hand out; any *Void means the same.
var TheVoid = &Void{}

// IntEncoding holds flags that say how an integer is interpreted.
type IntEncoding uint8

// Integer encodings. They match BTF_INT_SIGNED, BTF_INT_CHAR and BTF_INT_BOOL
// in include/uapi/linux/btf.h; a DWARF reader maps DW_ATE_* onto them.
const (
	Signed IntEncoding = 1 << iota
	Char
	Bool
)

// Int is an integer type: char, int, unsigned long, _Bool, __int128…
type Int struct {
	Name     string
	Size     uint32 // bytes
	Encoding IntEncoding
}

// Signed reports whether values of the type are two's complement signed.
func (i *Int) Signed() bool { return i.Encoding&Signed != 0 }

// Float is a floating-point type.
type Float struct {
	Name string
	Size uint32 // bytes
}

// Pointer is a pointer to Target; its size is PointerSize.
type Pointer struct {
	Target Type
}

// Array is an array of Count elements of Elem.
//
// Count is 0 both for zero-length arrays (x[0]) and for flexible array
// members (x[]); Flexible is set only when the source says the bound is
// unknown. BTF cannot tell the two apart and never sets it. Either way a
// Count of 0 means the array may be indexed past its end at run time.
type Array struct {
	Elem     Type
	Count    uint64
	Flexible bool
}

// Member is a member of a struct or union.
type Member struct {
	Name string // empty for an anonymous struct or union member
	Type Type
	// Offset is where the member starts, in bits from the start of the
	// enclosing struct (or, from FindMember, of the outermost type searched).
	Offset Bits
	// BitfieldSize is the width of a bitfield member, 0 for other members.
	BitfieldSize Bits
}

// Struct is a struct type. An anonymous struct has an empty Name.
type Struct struct {
	Name    string
	Size    uint32 // bytes
	Members []Member
}

// Union is a union type. An anonymous union has an empty Name.
type Union struct {
	Name    string
	Size    uint32 // bytes
	Members []Member
}

// EnumValue is one enumerator.
type EnumValue struct {
	Name string
	// Value holds the enumerator's bits; when the enum is unsigned, a value
	// above MaxInt64 reads as negative here and uint64(Value) restores it.
	Value int64
}

// Enum is an enumeration. A forward-declared enum has no Values.
type Enum struct {
	Name   string
	Size   uint32 // bytes
	Signed bool
	Values []EnumValue
}

// Value returns the value of the enumerator called name.
func (e *Enum) Value(name string) (int64, bool) {
	for _, v := range e.Values {
		if v.Name == name {
			return v.Value, true
		}
	}
	return 0, false
}

// FwdKind says what a forward declaration declares.
type FwdKind uint8

// Forward declaration kinds.
const (
	FwdStruct FwdKind = iota
	FwdUnion
)

func (k FwdKind) String() string {
	if k == FwdUnion {
		return "union"
	}
	return "struct"
}

// Fwd is a forward declaration ("struct foo;") whose body the source does
// not have.
type Fwd struct {
	Name string
	Of   FwdKind
}

// Typedef is a type alias.
type Typedef struct {
	Name string
	Type Type
}

// Const is a const-qualified type.
type Const struct{ Type Type }

// Volatile is a volatile-qualified type.
type Volatile struct{ Type Type }

// Restrict is a restrict-qualified type.
type Restrict struct{ Type Type }

// TypeTag is a btf_type_tag annotation such as __user or __rcu on the type
// it wraps; it does not change the layout.
type TypeTag struct {
	Value string
	Type  Type
}

// Linkage says where a function or variable is visible. The values match
// BTF's linkage (BTF_FUNC_* and BTF_VAR_* share them).
type Linkage uint8

// Linkages.
const (
	StaticLinkage Linkage = iota
	GlobalLinkage
	ExternLinkage
)

func (l Linkage) String() string {
	switch l {
	case StaticLinkage:
		return "static"
	case GlobalLinkage:
		return "global"
	case ExternLinkage:
		return "extern"
	}
	return fmt.Sprintf("Linkage(%d)", uint8(l))
}

// Func is a function (a subprogram, not a type of its own).
type Func struct {
	Name    string
	Proto   *FuncProto
	Linkage Linkage
}

// FuncParam is one parameter of a function prototype.
type FuncParam struct {
	Name string // often empty
	Type Type
}

// FuncProto is a function type: what a function pointer points to.
type FuncProto struct {
	Return   Type // Void for procedures
	Params   []FuncParam
	Variadic bool // ends in "..."
}

// Var is a variable. BTF describes only per-cpu variables of the kernel.
type Var struct {
	Name    string
	Type    Type
	Linkage Linkage
}

// VarSecinfo places a variable inside a Datasec.
type VarSecinfo struct {
	Type   Type // usually *Var
	Offset uint32
	Size   uint32
}

// Datasec is a data section and the variables it holds, such as
// ".data..percpu" in vmlinux BTF.
type Datasec struct {
	Name string
	Size uint32
	Vars []VarSecinfo
}

// DeclTag is a btf_decl_tag annotation on a declaration: on Type itself when
// Index is -1, otherwise on its member or parameter number Index.
type DeclTag struct {
	Value string
	Type  Type
	Index int
}

// Lost stands for a type that other types refer to but whose description
// could not be read: a kernel BTF whose type records are cut short by an
// unreadable page loses every record from there on, so a struct kept
// before the hole may have members of a lost type. Its layout (offset,
// size of the kept struct) stays right; anything that needs the lost type
// itself (its size, its members, a read of a value of it) fails with Err,
// which wraps ErrLost.
type Lost struct {
	Err error
}

func (*Lost) Kind() Kind       { return KindLost }
func (*Lost) TypeName() string { return "" }
func (t *Lost) String() string { return String(t) }

func (*Void) Kind() Kind      { return KindVoid }
func (*Int) Kind() Kind       { return KindInt }
func (*Float) Kind() Kind     { return KindFloat }
func (*Pointer) Kind() Kind   { return KindPointer }
func (*Array) Kind() Kind     { return KindArray }
func (*Struct) Kind() Kind    { return KindStruct }
func (*Union) Kind() Kind     { return KindUnion }
func (*Enum) Kind() Kind      { return KindEnum }
func (*Fwd) Kind() Kind       { return KindFwd }
func (*Typedef) Kind() Kind   { return KindTypedef }
func (*Const) Kind() Kind     { return KindConst }
func (*Volatile) Kind() Kind  { return KindVolatile }
func (*Restrict) Kind() Kind  { return KindRestrict }
func (*TypeTag) Kind() Kind   { return KindTypeTag }
func (*Func) Kind() Kind      { return KindFunc }
func (*FuncProto) Kind() Kind { return KindFuncProto }
func (*Var) Kind() Kind       { return KindVar }
func (*Datasec) Kind() Kind   { return KindDatasec }
func (*DeclTag) Kind() Kind   { return KindDeclTag }

func (*Void) TypeName() string      { return "" }
func (t *Int) TypeName() string     { return t.Name }
func (t *Float) TypeName() string   { return t.Name }
func (*Pointer) TypeName() string   { return "" }
func (*Array) TypeName() string     { return "" }
func (t *Struct) TypeName() string  { return t.Name }
func (t *Union) TypeName() string   { return t.Name }
func (t *Enum) TypeName() string    { return t.Name }
func (t *Fwd) TypeName() string     { return t.Name }
func (t *Typedef) TypeName() string { return t.Name }
func (*Const) TypeName() string     { return "" }
func (*Volatile) TypeName() string  { return "" }
func (*Restrict) TypeName() string  { return "" }
func (*TypeTag) TypeName() string   { return "" }
func (t *Func) TypeName() string    { return t.Name }
func (*FuncProto) TypeName() string { return "" }
func (t *Var) TypeName() string     { return t.Name }
func (t *Datasec) TypeName() string { return t.Name }
func (*DeclTag) TypeName() string   { return "" }

func (t *Void) String() string      { return String(t) }
func (t *Int) String() string       { return String(t) }
func (t *Float) String() string     { return String(t) }
func (t *Pointer) String() string   { return String(t) }
func (t *Array) String() string     { return String(t) }
func (t *Struct) String() string    { return String(t) }
func (t *Union) String() string     { return String(t) }
func (t *Enum) String() string      { return String(t) }
func (t *Fwd) String() string       { return String(t) }
func (t *Typedef) String() string   { return String(t) }
func (t *Const) String() string     { return String(t) }
func (t *Volatile) String() string  { return String(t) }
func (t *Restrict) String() string  { return String(t) }
func (t *TypeTag) String() string   { return String(t) }
func (t *Func) String() string      { return String(t) }
func (t *FuncProto) String() string { return String(t) }
func (t *Var) String() string       { return String(t) }
func (t *Datasec) String() string   { return String(t) }
func (t *DeclTag) String() string   { return String(t) }

// Composite is implemented by Struct and Union: the types that have members.
type Composite interface {
	Type
	// MemberList returns the members in declaration order.
	MemberList() []Member
	// ByteSize is the size in bytes.
	ByteSize() uint32
}

var (
	_ Composite = (*Struct)(nil)
	_ Composite = (*Union)(nil)
)

func (t *Struct) MemberList() []Member { return t.Members }
func (t *Union) MemberList() []Member  { return t.Members }
func (t *Struct) ByteSize() uint32     { return t.Size }
func (t *Union) ByteSize() uint32      { return t.Size }
