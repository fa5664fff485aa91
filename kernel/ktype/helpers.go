package ktype

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// maxResolveDepth caps how many typedefs, qualifiers, nested arrays or
// anonymous members a helper follows. It is MAX_RESOLVE_DEPTH of libbpf and
// the kernel's BTF verifier (tools/lib/bpf/btf.c, kernel/bpf/btf.c), deep
// enough for any real kernel type and short enough to stop a cycle in
// malformed input.
const maxResolveDepth = 32

// Underlying peels typedefs, qualifiers (const, volatile, restrict) and type
// tags off t. If the chain is longer than the depth cap (only possible in a
// malformed source) it returns the wrapper where it stopped, which callers
// then reject as "not a struct" and the like. Underlying(nil) is nil.
func Underlying(t Type) Type {
	for range maxResolveDepth {
		switch u := t.(type) {
		case *Typedef:
			t = u.Type
		case *Const:
			t = u.Type
		case *Volatile:
			t = u.Type
		case *Restrict:
			t = u.Type
		case *TypeTag:
			t = u.Type
		default:
			return t
		}
	}
	return t
}

// As peels typedefs and qualifiers off t like Underlying and reports whether
// what remains is a T: ktype.As[*ktype.Struct](t).
func As[T Type](t Type) (T, bool) {
	u, ok := Underlying(t).(T)
	return u, ok
}

// Sizeof returns the size of t in bytes, like C's sizeof. It wraps
// ErrIncomplete for void, functions and forward declarations.
func Sizeof(t Type) (uint64, error) {
	count := uint64(1)
	orig := t
	for range maxResolveDepth {
		var size uint64
		switch u := Underlying(t).(type) {
		case *Array:
			hi, lo := bits.Mul64(count, u.Count)
			if hi != 0 {
				return 0, fmt.Errorf("sizeof %s: size overflows", String(orig))
			}
			count = lo
			t = u.Elem
			continue
		case *Int:
			size = uint64(u.Size)
		case *Float:
			size = uint64(u.Size)
		case *Enum:
			size = uint64(u.Size)
		case *Struct:
			size = uint64(u.Size)
		case *Union:
			size = uint64(u.Size)
		case *Datasec:
			size = uint64(u.Size)
		case *Pointer:
			size = PointerSize
		case *Var:
			t = u.Type
			continue
		case *Lost:
			return 0, fmt.Errorf("sizeof %s: %w", String(orig), u.Err)
		case nil:
			return 0, fmt.Errorf("sizeof <nil>: %w", ErrIncomplete)
		default:
			return 0, fmt.Errorf("sizeof %s: %w", String(orig), ErrIncomplete)
		}
		hi, lo := bits.Mul64(count, size)
		if hi != 0 {
			return 0, fmt.Errorf("sizeof %s: size overflows", String(orig))
		}
		return lo, nil
	}
	return 0, fmt.Errorf("sizeof %s: nested more than %d deep", String(orig), maxResolveDepth)
}

// FindMember resolves a member path in the struct or union t, like the
// designator of C's offsetof: "pid", "se.vruntime", "vm_stat[3]",
// "thread.fpu". Members of anonymous struct and union members are found as
// if they belonged to the outer type, as in C. t may be wrapped in typedefs
// and qualifiers.
//
// The result is the last member named, with Offset counted in bits from the
// start of t (not of the innermost struct) and Name the last component
// without any index. Missing members wrap ErrNotFound, so callers can probe a
// kernel for a member that only some versions have.
func FindMember(t Type, path string) (Member, error) {
	if path == "" {
		return Member{}, fmt.Errorf("%s: empty member path", String(t))
	}
	var (
		cur    = t
		offset Bits
		found  Member
	)
	for comp := range strings.SplitSeq(path, ".") {
		name, indexes, err := splitIndexes(comp)
		if err != nil {
			return Member{}, fmt.Errorf("%s: member %q: %w", String(t), path, err)
		}
		if l, ok := As[*Lost](cur); ok {
			return Member{}, fmt.Errorf("%s: member %q: %w", String(t), path, l.Err)
		}
		c, ok := As[Composite](cur)
		if !ok {
			return Member{}, fmt.Errorf("%s: member %q: %s is not a struct or union", String(t), path, String(cur))
		}
		m, ok := lookupMember(c, name)
		if !ok {
			// An anonymous member of a lost type may hold the name: then
			// "not found" cannot be said.
			budget := maxMembersSearched
			if l := lostAnonymous(c, 0, &budget); l != nil {
				return Member{}, fmt.Errorf("%s: member %q: not among the members that could be read: %w", String(t), path, l.Err)
			}
			return Member{}, fmt.Errorf("%s: member %q: %w", String(t), path, ErrNotFound)
		}
		offset += m.Offset
		found = Member{Name: name, Type: m.Type, BitfieldSize: m.BitfieldSize}
		cur = m.Type
		for _, idx := range indexes {
			arr, ok := As[*Array](cur)
			if !ok {
				return Member{}, fmt.Errorf("%s: member %q: indexing %s, not an array", String(t), path, String(cur))
			}
			if arr.Count != 0 && idx >= arr.Count {
				return Member{}, fmt.Errorf("%s: member %q: index %d out of range [0,%d)", String(t), path, idx, arr.Count)
			}
			elemSize, err := Sizeof(arr.Elem)
			if err != nil {
				return Member{}, fmt.Errorf("%s: member %q: %w", String(t), path, err)
			}
			hi, lo := bits.Mul64(idx, elemSize)
			hi2, lo := bits.Mul64(lo, 8)
			sum, carry := bits.Add64(uint64(offset), lo, 0)
			if hi != 0 || hi2 != 0 || carry != 0 {
				return Member{}, fmt.Errorf("%s: member %q: offset overflows", String(t), path)
			}
			offset = Bits(sum)
			cur = arr.Elem
			found.Type = cur
			found.BitfieldSize = 0
		}
	}
	found.Offset = offset
	return found, nil
}

