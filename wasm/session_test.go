package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/report"
)

func openInput(t testing.TB, path, name string, size int64) kernel.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return kernel.File{Name: name, R: f, Size: size}
}

func request(t testing.TB, s *fixtures.Set, role string, withVmlinux bool) Request {
	t.Helper()
	var req Request
	for _, p := range s.Parts(role) {
		req.Dump = append(req.Dump, openInput(t, p.Path, p.Name, p.Size))
	}
	if len(req.Dump) == 0 {
		fixtures.Missing(t, fmt.Errorf("%s has no %s dump", s.Manifest.ID, role))
	}
	if withVmlinux {
		v := s.Manifest.Vmlinux
		in := openInput(t, v.Path, v.Name, v.Size)
		req.Vmlinux = &in
	}
	return req
}

// aloneRequest is the request that reads the dump of role alone where its
// kernel allows it, and says whether it does. A kernel whose VMCOREINFO
// has no kallsyms tables (before v6.0: the set's note, read with
// debug/elf, says so) is refused alone first, with a needs-vmlinux
// UserError naming the entry the note lacks; the request then has the
// set's vmlinux.
func aloneRequest(t *testing.T, s *fixtures.Set, role string) (Request, bool) {
	t.Helper()
	missing := s.NeedsVmlinux(t)
	if missing == "" {
		return request(t, s, role, false), true
	}
	checkNeedsVmlinux(t, request(t, s, role, false), missing)
	return request(t, s, role, true), false
}

// checkNeedsVmlinux: req, the dump alone, is refused for the VMCOREINFO
// symbol missing, in words that say what to add.
func checkNeedsVmlinux(t *testing.T, req Request, missing string) {
	t.Helper()
	_, err := Analyze(context.Background(), req, Events{})
	var ue *UserError
	if !errors.As(err, &ue) || ue.Kind != KindNeedsVmlinux || !strings.Contains(ue.Message, "cannot be read without its vmlinux") ||
		!strings.Contains(ue.Message, "no SYMBOL("+missing+")") {
		t.Fatalf("the dump alone: %v, want a %s UserError naming SYMBOL(%s)", err, KindNeedsVmlinux, missing)
	}
}

