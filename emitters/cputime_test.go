package emitters

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// Ground-truth rules of the CPU-time and interrupt files. They are counters:
// the capture read them seconds before the crash, so each may only have
// grown, by no more than the time between the capture and the crash allows.

func init() {
	checks["proc/stat"] = checkProcStat
	checks["proc/softirqs"] = checkCounterTable("proc/softirqs", 1)
	checks["proc/interrupts"] = checkInterrupts
	checks["proc/uptime"] = checkUptime
	checks["proc/loadavg"] = checkLoadavg
	checks["sos_commands/host/uptime"] = checkHostUptime
}

// elapsed bounds the seconds between the capture's first read and the
// crash: the capture's own span (meta/capture_start, capture_end) plus the
// tar, sync and sysrq that follow it.
func elapsed(t *testing.T, s *fixtures.Set) float64 {
	var start, end float64
	fmt.Sscan(truth(t, s, "meta/capture_start"), &start)
	fmt.Sscan(truth(t, s, "meta/capture_end"), &end)
	if start == 0 || end < start {
		t.Fatalf("capture times %v..%v", start, end)
	}
	if c := s.Manifest.Crash; c != nil && c.Time > 0 {
		// A kdump scenario knows when it crashed (CRASHTIME, whole
		// seconds like the capture's times, hence the 2).
		if float64(c.Time) < end {
			t.Fatalf("crash at %d, before the capture ended at %v", c.Time, end)
		}
		return float64(c.Time) - start + 2
	}
	if s.Manifest.CrashTruth.Dir != "" {
		// The kernel log times the capture's start and the panic (the
		// crash-instant capture and its write ran in between, so the
		// panic may come well over 10 s after capture_end under load);
		// 1 s more for the CPUs that keep the clock running while the
		// panic prints its backtrace.
		return captureToPanic(t, s) + 1
	}
	return end - start + 10
}

var printkRe = regexp.MustCompile(`^\[\s*(\d+\.\d+)\] (?:\[\s*[TC]\d+\] )?(.*)$`)

// captureToPanic is the time in seconds from the capture's start marker
// (init.sh's "fixture-init: truth capture start") to the panic line, by
// their printk stamps in the dump's own log (makedumpfile --dump-dmesg).
func captureToPanic(t *testing.T, s *fixtures.Set) float64 {
	t.Helper()
	b, err := os.ReadFile(s.KernelFile(t, "makedumpfile_dmesg"))
	if err != nil {
		t.Fatal(err)
	}
	var start, panicAt float64
	for _, l := range strings.Split(string(b), "\n") {
		m := printkRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		ts, _ := strconv.ParseFloat(m[1], 64)
		switch {
		case m[2] == "fixture-init: truth capture start":
			start = ts
		case strings.HasPrefix(m[2], "Kernel panic - not syncing"):
			panicAt = ts
		}
	}
	if start == 0 || panicAt <= start {
		fixtures.Missing(t, fmt.Errorf("set %s: no capture marker (%v) before the panic (%v) in the dump's log (rebuild with `make fixtures`)", s.Manifest.ID, start, panicAt))
	}
	return panicAt - start
}

// cpuCount is the number of CPUs the live system had: its cpuN lines of
// /proc/stat.
func cpuCount(t *testing.T, s *fixtures.Set) int {
	n := 0
	for _, l := range strings.Split(truth(t, s, "proc/stat"), "\n") {
		if len(l) > 3 && strings.HasPrefix(l, "cpu") && l[3] >= '0' && l[3] <= '9' {
			n++
		}
	}
	return n
}

// grew checks a counter: have ≥ want (counters only grow) and have − want ≤
// limit.
func grew(t *testing.T, what, have, want string, limit float64) {
	t.Helper()
	h, err1 := strconv.ParseFloat(have, 64)
	w, err2 := strconv.ParseFloat(want, 64)
	if err1 != nil || err2 != nil || h < w || h-w > limit {
		t.Errorf("%s: %s, want %s up to %s + %.0f", what, have, want, want, limit)
	}
}

// Growth limits per second between capture and crash: clock ticks of CPU
// time (USER_HZ 100 per CPU), and events (interrupts, context switches,
// forks, softirqs) at a rate far above what a 2-CPU TCG guest reaches.
const (
	ticksPerSecPerCPU = 100
	eventsPerSec      = 20000
)

