package emitters

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// The rules of crash's sys (display_sys_stats() in crash's kernel.c): every
// line against what the capture, the dump's own log (makedumpfile
// --dump-dmesg) and, for a kernel's own set, drgn give.

// sysLabels are the lines of sys, in order.
var sysLabels = []string{"KERNEL", "DUMPFILE", "CPUS", "DATE", "UPTIME", "LOAD AVERAGE", "TASKS", "NODENAME",
	"RELEASE", "VERSION", "MACHINE", "MEMORY", "PANIC", "PID", "COMMAND", "TASK", "CPU", "STATE", "TAINT", "CULPRIT"}

// parseSys splits sys into its values by label; a line out of order, or
// unknown, fails.
func parseSys(t *testing.T, got string) map[string]string {
	t.Helper()
	out := map[string]string{}
	next := 0
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		k, v, ok := strings.Cut(l, ": ")
		k = strings.TrimSpace(k)
		for next < len(sysLabels) && sysLabels[next] != k {
			next++
		}
		if !ok || next == len(sysLabels) {
			t.Errorf("line %q is not one of sys's, in order", l)
			return out
		}
		out[k] = v
	}
	for _, k := range sysLabels {
		if _, ok := out[k]; !ok {
			t.Errorf("no %s line in:\n%s", k, got)
		}
	}
	return out
}

