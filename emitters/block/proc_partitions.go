package block

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/partitions",
		Mirrors: "show_partition() in block/genhd.c",
		Desc:    "block devices and partitions with sizes",
		Tracker: emit.Done,
		Run:     procPartitions,
	})
}

func procPartitions(c *emit.Context, _ int64, out *emit.Output) error {
	p := c.Prog
	out.WriteString("major minor  #blocks  name\n\n")
	for disk, err := range linux.ForEachDisk(p) {
		if err != nil {
			return err
		}
		if shown, err := linux.GenhdShown(disk); err != nil || !shown {
			if err != nil {
				return err
			}
			continue
		}
		// The whole disk and every partition with a size.
		for part, err := range linux.DiskForEachPart(disk) {
			if err != nil {
				return err
			}
			if part.Sectors == 0 {
				continue
			}
			name, err := linux.DiskName(disk, part.Partno)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%4d  %7d %10d %s\n", part.Dev>>20, part.Dev&0xfffff, part.Sectors>>1, name)
		}
	}
	return nil
}
