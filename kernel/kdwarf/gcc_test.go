package kdwarf

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// Two compile units, compiled and linked by gcc at test time, cover what a
// kernel's DWARF has in bulk: bitfields, anonymous members, flexible,
// zero-length and multi-dimensional arrays, enums of both signs, a cycle, a
// function pointer, qualifiers, typedef chains, a type defined differently
// in two units, one defined identically in both, and one declared in one
// unit and defined in the other.
const gccUnitA = `
typedef unsigned int u32_t;
typedef u32_t myid_t;
enum neg { NA = -1, NB = 255, NC = 0x80, ND = -129, NE = 0x7fffffff };
enum pos { PA = 0, PB = 255, PD = 0xffffffffu };
enum big { BA = 0xffffffffffffffffull };
enum sbig { SA = -0x7fffffffffffffffll - 1, SB = 1 };
enum ca { CONFLICT = 1, SAME_EVERYWHERE = 7 };
struct bf {
	unsigned a:3;
	int b:5;
	unsigned long c:40;
	char d;
	union { int u1; long u2; };
	struct { short s1, s2; };
	int flex[];
};
struct z { int n; int zero[0]; int m[2][3]; };
struct node;
typedef void (*node_fn)(struct node *, int, ...);
struct node {
	struct node *next;
	node_fn fn;
	const volatile int *p;
	int *restrict r;
	_Atomic int at;
	struct inner { int x; union { int y; unsigned z; }; } in;
	char name[16];
};
struct dup { int a; };
struct shared { int x; long y; };
struct opaque;
struct never_defined;
struct holder_a { struct dup d; struct shared s; struct opaque *op; struct never_defined *nd; };

_Bool g_bool; char g_char; unsigned char g_uchar; signed char g_schar;
float g_float; double g_double; long double g_ldouble; __int128 g_i128; unsigned long g_ulong;
myid_t g_id;
enum neg g_neg; enum pos g_pos; enum big g_big; enum sbig g_sbig; enum ca g_ca;
struct bf g_bf; struct z g_z; struct node g_node;
struct holder_a g_holder_a;
extern int arr[];
int arr[7];
extern long only_b_var;
long *use_only_b = &only_b_var;
const char *g_str;
int (*g_fp)(void);
struct node *g_nodes[4][2];
int main(void) { return 0; }
`

const gccUnitB = `
enum cb { CONFLICT = 2 };
enum ca { CONFLICT_B = 1, SAME_EVERYWHERE = 7 };
struct dup { long x, y; };
struct shared { int x; long y; };
struct opaque { int secret; long more; };
struct holder_b { struct dup d; struct shared s; struct opaque op; };
struct holder_b g_holder_b;
enum cb g_cb;
long only_b_var = 5;
static int file_static = 3;
int *use_static = &file_static;
`

// gccVariant is one way of compiling the two units.
type gccVariant struct {
	name  string
	flags []string
	// post, if set, rewrites the linked file (objcopy).
	post []string
	// compressed is the compression the .debug_info must end up with.
	compressed elf.CompressionType
}

var gccVariants = []gccVariant{
	{name: "dwarf5", flags: []string{"-gdwarf-5"}},
	{name: "dwarf4", flags: []string{"-gdwarf-4"}},
	{name: "dwarf2-strict", flags: []string{"-gdwarf-2", "-gstrict-dwarf"}},
	{name: "dwarf5-type-units", flags: []string{"-gdwarf-5", "-fdebug-types-section"}},
	{name: "dwarf5-zlib", flags: []string{"-gdwarf-5", "-Wl,--compress-debug-sections=zlib"}, compressed: elf.COMPRESS_ZLIB},
	{name: "dwarf4-zstd", flags: []string{"-gdwarf-4"}, post: []string{"objcopy", "--compress-debug-sections=zstd"}, compressed: elf.COMPRESS_ZSTD},
}

// toolMissing skips t when the toolchain (gcc, binutils) cannot build a
// variant, and fails it under CI, whose machine installs both (.ci/run).
func toolMissing(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("required under CI: %v", err)
	}
	t.Skip(err)
}

// buildWithGCC compiles and links the two units; it skips the test when gcc
// (or the variant's tool) is missing, except under CI.
func buildWithGCC(t *testing.T, v gccVariant) string {
	t.Helper()
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no processes under " + runtime.GOOS)
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		toolMissing(t, fmt.Errorf("gcc not installed: %w", err))
	}
	dir := t.TempDir()
	for name, src := range map[string]string{"a.c": gccUnitA, "b.c": gccUnitB} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "test.elf")
	args := append([]string{"-g", "-O0", "-nostdlib", "-static", "-Wl,--entry=0", "-o", out, "a.c", "b.c"}, v.flags...)
	cmd := exec.Command(gcc, args...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		toolMissing(t, fmt.Errorf("gcc %s: %w\n%s", strings.Join(args, " "), err, b))
	}
	if v.post != nil {
		cmd := exec.Command(v.post[0], append(v.post[1:], out)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			toolMissing(t, fmt.Errorf("%s: %w\n%s", strings.Join(v.post, " "), err, b))
		}
	}
	return out
}

