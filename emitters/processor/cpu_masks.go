package processor

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	for _, m := range []struct{ file, symbol string }{
		{"online", "__cpu_online_mask"},
		{"possible", "__cpu_possible_mask"},
		{"present", "__cpu_present_mask"},
	} {
		area.Register(&emit.Emitter{
			Path:    "sys/devices/system/cpu/" + m.file,
			Mirrors: "show_cpus_attr() in drivers/base/cpu.c (%*pbl of " + m.symbol + ")",
			Desc:    "CPUs " + m.file + ", as the dump has the mask",
			Tracker: emit.Done,
			Note:    map[bool]string{true: "after a panic without kdump only the panicking CPU is still online; the manifest names the stopped CPUs"}[m.file == "online"],
			Run: func(c *emit.Context, _ int64, out *emit.Output) error {
				cpus, err := linux.CPUMask(c.Prog, m.symbol)
				if err != nil {
					return err
				}
				fmt.Fprintln(out, linux.BitmapList(cpus))
				return nil
			},
		})
	}
}