// MemberOffset returns the byte offset of a member path in t, as C's
// offsetof does (see FindMember for the path syntax). It wraps ErrBitfield
// for a bitfield, whose position is not a whole byte; use FindMember there.
func MemberOffset(t Type, path string) (uint64, error) {
	m, err := FindMember(t, path)
	if err != nil {
		return 0, err
	}
	if m.BitfieldSize != 0 || m.Offset%8 != 0 {
		return 0, fmt.Errorf("%s: member %q: %w", String(t), path, ErrBitfield)
	}
	return m.Offset.Bytes(), nil
}

// maxMembersSearched bounds the members one lookup inspects. A real struct
// and all its anonymous members hold a few hundred; malformed input can nest
// an anonymous member that holds its own type twice, which a depth cap alone
// would let grow to 2^maxResolveDepth.
const maxMembersSearched = 1 << 14

// lookupMember finds name among c's members, descending into anonymous
// struct and union members; the offset returned is relative to c.
func lookupMember(c Composite, name string) (Member, bool) {
	budget := maxMembersSearched
	return lookupMemberIn(c, name, 0, &budget)
}

func lookupMemberIn(c Composite, name string, depth int, budget *int) (Member, bool) {
	members := c.MemberList()
	*budget -= len(members)
	if depth >= maxResolveDepth || *budget < 0 {
		return Member{}, false
	}
	for _, m := range members {
		if m.Name == name {
			return m, true
		}
	}
	for _, m := range members {
		if m.Name != "" {
			continue
		}
		inner, ok := As[Composite](m.Type)
		if !ok {
			continue
		}
		if im, ok := lookupMemberIn(inner, name, depth+1, budget); ok {
			im.Offset += m.Offset
			return im, true
		}
	}
	return Member{}, false
}

// lostAnonymous returns a lost type among c's anonymous members (nested
// ones too), nil when there is none. The walk is capped as lookupMember's.
func lostAnonymous(c Composite, depth int, budget *int) *Lost {
	members := c.MemberList()
	*budget -= len(members)
	if depth >= maxResolveDepth || *budget < 0 {
		return nil
	}
	for _, m := range members {
		if m.Name != "" {
			continue
		}
		if l, ok := As[*Lost](m.Type); ok {
			return l
		}
		if inner, ok := As[Composite](m.Type); ok {
			if l := lostAnonymous(inner, depth+1, budget); l != nil {
				return l
			}
		}
	}
	return nil
}

// splitIndexes splits "vm_stat[3][1]" into "vm_stat" and [3 1].
func splitIndexes(comp string) (string, []uint64, error) {
	name, rest, hasIndex := strings.Cut(comp, "[")
	if name == "" {
		return "", nil, fmt.Errorf("empty component in path")
	}
	if !hasIndex {
		return name, nil, nil
	}
	var indexes []uint64
	rest = "[" + rest
	for rest != "" {
		if rest[0] != '[' {
			return "", nil, fmt.Errorf("bad index syntax at %q", rest)
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", nil, fmt.Errorf("unterminated index at %q", rest)
		}
		idx, err := strconv.ParseUint(rest[1:end], 0, 64)
		if err != nil {
			return "", nil, fmt.Errorf("bad index %q", rest[1:end])
		}
		indexes = append(indexes, idx)
		rest = rest[end+1:]
	}
	return name, indexes, nil
}
