package linux

import (
	"math"
	"testing"
)

func TestCputimeAdjust(t *testing.T) {
	for _, tc := range []struct {
		name         string
		curr         TaskCputimes
		prevU, prevS uint64
		ut, st       uint64
	}{
		// Ticks saw 3 user and 1 system: 400 ns of run time split 300/100.
		{"ratio", TaskCputimes{Utime: 3, Stime: 1, SumExecRuntime: 400}, 0, 0, 300, 100},
		// No system ticks: all of it is user time.
		{"no stime", TaskCputimes{Utime: 5, SumExecRuntime: 70}, 0, 0, 70, 0},
		{"no utime", TaskCputimes{Stime: 5, SumExecRuntime: 70}, 0, 0, 0, 70},
		// Nothing new since the last report: the previous split stands.
		{"not monotonic", TaskCputimes{Utime: 1, Stime: 1, SumExecRuntime: 100}, 60, 50, 60, 50},
		// stime never goes back below what was reported.
		{"stime floor", TaskCputimes{Utime: 9, Stime: 1, SumExecRuntime: 200}, 10, 80, 120, 80},
		// A product beyond 64 bits still divides exactly: half of it each.
		{"wide", TaskCputimes{Utime: 1 << 62, Stime: 1 << 62, SumExecRuntime: math.MaxUint64 - 1}, 0, 0,
			math.MaxUint64 / 2, math.MaxUint64 / 2},
	} {
		ut, st := cputimeAdjust(tc.curr, tc.prevU, tc.prevS)
		if ut != tc.ut || st != tc.st {
			t.Errorf("%s: %d/%d, want %d/%d", tc.name, ut, st, tc.ut, tc.st)
		}
	}
}

func TestNsecToClockT(t *testing.T) {
	if got := NsecToClockT(1_234_567_890); got != 123 {
		t.Errorf("NsecToClockT = %d, want 123", got)
	}
}
