package emitters

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// Bounds at the instant of the crash. The guest captured the volatile
// files twice: the ground truth (capture 1), and again as its very last act
// (the crash-instant capture, fixtures.Set.CrashTruth), after which only the
// write of that capture to disk, a sync and the sysrq write ran. Kernel-log
// markers give both captures' times on the clock the panic lines use; the
// dump's log holds them all. A counter at the crash is then at least its
// crash-instant value and at most that plus its own rate between the two
// captures over the gap to the panic, doubled: the gap is all disk writing
// and syncing, which the capture window also did, but denser. Two units
// more cover a counter that ticks once in the gap (a timer, a clock tick).

// crashClock holds the printk times (s) of the first capture's start, the
// crash-instant capture's start and the panic.
type crashClock struct{ t1, t2, tc float64 }

var markerRe = regexp.MustCompile(`^\[\s*(\d+\.\d+)\] (?:\[\s*[TC]\d+\] )?(.*)$`)

func clockOf(t *testing.T, s *fixtures.Set) crashClock {
	t.Helper()
	b, err := os.ReadFile(s.KernelFile(t, "makedumpfile_dmesg"))
	if err != nil {
		t.Fatal(err)
	}
	var c crashClock
	for _, l := range strings.Split(string(b), "\n") {
		m := markerRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		ts, _ := strconv.ParseFloat(m[1], 64)
		switch m[2] {
		case "fixture-init: truth capture start":
			c.t1 = ts
		case "fixture-init: crash-instant capture start":
			c.t2 = ts
		case "sysrq: Trigger a crash":
			c.tc = ts
		}
	}
	if c.t1 == 0 || c.t2 <= c.t1 || c.tc <= c.t2 {
		fixtures.Missing(t, fmt.Errorf("set %s: capture markers %+v not in the dump's log (rebuild with `make fixtures`)", s.Manifest.ID, c))
	}
	return c
}

// gap is the time from the crash-instant capture to the panic.
func (c crashClock) gap() float64 { return c.tc - c.t2 }

// counterMax is the largest value a counter may have at the crash: a at
// capture 1, b at the crash-instant capture.
func (c crashClock) counterMax(a, b float64) float64 {
	rate := math.Max(b-a, 0) / (c.t2 - c.t1)
	return b + math.Ceil(2*rate*c.gap()) + 2
}

// counterOK checks one counter against both captures.
func (c crashClock) counterOK(a, b, got float64) (bool, string) {
	hi := c.counterMax(a, b)
	return got >= b && got <= hi, fmt.Sprintf("want %.0f..%.0f (crash-instant %.0f, capture %.0f, gap %.2f s of %.2f s between captures)",
		b, hi, b, a, c.gap(), c.t2-c.t1)
}

// counterLines checks every number of got against the same position of
// the two captures of path; skip(line label, field) leaves out gauges.
func counterLines(t *testing.T, s *fixtures.Set, path, got string, skip func(label string, field int) bool) {
	t.Helper()
	c := clockOf(t, s)
	one := strings.Split(truth(t, s, path), "\n")
	two := strings.Split(s.CrashTruth(t, path), "\n")
	have := strings.Split(got, "\n")
	if len(one) != len(two) || len(two) != len(have) {
		t.Fatalf("%d lines; capture %d, crash-instant capture %d", len(have), len(one), len(two))
	}
	for i := range have {
		f1, f2, fh := strings.Fields(one[i]), strings.Fields(two[i]), strings.Fields(have[i])
		if len(f1) != len(fh) || len(f2) != len(fh) || len(fh) == 0 {
			continue // the shape is the file's own rule
		}
		label := fh[0]
		for j := range fh {
			a, e1 := strconv.ParseFloat(f1[j], 64)
			b, e2 := strconv.ParseFloat(f2[j], 64)
			h, e3 := strconv.ParseFloat(fh[j], 64)
			if e1 != nil || e2 != nil || e3 != nil || (skip != nil && skip(label, j)) {
				continue
			}
			if ok, rule := c.counterOK(a, b, h); !ok {
				t.Errorf("line %d %q field %d: %s, %s", i+1, label, j+1, fh[j], rule)
			}
		}
	}
}

