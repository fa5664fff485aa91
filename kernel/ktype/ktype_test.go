package ktype

import (
	"errors"
	"testing"
)

var (
	tChar  = &Int{Name: "char", Size: 1, Encoding: Signed | Char}
	tInt   = &Int{Name: "int", Size: 4, Encoding: Signed}
	tUint  = &Int{Name: "unsigned int", Size: 4}
	tULong = &Int{Name: "long unsigned int", Size: 8}
	tU8    = &Typedef{Name: "u8", Type: &Int{Name: "unsigned char", Size: 1}}
)

// listHead is struct list_head from include/linux/types.h, cyclic through
// its own pointers.
func listHead() *Struct {
	lh := &Struct{Name: "list_head", Size: 16}
	lh.Members = []Member{
		{Name: "next", Type: &Pointer{Target: lh}, Offset: 0},
		{Name: "prev", Type: &Pointer{Target: lh}, Offset: 64},
	}
	return lh
}

// task is a trimmed task_struct: an anonymous struct holding a bitfield and
// an anonymous union, a typedef'd const array and a list_head.
func task() *Struct {
	lh := listHead()
	inner := &Union{Size: 8, Members: []Member{
		{Name: "state_a", Type: tULong},
		{Name: "state_b", Type: tInt},
	}}
	anon := &Struct{Size: 16, Members: []Member{
		{Name: "flags", Type: tUint, Offset: 0, BitfieldSize: 3},
		{Name: "other", Type: tUint, Offset: 3, BitfieldSize: 29},
		{Type: inner, Offset: 64},
	}}
	comm := &Typedef{Name: "comm_t", Type: &Const{Type: &Array{Elem: tChar, Count: 16}}}
	return &Struct{Name: "task", Size: 96, Members: []Member{
		{Name: "pid", Type: tInt, Offset: 0},
		{Type: anon, Offset: 64},
		{Name: "comm", Type: comm, Offset: 192},
		{Name: "tasks", Type: lh, Offset: 320},
		{Name: "stats", Type: &Array{Elem: tULong, Count: 4}, Offset: 448},
	}}
}

func TestFindMember(t *testing.T) {
	tk := &Typedef{Name: "task_t", Type: &Volatile{Type: task()}}
	for _, tc := range []struct {
		path     string
		offset   Bits
		bitfield Bits
		typ      string
	}{
		{"pid", 0, 0, "int"},
		{"flags", 64, 3, "unsigned int"},
		{"other", 67, 29, "unsigned int"},
		{"state_a", 128, 0, "long unsigned int"},
		{"state_b", 128, 0, "int"},
		{"comm", 192, 0, "comm_t"},
		{"comm[3]", 192 + 24, 0, "char"},
		{"tasks.prev", 384, 0, "struct list_head *"},
		{"tasks.next", 320, 0, "struct list_head *"},
		{"stats[2]", 448 + 128, 0, "long unsigned int"},
	} {
		m, err := FindMember(tk, tc.path)
		if err != nil {
			t.Errorf("FindMember(%q): %v", tc.path, err)
			continue
		}
		if m.Offset != tc.offset || m.BitfieldSize != tc.bitfield || String(m.Type) != tc.typ {
			t.Errorf("FindMember(%q) = offset %d bits %d type %q, want %d %d %q",
				tc.path, m.Offset, m.BitfieldSize, String(m.Type), tc.offset, tc.bitfield, tc.typ)
		}
	}

	off, err := MemberOffset(tk, "tasks.prev")
	if err != nil || off != 48 {
		t.Errorf("MemberOffset(tasks.prev) = %d, %v; want 48", off, err)
	}
	if _, err := MemberOffset(tk, "flags"); !errors.Is(err, ErrBitfield) {
		t.Errorf("MemberOffset(flags) error = %v, want ErrBitfield", err)
	}
	for _, path := range []string{"nope", "tasks.nope", "pid.x", "", "a..b", "stats[4]", "stats[x]", "pid[0]", "stats[1"} {
		_, err := FindMember(tk, path)
		if err == nil {
			t.Errorf("FindMember(%q) succeeded", path)
		}
		if path == "nope" || path == "tasks.nope" {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("FindMember(%q) error = %v, want ErrNotFound", path, err)
			}
		}
	}
	if _, err := FindMember(tInt, "x"); err == nil {
		t.Error("FindMember on int succeeded")
	}
}

