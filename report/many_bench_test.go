//go:build !js

package report

import (
	"context"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel"
)

// BenchmarkAnalyzeMany is the CLI's default run on the many-tasks set
// (issue 18): the LZO dump and its vmlinux (BTF) into a .tar.xz, the
// compressor on its own goroutine as natively. BenchmarkAnalyzeManyTar is
// the same into a plain tar, the emitters' cost alone.
func BenchmarkAnalyzeMany(b *testing.B)    { benchmarkAnalyzeMany(b, TarXZ) }
func BenchmarkAnalyzeManyTar(b *testing.B) { benchmarkAnalyzeMany(b, TarPlain) }

func benchmarkAnalyzeMany(b *testing.B, c Compression) {
	s := fixtures.Bench(b)
	var in Files
	for _, f := range s.Parts("kdump-lzo-d31") {
		fh, err := os.Open(f.Path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { fh.Close() })
		in.Dump = append(in.Dump, kernel.File{Name: f.Name, R: fh, Size: f.Size})
	}
	vm, err := os.Open(s.KernelFile(b, "vmlinux"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { vm.Close() })
	fi, err := vm.Stat()
	if err != nil {
		b.Fatal(err)
	}
	in.Vmlinux = &kernel.File{Name: "vmlinux", R: vm, Size: fi.Size()}
	b.ReportAllocs()
	c0 := processCPU()
	for b.Loop() {
		var sink *TarSink
		m, err := Analyze(context.Background(), in, Options{}, func(o Opened) (Sink, error) {
			sink, err = NewTarSink(io.Discard, c, o.Identity.CrashTime)
			return sink, err
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := sink.Close(); err != nil {
			b.Fatal(err)
		}
		if m.Summary.Failed != 0 {
			b.Fatalf("summary %+v", m.Summary)
		}
	}
	// CPU time, user and system, of the whole process per run: steadier
	// than wall time on a loaded machine, and the compressor's goroutine
	// counts.
	b.ReportMetric(float64((processCPU()-c0).Milliseconds())/float64(b.N), "cpu-ms/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
