package kernel

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/filesystems",
		Mirrors: "filesystems_proc_show() in fs/filesystems.c",
		Desc:    "registered filesystem types",
		Tracker: emit.Done,
		Run:     procFilesystems,
	})
}

// procFilesystems prints each registered filesystem type.
func procFilesystems(c *emit.Context, _ int64, out *emit.Output) error {
	for t, err := range linux.ForEachFileSystem(c.Prog) {
		if err != nil {
			return err
		}
		flags, err := t.Member("fs_flags").Uint()
		if err != nil {
			return err
		}
		name, err := t.Member("name").CString()
		if err != nil {
			return err
		}
		nodev := "nodev"
		if flags&1 != 0 { // FS_REQUIRES_DEV
			nodev = ""
		}
		fmt.Fprintf(out, "%s\t%s\n", nodev, name)
	}
	return nil
}
