package emitters

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	Register(&Emitter{
		Path:    "proc/partitions",
		Mirrors: "show_partition() in block/genhd.c",
		Desc:    "block devices and partitions with sizes",
		Tracker: Done,
		Run:     procPartitions,
	})
}

// genhdFlHidden is GENHD_FL_HIDDEN (include/linux/blkdev.h).
const genhdFlHidden = 1 << 1

func procPartitions(c *Context, _ int64, out *Output) error {
	p := c.Prog
	out.WriteString("major minor  #blocks  name\n\n")
	for disk, err := range linux.ForEachDisk(p) {
		if err != nil {
			return err
		}
		capacity, err1 := disk.Member("part0").Member("bd_nr_sectors").Uint()
		flags, err2 := disk.Member("flags").Uint()
		if err := firstErr(err1, err2); err != nil {
			return err
		}
		if capacity == 0 || flags&genhdFlHidden != 0 {
			continue
		}
		bdevT, err := p.Type("struct block_device")
		if err != nil {
			return err
		}
		for e, err := range linux.XArrayForEach(disk.Member("part_tbl")) {
			if err != nil {
				return err
			}
			part := p.Object(bdevT, e.Entry, fmt.Sprintf("part_tbl[%d]", e.Index))
			sectors, err1 := part.Member("bd_nr_sectors").Uint()
			dev, err2 := part.Member("bd_dev").Uint()
			if err := firstErr(err1, err2); err != nil {
				return err
			}
			if sectors == 0 {
				continue
			}
			name, err := linux.BdevName(part)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%4d  %7d %10d %s\n", dev>>20, dev&0xfffff, sectors>>1, name)
		}
	}
	return nil
}
