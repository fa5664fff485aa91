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

// The mutation check: wrong output on purpose, to show that the
// ground-truth rules fail it. TestMutations runs every emitter once per
// fixture set, breaks each output in several ways and runs the output's
// rule on each broken copy as a subtest named mutation/<set>/<path>/<kind>
// (every set: each kernel's and its kdump scenarios').
// A rule that fails is a mutation caught. It runs only when
// VMCORE_REPORT_MUTATION=1 (`make mutation` counts the failed subtests:
// caught; the passing ones are wrong output the rules accept, logged as
// MISSED, with the score at the end), so that the ordinary run neither
// fails nor skips.

// mutation breaks one output; ok is false when it does not apply (the
// output has nothing it would change).
type mutation struct {
	name  string
	apply func(path, text string) (string, bool)
}

var numberRe = regexp.MustCompile(`\b\d+\b`)

// mapNumbers rewrites the whole-word integers of text (lines selected by
// keep) with f; changed reports whether any changed.
func mapNumbers(text string, keep func(i int, line string) bool, f func(v int64) int64) (string, bool) {
	lines := strings.Split(text, "\n")
	changed := false
	for i, l := range lines {
		if !keep(i, l) {
			continue
		}
		lines[i] = numberRe.ReplaceAllStringFunc(l, func(x string) string {
			v, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return x
			}
			n := f(v)
			if n != v {
				changed = true
			}
			return strconv.FormatInt(n, 10)
		})
	}
	return strings.Join(lines, "\n"), changed
}

func allLines(int, string) bool { return true }

// bodyLines leaves out a header line (its numbers are labels: CPU0, order
// columns).
func bodyLines(i int, l string) bool { return i > 0 || !strings.ContainsAny(l, ":=") }

// generic mutations, applied to every output.
var mutations = []mutation{
	// A 10 % error in every counter and gauge of at least 10.
	{"scale-1.1", func(_, text string) (string, bool) {
		return mapNumbers(text, bodyLines, func(v int64) int64 {
			if v < 10 {
				return v
			}
			return v + v/10
		})
	}},
	// Every value of the line holding the largest value set to 0.
	{"zero-largest-line", func(_, text string) (string, bool) {
		lines := strings.Split(text, "\n")
		best, bestV := -1, int64(0)
		for i, l := range lines {
			for _, x := range numberRe.FindAllString(l, -1) {
				if v, _ := strconv.ParseInt(x, 10, 64); v > bestV {
					best, bestV = i, v
				}
			}
		}
		if best < 0 {
			return text, false
		}
		return mapNumbers(text, func(i int, _ string) bool { return i == best }, func(int64) int64 { return 0 })
	}},
	// The last tenth of the lines (at least one) dropped.
	{"drop-tail", func(_, text string) (string, bool) {
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		if len(lines) < 2 {
			return text, false
		}
		n := max(len(lines)/10, 1)
		return strings.Join(lines[:len(lines)-n], "\n") + "\n", true
	}},
	// Two adjacent numeric columns swapped in every line that has them.
	{"swap-columns", func(_, text string) (string, bool) {
		lines := strings.Split(text, "\n")
		changed := false
		for i, l := range lines {
			f := strings.Fields(l)
			for j := 1; j+1 < len(f); j++ {
				_, e1 := strconv.ParseInt(f[j], 10, 64)
				_, e2 := strconv.ParseInt(f[j+1], 10, 64)
				if e1 == nil && e2 == nil && f[j] != f[j+1] {
					f[j], f[j+1] = f[j+1], f[j]
					lines[i] = strings.Join(f, " ")
					changed = true
					break
				}
			}
		}
		return strings.Join(lines, "\n"), changed
	}},
	// One value of at least 10, in the middle of the file, set to 0: a
	// single gauge lost.
	{"zero-one-value", func(_, text string) (string, bool) {
		return oneValue(text, func(int64) int64 { return 0 })
	}},
	// The same value 10 % too large: a single counter wrong.
	{"scale-one-1.1", func(_, text string) (string, bool) {
		return oneValue(text, func(v int64) int64 { return v + v/10 })
	}},
	// Every value of 1 or more halved: a gauge or counter read from the
	// wrong place.
	{"halve", func(_, text string) (string, bool) {
		return mapNumbers(text, bodyLines, func(v int64) int64 { return v / 2 })
	}},
}