// panicStamp is the time stamp of the "Kernel panic - not syncing" line in
// the dump's own log (makedumpfile --dump-dmesg), and that line's message.
func panicStamp(t *testing.T, s *fixtures.Set) (float64, string) {
	t.Helper()
	b, err := os.ReadFile(s.KernelFile(t, "makedumpfile_dmesg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		m := mdfPrefix.FindStringSubmatch(l)
		if _, msg, ok := strings.Cut(l, "Kernel panic - not syncing: "); m != nil && ok {
			stamp, err := strconv.ParseFloat(strings.Trim(m[1], "[] "), 64)
			if err != nil {
				t.Fatalf("panic line %q: %v", l, err)
			}
			return stamp, msg
		}
	}
	t.Fatal("no panic line in makedumpfile's log")
	return 0, ""
}

// crashMemory is crash's get_memory_size() and pages_to_size() for the
// nodes' present pages: rounded up to the next GiB when within 64 MiB of
// it, one decimal of GB or MB (".0" dropped).
func crashMemory(pages int64) string {
	const mib, gib = 1 << 20, 1 << 30
	total := pages * 4096
	if next := (total + gib - 1) / gib * gib; next-total <= 64*mib {
		total = next
	}
	var v string
	switch {
	case total >= gib:
		v = fmt.Sprintf("%.1f GB", float64(total)/gib)
	case total >= mib:
		v = fmt.Sprintf("%.1f MB", float64(total)/mib)
	default:
		return fmt.Sprintf("%d KB", total>>10)
	}
	return strings.Replace(v, ".0 ", " ", 1)
}

// checkSysLines: every line of sys but the panicking task's address and
// the task count, which need drgn (oracleSys).
//   - DUMPFILE the dump's file name; KERNEL the vmlinux's or "(none…".
//   - CPUS the live system's present CPUs; without kdump, every CPU but the
//     panicking one is OFFLINE (panic() stopped them); kdump keeps the
//     live online mask.
//   - DATE: the boot time of the capture's /proc/stat (whole seconds) plus
//     the panic line's stamp, within 1 s either way (btime's truncation)
//     and the stamp's window below; exactly from drgn (oracleSys).
//   - UPTIME: the panic line's stamp, whole seconds, same window; exactly
//     from drgn.
//   - LOAD AVERAGE as proc/loadavg against the capture; exactly from drgn's
//     avenrun (oracleSys).
//   - NODENAME, RELEASE, VERSION, MACHINE from the capture's uname and
//     /proc/version, exactly; MACHINE's speed the capture's cpuinfo MHz.
//   - MEMORY: crash's sum of the nodes' present pages, from the capture's
//     zoneinfo "present" lines (fixed at boot), exactly.
//   - PANIC the log's panic message; CPU the log's panic report's CPU.
//   - TAINT the capture's kernel.tainted (nothing here taints at the crash).
func checkSysLines(t *testing.T, s *fixtures.Set, got string) {
	v := parseSys(t, got)
	dump := s.Role(s.RefRole())
	if dump != nil && v["DUMPFILE"] != filepath.Base(dump.Path) {
		t.Errorf("DUMPFILE %q, want %q", v["DUMPFILE"], filepath.Base(dump.Path))
	}
	if k := v["KERNEL"]; k != "vmlinux" && !strings.HasPrefix(k, "(none: ") {
		t.Errorf("KERNEL %q", k)
	}
	ncpu := len(cpuList(t, truth(t, s, "sys/devices/system/cpu/present")))
	wantCPUs := fmt.Sprint(ncpu)
	if c := s.Manifest.Crash; (c == nil || c.Capture != "kdump") && ncpu > 1 {
		wantCPUs += fmt.Sprintf(" [OFFLINE: %d]", ncpu-1)
	}
	if v["CPUS"] != wantCPUs {
		t.Errorf("CPUS %q, want %q", v["CPUS"], wantCPUs)
	}
	stamp, msg := panicStamp(t, s)
	var btime int64
	for _, l := range strings.Split(truth(t, s, "proc/stat"), "\n") {
		if x, ok := strings.CutPrefix(l, "btime "); ok {
			btime, _ = strconv.ParseInt(x, 10, 64)
		}
	}
	// The clocks' offset from the panic stamp: 0.3 s before to 1.0 s after
	// (the panic prints a page of backtrace first, and vCPUs stall under
	// host load: measured on the four-kernel build); drgn's reading of
	// the same clocks is exact (oracleSys).
	const before, after = 0.3, 1.0
	date, err := time.Parse("Mon Jan _2 15:04:05 MST 2006", v["DATE"])
	if at := float64(date.Unix()); err != nil || btime == 0 || at < float64(btime)+stamp-before-1 || at > float64(btime)+stamp+after+1 {
		t.Errorf("DATE %q (%v): boot at %d plus the panic stamp %.3f s", v["DATE"], err, btime, stamp)
	}
	uptimeOK := false
	for sec := int64(stamp - before); sec <= int64(stamp+after); sec++ {
		uptimeOK = uptimeOK || v["UPTIME"] == crashDurationOf(float64(sec))
	}
	if !uptimeOK {
		t.Errorf("UPTIME %q, want %q to %q (panic stamped %.3f s)", v["UPTIME"], crashDurationOf(stamp-before), crashDurationOf(stamp+after), stamp)
	}
	la := strings.Split(v["LOAD AVERAGE"], ", ")
	if w := loadavgRe.FindStringSubmatch(crashLoadavg(t, s)); len(la) != 3 || w == nil {
		t.Errorf("LOAD AVERAGE %q", v["LOAD AVERAGE"])
	} else if why := scenarioChange(s, "proc/loadavg"); why == "" {
		checkLoadavgFields(t, la, w[1:4])
	}
	uname := strings.Fields(truth(t, s, "commands/uname_-a"))
	_, version, _ := strings.Cut(strings.TrimSpace(truth(t, s, "proc/version")), ") #")
	for k, want := range map[string]string{
		"NODENAME": strings.TrimSpace(truth(t, s, "commands/hostname")),
		"RELEASE":  strings.TrimSpace(truth(t, s, "commands/uname_-r")),
		"VERSION":  "#" + version,
		"MACHINE":  uname[len(uname)-2] + "  (" + cpuMHz(t, s) + " Mhz)",
		"PANIC":    strconv.Quote(msg),
		"CPU":      fmt.Sprint(panicCPU(t, s)),
		"STATE":    "TASK_RUNNING (PANIC)",
	} {
		if v[k] != want {
			t.Errorf("%s %q, want %q", k, v[k], want)
		}
	}
	var present int64
	for _, l := range strings.Split(truth(t, s, "proc/zoneinfo"), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "present" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			present += n
		}
	}
	if want := crashMemory(present); v["MEMORY"] != want {
		t.Errorf("MEMORY %q, want %q (%d present pages in the capture's zoneinfo)", v["MEMORY"], want, present)
	}
	tainted, _ := strconv.ParseUint(strings.TrimSpace(truth(t, s, "proc/sys/kernel/tainted")), 10, 64)
	if f := strings.Fields(v["TAINT"]); len(f) == 0 || f[0] != fmt.Sprintf("%#x", tainted) {
		t.Errorf("TAINT %q, the capture's kernel.tainted %d", v["TAINT"], tainted)
	}
}