func openGCC(t *testing.T, v gccVariant) *Data {
	t.Helper()
	path := buildWithGCC(t, v)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if v.compressed != 0 {
		ef, err := elf.NewFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := ef.Section(".debug_info")
		if s == nil || s.Flags&elf.SHF_COMPRESSED == 0 {
			t.Fatalf("%s: .debug_info is not compressed", v.name)
		}
	}
	d, err := Open(f)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := d.Index(); err != nil {
		t.Fatalf("Index: %v", err)
	}
	return d
}

func TestGCC(t *testing.T) {
	for _, v := range gccVariants {
		t.Run(v.name, func(t *testing.T) {
			d := openGCC(t, v)
			checkSynthetic(t, d, v)
		})
	}
}

// member is an expected member: name, bit offset, bitfield size, C type.
type member struct {
	name     string
	bitOff   ktype.Bits
	bitfield ktype.Bits
	typ      string
}

func checkMembers(t *testing.T, c ktype.Composite, size uint32, want []member) {
	t.Helper()
	if c.ByteSize() != size {
		t.Errorf("%s: size %d, want %d", c, c.ByteSize(), size)
	}
	have := c.MemberList()
	if len(have) != len(want) {
		t.Errorf("%s: %d members, want %d", c, len(have), len(want))
		return
	}
	for i, w := range want {
		h := have[i]
		if h.Name != w.name || h.Offset != w.bitOff || h.BitfieldSize != w.bitfield || ktype.String(h.Type) != w.typ {
			t.Errorf("%s member %d: have {%q @%d :%d %s}, want {%q @%d :%d %s}", c, i,
				h.Name, h.Offset, h.BitfieldSize, ktype.String(h.Type), w.name, w.bitOff, w.bitfield, w.typ)
		}
	}
}