func checkProcStat(t *testing.T, s *fixtures.Set, got string) {
	want := truth(t, s, "proc/stat")
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(wl) != len(gl) {
		t.Fatalf("%d lines, want %d:\n%s", len(gl), len(wl), lineDiff(want, got))
	}
	secs := elapsed(t, s)
	ncpu := float64(cpuCount(t, s))
	for i := range wl {
		wf, gf := strings.Fields(wl[i]), strings.Fields(gl[i])
		if len(wf) != len(gf) || (len(wf) > 0 && wf[0] != gf[0]) {
			t.Errorf("line %d %.40q…, want %.40q…", i+1, gl[i], wl[i])
			continue
		}
		if len(wf) == 0 {
			continue
		}
		for j := 1; j < len(wf); j++ {
			what := fmt.Sprintf("%s field %d", wf[0], j)
			switch label := wf[0]; {
			case label == "btime": // boot time: fixed
				if gf[j] != wf[j] {
					t.Errorf("btime %s, want %s", gf[j], wf[j])
				}
			case label == "procs_running" || label == "procs_blocked":
				// Gauges, not counters: at most one runnable or blocked
				// task per thread the machine had.
				if n, err := strconv.Atoi(gf[j]); err != nil || n < 0 || n > 1000 {
					t.Errorf("%s %s", label, gf[j])
				}
			case label == "cpu":
				grew(t, what, gf[j], wf[j], secs*ticksPerSecPerCPU*ncpu)
			case strings.HasPrefix(label, "cpu"):
				grew(t, what, gf[j], wf[j], secs*ticksPerSecPerCPU)
			default: // intr, ctxt, processes, softirq
				grew(t, what, gf[j], wf[j], secs*eventsPerSec)
			}
		}
	}
}

// checkCounterTable compares a table of per-CPU counters (softirqs): the
// header and row labels exact, each count grown within the limit.
func checkCounterTable(path string, header int) check {
	return func(t *testing.T, s *fixtures.Set, got string) {
		want := truth(t, s, path)
		wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
		if len(wl) != len(gl) {
			t.Fatalf("%d lines, want %d:\n%s", len(gl), len(wl), lineDiff(want, got))
		}
		secs := elapsed(t, s)
		for i := range wl {
			if i < header {
				if gl[i] != wl[i] {
					t.Errorf("header %q, want %q", gl[i], wl[i])
				}
				continue
			}
			wf, gf := strings.Fields(wl[i]), strings.Fields(gl[i])
			if len(wf) != len(gf) || (len(wf) > 0 && wf[0] != gf[0]) {
				t.Errorf("line %q, want %q", gl[i], wl[i])
				continue
			}
			for j := 1; j < len(wf); j++ {
				grew(t, fmt.Sprintf("%s column %d", wf[0], j), gf[j], wf[j], secs*eventsPerSec)
			}
		}
	}
}

// interruptRow splits a /proc/interrupts line into its label, counts and
// the text after them (chip, hwirq, type, handlers), whose spacing is
// compared exactly.
var interruptRow = regexp.MustCompile(`^(\s*\S+:)((?:\s+\d+)*)(.*)$`)

func checkInterrupts(t *testing.T, s *fixtures.Set, got string) {
	want := truth(t, s, "proc/interrupts")
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(wl) != len(gl) {
		t.Fatalf("%d lines, want %d:\n%s", len(gl), len(wl), lineDiff(want, got))
	}
	if gl[0] != wl[0] {
		t.Errorf("header %q, want %q", gl[0], wl[0])
	}
	secs := elapsed(t, s)
	for i := 1; i < len(wl); i++ {
		wm, gm := interruptRow.FindStringSubmatch(wl[i]), interruptRow.FindStringSubmatch(gl[i])
		if wm == nil || gm == nil {
			if wl[i] != gl[i] {
				t.Errorf("line %q, want %q", gl[i], wl[i])
			}
			continue
		}
		wc, gc := strings.Fields(wm[2]), strings.Fields(gm[2])
		// Counts are right-aligned in 10 columns: equal widths as long as
		// they stay below 10 digits, so the rest must match exactly.
		if gm[1] != wm[1] || gm[3] != wm[3] || len(wc) != len(gc) || len(gm[2]) != len(wm[2]) {
			t.Errorf("line %q, want %q", gl[i], wl[i])
			continue
		}
		for j := range wc {
			grew(t, fmt.Sprintf("%s CPU column %d", wm[1], j), gc[j], wc[j], secs*eventsPerSec)
		}
	}
}