func TestSizeof(t *testing.T) {
	fp := &FuncProto{Return: TheVoid}
	for _, tc := range []struct {
		t    Type
		size uint64
		err  error
	}{
		{tChar, 1, nil},
		{tU8, 1, nil},
		{&Pointer{Target: TheVoid}, 8, nil},
		{&Array{Elem: &Array{Elem: tInt, Count: 3}, Count: 5}, 60, nil},
		{&Array{Elem: tInt, Count: 0, Flexible: true}, 0, nil},
		{&Const{Type: task()}, 96, nil},
		{&Enum{Name: "e", Size: 4}, 4, nil},
		{&Var{Name: "v", Type: tULong}, 8, nil},
		{TheVoid, 0, ErrIncomplete},
		{fp, 0, ErrIncomplete},
		{&Fwd{Name: "x"}, 0, ErrIncomplete},
		{nil, 0, ErrIncomplete},
	} {
		size, err := Sizeof(tc.t)
		if size != tc.size || !errors.Is(err, tc.err) {
			t.Errorf("Sizeof(%v) = %d, %v; want %d, %v", tc.t, size, err, tc.size, tc.err)
		}
	}
	huge := &Array{Elem: &Array{Elem: tULong, Count: 1 << 40}, Count: 1 << 40}
	if _, err := Sizeof(huge); err == nil {
		t.Error("Sizeof of a 2^83-byte array succeeded")
	}
}

func TestUnderlyingCycle(t *testing.T) {
	td := &Typedef{Name: "loop"}
	td.Type = &Const{Type: td}
	u := Underlying(td)
	if u == nil {
		t.Fatal("Underlying of a cycle returned nil")
	}
	if _, err := Sizeof(td); err == nil {
		t.Error("Sizeof of a typedef cycle succeeded")
	}
	if _, err := FindMember(td, "x"); err == nil {
		t.Error("FindMember in a typedef cycle succeeded")
	}
	p := &Pointer{}
	p.Target = p
	if s := String(p); len(s) == 0 || len(s) > 4096 {
		t.Errorf("String of a pointer cycle = %q", s)
	}
	// A prototype whose two parameters point back at it must not blow up.
	fp := &FuncProto{Return: tInt}
	fp.Params = []FuncParam{{Type: &Pointer{Target: fp}}, {Type: &Pointer{Target: fp}}}
	if s := String(fp); len(s) > 1<<16 {
		t.Errorf("String of a self-referencing prototype is %d bytes", len(s))
	}
	// Anonymous members containing their own struct, twice: a depth cap
	// alone would search 2^32 paths.
	s := &Struct{Name: "self", Size: 8}
	s.Members = []Member{{Type: s}, {Type: s}}
	if _, err := FindMember(s, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindMember in self-containing struct: %v", err)
	}
}

