package filesys

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/mounts",
		Mirrors: "show_vfsmnt() in fs/proc_namespace.c, as seen by pid 1",
		Desc:    "mounted filesystems",
		Tracker: emit.Partial,
		Note:    "filesystem options decoded for tmpfs/devtmpfs/rootfs, cgroup2, proc, sysfs and debugfs; others (ext4, xfs, …) are left out and the file is marked partial",
		Run: func(c *emit.Context, _ int64, out *emit.Output) error {
			return showMounts(c, 1, out, false)
		},
	})
	area.Register(&emit.Emitter{
		Path:    "proc/{pid}/mountinfo",
		Each:    emit.PerPID,
		Mirrors: "show_mountinfo() in fs/proc_namespace.c",
		Desc:    "mount table of each process's mount namespace, from its root",
		Tracker: emit.Partial,
		Note:    "as proc/mounts for filesystem options",
		Run: func(c *emit.Context, pid int64, out *emit.Output) error {
			return showMounts(c, pid, out, true)
		},
	})
}

// Mount flags (include/linux/mount.h) and superblock flags (include/linux/fs.h).
const (
	mntReadonly = 0x40
	sbRdonly    = 1
)

var mntOpts = []struct {
	flag uint64
	s    string
}{{0x01, ",nosuid"}, {0x02, ",nodev"}, {0x04, ",noexec"}, {0x08, ",noatime"}, {0x10, ",nodiratime"}, {0x20, ",relatime"}, {0x80, ",nosymfollow"}}

var sbOpts = []struct {
	flag uint64
	s    string
}{{16, ",sync"}, {128, ",dirsync"}, {64, ",mand"}, {1 << 25, ",lazytime"}}

// showMounts prints the mount table of pid's namespace as pid sees it:
// /proc/PID/mounts (show_vfsmnt) or /proc/PID/mountinfo (show_mountinfo).
func showMounts(c *emit.Context, pid int64, out *emit.Output, info bool) error {
	task, err := c.TaskByPID(pid)
	if err != nil {
		return err
	}
	nsproxy, err := task.Member("nsproxy").Uint()
	if err != nil {
		return err
	}
	if nsproxy == 0 {
		return &emit.NotApplicable{Reason: fmt.Sprintf("pid %d has exited (no namespaces): the kernel refuses the file too", pid)}
	}
	ns := task.Member("nsproxy").Member("mnt_ns").Deref()
	nsAddr, _ := ns.Address()
	var rd object.Reader
	rootMnt := rd.Uint(task.Member("fs").Member("root.mnt"))
	rootDentry := rd.Uint(task.Member("fs").Member("root.dentry"))
	rd.Check(ns.Err())
	if err := rd.Err(); err != nil {
		return err
	}
	// Most processes share a namespace and a root: render each table once.
	key := fmt.Sprintf("emitters/mounts %#x %#x %#x %v", nsAddr, rootMnt, rootDentry, info)
	table, err := emit.Once(c, key, func() (*emit.Output, error) {
		t := new(emit.Output)
		for r, err := range linux.ForEachMount(ns) {
			if err != nil {
				return nil, err
			}
			if err := showMount(c, r, rootMnt, rootDentry, t, info); err != nil {
				return nil, err
			}
		}
		return t, nil
	})
	if err != nil {
		return err
	}
	out.Write(table.Bytes())
	for _, r := range table.PartialReasons() {
		out.Partial("%s", r)
	}
	return nil
}