// cliArchive makes the archive the way cmd/vmcore-report does: the plain
// files, without the worker's caches, through report.Analyze into a
// TarSink.
func cliArchive(t *testing.T, req Request) []byte {
	t.Helper()
	var (
		buf  bytes.Buffer
		sink *report.TarSink
	)
	_, err := report.Analyze(context.Background(), report.Files{Dump: req.Dump, Vmlinux: req.Vmlinux}, report.Options{},
		func(o report.Opened) (report.Sink, error) {
			var err error
			sink, err = report.NewTarSink(&buf, report.TarXZ, o.Identity.CrashTime)
			return sink, err
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// entry is one archive member, with the run-dependent parts blanked.
type entry struct {
	Name    string
	Type    byte
	Mode    int64
	ModTime time.Time
	Data    string
}

// readArchive lists a .tar.xz or .tar.gz, blanking the manifest's timing
// fields and the log's content (they differ between runs by design).
func readArchive(t *testing.T, b []byte) []entry {
	t.Helper()
	var r io.Reader
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	} else {
		xr, err := xz.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = xr
	}
	tr := tar.NewReader(r)
	var out []entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		e := entry{Name: h.Name, Type: h.Typeflag, Mode: h.Mode, ModTime: h.ModTime, Data: string(data)}
		switch {
		case strings.HasSuffix(h.Name, "/"+report.LogPath):
			e.Data = "(log)"
		case strings.HasSuffix(h.Name, "/"+report.ManifestPath):
			e.Data = stripTiming(t, data)
		}
		out = append(out, e)
	}
}

func stripTiming(t *testing.T, manifest []byte) string {
	t.Helper()
	var m report.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	m.Run.Started, m.Run.DurationMS = "", 0
	for i := range m.Outputs {
		m.Outputs[i].DurationMS = 0
	}
	b, _ := json.MarshalIndent(m, "", " ")
	return string(b)
}

func TestAnalyzeMatchesCLI(t *testing.T) {
	sets := fixtures.All(t)
	for i, s := range sets {
		// The vmlinux run on the first kernel and on each that cannot be
		// read alone, the dump alone on every one (refused where the
		// kernel cannot be read so: checked).
		for _, withVmlinux := range []bool{true, false} {
			missing := s.NeedsVmlinux(t)
			if withVmlinux && i > 0 && missing == "" {
				continue
			}
			t.Run(fmt.Sprintf("%s/vmlinux=%v", s.Manifest.ID, withVmlinux), func(t *testing.T) {
				if !withVmlinux && missing != "" {
					checkNeedsVmlinux(t, request(t, s, "lzo-d31", false), missing)
					return
				}
				req := request(t, s, "lzo-d31", withVmlinux)
				var stream bytes.Buffer
				req.Stream = &stream
				var stages []string
				outcomes := 0
				res, err := Analyze(context.Background(), req, Events{
					Stage: func(s string) { stages = append(stages, s) },
					Progress: func(p report.Progress) {
						if stages[len(stages)-1] != p.Stage {
							stages = append(stages, p.Stage)
						}
					},
					Outcome: func(report.Output) { outcomes++ },
				})
				if err != nil {
					t.Fatal(err)
				}
				want := []string{StageOpen, report.StageKernel, report.StageEnumerate, report.StageEmit, report.StageFinish, report.StageDone}
				if !reflect.DeepEqual(stages, want) {
					t.Errorf("stages %v, want %v", stages, want)
				}
				if outcomes == 0 || outcomes > len(res.Manifest.Outputs) {
					t.Errorf("%d live outcomes for %d outputs", outcomes, len(res.Manifest.Outputs))
				}
				xzArchive, err := res.Archive(report.TarXZ)
				if err != nil {
					t.Fatal(err)
				}
				gzArchive, err := res.Archive(report.TarGzip)
				if err != nil {
					t.Fatal(err)
				}
				got, cli := readArchive(t, xzArchive), readArchive(t, cliArchive(t, req))
				if !reflect.DeepEqual(got, cli) {
					for j := 0; j < max(len(got), len(cli)); j++ {
						switch {
						case j >= len(got):
							t.Errorf("missing %s", cli[j].Name)
						case j >= len(cli):
							t.Errorf("extra %s", got[j].Name)
						case !reflect.DeepEqual(got[j], cli[j]):
							t.Errorf("entry %d differs: %s vs CLI %s\n%.400s\n--- CLI:\n%.400s", j, got[j].Name, cli[j].Name, got[j].Data, cli[j].Data)
						}
					}
				}
				// The tar stream, compressed elsewhere, is the same archive.
				var packed bytes.Buffer
				comp, err := report.NewCompressor(&packed, report.TarXZ)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := comp.Write(stream.Bytes()); err != nil || comp.Close() != nil {
					t.Fatalf("pack the stream: %v", err)
				}
				if !bytes.Equal(packed.Bytes(), xzArchive) {
					t.Errorf("the streamed tar packs to %d bytes, the archive is %d: not identical", packed.Len(), len(xzArchive))
				}
				if gz := readArchive(t, gzArchive); !reflect.DeepEqual(gz, got) {
					t.Error("the .tar.gz holds other entries than the .tar.xz")
				}
				if d, ok := res.File("proc/version"); !ok || !strings.HasPrefix(string(d), "Linux version "+s.Manifest.KernelRelease+" ") {
					t.Errorf("proc/version = %q", d)
				}
				if withVmlinux != (res.Manifest.Inputs.Vmlinux != nil) {
					t.Errorf("manifest vmlinux = %+v", res.Manifest.Inputs.Vmlinux)
				}
			})
		}
	}
}

func TestAnalyzeErrors(t *testing.T) {
	sets := fixtures.All(t)
	check := func(t *testing.T, req Request, kind string, words ...string) {
		t.Helper()
		_, err := Analyze(context.Background(), req, Events{})
		var ue *UserError
		if !errors.As(err, &ue) {
			t.Fatalf("error %v (%T), want a UserError", err, err)
		}
		if ue.Kind != kind {
			t.Errorf("kind %s, want %s: %s", ue.Kind, kind, ue.Message)
		}
		for _, w := range words {
			if !strings.Contains(ue.Message, w) {
				t.Errorf("message lacks %q: %s", w, ue.Message)
			}
		}
	}
	t.Run("not-a-dump", func(t *testing.T) {
		junk := bytes.Repeat([]byte("not a dump "), 1000)
		check(t, Request{Dump: []kernel.File{{Name: "notes.txt", R: bytes.NewReader(junk), Size: int64(len(junk))}}}, KindUnsupported, "notes.txt")
	})
	t.Run("no-dump", func(t *testing.T) {
		check(t, Request{}, KindNoDump)
	})
	if len(sets) >= 2 {
		t.Run("mismatch", func(t *testing.T) {
			req := request(t, sets[0], "lzo-d31", false)
			v := sets[1].Manifest.Vmlinux
			in := openInput(t, v.Path, v.Name, v.Size)
			req.Vmlinux = &in
			check(t, req, KindMismatch, sets[0].Manifest.KernelRelease, sets[1].Manifest.KernelRelease,
				sets[0].Manifest.BuildID, sets[1].Manifest.BuildID)
		})
	}
	t.Run("vmlinuz-as-vmlinux", func(t *testing.T) {
		req := request(t, sets[0], "lzo-d31", false)
		junk := make([]byte, 8192)
		copy(junk[0x202:], "HdrS")
		req.Vmlinux = &kernel.File{Name: "vmlinuz", R: bytes.NewReader(junk), Size: int64(len(junk))}
		check(t, req, KindBadVmlinux, "vmlinuz")
	})
	t.Run("cancelled", func(t *testing.T) {
		req := request(t, sets[0], "lzo-d31", false)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Analyze(ctx, req, Events{})
		var ue *UserError
		if !errors.As(err, &ue) || ue.Kind != KindCancelled {
			t.Errorf("error %v, want cancelled", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		// A dump cut short still gives a report, as in the CLI: partial, or
		// (when the kernel's page tables are gone) the manifest alone with
		// every output failed for a reason in plain words.
		req, _ := aloneRequest(t, sets[0], "lzo-d31-truncated")
		res, err := Analyze(context.Background(), req, Events{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Manifest.Inputs.Dump.Truncated {
			t.Error("a truncated dump's manifest says truncated: false")
		}
		if res.KernelUnreadable != "" && !strings.Contains(res.KernelUnreadable, "truncated") {
			t.Errorf("kernel unreadable: %s", res.KernelUnreadable)
		}
		got, cli := readArchive(t, mustArchive(t, res)), readArchive(t, cliArchive(t, req))
		if !reflect.DeepEqual(got, cli) {
			t.Error("the truncated dump's archive differs from the CLI's")
		}
	})
}

func mustArchive(t *testing.T, r *Result) []byte {
	t.Helper()
	b, err := r.Archive(report.TarXZ)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A file the browser can no longer read is named in the error.
func TestReadFailure(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			// Alone, the open reads past the first MiB (kallsyms, BTF);
			// with a vmlinux (5.10) the open reads nothing there, and the
			// first output does: the run stops then, with no report.
			req, _ := aloneRequest(t, s, "lzo-d31")
			req.Dump[0].R = failingReader{req.Dump[0].R, req.Dump[0].Name}
			res, err := Analyze(context.Background(), req, Events{})
			var ue *UserError
			if !errors.As(err, &ue) || ue.Kind != KindReadFailed || !strings.Contains(ue.Message, req.Dump[0].Name) || res != nil {
				t.Errorf("error %v, result %v: want read-failed naming the file, no report", err, res != nil)
			}
		})
	}
}

type failingReader struct {
	r    io.ReaderAt
	name string
}

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= 1<<20 {
		return 0, &errFileRead{name: f.name, err: errors.New("NotReadableError")}
	}
	return f.r.ReadAt(p, off)
}

// BenchmarkAnalyze times what the page waits for on the 6.1 LZO dump: the
// kernel opened from the cached readers, every emitter, and the tar.xz.
// Run it natively or, for the browser's figures without a browser, as
// wasm under node:
//
//	GOOS=js GOARCH=wasm go test -c -o /tmp/w.wasm ./wasm
//	node $(go env GOROOT)/lib/wasm/wasm_exec_node.js /tmp/w.wasm -test.run '^$' -test.bench Analyze
func BenchmarkAnalyze(b *testing.B) {
	// The kernel make browser-bench measures (the first set is 5.10, whose
	// BTF lacks what the 6.1 report reads from it: a DWARF index in every
	// run, which the browser's case never builds).
	var s *fixtures.Set
	for _, x := range fixtures.All(b) {
		if x.Manifest.ID == fixtures.BenchKernel {
			s = x
		}
	}
	if s == nil {
		fixtures.Missing(b, fmt.Errorf("no %s set", fixtures.BenchKernel))
	}
	for _, c := range []struct {
		name    string
		vmlinux bool
		types   kernel.TypeSource
	}{{"BTF", true, kernel.TypesAuto}, {"DWARF", true, kernel.TypesDWARF}, {"DumpOnly", false, kernel.TypesAuto}} {
		b.Run(c.name, func(b *testing.B) {
			req := request(b, s, "lzo-d31", c.vmlinux)
			req.Types = c.types
			for b.Loop() {
				res, err := Analyze(context.Background(), req, Events{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := res.Archive(report.TarXZ); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchSmallSet is the many-tasks set's small counterpart: the same
// kernel's kdump-sysrq scenario, made by the same kdump path.
func benchSmallSet(b *testing.B) *fixtures.Set {
	for _, s := range fixtures.Scenarios(b) {
		if s.Manifest.ID == fixtures.BenchKernel+"/kdump-sysrq" {
			return s
		}
	}
	fixtures.Missing(b, fmt.Errorf("no %s/kdump-sysrq set", fixtures.BenchKernel))
	return nil
}

// BenchmarkAnalyzeTasks compares the report of the small 6.1 fixture (~80
// tasks) with the many-tasks set's (~2,100 tasks, `make bench-fixtures`),
// both from the kdump LZO dump with the vmlinux's BTF, and reports the
// cost per task: the difference of the two over the difference of their
// task counts (every thread, from the ground truth's /proc/*/task).
func BenchmarkAnalyzeTasks(b *testing.B) {
	many, small := fixtures.Bench(b), benchSmallSet(b)
	var perOp [2]float64
	var tasks [2]int
	for i, s := range []*fixtures.Set{small, many} {
		tasks[i] = truthTasks(b, s)
		b.Run(s.Manifest.Scenario, func(b *testing.B) {
			req := request(b, s, "kdump-lzo-d31", true)
			for b.Loop() {
				res, err := Analyze(context.Background(), req, Events{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := res.Archive(report.TarXZ); err != nil {
					b.Fatal(err)
				}
			}
			perOp[i] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(float64(tasks[i]), "tasks")
		})
	}
	if tasks[1] > tasks[0] && perOp[0] > 0 && perOp[1] > 0 {
		b.Logf("per task: %.0f µs (%d tasks %.0f ms, %d tasks %.0f ms)",
			(perOp[1]-perOp[0])/float64(tasks[1]-tasks[0])/1e3, tasks[0], perOp[0]/1e6, tasks[1], perOp[1]/1e6)
	}
}

// truthTasks counts the tasks the ground truth captured (every
// /proc/PID/task/TID/stat).
func truthTasks(tb testing.TB, s *fixtures.Set) int {
	n := 0
	for _, f := range s.Manifest.Truth.Files {
		if strings.HasPrefix(f, "proc/") && strings.Contains(f, "/task/") && strings.HasSuffix(f, "/stat") {
			n++
		}
	}
	if n == 0 {
		tb.Fatalf("%s: no /proc/*/task/*/stat in the ground truth", s.Manifest.ID)
	}
	return n
}

// countingMemory counts the reads of the kernel's memory and their bytes.
type countingMemory struct {
	m            object.Memory
	reads, bytes atomic.Int64
}

func (c *countingMemory) ReadVirtAt(p []byte, va uint64) (int, error) {
	c.reads.Add(1)
	c.bytes.Add(int64(len(p)))
	return c.m.ReadVirtAt(p, va)
}

// processCPUTime is the process's CPU time so far, nil where the platform
// does not say (cputime_unix_test.go).
var processCPUTime func() time.Duration

// BenchmarkReportTasks runs the whole report (into a plain tar thrown
// away) on a kernel opened once, so that the dump's decoded pages stay
// cached: the emitters' own cost, which grows with the tasks, without
// decompression or the compressor. It compares the small 6.1 scenario
// (~70 tasks) with the many-tasks set (~2,100 tasks, `make
// bench-fixtures`) and reports per op the reads of the kernel's memory
// that reach the dump (past the program's page cache) and their bytes
// (reads/op, readB/op); the log gives the cost per
// task (the difference over the difference of the task counts). Where the
// platform tells the process's CPU time, cpu-ns/op is that per report (the
// garbage collector's work on other threads included): on a loaded machine
// a steadier measure than the wall clock.
func BenchmarkReportTasks(b *testing.B) {
	many, small := fixtures.Bench(b), benchSmallSet(b)
	var perOp, cpuOp, allocs [2]float64
	var tasks [2]int
	for i, s := range []*fixtures.Set{small, many} {
		tasks[i] = truthTasks(b, s)
		b.Run(s.Manifest.Scenario, func(b *testing.B) {
			req := request(b, s, "kdump-lzo-d31", true)
			k, err := kernel.Open(context.Background(), req.Dump, kernel.Options{Vmlinux: req.Vmlinux})
			if err != nil {
				b.Fatal(err)
			}
			defer k.Close()
			mem := &countingMemory{m: k.Program().Mem}
			k.Program().Mem = mem
			b.ReportAllocs()
			run := func() {
				sink, err := report.NewTarSink(io.Discard, report.TarPlain, time.Unix(0, 0))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := report.Run(context.Background(), k, report.Options{}, sink); err != nil {
					b.Fatal(err)
				}
				sink.Close()
			}
			run() // decode the pages once
			mem.reads.Store(0)
			mem.bytes.Store(0)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mallocs := ms.Mallocs
			var cpu0 time.Duration
			if processCPUTime != nil {
				cpu0 = processCPUTime()
			}
			b.ResetTimer()
			for b.Loop() {
				run()
			}
			if processCPUTime != nil {
				cpuOp[i] = float64(processCPUTime()-cpu0) / float64(b.N)
				b.ReportMetric(cpuOp[i], "cpu-ns/op")
			}
			runtime.ReadMemStats(&ms)
			perOp[i] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			allocs[i] = float64(ms.Mallocs-mallocs) / float64(b.N)
			b.ReportMetric(float64(mem.reads.Load())/float64(b.N), "reads/op")
			b.ReportMetric(float64(mem.bytes.Load())/float64(b.N), "readB/op")
			b.ReportMetric(float64(tasks[i]), "tasks")
		})
	}
	if d := tasks[1] - tasks[0]; d > 0 && perOp[0] > 0 && perOp[1] > 0 {
		b.Logf("per task: %.0f µs (CPU %.0f µs), %.0f allocations (%d tasks %.1f ms, %d tasks %.1f ms)",
			(perOp[1]-perOp[0])/float64(d)/1e3, (cpuOp[1]-cpuOp[0])/float64(d)/1e3, (allocs[1]-allocs[0])/float64(d),
			tasks[0], perOp[0]/1e6, tasks[1], perOp[1]/1e6)
	}
}
