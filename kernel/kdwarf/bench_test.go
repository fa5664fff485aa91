package kdwarf

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// vmlinuxRelease returns the fixture vmlinux whose release starts with
// prefix (fixtures.Missing without one: a failure under CI).
func vmlinuxRelease(tb testing.TB, prefix string) vmlinux {
	tb.Helper()
	for _, k := range vmlinuxes(tb) {
		if strings.HasPrefix(k.release, prefix) {
			return k
		}
	}
	fixtures.Missing(tb, errors.New("no "+prefix+" vmlinux among the fixture kernels"))
	return vmlinux{}
}

func vmlinux61(b *testing.B) vmlinux { return vmlinuxRelease(b, "6.1.") }

// reportMem reports the live heap (with d reachable) and what one
// iteration allocated in all.
func reportMem(b *testing.B, before runtime.MemStats, keep any) {
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heapinuse-MB")
	// HeapSys only grows (until the scavenger returns memory): a bound
	// on the peak heap over the benchmark.
	b.ReportMetric(float64(after.HeapSys)/(1<<20), "heapsys-MB")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "totalalloc-MB/op")
}

// BenchmarkOpen6_1 opens the 6.1 vmlinux and builds the name index.
func BenchmarkOpen6_1(b *testing.B) { benchmarkOpen(b, vmlinux61(b)) }

// BenchmarkOpen6_12 does the same for 6.12 (200 MB of .debug_info).
func BenchmarkOpen6_12(b *testing.B) { benchmarkOpen(b, vmlinuxRelease(b, "6.12.")) }

func benchmarkOpen(b *testing.B, k vmlinux) {
	f, err := os.Open(k.path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var d *Data
	c0, t0 := cpuTime(), time.Now()
	for b.Loop() {
		if d, err = Open(f); err != nil {
			b.Fatal(err)
		}
		if err := d.Index(); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0, t0)
	reportMem(b, before, d)
}

// BenchmarkResolve100Structs decodes the commonStructs list (124 structs
// and everything they reach) from an indexed 6.1 vmlinux with an empty
// type cache.
func BenchmarkResolve100Structs(b *testing.B) {
	k := vmlinux61(b)
	f, err := os.Open(k.path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	d, err := Open(f)
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Index(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	c0, t0 := cpuTime(), time.Now()
	for b.Loop() {
		d.mat.init(d)
		for _, name := range commonStructs {
			if _, err := d.StructByName(name); err != nil && !strings.Contains(err.Error(), "not found") {
				b.Fatal(err)
			}
		}
	}
	reportCPU(b, c0, t0)
	b.ReportMetric(float64(len(d.mat.types)), "types")
	reportMem(b, before, d)
}

// BenchmarkOpenCompressed opens and indexes the vmlinux with compressed
// debug sections named by VMCORE_REPORT_ZVMLINUX (see TestCompressedVmlinux).
func BenchmarkOpenCompressed(b *testing.B) {
	path := os.Getenv("VMCORE_REPORT_ZVMLINUX")
	if path == "" {
		b.Skip("set VMCORE_REPORT_ZVMLINUX to a vmlinux with compressed debug sections")
	}
	benchmarkOpen(b, vmlinux{release: "compressed", path: path})
}
