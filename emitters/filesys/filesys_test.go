package filesys

import (
	"testing"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

var (
	uintT  = &ktype.Int{Name: "unsigned int", Size: 4}
	intT   = &ktype.Int{Name: "int", Size: 4}
	ushort = &ktype.Int{Name: "unsigned short", Size: 2}
)

// mountTypes is the part of struct mount propagation reads (offsets in
// bits, as ktype keeps them).
func mountTypes() fakekernel.Types {
	vfs := &ktype.Struct{Name: "vfsmount", Size: 8, Members: []ktype.Member{{Name: "mnt_flags", Type: intT}}}
	mnt := &ktype.Struct{Name: "mount", Size: 32}
	mnt.Members = []ktype.Member{
		{Name: "mnt", Type: vfs},
		{Name: "mnt_master", Type: &ktype.Pointer{Target: mnt}, Offset: 64},
		{Name: "mnt_group_id", Type: intT, Offset: 128},
	}
	return fakekernel.Types{"struct mount": mnt, "struct vfsmount": vfs}
}

func TestPropagation(t *testing.T) {
	const a, master = 0x1000, 0x2000
	for _, c := range []struct {
		flags, masterAddr uint64
		want              string
		partial           bool
	}{
		{0, 0, "", false},
		{0x1000, 0, " shared:7", false},                     // MNT_SHARED
		{0x2000, 0, " unbindable", false},                   // MNT_UNBINDABLE
		{0x1000 | 0x20, master, " shared:7 master:3", true}, // a slave of group 3, also shared
		{0, master, " master:3", true},
	} {
		m := fakekernel.Memory{}
		m.U64(a, c.flags)
		m.U64(a+8, c.masterAddr)
		m.U64(master+16, 3)
		p := &object.Program{Mem: m, Types: mountTypes(), Syms: fakekernel.Symbols{}}
		typ, _ := p.Type("struct mount")
		var out emit.Output
		if err := propagation(p.Object(typ, a, "mnt"), 7, &out); err != nil {
			t.Fatal(err)
		}
		if out.String() != c.want || (len(out.PartialReasons()) > 0) != c.partial {
			t.Errorf("flags %#x master %#x: %q, partial %q; want %q", c.flags, c.masterAddr, out.String(), out.PartialReasons(), c.want)
		}
	}
	// An unreadable master is an error, not a mount without one.
	m := fakekernel.Memory{}
	m.U64(a+8, 0xdead000)
	p := &object.Program{Mem: m, Types: mountTypes(), Syms: fakekernel.Symbols{}}
	typ, _ := p.Type("struct mount")
	if err := propagation(p.Object(typ, a, "mnt"), 7, &emit.Output{}); err == nil {
		t.Error("unreadable mnt_master: no error")
	}
}

func TestListEmpty(t *testing.T) {
	head := &ktype.Struct{Name: "list_head", Size: 16}
	head.Members = []ktype.Member{{Name: "next", Type: &ktype.Pointer{Target: head}}, {Name: "prev", Type: &ktype.Pointer{Target: head}, Offset: 64}}
	m := fakekernel.Memory{}
	m.U64(0x1000, 0x1000) // next == head: empty
	m.U64(0x1010, 0x5000) // next elsewhere
	p := &object.Program{Mem: m, Types: fakekernel.Types{"struct list_head": head}, Syms: fakekernel.Symbols{}}
	for addr, want := range map[uint64]bool{0x1000: true, 0x1010: false} {
		got, err := listEmpty(p.Object(head, addr, "h"))
		if err != nil || got != want {
			t.Errorf("list at %#x: empty %v, %v; want %v", addr, got, err, want)
		}
	}
	if _, err := listEmpty(p.Object(head, 0x9000, "h")); err == nil {
		t.Error("unreadable list head: no error")
	}
}

// debugfsProgram has a super_block at 0x1000 whose s_fs_info points to a
// debugfs_fs_info at 0x2000, laid out as 6.1 has it, or with the options
// in a mount_opts member as 5.10 has them.
func debugfsProgram(uid, gid, mode uint64, nested bool) (*object.Program, object.Object) {
	kuid := &ktype.Struct{Name: "", Size: 4, Members: []ktype.Member{{Name: "val", Type: uintT}}}
	opts := &ktype.Struct{Name: "debugfs_mount_opts", Size: 12, Members: []ktype.Member{
		{Name: "uid", Type: kuid}, {Name: "gid", Type: kuid, Offset: 32}, {Name: "mode", Type: ushort, Offset: 64}}}
	fsi := &ktype.Struct{Name: "debugfs_fs_info", Size: 12, Members: opts.Members}
	if nested {
		fsi.Members = []ktype.Member{{Name: "mount_opts", Type: opts}}
	}
	sb := &ktype.Struct{Name: "super_block", Size: 16, Members: []ktype.Member{
		{Name: "s_fs_info", Type: &ktype.Pointer{Target: &ktype.Void{}}, Offset: 64}}}
	m := fakekernel.Memory{}
	m.U64(0x1008, 0x2000)
	m.Write(0x2000, []byte{byte(uid), byte(uid >> 8), 0, 0, byte(gid), byte(gid >> 8), 0, 0, byte(mode), byte(mode >> 8)})
	p := &object.Program{Mem: m, Types: fakekernel.Types{"struct super_block": sb, "struct debugfs_fs_info": fsi, "struct debugfs_mount_opts": opts}, Syms: fakekernel.Symbols{}}
	return p, p.Object(sb, 0x1000, "sb")
}

func TestDebugfsShowOptions(t *testing.T) {
	for _, c := range []struct {
		uid, gid, mode uint64
		want           string
	}{
		{0, 0, 0o700, ""}, // the defaults are not shown
		{1000, 0, 0o700, ",uid=1000"},
		{0, 4, 0o755, ",gid=4,mode=755"},
		{5, 6, 0o750, ",uid=5,gid=6,mode=750"},
	} {
		for _, nested := range []bool{false, true} {
			_, sb := debugfsProgram(c.uid, c.gid, c.mode, nested)
			got, err := debugfsShowOptions(sb)
			if err != nil || got != c.want {
				t.Errorf("uid %d gid %d mode %o (5.10 layout %v): %q, %v; want %q", c.uid, c.gid, c.mode, nested, got, err, c.want)
			}
		}
	}
}
