package emitters

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	Register(&Emitter{
		Path:    "proc/filesystems",
		Mirrors: "filesystems_proc_show() in fs/filesystems.c",
		Desc:    "registered filesystem types",
		Tracker: Done,
		Run:     procFilesystems,
	})
}

// procFilesystems walks the singly linked file_systems list.
func procFilesystems(c *Context, _ int64, out *Output) error {
	fs := c.Prog.VarAs("file_systems", "struct file_system_type *")
	for n := 0; ; n++ {
		ptr, err := fs.Uint()
		if err != nil {
			return err
		}
		if ptr == 0 {
			return nil
		}
		if n > linux.MaxListNodes {
			return fmt.Errorf("file_systems: %w", linux.ErrTooLong)
		}
		t := fs.Deref()
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
		fs = t.Member("next")
	}
}
