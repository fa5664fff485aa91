package processor

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/loadavg",
		Mirrors: "loadavg_proc_show() in fs/proc/loadavg.c",
		Desc:    "load averages, runnable/total threads and the last pid allocated, at the crash",
		Tracker: emit.Done,
		Note:    "runnable tasks are counted over the CPUs running before the panic",
		Run: func(c *emit.Context, _ int64, out *emit.Output) error {
			l, err := readLoadavg(c)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%s %d/%d %d\n", l.Averages(" "), l.Running, l.Threads, l.LastPID)
			return nil
		},
	})
}

// readLoadavg reads the load over the CPUs running before the panic.
func readLoadavg(c *emit.Context) (linux.Loadavg, error) {
	return linux.ReadLoadavg(c.Prog, c.RunningCPUs)
}
