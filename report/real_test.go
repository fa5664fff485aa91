package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters"
	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
	"github.com/vmcore-report/vmcore-report/kernel"
)

// openFixture opens the dump of role with the set's vmlinux, or alone. A
// kernel that cannot be read from its dump alone (no kallsyms tables in
// VMCOREINFO before v6.0) is opened with the vmlinux instead, after
// kerneltest.RefusedAlone has checked the refusal against the set's note:
// s.NeedsVmlinux says which.
func openFixture(t *testing.T, s *fixtures.Set, role string, withVmlinux bool) *kernel.Kernel {
	t.Helper()
	var parts []kernel.File
	for _, f := range s.Parts(role) {
		fh, err := os.Open(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fh.Close() })
		parts = append(parts, kernel.File{Name: f.Name, R: fh, Size: f.Size})
	}
	var opt kernel.Options
	if withVmlinux {
		fh, err := os.Open(s.Manifest.Vmlinux.Path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fh.Close() })
		opt.Vmlinux = &kernel.File{Name: "vmlinux", R: fh, Size: s.Manifest.Vmlinux.Size}
	}
	k, err := kernel.Open(context.Background(), parts, opt)
	if !withVmlinux && kerneltest.RefusedAlone(t, s, err) {
		t.Logf("%s %s: refused alone, as its VMCOREINFO calls for; opened with the vmlinux: %v", s.Manifest.ID, role, err)
		return openFixture(t, s, role, true)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", s.Manifest.ID, role, err)
	}
	return k
}

func truthLine(t *testing.T, s *fixtures.Set, rel string) string {
	t.Helper()
	b, err := s.Truth(rel)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestRealKernel: the manifest's kernel facts and the process enumeration
// on each fixture kernel, against what the guest printed before the crash.
func TestRealKernel(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			// The reference dump: 7.2's lzo-d31 (a makedumpfile that does
			// not know 7.2) may lack the panicking task's stack page, and
			// the culprit is then rightly unreadable.
			k := openFixture(t, s, s.RefRole(), false)
			pidEmitter := &emitters.Emitter{Path: "proc/{pid}/pid", Each: emitters.PerPID,
				Run: func(_ *emitters.Context, pid int64, out *emitters.Output) error {
					fmt.Fprintln(out, pid)
					return nil
				}}
			sink := newMemSink()
			m, err := Run(context.Background(), k, Options{Emitters: []*emitters.Emitter{pidEmitter}}, sink)
			if err != nil {
				t.Fatal(err)
			}
			kc := m.Kernel
			host := truthLine(t, s, "commands/hostname")
			if kc.Release != s.Manifest.KernelRelease || kc.BuildID != s.Manifest.BuildID || kc.Nodename != host {
				t.Errorf("kernel %q %q %q, want %q %q %q", kc.Release, kc.BuildID, kc.Nodename, s.Manifest.KernelRelease, s.Manifest.BuildID, host)
			}
			// QEMU-made dumps have no CRASHTIME: the timekeeper gives the
			// time, a moment after the capture ended.
			end, _ := strconv.ParseInt(truthLine(t, s, "meta/capture_end"), 10, 64)
			ct, err := time.Parse(time.RFC3339, kc.CrashTime)
			if err != nil || ct.Unix() < end || ct.Unix() > end+120 || kc.CrashTimeFrom != "kernel timekeeper" {
				t.Errorf("crash time %q from %s (%v); the capture ended at %v", kc.CrashTime, kc.CrashTimeFrom, err, time.Unix(end, 0).UTC())
			}
			if kc.PanicMessage != "sysrq triggered crash" {
				t.Errorf("panic message %q", kc.PanicMessage)
			}
			wantTaint, _ := strconv.ParseUint(truthLine(t, s, "proc/sys/kernel/tainted"), 10, 64)
			if kc.Taint == nil || kc.Taint.Mask != wantTaint || len(kc.Unreadable) != 0 {
				t.Errorf("taint %+v, /proc/sys/kernel/tainted said %d; unreadable %v", kc.Taint, wantTaint, kc.Unreadable)
			}
			// The live system had CPUs 0-1 online; after panic() only the
			// panicking one is, and the other was stopped.
			live := truthLine(t, s, "sys/devices/system/cpu/online")
			if c := kc.CPUs; c == nil || c.PanicCPU == nil || c.RunningBeforePanic != live ||
				c.OnlineInDump != fmt.Sprint(*c.PanicCPU) || c.StoppedByPanic != fmt.Sprint(1-*c.PanicCPU) {
				t.Errorf("cpus %+v; live online %q", kc.CPUs, live)
			}
			top := "sosvmcore-" + host + "-" + ct.Format("2006-01-02") + "/"
			if TopDir(k)+"/" != top {
				t.Errorf("top folder %q, want %q", TopDir(k), top)
			}
			if alone := s.NeedsVmlinux(t) == ""; m.Debug.Mode != map[bool]string{true: "dump-only", false: "vmlinux"}[alone] ||
				m.Debug.Types != k.TypesFrom() || (m.Inputs.Vmlinux == nil) != alone {
				t.Errorf("debug info %+v, vmlinux %+v (dump alone: %v)", m.Debug, m.Inputs.Vmlinux, alone)
			}
			d, ref := m.Inputs.Dump, s.MustRole(t, s.RefRole())
			if d.Format != "kdump" || d.Compression != "lzo" || d.DumpLevel != ref.DumpLevel || len(d.Parts) != 1 || d.Parts[0].Name != ref.Name {
				t.Errorf("dump input %+v", d)
			}

			// One output per process, in numeric pid order, each holding its pid.
			var pids []int64
			for _, o := range m.Outputs {
				var pid int64
				if _, err := fmt.Sscanf(o.Path, "proc/%d/pid", &pid); err != nil || o.Status != StatusOK {
					t.Fatalf("output %+v", o)
				}
				if got := string(sink.files[top+o.Path]); got != fmt.Sprintln(pid) {
					t.Errorf("%s holds %q", o.Path, got)
				}
				pids = append(pids, pid)
			}
			if !slices.IsSorted(pids) || len(pids) < 40 || pids[0] != 1 || pids[1] != 2 || m.Enumerations["pid"].Count != len(pids) {
				t.Errorf("pids %v, enumeration %+v", pids, m.Enumerations)
			}
			for _, p := range strings.Fields(truthLine(t, s, "meta/fixture_pids")) {
				n, _ := strconv.ParseInt(p, 10, 64)
				if !slices.Contains(pids, n) {
					t.Errorf("fixture process %d missing from the enumeration", n)
				}
			}
		})
	}
}

