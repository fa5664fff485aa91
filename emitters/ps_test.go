package emitters

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// The ground truth's ps is busybox's (PID, USER, COMMAND), not procps: the
// rules compare what both print, row by row for the processes that lived
// until the crash, and check the procps layout (header, column count,
// field shapes) on its own. Full procps fidelity cannot be checked here.

func init() {
	checks["sos_commands/process/ps_auxwww"] = checkPS(func(w int) string {
		return "USER     " + padLeft("PID", max(w, 3)) + " %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"
	}, 10, 0, 1, 0)
	checks["sos_commands/process/ps_-elfL"] = checkPS(func(w int) string {
		return "F S UID      " + padLeft("PID", max(w, 3)) + " " + padLeft("PPID", max(w, 4)) + " " + padLeft("LWP", max(w, 3)) +
			"  C NLWP PRI  NI ADDR SZ WCHAN  STIME TTY          TIME CMD"
	}, 16, 2, 3, 5)
}

func padLeft(s string, w int) string { return fmt.Sprintf("%*s", w, s) }

// pidWidth is procps_pid_length(): the digits of the truth's pid_max, which
// set the width of the pid columns.
func pidWidth(t *testing.T, s *fixtures.Set) int {
	return len(strings.TrimSpace(truth(t, s, "proc/sys/kernel/pid_max")))
}

// busyboxPS parses busybox ps: "%5u %-8.8s %s" under "PID   USER     COMMAND".
func busyboxPS(t *testing.T, s *fixtures.Set) map[string][2]string {
	rows := map[string][2]string{}
	for i, l := range strings.Split(strings.TrimRight(truth(t, s, "commands/ps"), "\n"), "\n") {
		f := strings.Fields(l)
		if i == 0 || len(f) < 3 {
			continue
		}
		rows[f[0]] = [2]string{f[1], strings.Join(f[2:], " ")}
	}
	return rows
}

// sameCommand compares our COMMAND with busybox's. busybox shows a kernel
// thread or zombie as "[comm]" with comm cut to 15 bytes, and a process
// whose comm is not argv[0]'s base name as "{comm} args". Ours is "[full
// name]" (" <defunct>" for a zombie), the arguments, or — when the dump
// has no user pages — the name.
func sameCommand(ours, bb string) bool {
	if strings.HasPrefix(bb, "[") {
		return strings.HasPrefix(ours, strings.TrimSuffix(bb, "]"))
	}
	comm, args := "", bb
	if strings.HasPrefix(bb, "{") {
		if end := strings.Index(bb, "} "); end > 0 {
			comm, args = bb[1:end], bb[end+2:]
		}
	}
	if comm == "" {
		comm = path.Base(strings.Fields(args)[0])
	}
	return ours == args || ours == comm
}

var psFieldShapes = map[string]*regexp.Regexp{
	"STAT":  regexp.MustCompile(`^[RSDTtXZPI][<N]?L?s?l?\+?$`),
	"S":     regexp.MustCompile(`^[RSDTtXZPI]$`),
	"START": regexp.MustCompile(`^\d\d:\d\d$`), "STIME": regexp.MustCompile(`^\d\d:\d\d$`),
	// bsdtime m:ss for aux, [dd-]hh:mm:ss for -l.
	"TIME": regexp.MustCompile(`^(\d+:\d\d|(\d+-)?\d\d:\d\d:\d\d)$`),
}

// checkPS checks one ps output: the header exactly (its pid columns as wide
// as pid_max has digits: header(5) for 32768); each row cut into the header's columns; pid, user
// and command against busybox for the comparable processes. cmdCol is the
// column where COMMAND starts, userCol/pidCol those of the user and pid,
// lwpCol (ps -L) that of the thread id or 0.
func checkPS(headerOf func(pidWidth int) string, cmdCol, userCol, pidCol, lwpCol int) check {
	return func(t *testing.T, s *fixtures.Set, got string) {
		header := headerOf(pidWidth(t, s))
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		if lines[0] != header {
			t.Fatalf("header %q, want %q", lines[0], header)
		}
		heads := strings.Fields(header)
		ours := map[string][]string{}
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) <= cmdCol {
				t.Errorf("row %q has %d columns", l, len(f))
				continue
			}
			for i, h := range heads[:cmdCol] {
				if re := psFieldShapes[h]; re != nil && !re.MatchString(f[i]) {
					t.Errorf("row %q: %s %q", l, h, f[i])
				}
			}
			if lwpCol == 0 || f[lwpCol] == f[pidCol] {
				ours[f[pidCol]] = append(f[:cmdCol:cmdCol], strings.Join(f[cmdCol:], " "))
			}
		}
		bb := busyboxPS(t, s)
		for _, pid := range comparablePIDs(t, s) {
			p := fmt.Sprint(pid)
			row, ok := ours[p]
			want, inBB := bb[p]
			switch {
			case !ok:
				t.Errorf("pid %s missing", p)
			case !inBB:
			case row[userCol] != want[0] || !sameCommand(row[cmdCol], want[1]):
				t.Errorf("pid %s: user %q command %q, busybox %q %q", p, row[userCol], row[cmdCol], want[0], want[1])
			}
		}
		if lwpCol != 0 {
			// Threads: every task of the fixture's multi-threaded process.
			for _, pid := range comparablePIDs(t, s) {
				want := taskIDs(t, s, pid)
				var have []string
				for _, l := range lines[1:] {
					if f := strings.Fields(l); len(f) > lwpCol && f[pidCol] == fmt.Sprint(pid) {
						have = append(have, f[lwpCol])
					}
				}
				if len(want) > 0 && !slices.Equal(have, want) {
					t.Errorf("pid %d threads %v, want %v", pid, have, want)
				}
			}
		}
	}
}

// taskIDs lists /proc/PID/task of the ground truth, leader first.
func taskIDs(t *testing.T, s *fixtures.Set, pid int64) []string {
	var ids []string
	for _, f := range s.Manifest.Truth.Files {
		if rest, ok := strings.CutPrefix(f, fmt.Sprintf("proc/%d/task/", pid)); ok {
			if id, _, _ := strings.Cut(rest, "/"); id != "" && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	slices.SortFunc(ids, func(a, b string) int { return len(a)*1000 - len(b)*1000 + strings.Compare(a, b) })
	return ids
}