// oneValue rewrites the first value of at least 10 at or after the middle
// line of text.
func oneValue(text string, f func(int64) int64) (string, bool) {
	lines := strings.Split(text, "\n")
	for k := range lines {
		i := (len(lines)/2 + k) % len(lines)
		if !bodyLines(i, lines[i]) {
			continue
		}
		done := false
		lines[i] = numberRe.ReplaceAllStringFunc(lines[i], func(x string) string {
			v, err := strconv.ParseInt(x, 10, 64)
			if done || err != nil || v < 10 {
				return x
			}
			done = true
			return strconv.FormatInt(f(v), 10)
		})
		if done {
			return strings.Join(lines, "\n"), true
		}
	}
	return text, false
}

// specific mutations: the breakages the suite once accepted (issue 11).
var specificMutations = map[string][]mutation{
	"proc/vmstat": {
		{"ten-gauges-zero", func(_, text string) (string, bool) {
			n := 0
			return mapNumbers(text, func(_ int, l string) bool {
				if strings.HasPrefix(l, "nr_") && !strings.HasSuffix(l, " 0") && n < 10 {
					n++
					return true
				}
				return false
			}, func(int64) int64 { return 0 })
		}},
		{"zero-events-12345", func(_, text string) (string, bool) {
			return mapNumbers(text, func(_ int, l string) bool { return strings.HasPrefix(l, "pg") && strings.HasSuffix(l, " 0") },
				func(int64) int64 { return 12345 })
		}},
	},
	"proc/slabinfo": {{"objects-zero", func(_, text string) (string, bool) {
		lines := strings.Split(text, "\n")
		for i := 2; i < len(lines); i++ {
			f := strings.Fields(lines[i])
			if len(f) > 3 {
				f[1], f[2] = "0", "0"
				lines[i] = strings.Join(f, " ")
			}
		}
		return strings.Join(lines, "\n"), true
	}}},
	"sos_commands/kernel/dmesg": {{"panic-removed", func(_, text string) (string, bool) {
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		if len(lines) < 46 {
			return text, false
		}
		return strings.Join(lines[:len(lines)-45], "\n") + "\n", true
	}}},
	"sos_commands/process/ps_auxwww": {
		{"vsz-rss-zero", psColumn([]string{"VSZ", "RSS"}, func(string) string { return "0" })},
		{"middle-row-dropped", func(_, text string) (string, bool) {
			lines := strings.Split(text, "\n")
			if len(lines) < 4 {
				return text, false
			}
			i := len(lines) / 2
			return strings.Join(append(lines[:i:i], lines[i+1:]...), "\n"), true
		}},
		{"start-minute-plus-1", psColumn([]string{"START"}, func(v string) string {
			h, m, _ := strings.Cut(v, ":")
			n, _ := strconv.Atoi(m)
			return fmt.Sprintf("%s:%02d", h, (n+1)%60)
		})},
	},
	"sos_commands/process/ps_-elfL": {
		{"ppid-plus-7", psColumn([]string{"PPID"}, func(v string) string {
			n, _ := strconv.Atoi(v)
			return strconv.Itoa(n + 7)
		})},
		{"sz-plus-1", psColumn([]string{"SZ"}, func(v string) string {
			n, _ := strconv.Atoi(v)
			return strconv.Itoa(n + 1)
		})},
		{"ni-plus-1", psColumn([]string{"NI"}, func(v string) string {
			n, _ := strconv.Atoi(v)
			return strconv.Itoa(n + 1)
		})},
	},
	"proc/diskstats": {
		{"times-1000", func(_, text string) (string, bool) {
			return mapNumbers(text, allLines, func(v int64) int64 { return v * 1000 })
		}},
		// Only grown: caught by the upper bounds alone.
		{"sectors-written-plus-100000", func(_, text string) (string, bool) {
			lines := strings.Split(text, "\n")
			for i, l := range lines {
				if f := strings.Fields(l); len(f) > 9 {
					n, _ := strconv.ParseInt(f[9], 10, 64)
					f[9] = strconv.FormatInt(n+100000, 10)
					lines[i] = strings.Join(f, " ")
				}
			}
			return strings.Join(lines, "\n"), true
		}},
	},
	"proc/{pid}/stat": {{"minflt-utime-100", func(_, text string) (string, bool) {
		f := statFields(strings.TrimSuffix(text, "\n"))
		if len(f) != 52 {
			return text, false
		}
		for _, i := range []int{9, 13} { // minflt, utime
			n, _ := strconv.ParseInt(f[i], 10, 64)
			f[i] = strconv.FormatInt(n*100, 10)
		}
		return f[0] + " (" + f[1] + ") " + strings.Join(f[2:], " ") + "\n", f[9] != "0" || f[13] != "0"
	}}},
	"proc/zoneinfo": {{"pcp-count-zero", func(_, text string) (string, bool) {
		return mapNumbers(text, func(_ int, l string) bool {
			return strings.TrimSpace(l) != "" && strings.HasPrefix(strings.TrimSpace(l), "count:")
		},
			func(int64) int64 { return 0 })
	}}},
	"sos_commands/kernel/sysctl_-a": {{"empty", func(_, text string) (string, bool) { return "", text != "" }}},
	// Back traces: wrong values in the right format (the generic
	// mutations also break the format).
	"sos_commands/vmcore/bt_-a": {
		{"frame-address-plus-0x40", hexField(btFrameAddrRe, 0x40)},
		{"rcx-plus-1", hexField(regexp.MustCompile(`RCX: ([0-9a-f]{16})`), 1)},
		{"task-address-plus-0x40", hexField(regexp.MustCompile(`TASK: ([0-9a-f]{16})`), 0x40)},
		{"source-line-plus-1", func(_, text string) (string, bool) {
			return mapNumbers(text, func(_ int, l string) bool { return btSourceLineRe.MatchString(l) }, func(v int64) int64 { return v + 1 })
		}},
		{"pids-swapped", func(_, text string) (string, bool) {
			m := regexp.MustCompile(`(?m)^PID: (\d+) `).FindAllStringSubmatch(text, 2)
			if len(m) < 2 || m[0][1] == m[1][1] {
				return text, false
			}
			a, b := "PID: "+m[0][1]+" ", "PID: "+m[1][1]+" "
			text = strings.Replace(text, a, "\x00", 1)
			text = strings.Replace(text, b, a, 1)
			return strings.Replace(text, "\x00", b, 1), true
		}},
	},
}

