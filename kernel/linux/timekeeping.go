package linux

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Timekeeper is tk_core.timekeeper (struct timekeeper) of
// kernel/time/timekeeping.c. Three layouts, told apart by the symbols and
// types the kernel has:
//   - v6.17 ("timekeeping: Introduce auxiliary timekeepers") made the
//     timekeepers an array, struct tk_data timekeeper_data[], and tk_core
//     a macro for its element TIMEKEEPER_CORE (0): no tk_core symbol;
//   - v6.13 ("timekeeping: Move shadow_timekeeper into tk_core") named the
//     type: struct tk_data tk_core;
//   - before, tk_core is an anonymous struct { seq; timekeeper; }; BTF has
//     no type for an anonymous static variable, so the timekeeper's offset
//     is the sequence counter's size rounded up to the timekeeper's 8-byte
//     alignment.
func Timekeeper(p *object.Program) (object.Object, error) {
	if _, err := p.Syms.Addr("tk_core"); err != nil {
		if _, err2 := p.Syms.Addr("timekeeper_data"); err2 == nil {
			o := p.VarAs("timekeeper_data", "struct tk_data").Member("timekeeper")
			return o, o.Err()
		}
		return object.Object{}, err
	}
	if p.HasMember("struct tk_data", "timekeeper") {
		return p.VarAs("tk_core", "struct tk_data").Member("timekeeper"), nil
	}
	addr, err := p.Syms.Addr("tk_core")
	if err != nil {
		return object.Object{}, err
	}
	seq, err := p.Type("seqcount_raw_spinlock_t")
	if err != nil {
		return object.Object{}, err
	}
	size, err := ktype.Sizeof(seq)
	if err != nil {
		return object.Object{}, err
	}
	tk, err := p.Type("struct timekeeper")
	if err != nil {
		return object.Object{}, err
	}
	return p.Object(tk, addr+(size+7)&^7, "tk_core.timekeeper"), nil
}

// timekeeperNow is the time base's value at the timekeeper's last update:
// base + (xtime_nsec >> shift), what timekeeping_get_ns() gives with no
// clocksource cycles elapsed. A dump cannot read the clocksource, and the
// panic stopped the tick that updates the timekeeper, so this is the time
// of the crash to within a tick.
func timekeeperNow(tkr object.Object) (int64, error) {
	base, err := tkr.Member("base").Int()
	if err != nil {
		return 0, err
	}
	xnsec, err := tkr.Member("xtime_nsec").Uint()
	if err != nil {
		return 0, err
	}
	shift, err := tkr.Member("shift").Uint()
	if err != nil {
		return 0, err
	}
	if shift >= 64 {
		return 0, fmt.Errorf("%s: shift %d", tkr.Path(), shift)
	}
	return base + int64(xnsec>>shift), nil
}

// KtimeGet mirrors ktime_get() in kernel/time/timekeeping.c at the last
// timekeeper update: CLOCK_MONOTONIC in nanoseconds.
func KtimeGet(p *object.Program) (int64, error) {
	tk, err := Timekeeper(p)
	if err != nil {
		return 0, err
	}
	return timekeeperNow(tk.Member("tkr_mono"))
}

// KtimeGetBoottime mirrors ktime_get_boottime(): CLOCK_BOOTTIME (monotonic
// plus the time spent suspended, offs_boot) in nanoseconds.
func KtimeGetBoottime(p *object.Program) (int64, error) {
	tk, err := Timekeeper(p)
	if err != nil {
		return 0, err
	}
	mono, err := timekeeperNow(tk.Member("tkr_mono"))
	if err != nil {
		return 0, err
	}
	off, err := tk.Member("offs_boot").Int()
	return mono + off, err
}

// KtimeGetReal mirrors ktime_get_real(): CLOCK_REALTIME in nanoseconds
// since the epoch (monotonic plus offs_real).
func KtimeGetReal(p *object.Program) (int64, error) {
	tk, err := Timekeeper(p)
	if err != nil {
		return 0, err
	}
	mono, err := timekeeperNow(tk.Member("tkr_mono"))
	if err != nil {
		return 0, err
	}
	off, err := tk.Member("offs_real").Int()
	return mono + off, err
}

// GetBoottime64 mirrors getboottime64(): the wall-clock time of boot
// (offs_real - offs_boot), in nanoseconds since the epoch.
func GetBoottime64(p *object.Program) (int64, error) {
	tk, err := Timekeeper(p)
	if err != nil {
		return 0, err
	}
	real, err := tk.Member("offs_real").Int()
	if err != nil {
		return 0, err
	}
	boot, err := tk.Member("offs_boot").Int()
	return real - boot, err
}

// KtimeGetRealSeconds mirrors ktime_get_real_seconds(): the wall-clock
// seconds of the timekeeper's last update (tk->xtime_sec), a tick or so
// before the crash.
func KtimeGetRealSeconds(p *object.Program) (int64, error) {
	tk, err := Timekeeper(p)
	if err != nil {
		return 0, err
	}
	return tk.Member("xtime_sec").Int()
}