func showMount(c *emit.Context, r object.Object, rootMnt, rootDentry uint64, out *emit.Output, info bool) error {
	p := c.Prog
	mnt := r.Member("mnt")
	mntAddr, ok := mnt.Address()
	if !ok {
		if err := mnt.Err(); err != nil {
			return err
		}
		return errors.New("struct mount is not in memory")
	}
	mntRoot, err := mnt.Member("mnt_root").Uint()
	if err != nil {
		return err
	}
	sb := mnt.Member("mnt_sb").Deref()
	var rd object.Reader
	mntFlags := rd.Uint(mnt.Member("mnt_flags"))
	sbFlags := rd.Uint(sb.Member("s_flags"))
	fstype := rd.CString(sb.Member("s_type").Member("name"))
	if err := rd.Err(); err != nil {
		return err
	}
	// s_subtype: fuse's "fuse.<subtype>", a member of the kernels that have it.
	if sb.HasMember("s_subtype") {
		sub, err := sb.Member("s_subtype").Uint()
		if err != nil {
			return fmt.Errorf("%s: s_subtype: %w", fstype, err)
		}
		if sub != 0 {
			s, err := sb.Member("s_subtype").CString()
			if err != nil {
				return err
			}
			fstype += "." + s
		}
	}
	devname := "none"
	d, err := r.Member("mnt_devname").Uint()
	if err != nil {
		return fmt.Errorf("%s: mnt_devname: %w", fstype, err)
	}
	if d != 0 {
		if devname, err = r.Member("mnt_devname").CString(); err != nil {
			return err
		}
	}
	showDevname, err := sb.Member("s_op").Member("show_devname").Uint()
	if err != nil {
		return fmt.Errorf("%s: s_op->show_devname: %w", fstype, err)
	}
	if fn := showDevname; fn != 0 {
		out.Partial("%s: devname comes from %s, not decoded", fstype, c.Symbolizer().SprintSymbolNoOffset(fn))
	}
	path, err := linux.DPath(p, mntAddr, mntRoot, rootMnt, rootDentry)
	if errors.Is(err, linux.ErrOutsideRoot) {
		return nil // not visible from this root: seq_path_root gives SEQ_SKIP
	}
	if err != nil {
		return err
	}
	var mo, so strings.Builder
	for _, o := range mntOpts {
		if mntFlags&o.flag != 0 {
			mo.WriteString(o.s)
		}
	}
	for _, o := range sbOpts {
		if sbFlags&o.flag != 0 {
			so.WriteString(o.s)
		}
	}
	fsOpts := fsShowOptions(c, sb, fstype, out)
	if !info {
		rw := " rw"
		if mntFlags&mntReadonly != 0 || sbFlags&sbRdonly != 0 {
			rw = " ro"
		}
		fmt.Fprintf(out, "%s %s %s%s%s%s%s 0 0\n", emit.Mangle(devname), emit.Mangle(path), fstype, rw, so.String(), mo.String(), fsOpts)
		return nil
	}
	id := rd.Int(r.Member("mnt_id"))
	parentID := rd.Int(r.Member("mnt_parent").Member("mnt_id"))
	dev := rd.Uint(sb.Member("s_dev"))
	groupID := rd.Int(r.Member("mnt_group_id"))
	if err := rd.Err(); err != nil {
		return err
	}
	rootPath := "/"
	showPath, err := sb.Member("s_op").Member("show_path").Uint()
	if err != nil {
		return fmt.Errorf("%s: s_op->show_path: %w", fstype, err)
	}
	if fn := showPath; fn != 0 && !c.SymbolIs(fn, "kernfs_sop_show_path") {
		out.Partial("%s: root path comes from %s, not decoded", fstype, c.Symbolizer().SprintSymbolNoOffset(fn))
	} else if rootPath, err = linux.DentryPath(mnt.Member("mnt_root").Deref()); err != nil {
		return err
	}
	mntRW := " rw"
	if mntFlags&mntReadonly != 0 {
		mntRW = " ro"
	}
	fmt.Fprintf(out, "%d %d %d:%d %s %s%s%s", id, parentID, dev>>20, dev&0xfffff, emit.Mangle(rootPath), emit.Mangle(path), mntRW, mo.String())
	if err := propagation(r, groupID, out); err != nil {
		return err
	}
	sbRW := " rw"
	if sbFlags&sbRdonly != 0 {
		sbRW = " ro"
	}
	fmt.Fprintf(out, " - %s %s%s%s%s\n", fstype, emit.Mangle(devname), sbRW, so.String(), fsOpts)
	return nil
}

// propagation prints mountinfo's optional fields (shared:N, master:N,
// unbindable). MNT_SHARED is 0x1000, MNT_UNBINDABLE 0x2000 in mnt_flags;
// a slave has mnt_master set.
func propagation(r object.Object, groupID int64, out *emit.Output) error {
	flags, err := r.Member("mnt.mnt_flags").Uint()
	if err != nil {
		return err
	}
	if flags&0x1000 != 0 {
		fmt.Fprintf(out, " shared:%d", groupID)
	}
	master, err := r.Member("mnt_master").Uint()
	if err != nil {
		return err
	}
	if master != 0 {
		mid, err := r.Member("mnt_master").Member("mnt_group_id").Int()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, " master:%d", mid)
		out.Partial("propagate_from of slave mounts is not computed")
	}
	if flags&0x2000 != 0 {
		out.WriteString(" unbindable")
	}
	return nil
}