// TestRealKernelScenarios: the crash identity the report gives for each
// kdump-made scenario dump matches what the scenario did and what the
// crashed kernel printed (the manifest's crash record).
func TestRealKernelScenarios(t *testing.T) {
	for _, s := range fixtures.Scenarios(t) {
		for _, role := range []string{"kdump-lzo-d31", "kdump-elf-d31"} {
			t.Run(s.Manifest.ID+"/"+role, func(t *testing.T) {
				k := openFixture(t, s, role, false)
				m, err := Run(context.Background(), k, Options{Emitters: []*emitters.Emitter{}}, newMemSink())
				if err != nil {
					t.Fatal(err)
				}
				kc, c := m.Kernel, s.Manifest.Crash
				host := truthLine(t, s, "commands/hostname")
				if kc.Release != s.Manifest.KernelRelease || kc.BuildID != s.Manifest.BuildID || kc.Nodename != host {
					t.Errorf("kernel %q %q %q, want %q %q %q", kc.Release, kc.BuildID, kc.Nodename, s.Manifest.KernelRelease, s.Manifest.BuildID, host)
				}
				// The crashed kernel wrote CRASHTIME into its VMCOREINFO.
				ct, err := time.Parse(time.RFC3339, kc.CrashTime)
				if err != nil || ct.Unix() != c.Time || kc.CrashTimeFrom != "VMCOREINFO CRASHTIME" {
					t.Errorf("crash time %q from %s (%v), want %v", kc.CrashTime, kc.CrashTimeFrom, err, time.Unix(c.Time, 0).UTC())
				}
				if kc.PanicMessage != c.PanicMessage {
					t.Errorf("panic message %q, the console said %q", kc.PanicMessage, c.PanicMessage)
				}
				if kc.CPUs == nil || kc.CPUs.PanicCPU == nil || *kc.CPUs.PanicCPU != int64(c.PanicCPU) {
					t.Errorf("cpus %+v, the console says the panic ran on CPU %d", kc.CPUs, c.PanicCPU)
				}
			})
		}
	}
}