// crashChecks are rules against the crash-instant capture, run after
// checks[path].
var crashChecks = map[string]check{
	"proc/interrupts": func(t *testing.T, s *fixtures.Set, got string) {
		counterLines(t, s, "proc/interrupts", got, nil)
	},
	"proc/softirqs": func(t *testing.T, s *fixtures.Set, got string) {
		counterLines(t, s, "proc/softirqs", got, nil)
	},
	// Field 12 (I/Os in flight) is a gauge, at 0 when idle: as read.
	"proc/diskstats": func(t *testing.T, s *fixtures.Set, got string) {
		counterLines(t, s, "proc/diskstats", got, func(_ string, j int) bool { return j < 3 || j == 11 })
	},
	// Every counter of /proc/stat; btime is fixed; procs_running and
	// procs_blocked are gauges (the shape rule covers them).
	"proc/stat": func(t *testing.T, s *fixtures.Set, got string) {
		counterLines(t, s, "proc/stat", got, func(label string, j int) bool {
			return j == 0 || label == "btime" || label == "procs_running" || label == "procs_blocked"
		})
	},
	// Uptime at the crash: the crash-instant value plus the gap; idle: plus
	// the gap on every CPU. 0.02 s: both files print hundredths, truncated.
	"proc/uptime": func(t *testing.T, s *fixtures.Set, got string) {
		c := clockOf(t, s)
		w, g := strings.Fields(s.CrashTruth(t, "proc/uptime")), strings.Fields(got)
		if len(w) != 2 || len(g) != 2 {
			t.Fatalf("uptime %q, crash-instant %q", got, w)
		}
		for i, span := range []float64{c.gap(), c.gap() * float64(cpuCount(t, s))} {
			b, _ := strconv.ParseFloat(w[i], 64)
			h, _ := strconv.ParseFloat(g[i], 64)
			if h < b || h > b+span+0.02 {
				t.Errorf("field %d: %s, want %s up to %.2f s more (the gap to the panic)", i+1, g[i], w[i], span+0.02)
			}
		}
	},
	// The load averages are recomputed every 5 s (LOAD_FREQ), each step
	// moving an average towards the active task count n by the factor
	// 1 - EXP_n (kernel/sched/loadavg.c: EXP_1 1884, EXP_5 2014, EXP_15
	// 2037 of 2048); n ≤ 4 in this guest (spinner, the shell, two kernel
	// threads at most). So in k steps an average moves at most
	// 1-(EXP/2048)^k of the way to 0 or to 4, plus 0.01 of rounding.
	"proc/loadavg": func(t *testing.T, s *fixtures.Set, got string) {
		c := clockOf(t, s)
		g, w := loadavgRe.FindStringSubmatch(got), loadavgRe.FindStringSubmatch(s.CrashTruth(t, "proc/loadavg"))
		if g == nil || w == nil {
			t.Fatalf("loadavg %q, crash-instant %q", got, w)
		}
		steps := math.Ceil(c.gap() / 5)
		for i, e := range []float64{1884, 2014, 2037} {
			b, _ := strconv.ParseFloat(w[1+i], 64)
			h, _ := strconv.ParseFloat(g[1+i], 64)
			move := (1 - math.Pow(e/2048, steps)) * math.Max(b, 4-b)
			if math.Abs(h-b) > move+0.01 {
				t.Errorf("load average %d: %s, crash-instant %s ± %.2f", i+1, g[1+i], w[1+i], move+0.01)
			}
		}
	},
}

// crashPIDStat returns a task's stat fields in both captures, ok false for
// a task the crash-instant capture does not hold.
func crashPIDStat(t *testing.T, s *fixtures.Set, pid int64) (one, two []string, c crashClock, ok bool) {
	t.Helper()
	c = clockOf(t, s)
	if s.Manifest.CrashTruth.Dir == "" {
		fixtures.Missing(t, fmt.Errorf("set %s has no crash-instant capture (rebuild with `make fixtures`)", s.Manifest.ID))
	}
	path := fmt.Sprintf("proc/%d/stat", pid)
	if _, err := os.Stat(filepath.Join(s.Manifest.CrashTruth.Dir, path)); err != nil {
		return nil, nil, c, false // a task that ended before the crash-instant capture
	}
	return statFields(strings.TrimSpace(truth(t, s, path))), statFields(strings.TrimSpace(s.CrashTruth(t, path))), c, true
}