func TestString(t *testing.T) {
	lh := listHead()
	cb := &Struct{Name: "callback_head"}
	cbFunc := &FuncProto{Return: TheVoid, Params: []FuncParam{{Type: &Pointer{Target: cb}}}}
	for _, tc := range []struct {
		t    Type
		name string
		want string
	}{
		{tULong, "", "long unsigned int"},
		{&Pointer{Target: lh}, "", "struct list_head *"},
		{&Array{Elem: tChar, Count: 16}, "", "char [16]"},
		{&Array{Elem: tChar, Count: 16}, "comm", "char comm[16]"},
		{&Array{Elem: tChar, Flexible: true}, "data", "char data[]"},
		{&Array{Elem: tChar}, "data", "char data[0]"},
		{&Pointer{Target: &Const{Type: tChar}}, "", "const char *"},
		{&Const{Type: &Pointer{Target: tChar}}, "p", "char *const p"},
		{&Pointer{Target: &Pointer{Target: tChar}}, "", "char **"},
		{&Array{Elem: &Pointer{Target: tChar}, Count: 4}, "", "char *[4]"},
		{&Pointer{Target: &Array{Elem: tChar, Count: 4}}, "", "char (*)[4]"},
		{&Pointer{Target: cbFunc}, "func", "void (*func)(struct callback_head *)"},
		{&Pointer{Target: &FuncProto{Return: tInt}}, "", "int (*)(void)"},
		{&FuncProto{Return: tInt, Params: []FuncParam{{Type: &Pointer{Target: tChar}}}, Variadic: true}, "", "int (char *, ...)"},
		{&Func{Name: "printk", Proto: &FuncProto{Return: tInt, Variadic: true}}, "", "int printk(...)"},
		{&Struct{}, "", "struct {...}"},
		{&Union{Name: "u"}, "", "union u"},
		{&Enum{Name: "zone_stat_item"}, "", "enum zone_stat_item"},
		{&Fwd{Name: "file", Of: FwdStruct}, "", "struct file"},
		{&Pointer{Target: &TypeTag{Value: "user", Type: TheVoid}}, "", "void *"},
		{&Volatile{Type: tInt}, "", "volatile int"},
		{&Var{Name: "runqueues", Type: &Struct{Name: "rq"}}, "", "struct rq runqueues"},
		{tU8, "x", "u8 x"},
	} {
		if got := Declaration(tc.t, tc.name); got != tc.want {
			t.Errorf("Declaration(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := (&Pointer{Target: lh}).String(); got != "struct list_head *" {
		t.Errorf("Pointer.String() = %q", got)
	}
}

func TestAs(t *testing.T) {
	tk := &Typedef{Name: "task_t", Type: &Const{Type: task()}}
	s, ok := As[*Struct](tk)
	if !ok || s.Name != "task" {
		t.Errorf("As[*Struct] = %v, %v", s, ok)
	}
	if _, ok := As[*Union](tk); ok {
		t.Error("As[*Union] of a struct succeeded")
	}
	e := &Enum{Name: "e", Values: []EnumValue{{"A", 1}, {"B", -2}}}
	if v, ok := e.Value("B"); !ok || v != -2 {
		t.Errorf("Enum.Value(B) = %d, %v", v, ok)
	}
	if KindStruct.String() != "struct" || Kind(200).String() != "Kind(200)" {
		t.Error("Kind.String")
	}
}

// TestKinds ties each concrete type to its Kind, name and String method.
func TestKinds(t *testing.T) {
	lh := listHead()
	for _, tc := range []struct {
		t    Type
		kind Kind
		name string
		str  string
	}{
		{TheVoid, KindVoid, "", "void"},
		{tInt, KindInt, "int", "int"},
		{&Float{Name: "double", Size: 8}, KindFloat, "double", "double"},
		{&Pointer{Target: lh}, KindPointer, "", "struct list_head *"},
		{&Array{Elem: tInt, Count: 2}, KindArray, "", "int [2]"},
		{lh, KindStruct, "list_head", "struct list_head"},
		{&Union{Name: "u"}, KindUnion, "u", "union u"},
		{&Enum{Name: "e"}, KindEnum, "e", "enum e"},
		{&Fwd{Name: "f", Of: FwdUnion}, KindFwd, "f", "union f"},
		{tU8, KindTypedef, "u8", "u8"},
		{&Const{Type: tInt}, KindConst, "", "const int"},
		{&Volatile{Type: tInt}, KindVolatile, "", "volatile int"},
		{&Restrict{Type: &Pointer{Target: tInt}}, KindRestrict, "", "int *restrict"},
		{&TypeTag{Value: "rcu", Type: tInt}, KindTypeTag, "", "int"},
		{&Func{Name: "f", Proto: &FuncProto{Return: tInt}}, KindFunc, "f", "int f(void)"},
		{&FuncProto{Return: TheVoid}, KindFuncProto, "", "void (void)"},
		{&Var{Name: "v", Type: tInt}, KindVar, "v", "int v"},
		{&Datasec{Name: ".data..percpu"}, KindDatasec, ".data..percpu", "section .data..percpu"},
		{&DeclTag{Value: "x", Type: lh, Index: -1}, KindDeclTag, "", "struct list_head"},
	} {
		if tc.t.Kind() != tc.kind || tc.t.TypeName() != tc.name || tc.t.String() != tc.str {
			t.Errorf("%T: Kind %v TypeName %q String %q; want %v %q %q",
				tc.t, tc.t.Kind(), tc.t.TypeName(), tc.t.String(), tc.kind, tc.name, tc.str)
		}
	}
	if !tInt.Signed() || tUint.Signed() {
		t.Error("Int.Signed")
	}
	if c, ok := As[Composite](lh); !ok || c.ByteSize() != 16 || len(c.MemberList()) != 2 {
		t.Error("Struct as Composite")
	}
	if c := Composite(&Union{Size: 4}); c.ByteSize() != 4 {
		t.Error("Union.ByteSize")
	}
	if GlobalLinkage.String() != "global" || Linkage(9).String() != "Linkage(9)" || FwdStruct.String() != "struct" {
		t.Error("Linkage/FwdKind String")
	}
}
