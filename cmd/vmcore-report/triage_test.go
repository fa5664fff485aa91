package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// consoleCrash reads what the guest's serial console printed when it
// panicked: the panic message, the "CPU: n … PID: p Comm: c" line, and
// the culprit, the first frame below panic() in the trace it printed.
func consoleCrash(t *testing.T, s *fixtures.Set) (panicMsg string, cpu, pid int, comm, culprit string) {
	t.Helper()
	path := s.Manifest.Extra["console_log"]
	b, err := os.ReadFile(path)
	if err != nil {
		fixtures.Missing(t, err)
	}
	ts := regexp.MustCompile(`^\[\s*\d+\.\d+\]\s?`)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		lines = append(lines, strings.TrimSpace(ts.ReplaceAllString(strings.TrimRight(l, "\r"), "")))
	}
	at := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "Kernel panic - not syncing: ") {
			at = i
		}
	}
	if at < 0 {
		t.Fatalf("%s: no panic line", path)
	}
	panicMsg = strings.TrimPrefix(lines[at], "Kernel panic - not syncing: ")
	who := regexp.MustCompile(`^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)`)
	frame := regexp.MustCompile(`^([\w.]+)\+0x`)
	afterPanic := false
	for _, l := range lines[at:] {
		if m := who.FindStringSubmatch(l); m != nil && comm == "" {
			cpu, _ = strconv.Atoi(m[1])
			pid, _ = strconv.Atoi(m[2])
			comm = m[3]
		}
		if m := frame.FindStringSubmatch(l); m != nil && culprit == "" {
			if afterPanic {
				culprit = m[1]
			}
			afterPanic = m[1] == "panic"
		}
	}
	if comm == "" || culprit == "" {
		t.Fatalf("%s: no task line or trace after the panic", path)
	}
	return panicMsg, cpu, pid, comm, culprit
}

// The triage summary names what the console printed: panic, culprit,
// task, CPU; --json gives the same to scripts. It runs on the set's
// reference dump (lzo-d31; lzo-d1 for a kernel its makedumpfile does not
// know: TestEveryFixture checks what the -d 31 dumps of such a kernel give).
func TestTriageSummary(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			msg, cpu, pid, comm, culprit := consoleCrash(t, s)
			out := filepath.Join(t.TempDir(), "r.tar.gz")
			args, _ := aloneArgs(t, s, s.RefRole())
			code, stdout, stderr := runCLI(t, append([]string{"--json", "-o", out}, args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got Triage
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("--json output: %v\n%s", err, stdout)
			}
			if got.PanicMessage != msg || got.Culprit != culprit || got.PanicCPU == nil || *got.PanicCPU != int64(cpu) ||
				got.PanicTask == nil || got.PanicTask.PID != pid || got.PanicTask.Command != comm {
				t.Errorf("--json: %+v (task %+v); the console says panic %q, culprit %s, CPU %d, %s (PID %d)", got, got.PanicTask, msg, culprit, cpu, comm, pid)
			}
			if got.Archive != out || got.Release != s.Manifest.KernelRelease || len(got.PanicFrames) == 0 || got.Summary.FilesWritten == 0 {
				t.Errorf("--json: %+v", got)
			}
			for _, want := range []string{"  Kernel panic: " + msg + "\n", "culprit " + culprit + ", task " + comm + " (PID " + strconv.Itoa(pid) + "), CPU " + strconv.Itoa(cpu) + "\n", "    #0 " + got.PanicFrames[0] + "\n"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

// A truncated dump: the summary says so with both sizes, and nothing is
// invented.
func TestTriageTruncated(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			whole, cut := s.Role("lzo-d31"), s.Role("lzo-d31-truncated")
			if whole == nil || cut == nil {
				fixtures.Missing(t, os.ErrNotExist)
			}
			args, alone := aloneArgs(t, s, "lzo-d31-truncated")
			code, stdout, stderr := runCLI(t, append([]string{"--json", "-o", filepath.Join(t.TempDir(), "r.tar")}, args...)...)
			if code != exitPartial {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got Triage
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Truncated) != 1 || got.Truncated[0].Size != cut.Size || got.Truncated[0].WantSize != whole.Size {
				t.Errorf("truncated %+v, want %s with %d of %d bytes", got.Truncated, cut.Name, cut.Size, whole.Size)
			}
			// Alone, the kernel's memory is found unreadable at the open; with the
			// vmlinux (a kernel that cannot be read alone), symbols and types need
			// no memory, and each fact of the crash fails on its own page.
			if got.PanicMessage != "" || got.PanicTask != nil || alone && got.Unreadable["memory"] == "" ||
				!alone && (got.Unreadable["panic_message"] == "" || got.Unreadable["culprit"] == "") {
				t.Errorf("--json %+v (dump alone: %v)", got, alone)
			}
			if !strings.Contains(stderr, "is truncated: "+humanBytes(cut.Size)+" of the "+humanBytes(whole.Size)+" its headers describe; copy it again") {
				t.Errorf("stderr:\n%s", stderr)
			}
		})
	}
}
