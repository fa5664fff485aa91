// Package object gives typed access to the crashed kernel's memory, in the
// spirit of drgn's Object: look a variable up, follow members and pointers,
// read values.
//
//	task := prog.Var("init_task")
//	pid, err := task.Member("pid").Int()
//	comm, err := task.Member("comm").CString()
//	mm := task.Member("mm").Deref()
//
// Errors are sticky: a chain of Member/Deref/Index calls carries the first
// failure to the final read, and the error names the path that failed
// ("init_task.mm->mmap: read virt 0x…: page excluded from dump").
package object

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// Memory reads the crashed kernel's virtual address space.
type Memory interface {
	ReadVirtAt(p []byte, va uint64) (int, error)
}

// Symbols resolves a kernel symbol to its (runtime) address.
type Symbols interface {
	Addr(name string) (uint64, error)
}

// VarTypes gives the type of a global variable (DWARF has them; BTF only
// for per-cpu variables).
type VarTypes interface {
	VarType(name string) (ktype.Type, error)
}

// Program is the crashed kernel as typed memory.
type Program struct {
	Mem   Memory
	Types ktype.Source
	Syms  Symbols
	// Vars is consulted by Var; nil when no source of variable types exists
	// (then use VarAs with the type spelled out).
	Vars VarTypes
	// ModuleTypes, when set, answers the struct, union, enum and typedef
	// names Types lacks: types defined in loaded modules (their split BTF,
	// kernel/linux ModuleTypes). Types stays first, so a module never
	// shadows the kernel's own definition.
	ModuleTypes ktype.Source

	// pages, when set (CacheReads), keeps the pages objects read.
	pages *pageCache

	// Every task, mount and page walk asks for the same few type
	// spellings and members thousands of times; both answers are kept.
	typeCache sync.Map // spelling → typeAnswer
	recent    [recentMembers]atomic.Pointer[recentMember]
	members   struct {
		sync.RWMutex
		// by type, then path: a map keyed by the interface alone hashes
		// far faster than one keyed by a struct holding it.
		m map[ktype.Type]map[string]memberAnswer
	}

	// undecided counts the probes that could not be answered because the
	// types that would answer them were lost (ktype.ErrLost), and keeps
	// the last reason.
	undecided struct {
		sync.Mutex
		n   int64
		err error
	}
}

// NoteUndecided records a probe of the kernel (a member, an enumerator, a
// symbol) that could not be answered: err wraps ktype.ErrLost or
// symbols.ErrLost. Such a probe
// answers no, which may be wrong, so whoever ran it must not be trusted:
// the report fails each output during which the count grew.
func (p *Program) NoteUndecided(err error) {
	p.undecided.Lock()
	p.undecided.n++
	p.undecided.err = err
	p.undecided.Unlock()
}

// Undecided is how many probes could not be answered so far, and why the
// last one could not.
func (p *Program) Undecided() (int64, error) {
	p.undecided.Lock()
	defer p.undecided.Unlock()
	return p.undecided.n, p.undecided.err
}

// probeFailed reports whether a probe's error leaves it undecided, and
// records it if so.
func (p *Program) probeFailed(err error) bool {
	if err != nil && errors.Is(err, ktype.ErrLost) {
		p.NoteUndecided(err)
		return true
	}
	return false
}

// lostType is the error of a use of a lost type (ktype.Lost), nil for
// any other type.
func lostType(t ktype.Type) error {
	if l, ok := ktype.As[*ktype.Lost](t); ok {
		return l.Err
	}
	return nil
}

type typeAnswer struct {
	t   ktype.Type
	err error
	// mainErr is the answer of Types alone; fromModules says t came from
	// ModuleTypes, modulesUnasked that they were not asked yet.
	mainErr                     error
	fromModules, modulesUnasked bool
}

type memberAnswer struct {
	m   ktype.Member
	err error
}

// recentMember holds the answers of findMember for one path, for the
// last few types it was asked of (list_head's "next", task_struct's and
// mm_struct's "flags").
type recentMember struct {
	path string
	ts   []ktype.Type
	as   []memberAnswer
}

const (
	recentMembers = 4096 // slots of Program.recent (a power of 2)
	recentTypes   = 4    // types kept per path
)

