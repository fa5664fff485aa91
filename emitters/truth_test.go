package emitters

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
)

// check compares one emitted file with the fixture's ground truth. Each
// rule says how close the file must be and why, next to the rule.
type check func(t *testing.T, s *fixtures.Set, got string)

// pidCheck compares one per-process file with /proc/<pid>/… of the ground
// truth; pid is a process that existed both at the capture and the crash.
type pidCheck func(t *testing.T, s *fixtures.Set, pid int64, got string)

// pidChecks holds the rules of PerPID emitters, by path template.
var pidChecks = map[string]pidCheck{}

// pidOracleChecks holds the per-process rules against drgn's reading of the
// same dump (oracle_task_test.go), run after pidChecks[path]; like
// oracleChecks they hold on every set, also for an output a kdump scenario
// changes after its capture (scenarioChanges): both readers see the dump.
var pidOracleChecks = map[string]pidCheck{}

// checks holds the rule for every registered path; a path without a rule
// fails TestEveryEmitterHasATruthCheck. Rules of other emitter groups are
// added by init functions in their own _test files.
var checks = map[string]check{
	// Static after boot: must match byte for byte.
	"proc/version":                    exact("proc/version"),
	"proc/cmdline":                    exact("proc/cmdline"),
	"proc/modules":                    exact("proc/modules"),
	"sos_commands/kernel/uname_-a":    exact("commands/uname_-a"),
	"sos_commands/host/hostname":      exact("commands/hostname"),
	"sys/devices/system/cpu/possible": exact("sys/devices/system/cpu/possible"),
	"sys/devices/system/cpu/present":  exact("sys/devices/system/cpu/present"),
	// After a panic without kdump only the panicking CPU stays online: the
	// dump's mask is the CPU the panic report names ("CPU: N PID: …" in the
	// log makedumpfile read from the same dump), one the live system had.
	// With kdump, __crash_kexec runs before panic() stops the other CPUs,
	// and the NMI shootdown that saves their registers leaves
	// cpu_online_mask alone: the dump keeps the live system's mask.
	"sys/devices/system/cpu/online": func(t *testing.T, s *fixtures.Set, got string) {
		if c := s.Manifest.Crash; c != nil && c.Capture == "kdump" {
			if live := truth(t, s, "sys/devices/system/cpu/online"); got != live {
				t.Errorf("online %q: a kdump dump keeps the live system's %q", got, live)
			}
			return
		}
		cpu := panicCPU(t, s)
		if got != fmt.Sprintf("%d\n", cpu) || cpu >= cpuCount(t, s) {
			t.Errorf("online %q: want the panicking CPU %d of the live system's %q", got, cpu, truth(t, s, "sys/devices/system/cpu/online"))
		}
	},
	// Two readings: makedumpfile --dump-dmesg read the same dump's log
	// buffer, panic included, and must agree line for line; and every line
	// the guest's dmesg printed seconds before the crash must be there, in
	// order (later lines are the capture's and the crash's own messages).
	"sos_commands/kernel/dmesg": func(t *testing.T, s *fixtures.Set, got string) {
		orderedSubset("commands/dmesg")(t, s, got)
		checkDmesgAgainstMakedumpfile(t, s, got)
	},
	// lsmod: the ground truth is busybox's lsmod; the fields (name, size,
	// use count, users) must agree module by module.
	"sos_commands/kernel/lsmod": lsmodFields,
	// The mount table is static once the guest set it up.
	"proc/mounts": exact("proc/mounts"),
	// Registered filesystem types only change when a module registers one.
	"proc/filesystems": exact("proc/filesystems"),
	// The fixture's locks and swap area were set up before the capture
	// and nothing used swap (Used stays 0 on an idle 512 MiB guest).
	"proc/locks": exact("proc/locks"),
	"proc/swaps": exact("proc/swaps"),
	// Identification, features, cpu_khz and loops_per_jiffy are fixed at
	// boot; per-CPU files list the CPUs that ran before the panic.
	"proc/cpuinfo": exact("proc/cpuinfo"),
	// Disks and their sizes were fixed before the capture.
	"proc/partitions": exact("proc/partitions"),
	// Device majors are registered at boot and module load.
	"proc/devices": exact("proc/devices"),
	// Disk counters only grow, and after the capture the guest wrote the
	// ground-truth tar to vdb and synced: every counter must be at least
	// the captured one; devices, numbers and names must match exactly.
	// Field 9 (I/Os in progress) moves both ways and is not compared.
	// Upper bounds: I/O, merge and sector counts by at most 4 T + 1024
	// (T the capture's size in kB: the tar written is 2 T sectors, doubled
	// for tar headers, ext4 metadata and journal, plus what the capture
	// read back); io_ticks (field 10) by the wall time of the capture
	// window (time the device was busy); the summed request times by that
	// wall time for each I/O the device completed meanwhile. The OOM
	// scenario's swap device: see diskstatsLimit.
	"proc/diskstats": func(t *testing.T, s *fixtures.Set, got string) {
		want := strings.Split(strings.TrimRight(truth(t, s, "proc/diskstats"), "\n"), "\n")
		have := strings.Split(strings.TrimRight(got, "\n"), "\n")
		if len(want) != len(have) {
			t.Fatalf("%d lines, live %d:\n%s", len(have), len(want), got)
		}
		for i := range want {
			w, h := strings.Fields(want[i]), strings.Fields(have[i])
			if len(w) != len(h) || !slices.Equal(w[:3], h[:3]) {
				t.Errorf("line %d: %q, live %q", i+1, have[i], want[i])
				continue
			}
			for f := 3; f < len(w); f++ {
				var wv, hv uint64
				fmt.Sscan(w[f], &wv)
				fmt.Sscan(h[f], &hv)
				if f != 11 && hv < wv {
					t.Errorf("%s field %d: %d, live %d: counters only grow", w[2], f+1, hv, wv)
				}
				if f != 11 && hv > wv && hv-wv > diskstatsLimit(t, s, f, w, h) {
					t.Errorf("%s field %d: %d, live %d: grown by more than %d", w[2], f+1, hv, wv, diskstatsLimit(t, s, f, w, h))
				}
			}
		}
	},
}