func checkUptime(t *testing.T, s *fixtures.Set, got string) {
	w, g := strings.Fields(truth(t, s, "proc/uptime")), strings.Fields(got)
	if len(g) != 2 || !regexp.MustCompile(`^\d+\.\d\d \d+\.\d\d\n$`).MatchString(got) {
		t.Fatalf("uptime %q: want two numbers with two decimals", got)
	}
	secs := elapsed(t, s)
	// Uptime: the crash came at most `secs` after the capture read it.
	grew(t, "uptime", g[0], w[0], secs)
	// Idle: every CPU may have idled all that time.
	grew(t, "idle", g[1], w[1], float64(cpuCount(t, s))*secs)
}

var loadavgRe = regexp.MustCompile(`^(\d+\.\d\d) (\d+\.\d\d) (\d+\.\d\d) (\d+)/(\d+) (\d+)\n$`)

// checkLoadavgFields compares the three averages: they are recomputed every
// 5 s from the runnable count (a handful here), so in the seconds between
// capture and crash each moves by well under 1.0.
func checkLoadavgFields(t *testing.T, have, want []string) {
	for i := range 3 {
		h, _ := strconv.ParseFloat(have[i], 64)
		w, _ := strconv.ParseFloat(want[i], 64)
		if h < w-1 || h > w+1 {
			t.Errorf("load average %d: %s, want %s ± 1.0", i+1, have[i], want[i])
		}
	}
}

// crashLoadavg is the load average line the averages are compared with:
// the crash-instant capture's where the set has one (between the first
// capture and the crash the guest read every /proc file again and wrote
// both captures to disk, a burst of runnable tasks: measured +1.1 on the
// 1-minute average on every kernel), else the capture's.
func crashLoadavg(t *testing.T, s *fixtures.Set) string {
	if d := s.Manifest.CrashTruth.Dir; d != "" {
		if b, err := os.ReadFile(filepath.Join(d, "proc/loadavg")); err == nil {
			return string(b)
		}
	}
	return truth(t, s, "proc/loadavg")
}

func checkLoadavg(t *testing.T, s *fixtures.Set, got string) {
	g, w := loadavgRe.FindStringSubmatch(got), loadavgRe.FindStringSubmatch(truth(t, s, "proc/loadavg"))
	if g == nil || w == nil {
		t.Fatalf("loadavg %q does not have the kernel's format", got)
	}
	if c := loadavgRe.FindStringSubmatch(crashLoadavg(t, s)); c != nil {
		checkLoadavgFields(t, g[1:4], c[1:4])
	} else {
		t.Errorf("crash-instant loadavg %q does not have the kernel's format", crashLoadavg(t, s))
	}
	running, _ := strconv.Atoi(g[4])
	threads, _ := strconv.Atoi(g[5])
	wantThreads, _ := strconv.Atoi(w[5])
	// At least the task that panicked is runnable.
	if running < 1 || running > threads {
		t.Errorf("runnable %d of %d threads", running, threads)
	}
	// The capture's own short-lived processes (cat, tar) come and go.
	if threads < wantThreads-10 || threads > wantThreads+10 {
		t.Errorf("threads %d, want %d ± 10", threads, wantThreads)
	}
	// Pids are handed out in increasing order (no wrap in a short run).
	grew(t, "last pid", g[6], w[6], 1000)
}

var hostUptimeRe = regexp.MustCompile(`^ (\d\d):(\d\d):(\d\d) up (.*),  (\?|\d+) users?,  load average: (\d+\.\d\d), (\d+\.\d\d), (\d+\.\d\d)\n$`)

// checkHostUptime compares with busybox uptime: the same time format; the
// user count is not in the dump (" ? user"), busybox printed 0.
func checkHostUptime(t *testing.T, s *fixtures.Set, got string) {
	g, w := hostUptimeRe.FindStringSubmatch(got), hostUptimeRe.FindStringSubmatch(truth(t, s, "commands/uptime"))
	if g == nil || w == nil {
		t.Fatalf("uptime %q does not have the uptime format", got)
	}
	if g[5] != "?" {
		t.Errorf("user count %q: the dump cannot know it", g[5])
	}
	clock := func(m []string) float64 {
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		sec, _ := strconv.Atoi(m[3])
		return float64(h*3600 + mi*60 + sec)
	}
	// The crash came after busybox uptime ran, within the capture window.
	grew(t, "time of day", fmt.Sprint(clock(g)), fmt.Sprint(clock(w)), elapsed(t, s))
	checkLoadavgFields(t, g[6:9], w[6:9])
}