// findMember is ktype.FindMember, remembered per type and path.
//
// The answers most recently asked sit in slots found by a hash of the
// path, read without a lock: a report asks for members a few hundred
// times per task, and two map lookups under a lock per member (the
// interface and the string hashed, without AES in wasm) cost more than
// the read of the member itself.
func (p *Program) findMember(t ktype.Type, path string) (ktype.Member, error) {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(path); i++ {
		h = (h ^ uint32(path[i])) * 16777619
	}
	slot := &p.recent[h%recentMembers]
	r := slot.Load()
	if r != nil && r.path == path {
		for i, rt := range r.ts {
			if rt == t {
				return r.as[i].m, r.as[i].err
			}
		}
	}
	a := p.findMemberSlow(t, path)
	n := &recentMember{path: path, ts: []ktype.Type{t}, as: []memberAnswer{a}}
	if r != nil && r.path == path {
		keep := min(len(r.ts), recentTypes-1)
		n.ts = append(n.ts, r.ts[:keep]...)
		n.as = append(n.as, r.as[:keep]...)
	}
	slot.Store(n)
	return a.m, a.err
}

// findMemberSlow answers from, or adds to, the map of every answer.
func (p *Program) findMemberSlow(t ktype.Type, path string) memberAnswer {
	c := &p.members
	c.RLock()
	a, ok := c.m[t][path]
	c.RUnlock()
	if ok {
		return a
	}
	m, err := ktype.FindMember(t, path)
	c.Lock()
	if c.m == nil {
		c.m = map[ktype.Type]map[string]memberAnswer{}
	}
	byPath := c.m[t]
	if byPath == nil {
		byPath = map[string]memberAnswer{}
		c.m[t] = byPath
	}
	byPath[path] = memberAnswer{m, err}
	c.Unlock()
	return memberAnswer{m, err}
}

// Object is a value of a C type in the crashed kernel: an lvalue at an
// address, or an rvalue (a pointer computed by Address or ContainerOf).
type Object struct {
	prog *Program
	typ  ktype.Type
	addr uint64
	// rvalue objects have no address; val holds their value.
	rvalue bool
	val    uint64
	// bitfields: position and width within the bytes at addr.
	bitOff, bitSize uint64
	path            *exprPath
	// last is the path's last step, kept in the object: it goes to the
	// heap (as the parent of the next step) only when a further step is
	// taken. Most reads are one member away from an object whose path is
	// on the heap already, so each saves an allocation.
	last step
	err  error
}

// step is one step of an expression path held in an Object: op is
// pathMember, pathDeref, pathIndex, pathAddressOf, pathCast,
// pathDerefMember or pathMemberDeref; pathName (0) means none (roots are
// always on the heap).
type step struct {
	op   byte
	text string
	n    uint64
}

// full is the object's whole path on the heap.
func (o Object) full() *exprPath {
	if o.last.op == pathName {
		return o.path
	}
	return &exprPath{parent: o.path, op: o.last.op, text: o.last.text, n: o.last.n}
}

// pathText spells the object's path, for messages.
func (o Object) pathText() string { return o.full().String() }

// exprPath is the expression that produced an object, as a chain of steps
// spelled out only for messages: formatting it at every step cost more
// than the reads themselves.
type exprPath struct {
	parent *exprPath
	op     byte       // one of the path* constants
	text   string     // root name, member path, cast type or container type
	member string     // container_of's member
	n      uint64     // index, address or pointer
	t      ktype.Type // the type of an object made from an address
}

const (
	pathName      = iota // text
	pathAt               // *(t *)n
	pathContainer        // container_of(n, text, member)
	pathMember           // parent.text
	pathDeref            // *parent
	pathIndex            // parent[n]
	pathAddressOf        // &parent
	pathCast             // ((text)parent)
	// Two steps in one node, as an Object's inline step takes them
	// (spelled as the two would be):
	pathDerefMember // (*parent).text, spelled *parent.text: C's parent->text
	pathMemberDeref // *parent.text
)

func (e *exprPath) String() string {
	var steps []*exprPath
	for ; e != nil; e = e.parent {
		steps = append(steps, e)
	}
	var b strings.Builder
	for i := len(steps) - 1; i >= 0; i-- {
		e := steps[i]
		switch e.op {
		case pathName:
			b.WriteString(e.text)
		case pathAt:
			fmt.Fprintf(&b, "*(%s *)%#x", ktype.String(e.t), e.n)
		case pathContainer:
			fmt.Fprintf(&b, "container_of(%#x, %s, %s)", e.n, e.text, e.member)
		case pathMember:
			b.WriteString(".")
			b.WriteString(e.text)
		case pathIndex:
			fmt.Fprintf(&b, "[%d]", e.n)
		case pathDerefMember:
			inner := b.String()
			b.Reset()
			b.WriteString("*" + inner + "." + e.text)
		case pathMemberDeref:
			inner := b.String()
			b.Reset()
			b.WriteString("*" + inner + "." + e.text)
		case pathDeref, pathAddressOf, pathCast:
			// Prefix operators wrap everything spelled so far.
			inner := b.String()
			b.Reset()
			switch e.op {
			case pathDeref:
				b.WriteString("*" + inner)
			case pathAddressOf:
				b.WriteString("&" + inner)
			default:
				fmt.Fprintf(&b, "((%s)%s)", e.text, inner)
			}
		}
	}
	return b.String()
}