// diskstatsLimit is the growth allowed for field f (0-based in the line)
// of one device (see the proc/diskstats rule).
func diskstatsLimit(t *testing.T, s *fixtures.Set, f int, want, have []string) uint64 {
	T, _ := captureSize(t, s)
	ms := uint64(elapsed(t, s) * 1000)
	// 0-based field: 6 read ms, 10 write ms, 12 io_ticks, 13 weighted ms,
	// 17 discard ms, 19 flush ms; the rest count I/Os, merges, sectors.
	switch f {
	case 12:
		if s.Manifest.Scenario == "kdump-oom" && isSwapDevice(t, s, want[2]) {
			// The swap device busy after the capture: update_io_ticks()
			// (block/blk-core.c) also counts the idle time since its last
			// stamp when an I/O starts, so up to one more window than the
			// wall time (measured: 10.2 s of io_ticks in a 10 s window).
			return 2 * ms
		}
		return ms
	case 6, 10, 13, 17, 19:
		var ios uint64
		for _, c := range []int{3, 7, 14, 18} { // reads, writes, discards, flushes completed
			if c < len(want) {
				var wv, hv uint64
				fmt.Sscan(want[c], &wv)
				fmt.Sscan(have[c], &hv)
				ios += hv - min(wv, hv)
			}
		}
		return ms * (ios + 1)
	}
	if s.Manifest.Scenario == "kdump-oom" && isSwapDevice(t, s, want[2]) {
		// The OOM scenario swaps after the capture (that is the scenario):
		// the swap device's counts are bounded by 200000 sectors (100 MB)
		// a second, far above what QEMU's emulated disk does under TCG.
		return uint64(elapsed(t, s) * 200000)
	}
	return uint64(4*T + 1024)
}

