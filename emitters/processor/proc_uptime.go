package processor

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/uptime",
		Mirrors: "uptime_proc_show() in fs/proc/uptime.c",
		Desc:    "seconds since boot and seconds the CPUs spent idle, at the crash",
		Tracker: emit.Done,
		Note:    "the time is the timekeeper's last update before the panic stopped the tick; idle time is summed over the possible CPUs, the NO_HZ idle periods of CPUs running before the panic counted up to that moment",
		Run: func(c *emit.Context, _ int64, out *emit.Output) error {
			up, err := linux.KtimeGetBoottime(c.Prog)
			if err != nil {
				return err
			}
			idle, err := idleTotal(c)
			if err != nil {
				return fmt.Errorf("idle time: %w", err)
			}
			fmt.Fprintf(out, "%d.%02d %d.%02d\n", up/1e9, up%1e9/1e7, idle/1e9, idle%1e9/1e7)
			return nil
		},
	})
}

// idleTotal sums get_idle_time() over the possible CPUs, as
// uptime_proc_show() does.
func idleTotal(c *emit.Context) (uint64, error) {
	cs, err := readCPUStats(c)
	if err != nil {
		return 0, err
	}
	var sum uint64
	for _, s := range cs.Possible {
		sum += s.Idle
	}
	return sum, nil
}