var (
	btFrameAddrRe  = regexp.MustCompile(` at ([0-9a-f]{16})\n`)
	btSourceLineRe = regexp.MustCompile(`^    \S+: \d+$`)
)

// hexField adds d to the first capture group (16 hex digits) of every match
// of re, keeping the width.
func hexField(re *regexp.Regexp, d uint64) func(string, string) (string, bool) {
	return func(_, text string) (string, bool) {
		changed := false
		out := re.ReplaceAllStringFunc(text, func(m string) string {
			sub := re.FindStringSubmatchIndex(m)
			v, err := strconv.ParseUint(m[sub[2]:sub[3]], 16, 64)
			if err != nil {
				return m
			}
			changed = true
			return m[:sub[2]] + fmt.Sprintf("%016x", v+d) + m[sub[3]:]
		})
		return out, changed
	}
}

func init() {
	// sys: each number one off, in its own format, one line at a time.
	for _, label := range []string{"CPUS", "DATE", "UPTIME", "LOAD AVERAGE", "TASKS", "MEMORY", "PID", "CPU", "TAINT"} {
		specificMutations["sos_commands/vmcore/sys"] = append(specificMutations["sos_commands/vmcore/sys"],
			mutation{strings.ToLower(strings.ReplaceAll(label, " ", "-")) + "-last-digit-plus-1", func(_, text string) (string, bool) {
				lines := strings.Split(text, "\n")
				for i, l := range lines {
					k, v, ok := strings.Cut(l, ": ")
					if !ok || strings.TrimSpace(k) != label {
						continue
					}
					// The last digit of the value's first number, +1 mod 10.
					j := strings.IndexFunc(v, func(r rune) bool { return r >= '0' && r <= '9' })
					if j < 0 {
						return text, false
					}
					for j+1 < len(v) && v[j+1] >= '0' && v[j+1] <= '9' {
						j++
					}
					lines[i] = k + ": " + v[:j] + string('0'+(v[j]-'0'+1)%10) + v[j+1:]
					return strings.Join(lines, "\n"), true
				}
				return text, false
			}})
	}
}

