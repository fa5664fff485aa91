package filesys

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// showOptions are the s_op->show_options implementations decoded here.
var showOptions = []struct {
	fn   string
	show func(*emit.Context, object.Object) (string, error)
}{
	{"shmem_show_options", shmemShowOptions},
	{"kernfs_sop_show_options", kernfsShowOptions},
	{"proc_show_options", procShowOptions},
	{"debugfs_show_options", func(_ *emit.Context, sb object.Object) (string, error) { return debugfsShowOptions(sb) }},
}

// fsShowOptions reproduces the filesystem's own s_op->show_options, chosen
// by the symbol the superblock points to. An implementation we do not
// decode marks the file partial rather than print a guess.
func fsShowOptions(c *emit.Context, sb object.Object, fstype string, out *emit.Output) string {
	fn, err := sb.Member("s_op").Member("show_options").Uint()
	if err != nil {
		out.Partial("%s: show_options: %v", fstype, err)
		return ""
	}
	if fn == 0 {
		return ""
	}
	var (
		s    string
		name string
	)
	for _, o := range showOptions {
		if c.SymbolIs(fn, o.fn) {
			name = o.fn
			s, err = o.show(c, sb)
			break
		}
	}
	if name == "" {
		out.Partial("%s: options printed by %s are not decoded", fstype, c.Symbolizer().SprintSymbolNoOffset(fn))
		return ""
	}
	if err != nil {
		out.Partial("%s: %s: %v", fstype, name, err)
		return ""
	}
	return s
}

// tmpfsInode64Default is IS_ENABLED(CONFIG_TMPFS_INODE64): shmem_fill_super()
// gives a mount without inode32/inode64 full_inums = that setting, and the
// kernel's own internal mount shm_mnt (mm/shmem.c) is made without options,
// so its full_inums is the configured default (64-bit ino_t on x86_64).
func tmpfsInode64Default(c *emit.Context) (bool, error) {
	return emit.Once(c, "tmpfs-inode64-default", func() (bool, error) {
		sb := c.Prog.VarAs("shm_mnt", "struct vfsmount *").Member("mnt_sb")
		return sb.Member("s_fs_info").Cast("struct shmem_sb_info *").Member("full_inums").Bool()
	})
}

// shmemShowOptions mirrors shmem_show_options() in mm/shmem.c (tmpfs,
// devtmpfs, rootfs). inode64/inode32 is shown when CONFIG_TMPFS_INODE64 is
// set (Debian 6.1 and later) or the mount has 64-bit inode numbers;
// bullseye's 5.10 is built without it, so there only inode64 is shown.
func shmemShowOptions(c *emit.Context, sb object.Object) (string, error) {
	info := sb.Member("s_fs_info").Cast("struct shmem_sb_info *").Deref()
	totalram, err := c.Prog.VarAs("_totalram_pages", "long").Uint()
	if err != nil {
		return "", err
	}
	var rd object.Reader
	maxBlocks := rd.Uint(info.Member("max_blocks"))
	maxInodes := rd.Uint(info.Member("max_inodes"))
	mode := rd.Uint(info.Member("mode"))
	uid := rd.Uint(info.Member("uid.val"))
	gid := rd.Uint(info.Member("gid.val"))
	full := rd.Bool(info.Member("full_inums"))
	huge := rd.Uint(info.Member("huge"))
	mpol := rd.Uint(info.Member("mpol"))
	if err := rd.Err(); err != nil {
		return "", err
	}
	var b strings.Builder
	if maxBlocks != totalram/2 {
		fmt.Fprintf(&b, ",size=%dk", maxBlocks*4)
	}
	if maxInodes != totalram/2 { // x86_64 has no highmem
		fmt.Fprintf(&b, ",nr_inodes=%d", maxInodes)
	}
	if mode != 0o1777 {
		fmt.Fprintf(&b, ",mode=%03o", mode)
	}
	if uid != 0 {
		fmt.Fprintf(&b, ",uid=%d", uid)
	}
	if gid != 0 {
		fmt.Fprintf(&b, ",gid=%d", gid)
	}
	inode64Default, err := tmpfsInode64Default(c)
	if err != nil {
		return "", err
	}
	if full {
		b.WriteString(",inode64")
	} else if inode64Default {
		b.WriteString(",inode32")
	}
	if huge != 0 {
		names := map[uint64]string{1: "always", 2: "within_size", 3: "advise"}
		n, ok := names[huge]
		if !ok {
			return "", fmt.Errorf("huge=%d not decoded", huge)
		}
		b.WriteString(",huge=" + n)
	}
	if mpol != 0 {
		return "", fmt.Errorf("mpol= not decoded")
	}
	if info.HasMember("noswap") {
		if ns, err := info.Member("noswap").Bool(); err != nil {
			return "", err
		} else if ns {
			b.WriteString(",noswap")
		}
	}
	return b.String(), nil
}