// isSwapDevice says whether the capture's /proc/swaps has a swap area on
// the disk dev (a partition of it, or the disk itself).
func isSwapDevice(t *testing.T, s *fixtures.Set, dev string) bool {
	for _, l := range strings.Split(truth(t, s, "proc/swaps"), "\n")[1:] {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(strings.TrimPrefix(f[0], "/dev/"), dev) {
			return true
		}
	}
	return false
}

func init() {
	pidChecks["proc/{pid}/mountinfo"] = func(t *testing.T, s *fixtures.Set, pid int64, got string) {
		want, err := s.Truth(fmt.Sprintf("proc/%d/mountinfo", pid))
		if err != nil {
			return // not captured (exited, or refused by the kernel)
		}
		if got != string(want) {
			t.Errorf("pid %d mountinfo differs:\n%s", pid, lineDiff(string(want), got))
		}
	}
}

func init() {
	for _, e := range All() {
		if strings.HasPrefix(e.Path, "proc/sys/") {
			checks[e.Path] = exact(e.Path)
		}
	}
	// panic() raises the console log level to 15 (console_verbose()), so
	// the first field of kernel.printk is 15 in any dump of a panic; the
	// value before it is lost. The other three fields must match.
	checks["proc/sys/kernel/printk"] = func(t *testing.T, s *fixtures.Set, got string) {
		want := strings.Fields(truth(t, s, "proc/sys/kernel/printk"))
		have := strings.Fields(got)
		if len(have) != 4 || have[0] != "15" || !slices.Equal(have[1:], want[1:]) {
			t.Errorf("kernel.printk %q, live %q: want 15 then the live fields 2-4", got, want)
		}
	}
	// sysctl -a: exactly the lines of the guest's sysctl -a for the sysctls
	// the report covers (each proc/sys file it writes), in its order
	// (kernel.printk as above): a missing, extra or changed line fails.
	checks["sos_commands/kernel/sysctl_-a"] = func(t *testing.T, s *fixtures.Set, got string) {
		covered := map[string]bool{}
		for _, e := range All() {
			if p, ok := strings.CutPrefix(e.Path, "proc/sys/"); ok {
				covered[strings.ReplaceAll(p, "/", ".")] = true
			}
		}
		var want []string
		for _, l := range strings.Split(truth(t, s, "commands/sysctl_-a"), "\n") {
			name, rest, ok := strings.Cut(l, " = ")
			if !ok || !covered[name] {
				continue
			}
			delete(covered, name)
			if name == "kernel.printk" {
				_, rest, _ = strings.Cut(rest, "\t")
				l = "kernel.printk = 15\t" + rest
			}
			want = append(want, l)
		}
		if len(covered) > 0 {
			t.Errorf("the guest's sysctl -a lacks %v", covered)
		}
		if w := strings.Join(want, "\n") + "\n"; got != w {
			t.Errorf("differs from the guest's sysctl -a lines of the covered sysctls:\n%s", lineDiff(w, got))
		}
	}
}

func exact(truthPath string) check {
	return func(t *testing.T, s *fixtures.Set, got string) {
		want := truth(t, s, truthPath)
		if got != want {
			t.Errorf("differs from %s:\n%s", truthPath, lineDiff(want, got))
		}
	}
}

// orderedSubset: every line of the truth file appears in got, in order,
// each matched by a line of its own.
func orderedSubset(truthPath string) check {
	return func(t *testing.T, s *fixtures.Set, got string) {
		lines := strings.Split(got, "\n")
		i := 0
		for _, w := range strings.Split(strings.TrimRight(truth(t, s, truthPath), "\n"), "\n") {
			for i < len(lines) && lines[i] != w {
				i++
			}
			if i == len(lines) {
				t.Errorf("line %q of %s missing (or out of order)", w, truthPath)
				return
			}
			i++ // one emitted line matches one truth line
		}
	}
}

