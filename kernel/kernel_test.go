package kernel_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/dump"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func openRole(t *testing.T, s *fixtures.Set, role string, withVmlinux bool) (*kernel.Kernel, bool) {
	return kerneltest.Open(t, s, role, withVmlinux)
}

func truthLines(t *testing.T, s *fixtures.Set, path string) []string {
	t.Helper()
	b, err := s.Truth(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// TestUnameEveryFormat: every dump of every kernel opens, with and without
// the vmlinux, and init_uts_ns reads back the release uname -r printed.
func TestUnameEveryFormat(t *testing.T) {
	for _, s := range fixtures.Every(t) {
		want := strings.TrimSpace(truthLines(t, s, "commands/uname_-r")[0])
		roles := map[string]bool{}
		for _, f := range s.Manifest.Files {
			roles[f.Role] = true
		}
		for role := range roles {
			if role == "lzo-d31-truncated" {
				continue // its late pages are gone; kernel/dump tests it
			}
			for _, withVmlinux := range []bool{true, false} {
				name := s.Manifest.ID + "/" + role
				if !withVmlinux {
					name += "/no-vmlinux"
				}
				t.Run(name, func(t *testing.T) {
					k, ok := openRole(t, s, role, withVmlinux)
					if !ok {
						return
					}
					got, err := k.Program().VarAs("init_uts_ns", "struct uts_namespace").Member("name.release").CString()
					if err != nil || got != want {
						t.Errorf("init_uts_ns.name.release = %q (%v), uname -r said %q", got, err, want)
					}
					if k.Release() != want {
						t.Errorf("VMCOREINFO OSRELEASE %q, want %q", k.Release(), want)
					}
				})
			}
		}
	}
}

// TestTasksModulesDmesg: the task list, the module list and the kernel log
// read from the LZO dump match what the guest printed before the crash.
func TestTasksModulesDmesg(t *testing.T) {
	for _, s := range fixtures.Every(t) {
		for _, mode := range kerneltest.Modes {
			t.Run(s.Manifest.ID+"/"+string(mode), func(t *testing.T) {
				k, ok := kerneltest.OpenMode(t, s, s.RefRole(), mode)
				if !ok {
					return
				}
				checkTasks(t, s, k)
				checkModules(t, s, k)
				checkDmesg(t, s, k)
			})
		}
	}
}

func checkTasks(t *testing.T, s *fixtures.Set, k *kernel.Kernel) {
	type task struct {
		comm string
		ppid int64
	}
	got := map[int64]task{}
	for tk, err := range linux.ForEachProcess(k.Program()) {
		if err != nil {
			t.Fatalf("task list: %v", err)
		}
		pid, err1 := tk.Member("pid").Int()
		comm, err2 := tk.Member("comm").CString()
		ppid, err3 := linux.TaskPPID(tk)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("task: %v %v %v", err1, err2, err3)
		}
		got[pid] = task{comm, ppid}
	}
	// Every process in the capture that was not the capture's own (ps,
	// the shell's children) must be in the dump with its name and parent.
	fixturePids := map[int64]bool{}
	for _, f := range strings.Fields(truthLines(t, s, "meta/fixture_pids")[0]) {
		p, _ := strconv.ParseInt(f, 10, 64)
		fixturePids[p] = true
	}
	entries, err := os.ReadDir(s.Manifest.Truth.Dir + "/proc")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	var goneKthreads []string
	for _, e := range entries {
		pid, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil {
			continue
		}
		status := statusFields(t, s, e.Name())
		if status == nil {
			continue
		}
		ppid, _ := strconv.ParseInt(status["PPid"], 10, 64)
		if status["Tgid"] != e.Name() {
			continue
		}
		g, ok := got[pid]
		// The fixture's own tasks, init and kthreadd must be there. The
		// capture's short-lived shells are gone, and a kernel thread may
		// have finished its job (ext4lazyinit does) between capture and crash.
		if !ok {
			switch {
			case pid == 2 || pid == 1 || fixturePids[pid]:
				t.Errorf("pid %d (%s) missing from the dump's task list", pid, status["Name"])
			case ppid == 2:
				goneKthreads = append(goneKthreads, status["Name"])
			}
			continue
		}
		checked++
		if g.ppid != ppid {
			t.Errorf("pid %d: ppid %d, /proc said %d", pid, g.ppid, ppid)
		}
		// kworker names change with their current work item; /proc shows a
		// kernel thread's full name where comm keeps 15 bytes.
		if g.comm != status["Name"] && !strings.HasPrefix(status["Name"], "kworker") &&
			!(len(g.comm) == 15 && strings.HasPrefix(status["Name"], g.comm)) {
			t.Errorf("pid %d: comm %q, /proc said %q", pid, g.comm, status["Name"])
		}
	}
	if checked < 40 {
		t.Errorf("only %d processes compared", checked)
	}
	if len(goneKthreads) > 3 {
		t.Errorf("kernel threads missing from the dump: %v", goneKthreads)
	}
}

func statusFields(t *testing.T, s *fixtures.Set, pid string) map[string]string {
	b, err := s.Truth("proc/" + pid + "/status")
	if err != nil {
		return nil
	}
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func checkModules(t *testing.T, s *fixtures.Set, k *kernel.Kernel) {
	var got []string
	for m, err := range linux.ForEachModule(k.Program()) {
		if err != nil {
			t.Fatalf("module list: %v", err)
		}
		name, err := m.Member("name").CString()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	var want []string
	for _, l := range truthLines(t, s, "proc/modules") {
		want = append(want, strings.Fields(l)[0])
	}
	if !slices.Equal(got, want) {
		t.Errorf("modules %v, /proc/modules %v", got, want)
	}
}

func checkDmesg(t *testing.T, s *fixtures.Set, k *kernel.Kernel) {
	recs, err := linux.PrintkRecords(k.Program())
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(linux.FormatDmesg(recs), "\n")
	// The captured dmesg is a prefix-ordered subset: every line in order.
	i := 0
	for _, want := range truthLines(t, s, "commands/dmesg") {
		for i < len(got) && got[i] != want {
			i++
		}
		if i == len(got) {
			t.Errorf("dmesg line %q not found in order in the dump's log", want)
			return
		}
	}
	// The crash's own message: sysrq's, or the scenario's panic (OOM, hung task).
	want := "sysrq: Trigger a crash"
	if c := s.Manifest.Crash; c != nil && c.Kind != "sysrq-c" {
		want = c.PanicMessage
	}
	if !strings.Contains(linux.FormatDmesg(recs), want) {
		t.Errorf("the dump's log lacks the crash message %q", want)
	}
}

// TestWrongVmlinux: each kernel's dump with the other kernel's vmlinux is
// refused by build-id before anything is read.
func TestWrongVmlinux(t *testing.T) {
	sets := fixtures.All(t)
	if len(sets) < 2 {
		fixtures.Missing(t, fmt.Errorf("needs two fixture kernels, have %d", len(sets)))
	}
	for i, s := range sets {
		other := sets[(i+1)%len(sets)]
		f := s.Role("lzo-d31")
		fh, err := os.Open(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		vh, err := os.Open(other.Manifest.Vmlinux.Path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = kernel.Open(context.Background(), []kernel.File{{Name: f.Name, R: fh, Size: f.Size}},
			kernel.Options{Vmlinux: &kernel.File{Name: "vmlinux", R: vh, Size: other.Manifest.Vmlinux.Size}})
		fh.Close()
		vh.Close()
		if !errors.Is(err, kernel.ErrMismatch) || !strings.Contains(err.Error(), other.Manifest.BuildID) ||
			!strings.Contains(err.Error(), s.Manifest.BuildID) {
			t.Errorf("%s dump with %s vmlinux: %v; want ErrMismatch naming both build-ids", s.Manifest.ID, other.Manifest.ID, err)
		}
	}
}

// TestTruncatedDump: a dump cut at 60 % (a full disk during kdump) opens
// with the vmlinux; every read gives the right bytes or fails with the
// dump's truncation error, never zeros. From the dump alone, Open succeeds
// or says the pages it needed were cut off (or, for a kernel whose
// VMCOREINFO has no kallsyms tables, that it needs the vmlinux).
func TestTruncatedDump(t *testing.T) {
	for _, s := range fixtures.All(t) {
		k, _ := openRole(t, s, "lzo-d31-truncated", true) // with a vmlinux: never refused
		rel, err := k.Program().VarAs("init_uts_ns", "struct uts_namespace").Member("name.release").CString()
		if err == nil && rel != s.Manifest.KernelRelease || err != nil && !errors.Is(err, dump.ErrTruncated) {
			t.Errorf("%s: release %q, %v: want the release or ErrTruncated", s.Manifest.ID, rel, err)
		}
		n := 0
		for _, err := range linux.ForEachProcess(k.Program()) {
			if err != nil {
				if !errors.Is(err, dump.ErrTruncated) {
					t.Errorf("%s: task walk: %v, want ErrTruncated", s.Manifest.ID, err)
				}
				break
			}
			n++
		}
		t.Logf("%s: release %q (%v); %d tasks before the cut; warnings %v", s.Manifest.ID, rel, err, n, k.Warnings())

		f := s.Role("lzo-d31-truncated")
		fh, err := os.Open(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = kernel.Open(context.Background(), []kernel.File{{Name: f.Name, R: fh, Size: f.Size}}, kernel.Options{})
		fh.Close()
		if kerneltest.RefusedAlone(t, s, err) {
			continue // before reading memory: the note lacks the kallsyms tables
		}
		if err != nil && !errors.Is(err, dump.ErrTruncated) {
			t.Errorf("%s without vmlinux: %v; want success or ErrTruncated", s.Manifest.ID, err)
		}
	}
}
