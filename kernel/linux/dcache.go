package linux

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// maxPathDepth bounds d_path walks (PATH_MAX allows no more than 2048
// components).
const maxPathDepth = 2048

// DentryName is dentry->d_name as a string.
func DentryName(dentry object.Object) (string, error) {
	n, err := dentry.Member("d_name.len").Uint()
	if err != nil {
		return "", err
	}
	name, err := dentry.Member("d_name.name").Uint()
	if err != nil {
		return "", err
	}
	if n > 255 {
		return "", fmt.Errorf("%s: name length %d", dentry.Path(), n)
	}
	b := make([]byte, n)
	if _, err := dentry.Prog().Mem.ReadVirtAt(b, name); err != nil {
		return "", fmt.Errorf("%s: name: %w", dentry.Path(), err)
	}
	return string(b), nil
}

// ErrOutsideRoot is returned by DPath for a path that the given root does
// not reach (__d_path() returns NULL; seq_path_root skips such mounts).
var ErrOutsideRoot = errors.New("path is outside the root")

// DPath mirrors __d_path()/prepend_path() in fs/d_path.c: the path of
// (mnt, dentry) as seen from (rootMnt, rootDentry), all addresses of struct
// vfsmount and struct dentry. Crossing into a mount's parent follows struct
// mount. A path whose walk ends at the namespace's top without meeting the
// root wraps ErrOutsideRoot.
func DPath(p *object.Program, mnt, dentry, rootMnt, rootDentry uint64) (string, error) {
	dentryT, err := p.Type("struct dentry")
	if err != nil {
		return "", err
	}
	var parts []string
	for depth := 0; dentry != rootDentry || mnt != rootMnt; depth++ {
		if depth > maxPathDepth {
			return "", fmt.Errorf("d_path: deeper than %d components", maxPathDepth)
		}
		m := p.ContainerOf(mnt, "struct mount", "mnt")
		mntRoot, err := m.Member("mnt.mnt_root").Uint()
		if err != nil {
			return "", err
		}
		d := p.Object(dentryT, dentry, "dentry")
		parent, err := d.Member("d_parent").Uint()
		if err != nil {
			return "", err
		}
		if dentry == mntRoot || dentry == parent {
			mp, err := m.Member("mnt_parent").Uint()
			if err != nil {
				return "", err
			}
			mpMnt := mp + mntOffset(p)
			if mpMnt == mnt || dentry != mntRoot {
				// The top of the tree, and the root was not on the way.
				return "", fmt.Errorf("d_path: %w", ErrOutsideRoot)
			}
			if dentry, err = m.Member("mnt_mountpoint").Uint(); err != nil {
				return "", err
			}
			mnt = mpMnt
			continue
		}
		name, err := DentryName(d)
		if err != nil {
			return "", err
		}
		parts = append(parts, name)
		dentry = parent
	}
	if len(parts) == 0 {
		return "/", nil
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String(), nil
}

// DentryPath mirrors dentry_path(): the path of dentry from the root of its
// filesystem.
func DentryPath(dentry object.Object) (string, error) {
	var parts []string
	for depth := 0; ; depth++ {
		if depth > maxPathDepth {
			return "", fmt.Errorf("dentry_path: deeper than %d components", maxPathDepth)
		}
		addr, _ := dentry.Address()
		parent, err := dentry.Member("d_parent").Uint()
		if err != nil {
			return "", err
		}
		if parent == addr {
			break
		}
		name, err := DentryName(dentry)
		if err != nil {
			return "", err
		}
		parts = append(parts, name)
		dentry = dentry.Member("d_parent").Deref()
	}
	if len(parts) == 0 {
		return "/", nil
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String(), nil
}

// mntOffset is offsetof(struct mount, mnt).
func mntOffset(p *object.Program) uint64 {
	t, err := p.Type("struct mount")
	if err != nil {
		return 0
	}
	off, _ := ktype.MemberOffset(t, "mnt")
	return off
}