// psColumn rewrites the named columns of every row of a ps output.
func psColumn(cols []string, f func(string) string) func(string, string) (string, bool) {
	return func(_, text string) (string, bool) {
		lines := strings.Split(text, "\n")
		heads := strings.Fields(lines[0])
		for i := 1; i < len(lines); i++ {
			fs := strings.Fields(lines[i])
			for _, c := range cols {
				for j, h := range heads {
					if h == c && j < len(fs) {
						fs[j] = f(fs[j])
					}
				}
			}
			lines[i] = strings.Join(fs, " ")
		}
		return strings.Join(lines, "\n"), true
	}
}

func TestMutations(t *testing.T) {
	if os.Getenv("VMCORE_REPORT_MUTATION") != "1" {
		return // see above: run by `make mutation`
	}
	tried, caught := 0, 0
	var missed, broken []string
	run := func(name string, f func(t *testing.T)) {
		tried++
		if t.Run(name, f) {
			missed = append(missed, name)
		} else {
			caught++
		}
	}
	defer func() {
		for _, m := range missed {
			t.Logf("MISSED %s", m)
		}
		for _, b := range broken {
			t.Logf("BASELINE FAILED %s: the unbroken output fails its rules (TestEmittersAgainstGroundTruth says why); its mutations are not counted", b)
		}
		t.Logf("mutation score: caught %d of %d", caught, tried)
	}()
	// baseline runs the rules on an output as emitted: a mutation of an
	// output its rules already fail would count as caught for nothing.
	baseline := func(name string, f func(t *testing.T)) bool {
		if !t.Run("baseline/"+name, f) {
			broken = append(broken, name)
			return false
		}
		return true
	}
	// Every set: each kdump scenario's outputs against its own capture and
	// its own dump's oracle, by the rules TestEmittersAgainstGroundTruth
	// runs there (rulesFor).
	for _, s := range fixtures.Every(t) {
		k, _ := kerneltest.OpenMode(t, s, s.RefRole(), kerneltest.BTF) // with a vmlinux: never refused
		c := NewContext(k)
		pids := comparablePIDs(t, s)
		for _, e := range All() {
			name := s.Manifest.ID + "/" + e.Path
			muts := append(append([]mutation(nil), mutations...), specificMutations[e.Path]...)
			if e.Each == PerPID {
				chk := pidRulesFor(s, e.Path)
				if chk == nil {
					continue
				}
				outs := map[int64]string{}
				for _, pid := range pids {
					var out Output
					if e.Run(c, pid, &out) == nil {
						outs[pid] = out.String()
					}
				}
				if !baseline(name, func(t *testing.T) {
					for pid, text := range outs {
						chk(t, s, pid, text)
					}
				}) {
					continue
				}
				for _, m := range muts {
					bad := map[int64]string{}
					for pid, text := range outs {
						if b, ok := m.apply(e.Path, text); ok && b != text {
							bad[pid] = b
						}
					}
					if len(bad) == 0 {
						continue
					}
					run(fmt.Sprintf("mutation/%s/%s", name, m.name), func(t *testing.T) {
						for pid, b := range bad {
							chk(t, s, pid, b)
						}
					})
				}
				continue
			}
			chk := rulesFor(s, e.Path)
			var out Output
			if chk == nil || e.Run(c, 0, &out) != nil {
				continue
			}
			if !baseline(name, func(t *testing.T) { chk(t, s, out.String()) }) {
				continue
			}
			for _, m := range muts {
				bad, ok := m.apply(e.Path, out.String())
				if !ok || bad == out.String() {
					continue
				}
				run(fmt.Sprintf("mutation/%s/%s", name, m.name), func(t *testing.T) { chk(t, s, bad) })
			}
		}
	}
}

