package block

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/diskstats",
		Mirrors: "diskstats_show() in block/genhd.c",
		Desc:    "per-disk and per-partition I/O counters at the crash",
		Tracker: emit.Partial,
		Note:    "I/Os in progress of a blk-mq disk come from the per-cpu in_flight counters; kernels that count blk-mq requests by tag instead (6.1) are marked partial for those disks",
		Run:     procDiskstats,
	})
}

// diskStats is struct disk_stats summed over CPUs (part_stat_read_all).
type diskStats struct {
	nsecs, sectors, ios, merges [4]uint64 // READ, WRITE, DISCARD, FLUSH
	ioTicks                     uint64
	inFlight                    int64
}

func procDiskstats(c *emit.Context, _ int64, out *emit.Output) error {
	p := c.Prog
	hz, err := linux.HZ(p)
	if err != nil {
		return err
	}
	possible, err := linux.CPUMask(p, "__cpu_possible_mask")
	if err != nil {
		return err
	}
	var mqDisks []string
	defer func() {
		if len(mqDisks) > 0 {
			out.Partial("I/Os in progress of blk-mq disks %s taken from per-cpu counters", strings.Join(mqDisks, ", "))
		}
	}()
	for disk, err := range linux.ForEachDisk(p) {
		if err != nil {
			return err
		}
		mq, err := disk.Member("queue").Member("mq_ops").Uint()
		if err != nil {
			return err
		}
		for part, err := range linux.DiskForEachPart(disk) {
			if err != nil {
				return err
			}
			if part.Partno != 0 && part.Sectors == 0 {
				continue
			}
			st, err := readDiskStats(p, part.Stats, possible)
			if err != nil {
				return err
			}
			name, err := linux.DiskName(disk, part.Partno)
			if err != nil {
				return err
			}
			dev := part.Dev
			if mq != 0 {
				mqDisks = append(mqDisks, name)
			}
			inflight := max(st.inFlight, 0)
			ms := func(ns uint64) uint64 { return ns / 1_000_000 }
			fmt.Fprintf(out, "%4d %7d %s %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d\n",
				dev>>20, dev&0xfffff, name,
				st.ios[0], st.merges[0], st.sectors[0], uint32(ms(st.nsecs[0])),
				st.ios[1], st.merges[1], st.sectors[1], uint32(ms(st.nsecs[1])),
				uint32(inflight), uint32(st.ioTicks*1000/hz),
				uint32(ms(st.nsecs[0]+st.nsecs[1]+st.nsecs[2]+st.nsecs[3])),
				st.ios[2], st.merges[2], st.sectors[2], uint32(ms(st.nsecs[2])),
				st.ios[3], uint32(ms(st.nsecs[3])))
		}
	}
	return nil
}

// readDiskStats sums per_cpu_ptr(stats, cpu) over possible CPUs (stats is
// part->bd_stats, or hd_struct->dkstats before 5.11).
func readDiskStats(p *object.Program, base uint64, cpus []int) (diskStats, error) {
	var st diskStats
	t, err := p.Type("struct disk_stats")
	if err != nil {
		return st, err
	}
	for _, cpu := range cpus {
		off, err := linux.PerCPUOffset(p, cpu)
		if err != nil {
			return st, err
		}
		s := p.Object(t, base+off, fmt.Sprintf("per_cpu_ptr(bd_stats, %d)", cpu))
		for g := 0; g < 4; g++ {
			for _, f := range []struct {
				name string
				dst  *uint64
			}{{"nsecs", &st.nsecs[g]}, {"sectors", &st.sectors[g]}, {"ios", &st.ios[g]}, {"merges", &st.merges[g]}} {
				v, err := s.Member(fmt.Sprintf("%s[%d]", f.name, g)).Uint()
				if err != nil {
					return st, err
				}
				*f.dst += v
			}
		}
		ticks, err := s.Member("io_ticks").Uint()
		if err != nil {
			return st, err
		}
		st.ioTicks += ticks
		for i := 0; i < 2; i++ {
			v, err := s.Member(fmt.Sprintf("in_flight[%d].a.counter", i)).Int()
			if err != nil {
				return st, err
			}
			st.inFlight += v
		}
	}
	return st, nil
}
