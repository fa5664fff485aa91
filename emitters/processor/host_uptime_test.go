package processor

import (
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func TestUptimeLine(t *testing.T) {
	// avenrun 307, 61, 20 in FSHIFT 11 fixed point: 0.15, 0.03, 0.01 after
	// the kernel's rounding (FIXED_1/200 added).
	l := linux.Loadavg{Avenrun: [3]uint64{307, 61, 20}}
	if got := l.Averages(" "); got != "0.15 0.03 0.01" {
		t.Errorf("averages %q", got)
	}
	at := time.Date(2026, 11, 25, 18, 31, 4, 0, time.UTC)
	for up, want := range map[int64]string{
		30:            " 18:31:04 up 0 min,  ? user,  load average: 0.15, 0.03, 0.01\n",
		3900:          " 18:31:04 up  1:05,  ? user,  load average: 0.15, 0.03, 0.01\n",
		2*86400 + 600: " 18:31:04 up 2 days, 10 min,  ? user,  load average: 0.15, 0.03, 0.01\n",
		86400 + 7200:  " 18:31:04 up 1 day,  2:00,  ? user,  load average: 0.15, 0.03, 0.01\n",
	} {
		if got := uptimeLine(at, up, l); got != want {
			t.Errorf("uptime %d s: %q, want %q", up, got, want)
		}
	}
}