// TestMutationSweep (part of `make mutation`, VMCORE_REPORT_MUTATION=1; or
// alone with VMCORE_REPORT_MUTATION=sweep) breaks one number at a time: for up to sweepPerFile
// numbers of at least 10 spread over each output of each set (a
// per-process output: sweepPerPIDFile in each compared process's file),
// the number 10 % too large, then 0, each run against the output's rules. It
// logs every single-number error the rules accept ("SWEEP MISSED") and the
// count per output: where "a 10 % error in any counter, any gauge set to 0
// fails" does not hold yet.
func TestMutationSweep(t *testing.T) {
	if m := os.Getenv("VMCORE_REPORT_MUTATION"); m != "sweep" && m != "1" {
		return
	}
	allTried, allMissed := 0, 0
	defer func() {
		t.Logf("sweep score: caught %d of %d single-number errors", allTried-allMissed, allTried)
	}()
	const sweepPerFile, sweepPerPIDFile = 60, 12
	for _, s := range fixtures.Every(t) {
		// The reference dump and the rules, as TestMutations.
		k, _ := kerneltest.OpenMode(t, s, s.RefRole(), kerneltest.BTF) // with a vmlinux: never refused
		c := NewContext(k)
		pids := comparablePIDs(t, s)
		for _, e := range All() {
			// One text per file: a per-process output once per pid it
			// is compared for.
			type file struct {
				pid  int64
				text string
				chk  func(t *testing.T, text string)
			}
			var files []file
			perFile := sweepPerFile
			if e.Each == PerPID {
				pchk := pidRulesFor(s, e.Path)
				if pchk == nil {
					continue
				}
				perFile = sweepPerPIDFile
				for _, pid := range pids {
					var out Output
					if e.Run(c, pid, &out) == nil {
						files = append(files, file{pid, out.String(), func(t *testing.T, text string) { pchk(t, s, pid, text) }})
					}
				}
			} else {
				chk := rulesFor(s, e.Path)
				var out Output
				if chk == nil || e.Run(c, 0, &out) != nil {
					continue
				}
				files = append(files, file{0, out.String(), func(t *testing.T, text string) { chk(t, s, text) }})
			}
			// As TestMutations: only outputs their rules pass as emitted.
			files = slices.DeleteFunc(files, func(f file) bool {
				ok := t.Run(fmt.Sprintf("baseline/%s/%s/pid%d", s.Manifest.ID, e.Path, f.pid), func(t *testing.T) { f.chk(t, f.text) })
				if !ok {
					t.Logf("BASELINE FAILED %s %s pid %d: the unbroken output fails its rules", s.Manifest.ID, e.Path, f.pid)
				}
				return !ok
			})
			tried, missed := 0, 0
			for _, f := range files {
				text := f.text
				locs := numberRe.FindAllStringIndex(text, -1)
				var big [][]int
				for _, l := range locs {
					if v, err := strconv.ParseInt(text[l[0]:l[1]], 10, 64); err == nil && v >= 10 {
						big = append(big, l)
					}
				}
				step := max(1, len(big)/perFile)
				for i := 0; i < len(big); i += step {
					l := big[i]
					v, _ := strconv.ParseInt(text[l[0]:l[1]], 10, 64)
					for _, nv := range []int64{v + v/10, 0} {
						bad := text[:l[0]] + strconv.FormatInt(nv, 10) + text[l[1]:]
						tried++
						name := fmt.Sprintf("sweep/%s/%s/%d-to-%d@%d", s.Manifest.ID, e.Path, v, nv, l[0])
						if f.pid != 0 {
							name = fmt.Sprintf("sweep/%s/%s/pid%d/%d-to-%d@%d", s.Manifest.ID, e.Path, f.pid, v, nv, l[0])
						}
						if t.Run(name, func(t *testing.T) { f.chk(t, bad) }) {
							missed++
							line := text[strings.LastIndex(text[:l[0]], "\n")+1:]
							line, _, _ = strings.Cut(line, "\n")
							t.Logf("SWEEP MISSED %s: %q", name, line)
						}
					}
				}
			}
			allTried += tried
			allMissed += missed
			t.Logf("SWEEP %s %s: %d of %d single-number errors caught", s.Manifest.ID, e.Path, tried-missed, tried)
		}
	}
}