// checkDmesgAgainstMakedumpfile compares with makedumpfile --dump-dmesg of
// the same dump, line for line. The differences are of form, not content:
// makedumpfile prints each record's caller id ("[     T42] ") where the
// kernel's syslog text has it only under CONFIG_PRINTK_CALLER, and indents
// the continuation lines of a multi-line record by its prefix's width where
// dmesg repeats the record's "[time] " prefix.
// panicCPU is the CPU of the panic report in makedumpfile's log.
func panicCPU(t *testing.T, s *fixtures.Set) int {
	b, err := os.ReadFile(s.KernelFile(t, "makedumpfile_dmesg"))
	if err != nil {
		t.Fatal(err)
	}
	m := panicCPURe.FindAllStringSubmatch(string(b), -1)
	if m == nil {
		t.Fatal("no \"CPU: N … PID:\" line in makedumpfile's log")
	}
	cpu, _ := strconv.Atoi(m[len(m)-1][1])
	return cpu
}

var panicCPURe = regexp.MustCompile(`\] CPU: (\d+) (?:UID: \d+ )?PID: `)

var mdfPrefix = regexp.MustCompile(`^(\[\s*\d+\.\d+\] )(?:\[\s*[TC]\d+\] )?`)

func checkDmesgAgainstMakedumpfile(t *testing.T, s *fixtures.Set, got string) {
	b, err := os.ReadFile(s.KernelFile(t, "makedumpfile_dmesg"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	have := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if len(want) != len(have) {
		t.Errorf("%d lines, makedumpfile --dump-dmesg %d", len(have), len(want))
	}
	prefix, indent := "", 0
	for i := range min(len(want), len(have)) {
		w := want[i]
		if m := mdfPrefix.FindStringSubmatch(w); m != nil {
			prefix, indent = m[1], len(m[0])
			w = prefix + w[indent:]
		} else if indent > 0 && strings.TrimSpace(w[:min(indent, len(w))]) == "" {
			w = prefix + w[min(indent, len(w)):]
		}
		if have[i] != w {
			t.Errorf("line %d: %q, makedumpfile --dump-dmesg %q", i+1, have[i], want[i])
			return
		}
	}
}

func lsmodFields(t *testing.T, s *fixtures.Set, got string) {
	type row struct {
		size, used string
		users      []string
	}
	parse := func(text string) map[string]row {
		m := map[string]row{}
		for i, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			f := strings.Fields(l)
			if i == 0 || len(f) < 3 {
				continue
			}
			r := row{size: f[1], used: f[2]}
			if len(f) > 3 {
				r.users = strings.Split(strings.TrimSuffix(f[3], ","), ",")
				slices.Sort(r.users)
			}
			m[f[0]] = r
		}
		return m
	}
	want, have := parse(truth(t, s, "commands/lsmod")), parse(got)
	if len(want) != len(have) {
		t.Errorf("%d modules, busybox lsmod listed %d", len(have), len(want))
	}
	for name, w := range want {
		h, ok := have[name]
		if !ok || h.size != w.size || h.used != w.used || !slices.Equal(h.users, w.users) {
			t.Errorf("module %s: have %+v, busybox lsmod %+v", name, h, w)
		}
	}
}

func truth(t *testing.T, s *fixtures.Set, path string) string {
	t.Helper()
	b, err := s.Truth(path)
	if err != nil {
		t.Fatalf("ground truth: %v", err)
	}
	return string(b)
}

// lineDiff shows the first differing lines of two texts.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 8; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  have %q\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

// rulesFor is every rule the ground-truth test runs on the output at path
// of set s: the capture's rule, unless the set's kdump scenario changed the
// output after its capture (scenarioChanges), then drgn's; nil when none
// applies.
func rulesFor(s *fixtures.Set, path string) check {
	var rules []check
	if c := checks[path]; c != nil && scenarioChange(s, path) == "" {
		rules = append(rules, c)
	}
	if c := oracleChecks[path]; c != nil {
		rules = append(rules, c)
	}
	if len(rules) == 0 {
		return nil
	}
	return func(t *testing.T, s *fixtures.Set, got string) {
		for _, r := range rules {
			r(t, s, got)
		}
	}
}

// pidRulesFor is rulesFor for a per-process output.
func pidRulesFor(s *fixtures.Set, path string) pidCheck {
	var rules []pidCheck
	if c := pidChecks[path]; c != nil && scenarioChange(s, path) == "" {
		rules = append(rules, c)
	}
	if c := pidOracleChecks[path]; c != nil {
		rules = append(rules, c)
	}
	if len(rules) == 0 {
		return nil
	}
	return func(t *testing.T, s *fixtures.Set, pid int64, got string) {
		for _, r := range rules {
			r(t, s, pid, got)
		}
	}
}

func TestEveryEmitterHasATruthCheck(t *testing.T) {
	for _, e := range All() {
		_, ok1 := checks[e.Path]
		_, ok2 := pidChecks[e.Path]
		if !ok1 && !ok2 {
			t.Errorf("emitter %s has no ground-truth check", e.Path)
		}
	}
}

// TestEmittersAgainstGroundTruth runs every emitter on the LZO dump of each
// fixture kernel in every mode (vmlinux BTF, vmlinux DWARF, dump alone) and
// compares with what the guest printed before the crash.
func TestEmittersAgainstGroundTruth(t *testing.T) {
	for _, s := range fixtures.Every(t) {
		for _, mode := range kerneltest.Modes {
			t.Run(s.Manifest.ID+"/"+string(mode), func(t *testing.T) {
				k, ok := kerneltest.OpenMode(t, s, s.RefRole(), mode)
				if !ok {
					return
				}
				c := NewContext(k)
				pids := comparablePIDs(t, s)
				for _, e := range All() {
					if e.Each == PerPID {
						t.Run(e.Path, func(t *testing.T) {
							compared := 0
							defer func() { t.Logf("%d of %d processes given to the rule (it logs any it skips)", compared, len(pids)) }()
							for _, pid := range pids {
								var out Output
								if err := e.Run(c, pid, &out); err != nil {
									// The kernel refuses some files too (a zombie's
									// mountinfo): then the capture has none either.
									if _, terr := s.Truth(e.Expand(pid)); terr == nil {
										t.Errorf("pid %d: emitter failed: %v", pid, err)
									}
									continue
								}
								if r := out.PartialReasons(); len(r) > 0 && e.Tracker == Done {
									t.Errorf("pid %d: tracked as done but partial: %v", pid, r)
								}
								if chk := pidRulesFor(s, e.Path); chk != nil {
									chk(t, s, pid, out.String())
									compared++
								}
							}
						})
						continue
					}
					t.Run(e.Path, func(t *testing.T) {
						var out Output
						if err := e.Run(c, 0, &out); err != nil {
							t.Fatalf("emitter failed: %v", err)
						}
						if r := out.PartialReasons(); len(r) > 0 && e.Tracker == Done {
							t.Errorf("tracked as done but partial: %v", r)
						}
						if why := scenarioChange(s, e.Path); why != "" {
							t.Logf("not compared with the capture: %s", why)
						}
						// The oracle reads the set's own reference dump
						// (a scenario set's: the one its kdump wrote).
						if chk := rulesFor(s, e.Path); chk != nil {
							chk(t, s, out.String())
						}
					})
				}
			})
		}
	}
}

// comparablePIDs are the processes whose /proc files the capture holds and
// that lived until the crash: init, kthreadd, the fixture's own tasks and
// the kernel threads that are children of kthreadd (ppid 2) and not
// kworkers (whose names change with their work).
func comparablePIDs(t *testing.T, s *fixtures.Set) []int64 {
	t.Helper()
	var pids []int64
	fixture := strings.Fields(truth(t, s, "meta/fixture_pids"))
	for _, f := range fixture {
		var p int64
		fmt.Sscan(f, &p)
		pids = append(pids, p)
	}
	pids = append(pids, 1, 2)
	entries, err := os.ReadDir(s.Manifest.Truth.Dir + "/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var pid int64
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid <= 2 {
			continue
		}
		st, err := s.Truth("proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		text := string(st)
		if strings.Contains(text, "\nPPid:\t2\n") && !strings.Contains(text, "Name:\tkworker") &&
			!strings.Contains(text, "Name:\text4lazyinit") && !slices.Contains(pids, pid) {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids
}
