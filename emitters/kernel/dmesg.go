package kernel

import (
	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "sos_commands/kernel/dmesg",
		Mirrors: "dmesg: the printk ring buffer as record_print_text() formats it (kernel/printk/printk.c)",
		Desc:    "kernel log up to the crash",
		Tracker: emit.Done,
		Run: func(c *emit.Context, _ int64, out *emit.Output) error {
			recs, err := linux.PrintkRecords(c.Prog)
			if err != nil {
				return err
			}
			out.WriteString(linux.FormatDmesg(recs))
			return nil
		},
	})
}
