package process

import (
	"encoding/binary"
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
)

// limitNames is lnames[] of fs/proc/base.c, by RLIMIT_* index; unit "" for
// the limits without one (the same in 6.1 and 6.12).
var limitNames = [...]struct{ name, unit string }{
	{"Max cpu time", "seconds"}, {"Max file size", "bytes"}, {"Max data size", "bytes"},
	{"Max stack size", "bytes"}, {"Max core file size", "bytes"}, {"Max resident set", "bytes"},
	{"Max processes", "processes"}, {"Max open files", "files"}, {"Max locked memory", "bytes"},
	{"Max address space", "bytes"}, {"Max file locks", "locks"}, {"Max pending signals", "signals"},
	{"Max msgqueue size", "bytes"}, {"Max nice priority", ""}, {"Max realtime priority", ""},
	{"Max realtime timeout", "us"},
}

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/{pid}/limits",
		Each:    emit.PerPID,
		Mirrors: "proc_pid_limits() in fs/proc/base.c",
		Desc:    "resource limits (signal->rlim), soft and hard",
		Tracker: emit.Done,
		Run: func(c *emit.Context, pid int64, out *emit.Output) error {
			task, err := c.TaskByPID(pid)
			if err != nil {
				return err
			}
			if sighand, err := task.Member("sighand").Uint(); err != nil {
				return err
			} else if sighand == 0 {
				return nil // lock_task_sighand() fails: the kernel prints nothing
			}
			rlim := task.Member("signal").Member("rlim")
			raw, err := rlim.Bytes()
			if err != nil {
				return err
			}
			if len(raw) < 16*len(limitNames) {
				return fmt.Errorf("%s: %d bytes for %d limits", rlim.Path(), len(raw), len(limitNames))
			}
			out.WriteString("Limit                     Soft Limit           Hard Limit           Units     \n")
			value := func(v uint64) string {
				if v == ^uint64(0) { // RLIM_INFINITY
					return "unlimited"
				}
				return fmt.Sprint(v)
			}
			for i, l := range limitNames {
				cur := binary.LittleEndian.Uint64(raw[16*i:])
				max := binary.LittleEndian.Uint64(raw[16*i+8:])
				fmt.Fprintf(out, "%-25s %-20s %-20s ", l.name, value(cur), value(max))
				if l.unit != "" {
					fmt.Fprintf(out, "%-10s\n", l.unit)
				} else {
					out.WriteString("\n")
				}
			}
			return nil
		},
	})
}