func checkSynthetic(t *testing.T, d *Data, v gccVariant) {
	bf, err := d.StructByName("bf")
	if err != nil {
		t.Fatal(err)
	}
	checkMembers(t, bf, 24, []member{
		{"a", 0, 3, "unsigned int"},
		{"b", 3, 5, "int"},
		{"c", 8, 40, "long unsigned int"},
		{"d", 48, 0, "char"},
		{"", 64, 0, "union {...}"},
		{"", 128, 0, "struct {...}"},
		{"flex", 160, 0, "int []"},
	})
	for path, want := range map[string]uint64{"u1": 8, "u2": 8, "s1": 16, "s2": 18, "flex": 20} {
		if off, err := ktype.MemberOffset(bf, path); err != nil || off != want {
			t.Errorf("offsetof(struct bf, %s) = %d, %v; want %d", path, off, err, want)
		}
	}
	if flex, ok := ktype.As[*ktype.Array](bf.Members[6].Type); !ok || !flex.Flexible || flex.Count != 0 {
		t.Errorf("bf.flex: %#v, want a flexible array", bf.Members[6].Type)
	}

	z, err := d.StructByName("z")
	if err != nil {
		t.Fatal(err)
	}
	checkMembers(t, z, 28, []member{
		{"n", 0, 0, "int"},
		{"zero", 32, 0, "int [0]"},
		{"m", 32, 0, "int [2][3]"},
	})
	if v.name != "dwarf2-strict" { // strict DWARF 2 has no DW_AT_count for x[0]
		if a := z.Members[1].Type.(*ktype.Array); a.Flexible {
			t.Errorf("z.zero is flexible, want a zero-length array")
		}
	}
	if sz, err := ktype.Sizeof(z.Members[2].Type); err != nil || sz != 24 {
		t.Errorf("sizeof z.m = %d, %v", sz, err)
	}

	restrictPtr := "int *restrict"
	if v.name == "dwarf2-strict" {
		restrictPtr = "int *" // DW_TAG_restrict_type is DWARF 3
	}
	node, err := d.StructByName("node")
	if err != nil {
		t.Fatal(err)
	}
	checkMembers(t, node, 64, []member{
		{"next", 0, 0, "struct node *"},
		{"fn", 64, 0, "node_fn"},
		{"p", 128, 0, "volatile const int *"}, // as gcc nests the qualifiers
		{"r", 192, 0, restrictPtr},
		{"at", 256, 0, "int"}, // _Atomic is dropped, as in BTF
		{"in", 288, 0, "struct inner"},
		{"name", 352, 0, "char [16]"},
	})
	if p := node.Members[0].Type.(*ktype.Pointer); p.Target != node {
		t.Errorf("node.next points to %p, want the struct itself %p", p.Target, node)
	}
	fp, ok := ktype.As[*ktype.Pointer](node.Members[1].Type)
	if !ok {
		t.Fatalf("node.fn: %s is not a pointer", node.Members[1].Type)
	}
	proto, ok := fp.Target.(*ktype.FuncProto)
	if !ok || !proto.Variadic || len(proto.Params) != 2 || proto.Return != ktype.TheVoid ||
		ktype.String(proto.Params[0].Type) != "struct node *" || ktype.String(proto.Params[1].Type) != "int" {
		t.Errorf("node.fn target: %s, want void (struct node *, int, ...)", ktype.String(fp.Target))
	}
	if off, err := ktype.MemberOffset(node, "in.z"); err != nil || off != 40 {
		t.Errorf("offsetof(struct node, in.z) = %d, %v; want 40", off, err)
	}

	for _, c := range []struct {
		enum   string
		signed bool
		size   uint32
		values map[string]int64
	}{
		{"neg", true, 4, map[string]int64{"NA": -1, "NB": 255, "NC": 128, "ND": -129, "NE": 0x7fffffff}},
		{"pos", false, 4, map[string]int64{"PA": 0, "PB": 255, "PD": 0xffffffff}},
		{"big", false, 8, map[string]int64{"BA": -1}}, // uint64(-1) = 0xffffffffffffffff
		{"sbig", true, 8, map[string]int64{"SA": -1 << 63, "SB": 1}},
	} {
		e, err := d.EnumByName(c.enum)
		if err != nil {
			t.Errorf("enum %s: %v", c.enum, err)
			continue
		}
		if e.Size != c.size || (e.Signed != c.signed && v.name != "dwarf2-strict") {
			t.Errorf("enum %s: size %d signed %v, want %d %v", c.enum, e.Size, e.Signed, c.size, c.signed)
		}
		if len(e.Values) != len(c.values) {
			t.Errorf("enum %s: %d values, want %d", c.enum, len(e.Values), len(c.values))
		}
		for name, want := range c.values {
			if have, ok := e.Value(name); !ok || have != want {
				t.Errorf("enum %s: %s = %d (%v), want %d", c.enum, name, have, ok, want)
			}
			if have, err := d.EnumValue(name); err != nil || have != want {
				t.Errorf("EnumValue(%s) = %d, %v; want %d", name, have, err, want)
			}
		}
	}
	if _, err := d.EnumValue("CONFLICT"); !errors.Is(err, ktype.ErrMultipleMatches) {
		t.Errorf("EnumValue(CONFLICT): %v, want ErrMultipleMatches", err)
	}
	if have, err := d.EnumValue("SAME_EVERYWHERE"); err != nil || have != 7 {
		t.Errorf("EnumValue(SAME_EVERYWHERE) = %d, %v; want 7", have, err)
	}
	if _, err := d.EnumValue("NO_SUCH"); !errors.Is(err, ktype.ErrNotFound) {
		t.Errorf("EnumValue(NO_SUCH): %v, want ErrNotFound", err)
	}

	// The first definition of a name wins; a unit's own, different
	// definition stays its own; identical ones are one model.
	dup, err := d.StructByName("dup")
	if err != nil || dup.Size != 4 {
		t.Errorf("struct dup: %v, size %v, want unit a's (4 bytes)", err, dup)
	}
	ha, err := d.VarType("g_holder_a")
	if err != nil {
		t.Fatal(err)
	}
	hb, err := d.VarType("g_holder_b")
	if err != nil {
		t.Fatal(err)
	}
	holderA, holderB := ha.(*ktype.Struct), hb.(*ktype.Struct)
	if s := holderB.Members[0].Type.(*ktype.Struct); s.Size != 16 || s == dup {
		t.Errorf("holder_b.d: %s of %d bytes, want unit b's own struct dup of 16", s, s.Size)
	}
	if holderA.Members[0].Type != dup {
		t.Errorf("holder_a.d is not the canonical struct dup")
	}
	if holderA.Members[1].Type != holderB.Members[1].Type {
		t.Errorf("holder_a.s and holder_b.s are different models of the same struct shared")
	}
	op := holderA.Members[2].Type.(*ktype.Pointer).Target
	if s, ok := op.(*ktype.Struct); !ok || s.Size != 16 || s != holderB.Members[2].Type {
		t.Errorf("holder_a.op points to %s, want unit b's definition", ktype.String(op))
	}
	nd := holderA.Members[3].Type.(*ktype.Pointer).Target
	if f, ok := nd.(*ktype.Fwd); !ok || f.Name != "never_defined" {
		t.Errorf("holder_a.nd points to %#v, want a Fwd", nd)
	}
	if f, err := d.TypeByName("never_defined", ktype.KindFwd); err != nil || f != nd {
		t.Errorf("TypeByName(never_defined, fwd) = %v, %v", f, err)
	}
	if _, err := d.StructByName("never_defined"); !errors.Is(err, ktype.ErrNotFound) {
		t.Errorf("StructByName(never_defined): %v, want ErrNotFound", err)
	}

	for name, want := range map[string]string{
		"g_bool": "_Bool", "g_char": "char", "g_uchar": "unsigned char", "g_schar": "signed char",
		"g_float": "float", "g_double": "double", "g_ldouble": "long double", "g_i128": "__int128",
		"g_ulong": "long unsigned int", "g_id": "myid_t", "g_neg": "enum neg", "g_bf": "struct bf",
		"arr": "int [7]", "only_b_var": "long int", "g_str": "const char *", "g_fp": "int (*)(void)",
		"g_nodes": "struct node *[4][2]", "file_static": "int", "use_only_b": "long int *",
	} {
		typ, err := d.VarType(name)
		if err != nil {
			t.Errorf("VarType(%s): %v", name, err)
			continue
		}
		if s := ktype.String(typ); s != want {
			t.Errorf("VarType(%s) = %s, want %s", name, s, want)
		}
	}
	if _, err := d.VarType("no_such_var"); !errors.Is(err, ktype.ErrNotFound) {
		t.Errorf("VarType(no_such_var): %v, want ErrNotFound", err)
	}
	if v, err := d.TypeByName("g_id", ktype.KindVar); err != nil || ktype.String(v) != "myid_t g_id" || v.(*ktype.Var).Linkage != ktype.GlobalLinkage {
		t.Errorf("TypeByName(g_id, var) = %v, %v", v, err)
	}
	if v, err := d.TypeByName("file_static", ktype.KindVar); err != nil || v.(*ktype.Var).Linkage != ktype.StaticLinkage {
		t.Errorf("TypeByName(file_static, var) = %v, %v", v, err)
	}

	for _, c := range []struct {
		name string
		kind ktype.Kind
		enc  ktype.IntEncoding
		size uint32
	}{
		{"_Bool", ktype.KindInt, ktype.Bool, 1},
		{"char", ktype.KindInt, ktype.Signed | ktype.Char, 1},
		{"unsigned char", ktype.KindInt, ktype.Char, 1},
		{"long unsigned int", ktype.KindInt, 0, 8},
		{"__int128", ktype.KindInt, ktype.Signed, 16},
		{"long double", ktype.KindFloat, 0, 16},
	} {
		typ, err := d.TypeByName(c.name, c.kind)
		if err != nil {
			t.Errorf("TypeByName(%q, %s): %v", c.name, c.kind, err)
			continue
		}
		switch b := typ.(type) {
		case *ktype.Int:
			if b.Encoding != c.enc || b.Size != c.size {
				t.Errorf("%s: encoding %v size %d, want %v %d", c.name, b.Encoding, b.Size, c.enc, c.size)
			}
		case *ktype.Float:
			if b.Size != c.size {
				t.Errorf("%s: size %d, want %d", c.name, b.Size, c.size)
			}
		}
	}
	if _, err := d.TypeByName("long double", ktype.KindInt); !errors.Is(err, ktype.ErrNotFound) {
		t.Errorf("TypeByName(long double, int): %v, want ErrNotFound", err)
	}
	if typ, err := d.TypeByName("void", ktype.KindVoid); err != nil || typ != ktype.TheVoid {
		t.Errorf("TypeByName(void) = %v, %v", typ, err)
	}
	td, err := d.TypedefByName("myid_t")
	if err != nil {
		t.Fatal(err)
	}
	if inner, ok := td.Type.(*ktype.Typedef); !ok || inner.Name != "u32_t" || ktype.String(inner.Type) != "unsigned int" {
		t.Errorf("myid_t = %s, want u32_t = unsigned int", ktype.String(td.Type))
	}
	if _, err := d.UnionByName("no_such_union"); !errors.Is(err, ktype.ErrNotFound) {
		t.Errorf("UnionByName: %v, want ErrNotFound", err)
	}
}
