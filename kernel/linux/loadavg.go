package linux

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Loadavg is what /proc/loadavg and uptime show (loadavg_proc_show() in
// fs/proc/loadavg.c).
type Loadavg struct {
	Avenrun          [3]uint64 // avenrun[]: fixed point, FSHIFT 11 bits of fraction
	Running, Threads uint64    // nr_running() over cpus, nr_threads
	LastPID          int64     // idr_get_cursor(&init_pid_ns.idr) - 1
}

// ReadLoadavg reads the load averages and counts; runnable tasks are
// counted over the CPUs cpus gives (asked after avenrun is read).
func ReadLoadavg(p *object.Program, cpus func() ([]int, error)) (Loadavg, error) {
	var l Loadavg
	raw := make([]byte, 24)
	if err := p.VarAs("avenrun", "unsigned long").Read(raw); err != nil {
		return l, err
	}
	for i := range l.Avenrun {
		for j := 7; j >= 0; j-- {
			l.Avenrun[i] = l.Avenrun[i]<<8 | uint64(raw[8*i+j])
		}
	}
	running, err := cpus()
	if err != nil {
		return l, err
	}
	if l.Running, err = NrRunning(p, running); err != nil {
		return l, err
	}
	if l.Threads, err = p.VarAs("nr_threads", "int").Uint(); err != nil {
		return l, err
	}
	cursor, err := IDRGetCursor(InitPidNS(p).Member("idr"))
	l.LastPID = cursor - 1
	return l, err
}

// Averages formats the three averages as get_avenrun(avnrun, FIXED_1/200,
// 0) and LOAD_INT/LOAD_FRAC do: rounded to two decimals.
func (l Loadavg) Averages(sep string) string {
	const fshift, fixed1 = 11, 1 << 11
	s := ""
	for i, a := range l.Avenrun {
		a += fixed1 / 200
		if i > 0 {
			s += sep
		}
		s += fmt.Sprintf("%d.%02d", a>>fshift, (a&(fixed1-1))*100>>fshift)
	}
	return s
}