func namePath(name string) *exprPath { return &exprPath{op: pathName, text: name} }

// Err is the object's sticky error, nil when it is valid.
func (o Object) Err() error { return o.err }

// Type is the object's type.
func (o Object) Type() ktype.Type { return o.typ }

// Path is the expression that produced the object, for messages.
func (o Object) Path() string { return o.pathText() }

// Address is where the object lives; ok is false for an rvalue.
func (o Object) Address() (uint64, bool) { return o.addr, !o.rvalue && o.err == nil }

// Prog is the program the object belongs to.
func (o Object) Prog() *Program { return o.prog }

func (o Object) fail(err error) Object {
	if o.err != nil {
		return o
	}
	o.err = fmt.Errorf("%s: %w", o.pathText(), err)
	return o
}

// Errorf makes an invalid object carrying the formatted error.
func (p *Program) Errorf(path, format string, args ...any) Object {
	return Object{prog: p, path: namePath(path), err: fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))}
}

// Object makes an lvalue of type t at addr.
func (p *Program) Object(t ktype.Type, addr uint64, path string) Object {
	if err := lostType(t); err != nil {
		return Object{prog: p, path: namePath(path), err: fmt.Errorf("%s: %w", path, err)}
	}
	if path == "" {
		return Object{prog: p, typ: t, addr: addr, path: &exprPath{op: pathAt, t: t, n: addr}}
	}
	return Object{prog: p, typ: t, addr: addr, path: namePath(path)}
}

// Var is the global variable name, typed by the program's variable-type
// source.
func (p *Program) Var(name string) Object {
	if p.Vars == nil {
		return p.Errorf(name, "no source of variable types (no DWARF): use VarAs")
	}
	t, err := p.Vars.VarType(name)
	if err != nil {
		return Object{prog: p, path: namePath(name), err: fmt.Errorf("%s: type: %w", name, err)}
	}
	return p.varAt(name, t)
}

// VarAs is the global variable name read as the type spelled typ
// ("struct task_struct", "unsigned long", "struct list_head *").
func (p *Program) VarAs(name, typ string) Object {
	t, err := p.Type(typ)
	if err != nil {
		return Object{prog: p, path: namePath(name), err: fmt.Errorf("%s: %w", name, err)}
	}
	return p.varAt(name, t)
}

func (p *Program) varAt(name string, t ktype.Type) Object {
	addr, err := p.Syms.Addr(name)
	if err != nil {
		return Object{prog: p, path: namePath(name), err: err}
	}
	return Object{prog: p, typ: t, addr: addr, path: namePath(name)}
}

// Type parses a simple C type spelling: "struct X", "union X", "enum X", a
// typedef or base type name ("u64", "unsigned long"), followed by any
// number of "*".
func (p *Program) Type(spec string) (ktype.Type, error) { return p.typeOf(spec, true) }

// typeOf is Type, asking ModuleTypes too when withModules is set. An answer
// found without asking the modules is remembered as such, so a later call
// that may ask them still does.
func (p *Program) typeOf(spec string, withModules bool) (ktype.Type, error) {
	if a, ok := p.typeCache.Load(spec); ok {
		a := a.(typeAnswer)
		switch {
		case a.err == nil && a.fromModules && !withModules:
			return nil, a.mainErr
		case !(a.err != nil && a.modulesUnasked && withModules && p.ModuleTypes != nil):
			return a.t, a.err
		}
	}
	t, err := p.parseType(spec, p.Types)
	a := typeAnswer{t: t, err: err, mainErr: err}
	if err != nil && errors.Is(err, ktype.ErrNotFound) && p.ModuleTypes != nil {
		if !withModules {
			a.modulesUnasked = true
		} else if mt, merr := p.parseType(spec, p.ModuleTypes); merr == nil {
			a.t, a.err, a.fromModules = mt, nil, true
		} else if !errors.Is(merr, ktype.ErrNotFound) {
			a.err = fmt.Errorf("%w; in modules: %w", err, merr)
		}
	}
	p.typeCache.Store(spec, a)
	if a.fromModules && !withModules {
		return nil, a.mainErr
	}
	return a.t, a.err
}

