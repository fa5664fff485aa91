package processor

import (
	"fmt"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "sos_commands/host/uptime",
		Mirrors: "procps uptime (procps_uptime_sprint in library/uptime.c, procps-ng 4.0.4)",
		Desc:    "time of the crash, time since boot and load averages",
		Tracker: emit.Partial,
		Note:    "the number of logged-in users comes from utmp, userspace data not in kernel memory: printed as procps prints an unknown count (\" ? user\"); the time of day is in UTC",
		Run: func(c *emit.Context, _ int64, out *emit.Output) error {
			real, err := linux.KtimeGetReal(c.Prog)
			if err != nil {
				return err
			}
			up, err := linux.KtimeGetBoottime(c.Prog)
			if err != nil {
				return err
			}
			l, err := readLoadavg(c)
			if err != nil {
				return err
			}
			out.WriteString(uptimeLine(time.Unix(0, real).UTC(), up/1e9, l))
			out.Partial("users: utmp is userspace data, not in the dump")
			return nil
		},
	})
}

// uptimeLine formats procps_uptime_sprint() with an unknown user count.
func uptimeLine(now time.Time, upSecs int64, l linux.Loadavg) string {
	s := fmt.Sprintf(" %02d:%02d:%02d up ", now.Hour(), now.Minute(), now.Second())
	days, hours, mins := upSecs/86400, upSecs/3600%24, upSecs/60%60
	if days > 0 {
		unit := "day"
		if days > 1 {
			unit = "days"
		}
		s += fmt.Sprintf("%d %s, ", days, unit)
	}
	if hours > 0 {
		s += fmt.Sprintf("%2d:%02d, ", hours, mins)
	} else {
		s += fmt.Sprintf("%d min, ", mins)
	}
	return s + " ? user,  load average: " + l.Averages(", ") + "\n"
}