// cpuMHz is the whole MHz of the capture's /proc/cpuinfo: cpu_khz / 1000
// (without cpufreq, show_cpuinfo() prints cpu_khz as MHz with three
// decimals).
func cpuMHz(t *testing.T, s *fixtures.Set) string {
	for _, l := range strings.Split(truth(t, s, "proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "cpu MHz" {
			whole, _, _ := strings.Cut(strings.TrimSpace(v), ".")
			return whole
		}
	}
	t.Fatal("no cpu MHz in the capture's cpuinfo")
	return ""
}

// crashDurationOf formats seconds as crash's convert_time() (emitted by
// vmcore's crashDuration): HH:MM:SS, days before.
func crashDurationOf(secs float64) string {
	s := int64(secs)
	d, h, m := s/86400, s%86400/3600, s%3600/60
	out := fmt.Sprintf("%02d:%02d:%02d", h, m, s%60)
	if d > 0 {
		out = fmt.Sprintf("%d days, %s", d, out)
	}
	return out
}

// cpuList expands a CPU list file ("0-1,3").
func cpuList(t *testing.T, text string) []int {
	var cpus []int
	for _, r := range strings.Split(strings.TrimSpace(text), ",") {
		a, b, ok := strings.Cut(r, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := lo, error(nil)
		if ok {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil {
			t.Fatalf("cpu list %q", text)
		}
		for c := lo; c <= hi; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// oracleSys: what drgn reads from the same dump. LOAD AVERAGE is avenrun
// as get_avenrun(…, FIXED_1/200, 0) and LOAD_INT/LOAD_FRAC fold it; TASKS
// is crash's count, nr_threads plus each present CPU's idle task; PID,
// COMMAND and TASK are the panicking CPU's current task (rq->curr).
func oracleSys(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	o.tasks(t)
	v := parseSys(t, got)
	// DATE and UPTIME: the wall and boot-time clocks at the last
	// timekeeper update, as drgn reads tk_core.
	if want := time.Unix(0, o.RealtimeNs).UTC().Format("Mon Jan _2 15:04:05 MST 2006"); v["DATE"] != want {
		t.Errorf("DATE %q, drgn's wall clock %q", v["DATE"], want)
	}
	if want := crashDurationOf(float64(o.BoottimeNs / 1e9)); v["UPTIME"] != want {
		t.Errorf("UPTIME %q, drgn's boot-time clock %q", v["UPTIME"], want)
	}
	if want := oracleAverages(o, ", "); v["LOAD AVERAGE"] != want {
		t.Errorf("LOAD AVERAGE %q, drgn's avenrun %q", v["LOAD AVERAGE"], want)
	}
	tasks := o.NrThreads
	for _, c := range o.PresentCPUs {
		if o.Runqueues[strconv.Itoa(c)].Idle != 0 {
			tasks++
		}
	}
	if v["TASKS"] != fmt.Sprint(tasks) {
		t.Errorf("TASKS %q, drgn: nr_threads %d plus the idle tasks, %d", v["TASKS"], o.NrThreads, tasks)
	}
	var pages int64
	for _, n := range o.NodePresentPages {
		pages += n
	}
	if want := crashMemory(pages); v["MEMORY"] != want {
		t.Errorf("MEMORY %q, drgn's node_present_pages %d: %q", v["MEMORY"], pages, want)
	}
	curr := o.taskByAddress(t, o.Runqueues[v["CPU"]].Curr)
	if curr == nil {
		t.Fatalf("CPU %q: drgn has no current task for it", v["CPU"])
	}
	for k, want := range map[string]string{
		"PID": fmt.Sprint(curr.PID), "COMMAND": strconv.Quote(curr.Comm), "TASK": fmt.Sprintf("%x", curr.Address),
	} {
		if v[k] != want {
			t.Errorf("%s %q, drgn: the panicking CPU's current task's %q", k, v[k], want)
		}
	}
}

// oracleAverages formats drgn's avenrun as the kernel does for loadavg.
func oracleAverages(o *oracleData, sep string) string {
	const fshift, fixed1 = 11, 1 << 11
	var parts []string
	for _, a := range o.Avenrun {
		a += fixed1 / 200
		parts = append(parts, fmt.Sprintf("%d.%02d", a>>fshift, (a&(fixed1-1))*100>>fshift))
	}
	return strings.Join(parts, sep)
}

func init() {
	oracleChecks["sos_commands/vmcore/sys"] = oracleSys
}
