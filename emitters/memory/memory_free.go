package memory

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
)

func init() {
	area.Register(&emit.Emitter{
		Path: "sos_commands/memory/free",
		Mirrors: "procps-ng 4.x free (src/free.c, library/meminfo.c) reading /proc/meminfo: used = total - available " +
			"(4.0.1+; 3.3.x printed total - free - buff/cache), buff/cache = Buffers + Cached + SReclaimable, in KiB",
		Desc:    "free, from the crash-time /proc/meminfo",
		Tracker: emit.Done,
		Note:    "used is total - available as procps-ng 4.0.1 and later print it; 3.3.x printed total - free - buff/cache",
		Run:     memoryFree,
	})
}

func memoryFree(c *emit.Context, _ int64, out *emit.Output) error {
	m, err := meminfo(c)
	if err != nil {
		return err
	}
	get := func(names ...string) (uint64, error) {
		var sum uint64
		for _, n := range names {
			v, ok := m.value(n)
			if !ok {
				// The field's own read error, so that the run can say why
				// (a page the dump lacks).
				if err := m.missing[n]; err != nil {
					return 0, fmt.Errorf("free: /proc/meminfo has no %s: %w", n, err)
				}
				return 0, fmt.Errorf("free: /proc/meminfo has no %s", n)
			}
			sum += v
		}
		return sum, nil
	}
	var v [9]uint64
	for i, f := range [][]string{
		{"MemTotal"}, {"MemFree"}, {"Shmem"}, {"Buffers", "Cached", "SReclaimable"}, {"MemAvailable"},
		{"SwapTotal"}, {"SwapFree"},
	} {
		if v[i], err = get(f...); err != nil {
			return err
		}
	}
	total, free, shared, buffCache, avail, swapTotal, swapFree := v[0], v[1], v[2], v[3], v[4], v[5], v[6]
	if avail > total { // procps: a container's distorted values
		avail = free
	}
	used := int64(total) - int64(avail)
	if used < 0 {
		used = int64(total) - int64(free)
	}
	var swapUsed uint64
	if swapFree < swapTotal {
		swapUsed = swapTotal - swapFree
	}
	fmt.Fprintf(out, "               total        used        free      shared  buff/cache   available\n")
	fmt.Fprintf(out, "%-7s %11d %11d %11d %11d %11d %11d\n", "Mem:", total, used, free, shared, buffCache, avail)
	fmt.Fprintf(out, "%-7s %11d %11d %11d\n", "Swap:", swapTotal, swapUsed, swapFree)
	return nil
}