// TestOracleCoverage (VMCORE_REPORT_MUTATION=oracle) counts the values the
// drgn rules compare exactly, on every set: each whole number of each
// output that has a drgn rule, one at a time one larger, run against the
// drgn rules alone; a number whose change they fail is compared exactly
// (an off-by-one is caught). It logs "ORACLE <set> <path>: N of M numbers"
// and each set's total ("ORACLE <set> total"); numbers it does not catch are
// labels, formats, or values only the capture's rules hold. As in
// TestMutations, each change caught is a failed subtest, so the run fails:
// read its ORACLE lines (go test -run TestOracleCoverage -v ./emitters/ | grep ORACLE).
func TestOracleCoverage(t *testing.T) {
	if os.Getenv("VMCORE_REPORT_MUTATION") != "oracle" {
		return
	}
	for _, s := range fixtures.Every(t) {
		k, _ := kerneltest.OpenMode(t, s, s.RefRole(), kerneltest.BTF) // with a vmlinux: never refused
		c := NewContext(k)
		pids := comparablePIDs(t, s)
		setTried, setCaught := 0, 0
		for _, e := range All() {
			type file struct {
				text string
				chk  func(t *testing.T, text string)
			}
			var files []file
			if pchk := pidOracleChecks[e.Path]; e.Each == PerPID && pchk != nil {
				for _, pid := range pids {
					var out Output
					if e.Run(c, pid, &out) == nil {
						files = append(files, file{out.String(), func(t *testing.T, text string) { pchk(t, s, pid, text) }})
					}
				}
			} else if chk := oracleChecks[e.Path]; e.Each != PerPID && chk != nil {
				var out Output
				if err := e.Run(c, 0, &out); err != nil {
					t.Errorf("%s %s: %v", s.Manifest.ID, e.Path, err)
					continue
				}
				files = append(files, file{out.String(), func(t *testing.T, text string) { chk(t, s, text) }})
			}
			if len(files) == 0 {
				continue
			}
			tried, caught := 0, 0
			for i, f := range files {
				if !t.Run(fmt.Sprintf("baseline/%s/%s/%d", s.Manifest.ID, e.Path, i), func(t *testing.T) { f.chk(t, f.text) }) {
					t.Errorf("%s %s: the drgn rules fail the unbroken output", s.Manifest.ID, e.Path)
					continue
				}
				for _, l := range numberRe.FindAllStringIndex(f.text, -1) {
					v, err := strconv.ParseInt(f.text[l[0]:l[1]], 10, 64)
					if err != nil {
						continue
					}
					bad := f.text[:l[0]] + strconv.FormatInt(v+1, 10) + f.text[l[1]:]
					tried++
					if !t.Run(fmt.Sprintf("plus1/%s/%s/%d@%d", s.Manifest.ID, e.Path, i, l[0]), func(t *testing.T) { f.chk(t, bad) }) {
						caught++
					}
				}
			}
			t.Logf("ORACLE %s %s: %d of %d numbers", s.Manifest.ID, e.Path, caught, tried)
			setTried += tried
			setCaught += caught
		}
		t.Logf("ORACLE %s total: %d of %d numbers compared exactly", s.Manifest.ID, setCaught, setTried)
	}
}