// TestTruncatedDump: a dump cut before the kernel image (the fixtures' cut
// at 60 % is: the kernel's pages come later in every set) still gives a
// report: the manifest names the kernel and every output fails with the
// reason. A kernel that cannot be read from its dump alone (refused before
// any memory is read: checked) is read with the vmlinux, which needs no
// memory for symbols and types: then the report runs, and every output that
// fails, or is partial, names the truncation.
func TestTruncatedDump(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			open := func(opt kernel.Options) (*kernel.Kernel, error) {
				var parts []kernel.File
				for _, f := range s.Parts("lzo-d31-truncated") {
					fh, err := os.Open(f.Path)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { fh.Close() })
					parts = append(parts, kernel.File{Name: f.Name, R: fh, Size: f.Size})
				}
				return kernel.Open(context.Background(), parts, opt)
			}
			k, unreadable := open(kernel.Options{})
			if kerneltest.RefusedAlone(t, s, unreadable) {
				vm, err := os.Open(s.KernelFile(t, "vmlinux"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { vm.Close() })
				k, err := open(kernel.Options{Vmlinux: &kernel.File{Name: "vmlinux", R: vm, Size: s.Manifest.Vmlinux.Size}})
				if err != nil {
					t.Fatal(err)
				}
				m, err := Run(context.Background(), k, Options{}, newMemSink())
				if err != nil {
					t.Fatal(err)
				}
				if m.Summary.Failed == 0 || !m.Inputs.Dump.Truncated || m.Kernel.Release != s.Manifest.KernelRelease {
					t.Errorf("with the vmlinux: summary %+v, kernel %+v, dump %+v", m.Summary, m.Kernel, m.Inputs.Dump)
				}
				for _, o := range m.Outputs {
					if o.Status != StatusOK && !strings.Contains(strings.Join(o.Reasons, " "), "dump truncated") {
						t.Errorf("with the vmlinux: %s %s: %q", o.Path, o.Status, o.Reasons)
					}
				}
				return
			}
			if k == nil {
				t.Fatal(unreadable)
			}
			if unreadable == nil {
				t.Fatal("the kernel of this truncated dump is readable: the fixture no longer cuts its pages off")
			}
			if !errors.Is(unreadable, kernel.ErrTruncated) || !errors.Is(unreadable, kernel.ErrMemoryUnreadable) ||
				k.Program() != nil || k.Unreadable() == nil || k.Release() != s.Manifest.KernelRelease {
				t.Fatalf("unreadable %v, kernel %+v", unreadable, k)
			}
			list := []*emitters.Emitter{
				{Path: "a", Run: func(*emitters.Context, int64, *emitters.Output) error { panic("must not run") }},
				{Path: "proc/{pid}/b", Each: emitters.PerPID, Run: func(*emitters.Context, int64, *emitters.Output) error { panic("must not run") }},
			}
			sink := newMemSink()
			m, err := Run(context.Background(), k, Options{Emitters: list}, sink)
			if err != nil {
				t.Fatal(err)
			}
			if m.Summary.Failed != 2 || m.Summary.FilesWritten != 0 || m.Kernel.Unreadable["memory"] == "" ||
				m.Kernel.Unreadable["culprit"] != "no kernel program" ||
				!m.Inputs.Dump.Truncated || m.Kernel.Release != s.Manifest.KernelRelease {
				t.Errorf("summary %+v, kernel %+v, dump %+v", m.Summary, m.Kernel, m.Inputs.Dump)
			}
			for _, o := range m.Outputs {
				if !strings.Contains(o.Reasons[0], "memory cannot be read") {
					t.Errorf("%s: %q", o.Path, o.Reasons)
				}
			}
			if len(sink.names) != 3 {
				t.Errorf("files %q, want the log, the manifest and version.txt", sink.names)
			}
		})
	}
}

// BenchmarkReport times a whole report of the LZO dump (dump alone) into
// a plain tar, the emitters' cost without the compressor's.
func BenchmarkReport(b *testing.B) {
	s := fixtures.All(b)[0]
	var parts []kernel.File
	for _, f := range s.Parts("lzo-d31") {
		fh, err := os.Open(f.Path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { fh.Close() })
		parts = append(parts, kernel.File{Name: f.Name, R: fh, Size: f.Size})
	}
	b.ReportAllocs()
	for b.Loop() {
		k, err := kernel.Open(context.Background(), parts, kernel.Options{})
		if err != nil {
			b.Fatal(err)
		}
		sink, err := NewTarSink(io.Discard, TarPlain, time.Unix(0, 0))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Run(context.Background(), k, Options{}, sink); err != nil {
			b.Fatal(err)
		}
		sink.Close()
		k.Close()
	}
}