func (p *Program) parseType(spec string, src ktype.Source) (ktype.Type, error) {
	s := strings.TrimSpace(spec)
	stars := 0
	for strings.HasSuffix(s, "*") {
		stars++
		s = strings.TrimSpace(strings.TrimSuffix(s, "*"))
	}
	var t ktype.Type
	var err error
	switch {
	case strings.HasPrefix(s, "struct "):
		t, err = src.StructByName(strings.TrimSpace(s[len("struct "):]))
	case strings.HasPrefix(s, "union "):
		t, err = src.UnionByName(strings.TrimSpace(s[len("union "):]))
	case strings.HasPrefix(s, "enum "):
		t, err = src.EnumByName(strings.TrimSpace(s[len("enum "):]))
	case s == "void":
		t = ktype.TheVoid
	default:
		t, err = src.TypedefByName(s)
		if err != nil {
			t, err = src.TypeByName(s, ktype.KindInt)
		}
		if alias, ok := cIntNames[s]; ok && err != nil {
			t, err = src.TypeByName(alias, ktype.KindInt)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("type %q: %w", spec, err)
	}
	for range stars {
		t = &ktype.Pointer{Target: t}
	}
	return t, nil
}

// cIntNames maps C spellings to the names compilers give base types in
// DWARF and BTF ("unsigned long" is "long unsigned int").
var cIntNames = map[string]string{
	"unsigned":           "unsigned int",
	"long":               "long int",
	"unsigned long":      "long unsigned int",
	"long long":          "long long int",
	"unsigned long long": "long long unsigned int",
	"short":              "short int",
	"unsigned short":     "short unsigned int",
}

// HasMember reports whether struct or union typ (spelled as for Type) has
// the member path; used to tell kernel versions apart by their layout.
//
// The probe asks the kernel's own types only, never ModuleTypes: feature
// probes are about the kernel image, and a probe for a type this kernel
// lacks would otherwise read every module's BTF to say no. For a module
// type, use Type and the object's HasMember.
//
// A probe that cannot be answered, the types that would answer lost,
// answers false and is recorded (NoteUndecided).
func (p *Program) HasMember(typ, member string) bool {
	t, err := p.typeOf(typ, false)
	if err != nil {
		p.probeFailed(err)
		return false
	}
	_, err = p.findMember(t, member)
	p.probeFailed(err)
	return err == nil
}

// HasMember reports whether the object's struct type has the member path.
// An unanswerable probe is recorded as Program.HasMember's.
func (o Object) HasMember(member string) bool {
	if o.err != nil {
		return false
	}
	_, err := o.prog.findMember(o.typ, member)
	o.prog.probeFailed(err)
	return err == nil
}

// Member is the struct or union member at path ("pid", "se.vruntime",
// "vm_stat[3]"). A pointer to a struct is dereferenced first, as C's ->.
func (o Object) Member(path string) Object {
	if o.err != nil {
		return o
	}
	if _, ok := ktype.As[*ktype.Pointer](o.typ); ok {
		o = o.Deref()
		if o.err != nil {
			return o
		}
	}
	if o.rvalue {
		return o.fail(errors.New("member of a value with no address"))
	}
	m, err := o.prog.findMember(o.typ, path)
	if err != nil {
		return o.fail(err)
	}
	r := Object{prog: o.prog, typ: m.Type}
	if o.last.op == pathDeref {
		// p->member: one step, no node on the heap for the *.
		r.path, r.last = o.path, step{op: pathDerefMember, text: path}
	} else {
		r.path, r.last = o.full(), step{op: pathMember, text: path}
	}
	if err := lostType(m.Type); err != nil {
		return r.fail(err)
	}
	if m.BitfieldSize != 0 {
		r.addr = o.addr + m.Offset.Bytes()
		r.bitOff = uint64(m.Offset) % 8
		r.bitSize = uint64(m.BitfieldSize)
		return r
	}
	if m.Offset%8 != 0 {
		return o.fail(fmt.Errorf("member %s is not byte aligned", path))
	}
	r.addr = o.addr + m.Offset.Bytes()
	return r
}

// Settle puts the object's whole path on the heap, once, and changes
// nothing else: an object many members are read from (a task's signal
// struct or mm) then costs no allocation per member, where each member
// would otherwise put the object's own last step there again.
func (o Object) Settle() Object {
	if o.last.op != pathName {
		o.path, o.last = o.full(), step{}
	}
	return o
}

// Deref follows a pointer: the object it points to.
func (o Object) Deref() Object {
	if o.err != nil {
		return o
	}
	ptr, ok := ktype.As[*ktype.Pointer](o.typ)
	if !ok {
		return o.fail(fmt.Errorf("dereference of %s, not a pointer", ktype.String(o.typ)))
	}
	v, err := o.Uint()
	if err != nil {
		return Object{prog: o.prog, path: o.path, last: o.last, err: err}
	}
	if v == 0 {
		return o.fail(errors.New("NULL pointer dereference"))
	}
	r := Object{prog: o.prog, typ: ptr.Target, addr: v}
	if o.last.op == pathMember {
		// *p.member: one step, no node on the heap for the member.
		r.path, r.last = o.path, step{op: pathMemberDeref, text: o.last.text}
	} else {
		r.path, r.last = o.full(), step{op: pathDeref}
	}
	if err := lostType(ptr.Target); err != nil {
		return r.fail(err)
	}
	return r
}

// Index is element i of an array, or of the memory a pointer points to.
func (o Object) Index(i uint64) Object {
	if o.err != nil {
		return o
	}
	var elem ktype.Type
	base := o.addr
	switch u := ktype.Underlying(o.typ).(type) {
	case *ktype.Array:
		if u.Count != 0 && i >= u.Count {
			return o.fail(fmt.Errorf("index %d out of range [0,%d)", i, u.Count))
		}
		if o.rvalue {
			return o.fail(errors.New("index of an array with no address"))
		}
		elem = u.Elem
	case *ktype.Pointer:
		v, err := o.Uint()
		if err != nil {
			return Object{prog: o.prog, path: o.path, last: o.last, err: err}
		}
		base, elem = v, u.Target
	default:
		return o.fail(fmt.Errorf("index of %s", ktype.String(o.typ)))
	}
	size, err := ktype.Sizeof(elem)
	if err != nil {
		return o.fail(err)
	}
	return Object{prog: o.prog, typ: elem, addr: base + i*size, path: o.full(), last: step{op: pathIndex, n: i}}
}

// AddressOf is a pointer to the object (C's &).
func (o Object) AddressOf() Object {
	if o.err != nil {
		return o
	}
	if o.rvalue {
		return o.fail(errors.New("address of a value with no address"))
	}
	return Object{prog: o.prog, typ: &ktype.Pointer{Target: o.typ}, rvalue: true, val: o.addr, path: o.full(), last: step{op: pathAddressOf}}
}

// Cast reinterprets the object as type t (spelled as for Program.Type).
func (o Object) Cast(typ string) Object {
	if o.err != nil {
		return o
	}
	t, err := o.prog.Type(typ)
	if err != nil {
		return o.fail(err)
	}
	o.typ = t
	o.path, o.last = o.full(), step{op: pathCast, text: typ}
	return o
}

// ContainerOf is the object of type typ ("struct task_struct") whose member
// path lies at ptr, as the kernel's container_of.
func (p *Program) ContainerOf(ptr uint64, typ, member string) Object {
	t, err := p.Type(typ)
	if err != nil {
		return p.Errorf("container_of", "%v", err)
	}
	m, err := p.findMember(t, member)
	if err == nil && (m.BitfieldSize != 0 || m.Offset%8 != 0) {
		err = fmt.Errorf("%s: member %q: %w", ktype.String(t), member, ktype.ErrBitfield)
	}
	if err != nil {
		return p.Errorf("container_of", "%v", err)
	}
	return Object{prog: p, typ: t, addr: ptr - m.Offset.Bytes(), path: &exprPath{op: pathContainer, n: ptr, text: typ, member: member}}
}

// Read fills b with the object's bytes (at most its size).
func (o Object) Read(b []byte) error {
	if o.err != nil {
		return o.err
	}
	if o.rvalue {
		return fmt.Errorf("%s: read of a value with no address", o.pathText())
	}
	if err := o.prog.readMem(b, o.addr); err != nil {
		return fmt.Errorf("%s: %w", o.pathText(), err)
	}
	return nil
}

// Bytes reads the whole object.
func (o Object) Bytes() ([]byte, error) {
	if o.err != nil {
		return nil, o.err
	}
	size, err := ktype.Sizeof(o.typ)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.pathText(), err)
	}
	if size > 64<<20 {
		return nil, fmt.Errorf("%s: object of %d bytes is too large to read whole", o.pathText(), size)
	}
	b := make([]byte, size)
	return b, o.Read(b)
}