// kernfsShowOptions mirrors kernfs_sop_show_options(): the options of the
// kernfs root's syscall_ops; sysfs has none, cgroup2 prints its root flags.
func kernfsShowOptions(c *emit.Context, sb object.Object) (string, error) {
	ops, err := sb.Member("s_fs_info").Cast("struct kernfs_super_info *").Member("root").Member("syscall_ops").Uint()
	if err != nil || ops == 0 {
		return "", err
	}
	opsT, err := c.Prog.Type("struct kernfs_syscall_ops")
	if err != nil {
		return "", err
	}
	fn, err := c.Prog.Object(opsT, ops, "syscall_ops").Member("show_options").Uint()
	if err != nil || fn == 0 {
		return "", err
	}
	if !c.SymbolIs(fn, "cgroup_show_options") {
		return "", fmt.Errorf("%s not decoded", c.Symbolizer().SprintSymbolNoOffset(fn))
	}
	// cgroup_show_options() in kernel/cgroup/cgroup.c, flag by flag; the
	// flags a kernel lacks are absent from its enum.
	flags, err := c.Prog.VarAs("cgrp_dfl_root", "struct cgroup_root").Member("flags").Uint()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, f := range []struct{ enum, opt string }{
		{"CGRP_ROOT_NS_DELEGATE", ",nsdelegate"}, {"CGRP_ROOT_FAVOR_DYNMODS", ",favordynmods"},
		{"CGRP_ROOT_MEMORY_LOCAL_EVENTS", ",memory_localevents"}, {"CGRP_ROOT_MEMORY_RECURSIVE_PROT", ",memory_recursiveprot"},
		{"CGRP_ROOT_MEMORY_HUGETLB_ACCOUNTING", ",memory_hugetlb_accounting"}, {"CGRP_ROOT_PIDS_LOCAL_EVENTS", ",pids_localevents"},
	} {
		if v, err := c.Prog.Types.EnumValue(f.enum); err == nil && flags&uint64(v) != 0 {
			b.WriteString(f.opt)
		}
	}
	return b.String(), nil
}

// procShowOptions mirrors proc_show_options() in fs/proc/root.c.
func procShowOptions(c *emit.Context, sb object.Object) (string, error) {
	fi := sb.Member("s_fs_info").Cast("struct proc_fs_info *").Deref()
	var rd object.Reader
	gid := rd.Uint(fi.Member("pid_gid.val"))
	hide := rd.Uint(fi.Member("hide_pid"))
	only := rd.Uint(fi.Member("pidonly"))
	if err := rd.Err(); err != nil {
		return "", err
	}
	var b strings.Builder
	if gid != 0 {
		fmt.Fprintf(&b, ",gid=%d", gid)
	}
	if hide != 0 {
		names := map[uint64]string{1: "noaccess", 2: "invisible", 4: "ptraceable"} // hidepid2str()
		n, ok := names[hide]
		if !ok {
			return "", fmt.Errorf("hidepid %d not decoded", hide)
		}
		b.WriteString(",hidepid=" + n)
	}
	if only != 0 {
		b.WriteString(",subset=pid")
	}
	return b.String(), nil
}

// debugfsShowOptions mirrors debugfs_show_options() in fs/debugfs/inode.c
// (DEBUGFS_DEFAULT_MODE is 0700).
func debugfsShowOptions(sb object.Object) (string, error) {
	fsi := sb.Member("s_fs_info").Cast("struct debugfs_fs_info *").Deref()
	if fsi.HasMember("mount_opts") { // 5.10 kept them in struct debugfs_mount_opts
		fsi = fsi.Member("mount_opts")
	}
	var rd object.Reader
	uid := rd.Uint(fsi.Member("uid.val"))
	gid := rd.Uint(fsi.Member("gid.val"))
	mode := rd.Uint(fsi.Member("mode"))
	if err := rd.Err(); err != nil {
		return "", err
	}
	var b strings.Builder
	if uid != 0 {
		fmt.Fprintf(&b, ",uid=%d", uid)
	}
	if gid != 0 {
		fmt.Fprintf(&b, ",gid=%d", gid)
	}
	if mode != 0o700 {
		fmt.Fprintf(&b, ",mode=%o", mode)
	}
	return b.String(), nil
}
