package emitters

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	Register(&Emitter{
		Path:    "proc/loadavg",
		Mirrors: "loadavg_proc_show() in fs/proc/loadavg.c",
		Desc:    "load averages, runnable/total threads and the last pid allocated, at the crash",
		Tracker: Done,
		Note:    "runnable tasks are counted over the CPUs running before the panic",
		Run: func(c *Context, _ int64, out *Output) error {
			l, err := readLoadavg(c)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%s %d/%d %d\n", l.averages(" "), l.running, l.threads, l.lastPID)
			return nil
		},
	})
}

// loadavg is what /proc/loadavg and uptime show.
type loadavg struct {
	avenrun          [3]uint64 // fixed point, FSHIFT 11 bits of fraction
	running, threads uint64
	lastPID          int64
}

func readLoadavg(c *Context) (loadavg, error) {
	var l loadavg
	raw := make([]byte, 24)
	if err := c.Prog.VarAs("avenrun", "unsigned long").Read(raw); err != nil {
		return l, err
	}
	for i := range l.avenrun {
		for j := 7; j >= 0; j-- {
			l.avenrun[i] = l.avenrun[i]<<8 | uint64(raw[8*i+j])
		}
	}
	cpus, err := runningCPUs(c)
	if err != nil {
		return l, err
	}
	if l.running, err = linux.NrRunning(c.Prog, cpus); err != nil {
		return l, err
	}
	if l.threads, err = c.Prog.VarAs("nr_threads", "int").Uint(); err != nil {
		return l, err
	}
	cursor, err := linux.IDRGetCursor(linux.InitPidNS(c.Prog).Member("idr"))
	l.lastPID = cursor - 1
	return l, err
}

// averages formats the three averages as get_avenrun(avnrun, FIXED_1/200,
// 0) and LOAD_INT/LOAD_FRAC do: rounded to two decimals.
func (l loadavg) averages(sep string) string {
	const fshift, fixed1 = 11, 1 << 11
	s := ""
	for i, a := range l.avenrun {
		a += fixed1 / 200
		if i > 0 {
			s += sep
		}
		s += fmt.Sprintf("%d.%02d", a>>fshift, (a&(fixed1-1))*100>>fshift)
	}
	return s
}