// scalarSize is the size of an integer-like type (int, enum, pointer, bool).
func scalarSize(t ktype.Type) (uint64, bool, error) {
	switch u := ktype.Underlying(t).(type) {
	case *ktype.Int:
		return uint64(u.Size), u.Signed(), nil
	case *ktype.Enum:
		return uint64(u.Size), u.Signed, nil
	case *ktype.Pointer:
		return ktype.PointerSize, false, nil
	}
	return 0, false, fmt.Errorf("%s is not an integer or pointer", ktype.String(t))
}

// Uint reads an integer, enum or pointer (a bitfield too) as unsigned.
func (o Object) Uint() (uint64, error) {
	if o.err != nil {
		return 0, o.err
	}
	if o.rvalue {
		return o.val, nil
	}
	size, _, err := scalarSize(o.typ)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", o.pathText(), err)
	}
	if o.bitSize != 0 {
		return o.readBitfield()
	}
	if size == 0 || size > 8 {
		return 0, fmt.Errorf("%s: integer of %d bytes", o.pathText(), size)
	}
	if c := o.prog.pages; c != nil {
		// Decoded in the cache: no buffer escapes into Mem's interface.
		if v, ok := c.uint(o.prog.Mem, o.addr, size); ok {
			return v, nil
		}
	}
	var b [8]byte
	if err := o.Read(b[:size]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func (o Object) readBitfield() (uint64, error) {
	if o.bitOff+o.bitSize > 64 {
		return 0, fmt.Errorf("%s: bitfield of %d bits at bit %d", o.pathText(), o.bitSize, o.bitOff)
	}
	n := (o.bitOff + o.bitSize + 7) / 8
	var b [8]byte
	if err := o.Read(b[:n]); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint64(b[:]) >> o.bitOff
	if o.bitSize < 64 {
		v &= 1<<o.bitSize - 1
	}
	return v, nil
}

// Int reads an integer or enum, sign-extended when its type is signed.
func (o Object) Int() (int64, error) {
	v, err := o.Uint()
	if err != nil {
		return 0, err
	}
	size, signed, _ := scalarSize(o.typ)
	bitsWide := size * 8
	if o.bitSize != 0 {
		bitsWide = o.bitSize
	}
	if signed && bitsWide < 64 && v&(1<<(bitsWide-1)) != 0 {
		v |= math.MaxUint64 << bitsWide
	}
	return int64(v), nil
}

// Bool reads a scalar as a truth value.
func (o Object) Bool() (bool, error) {
	v, err := o.Uint()
	return v != 0, err
}

// maxCString bounds strings read through a char pointer.
const maxCString = 4096

// CString reads a char array up to its first NUL, or the NUL-terminated
// string a char pointer points to (at most 4 KiB).
func (o Object) CString() (string, error) {
	if o.err != nil {
		return "", o.err
	}
	switch u := ktype.Underlying(o.typ).(type) {
	case *ktype.Array:
		b, err := o.Bytes()
		if err != nil {
			return "", err
		}
		if i := strings.IndexByte(string(b), 0); i >= 0 {
			b = b[:i]
		}
		return string(b), nil
	case *ktype.Pointer:
		_ = u
		v, err := o.Uint()
		if err != nil {
			return "", err
		}
		if v == 0 {
			return "", fmt.Errorf("%s: NULL string", o.pathText())
		}
		return ReadCString(o.prog.Mem, v, maxCString)
	}
	return "", fmt.Errorf("%s: %s is not a string", o.pathText(), ktype.String(o.typ))
}

// ReadCString reads a NUL-terminated string at va, at most max bytes, in
// page-bounded pieces so that it never reads past the page that ends it.
func ReadCString(m Memory, va uint64, max int) (string, error) {
	var out []byte
	for len(out) < max {
		n := int(4096 - va%4096)
		n = min(n, max-len(out), 256)
		b := make([]byte, n)
		if _, err := m.ReadVirtAt(b, va); err != nil {
			return "", fmt.Errorf("string at %#x: %w", va, err)
		}
		if i := strings.IndexByte(string(b), 0); i >= 0 {
			return string(append(out, b[:i]...)), nil
		}
		out = append(out, b...)
		va += uint64(n)
	}
	return string(out), nil
}
