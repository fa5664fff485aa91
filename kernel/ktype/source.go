package ktype

import "errors"

// Errors that helpers and sources wrap with %w behind a short prefix naming
// the object, e.g. `struct task_struct: member "state": not found`.
var (
	// ErrNotFound: no type, member or enumerator has that name.
	ErrNotFound = errors.New("not found")
	// ErrMultipleMatches: a name that had to be unique matched several
	// different things.
	ErrMultipleMatches = errors.New("multiple matches")
	// ErrIncomplete: the type has no size (void, a function, a forward
	// declaration).
	ErrIncomplete = errors.New("incomplete type")
	// ErrBitfield: a byte offset was asked of a bitfield member.
	ErrBitfield = errors.New("bitfield member")
	// ErrLost: the debug information that would answer could not be read
	// (a damaged page of the kernel's BTF). Unlike ErrNotFound it says
	// nothing about whether the kernel has the type, member or enumerator:
	// a probe must not take it for "no".
	ErrLost = errors.New("type information lost")
)

// Source is the type lookup that the layers above the debug-info readers use.
// kernel/btf's Spec implements it, and so will the DWARF reader.
//
// Each ByName method wraps ErrNotFound when nothing matches. When a name is
// defined more than once with different layouts (it happens: two files may
// each have a private "struct entry"), a source returns the first definition
// with a body and documents which one that is.
type Source interface {
	// StructByName returns struct name.
	StructByName(name string) (*Struct, error)
	// UnionByName returns union name.
	UnionByName(name string) (*Union, error)
	// TypedefByName returns typedef name.
	TypedefByName(name string) (*Typedef, error)
	// EnumByName returns enum name.
	EnumByName(name string) (*Enum, error)
	// TypeByName returns the type of the given kind with that name, e.g.
	// ("task_struct", KindStruct) or ("unsigned long", KindInt).
	TypeByName(name string, kind Kind) (Type, error)
	// EnumValue returns the value of the enumerator called name, looked for
	// in every enum (NR_FREE_PAGES in enum zone_stat_item). It wraps
	// ErrMultipleMatches when two enums give the name different values.
	EnumValue(name string) (int64, error)
}
