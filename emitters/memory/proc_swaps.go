package memory

import (
	"errors"
	"fmt"
	"github.com/vmcore-report/vmcore-report/kernel/object"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/swaps",
		Mirrors: "swap_show() in mm/swapfile.c",
		Desc:    "swap areas in use",
		Tracker: emit.Done,
		Run:     procSwaps,
	})
}

// maxSwapfiles bounds the walk of swap_info[] (MAX_SWAPFILES is 32 less
// the types reserved for migration and hwpoison entries).
const maxSwapfiles = 32

func procSwaps(c *emit.Context, _ int64, out *emit.Output) error {
	p := c.Prog
	out.WriteString("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n")
	init, err := c.TaskByPID(1)
	if err != nil {
		return err
	}
	var rd object.Reader
	rootMnt := rd.Uint(init.Member("fs").Member("root.mnt"))
	rootDentry := rd.Uint(init.Member("fs").Member("root.dentry"))
	if err := rd.Err(); err != nil {
		return err
	}
	base, err := p.Syms.Addr("swap_info")
	if err != nil {
		return err
	}
	ptrT, err := p.Type("struct swap_info_struct *")
	if err != nil {
		return err
	}
	for typ := 0; typ < maxSwapfiles; typ++ {
		ptr := p.Object(ptrT, base+8*uint64(typ), fmt.Sprintf("swap_info[%d]", typ))
		v, err := ptr.Uint()
		if err != nil {
			return err
		}
		if v == 0 {
			break
		}
		si := ptr.Deref()
		var rd object.Reader
		flags := rd.Uint(si.Member("flags"))
		active, err := linux.SwapActive(si)
		rd.Check(err)
		if err := rd.Err(); err != nil {
			return err
		}
		if flags&1 == 0 || !active { // SWP_USED
			continue
		}
		pages := rd.Uint(si.Member("pages"))
		inuse, err := linux.SwapUsageInPages(si)
		rd.Check(err)
		prio := rd.Int(si.Member("prio"))
		mode := rd.Uint(si.Member("swap_file").Member("f_inode").Member("i_mode"))
		fmnt := rd.Uint(si.Member("swap_file").Member("f_path.mnt"))
		fdentry := rd.Uint(si.Member("swap_file").Member("f_path.dentry"))
		if err := rd.Err(); err != nil {
			return err
		}
		path, err := linux.DPath(p, fmnt, fdentry, rootMnt, rootDentry)
		if errors.Is(err, linux.ErrOutsideRoot) {
			path = "(unreachable)"
			out.Partial("swap %d: file outside the root; d_path would print it differently", typ)
		} else if err != nil {
			return err
		}
		path = emit.Mangle(path)
		pad := 1
		if len(path) < 40 {
			pad = 40 - len(path)
		}
		kind := "file\t"
		if mode&0o170000 == 0o060000 { // S_ISBLK
			kind = "partition"
		}
		bytes, used := pages*4, inuse*4
		fmt.Fprintf(out, "%s%s%s\t%d\t%s%d\t%s%d\n", path, strings.Repeat(" ", pad), kind,
			bytes, tabIf(bytes < 10000000), used, tabIf(used < 10000000), prio)
	}
	return nil
}

func tabIf(b bool) string {
	if b {
		return "\t"
	}
	return ""
}
