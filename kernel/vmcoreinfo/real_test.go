package vmcoreinfo_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel/dump"
	"github.com/vmcore-report/vmcore-report/kernel/vmcoreinfo"
)

func openFile(t *testing.T, f *fixtures.File) *dump.Dump {
	t.Helper()
	fh, err := os.Open(f.Path)
	if err != nil {
		fixtures.Missing(t, err)
	}
	t.Cleanup(func() { fh.Close() })
	d, err := dump.Open(f.Name, fh, f.Size)
	if err != nil {
		t.Fatalf("open %s: %v", f.Path, err)
	}
	return d
}

// checkInfo compares what every x86_64 VMCOREINFO must carry with the
// fixture's manifest. The kallsyms tables' entries are there exactly when
// the kernel writes them (since v6.0: fixtures.Set.RecordsKallsyms, read
// from the vmlinux), and then every one the kernel needs.
func checkInfo(t *testing.T, s *fixtures.Set, vi *vmcoreinfo.Info) {
	t.Helper()
	if vi.OSRelease != s.Manifest.KernelRelease {
		t.Errorf("OSRELEASE %q; want %q", vi.OSRelease, s.Manifest.KernelRelease)
	}
	if s.Manifest.BuildID != "" && vi.BuildID != s.Manifest.BuildID {
		t.Errorf("BUILD-ID %q; want %q", vi.BuildID, s.Manifest.BuildID)
	}
	if vi.PageSize != 4096 {
		t.Errorf("PAGESIZE %d", vi.PageSize)
	}
	for _, sym := range []string{"init_uts_ns", "init_top_pgt", "_stext", "prb"} {
		if v, ok := vi.Symbol(sym); !ok || v < 0xffffffff80000000 {
			t.Errorf("SYMBOL(%s) = %#x, %v", sym, v, ok)
		}
	}
	records := s.RecordsKallsyms(t)
	for _, sym := range fixtures.KallsymsSymbols {
		if v, ok := vi.Symbol(sym); ok != records || ok && v < 0xffffffff80000000 {
			t.Errorf("SYMBOL(%s) = %#x, %v; the kernel writes it: %v", sym, v, ok, records)
		}
	}
	for _, n := range []string{"phys_base", "pgtable_l5_enabled", "KERNEL_IMAGE_SIZE", "sme_mask"} {
		if _, ok := vi.Number(n); !ok {
			t.Errorf("no NUMBER(%s)", n)
		}
	}
	if off, ok := vi.Offset("list_head.prev"); !ok || off != 8 {
		t.Errorf("OFFSET(list_head.prev) = %d, %v", off, ok)
	}
	if !vi.HasKernelOffset {
		t.Errorf("no KERNELOFFSET")
	}
	if len(vi.Malformed) != 0 || vi.Truncated {
		t.Errorf("malformed lines: %v", vi.Malformed)
	}
	if vi.HasCrashTime {
		// Only kdump appends CRASHTIME; QEMU and makedumpfile do not.
		t.Logf("CRASHTIME %s", time.Unix(vi.CrashTime, 0).UTC())
	}
}

func TestRealParse(t *testing.T) {
	for _, s := range fixtures.Every(t) {
		for i := range s.Manifest.Files {
			f := &s.Manifest.Files[i]
			if !f.VMCOREINFO || f.SplitPart > 1 {
				continue
			}
			t.Run(s.Manifest.ID+"/"+f.Role, func(t *testing.T) {
				d := openFile(t, f)
				vi, err := vmcoreinfo.Parse(d.VMCOREINFO())
				if err != nil {
					t.Fatal(err)
				}
				checkInfo(t, s, vi)
				if f.ByKdump() {
					checkCrashTime(t, s, vi)
				}
			})
		}
	}
}

// checkCrashTime: the crashed kernel appended CRASHTIME to its VMCOREINFO
// in __crash_kexec (crash_save_vmcoreinfo), seconds after the ground truth
// was captured.
func checkCrashTime(t *testing.T, s *fixtures.Set, vi *vmcoreinfo.Info) {
	t.Helper()
	b, err := s.Truth("meta/capture_end")
	if err != nil {
		t.Fatal(err)
	}
	end, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// The generator read the same value from the ELF's bytes. Up to ten
	// minutes after the capture: the OOM task fills hundreds of MiB under
	// TCG on a shared 2-core host (it took 133 s at a load of 20).
	if !vi.HasCrashTime || vi.CrashTime != s.Manifest.Crash.Time || vi.CrashTime < end || vi.CrashTime > end+600 {
		t.Errorf("CRASHTIME %v (%d), the manifest says %d, the capture ended at %d", vi.HasCrashTime, vi.CrashTime, s.Manifest.Crash.Time, end)
	}
}

// TestRealFindInMemory finds the kernel's own VMCOREINFO in a QEMU dump
// made without -device vmcoreinfo, and in one made with it (where the note
// and the copy in memory must agree).
func TestRealFindInMemory(t *testing.T) {
	for _, s := range fixtures.All(t) {
		for _, role := range []string{"novmcoreinfo-elf", "qemu-elf"} {
			f := s.Role(role)
			if f == nil {
				continue
			}
			t.Run(s.Manifest.ID+"/"+role, func(t *testing.T) {
				d := openFile(t, f)
				var ranges []vmcoreinfo.Range
				for _, r := range d.PhysRanges() {
					ranges = append(ranges, vmcoreinfo.Range{Start: r.Start, End: r.End})
				}
				start := time.Now()
				text, pa, err := vmcoreinfo.FindInMemory(d, ranges)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("found %d bytes at phys %#x in %v", len(text), pa, time.Since(start))
				vi, err := vmcoreinfo.Parse(text)
				if err != nil {
					t.Fatal(err)
				}
				checkInfo(t, s, vi)
				if note := d.VMCOREINFO(); len(note) > 0 {
					fromNote, err := vmcoreinfo.Parse(note)
					if err != nil {
						t.Fatal(err)
					}
					for k, v := range fromNote.Raw {
						if k != "CRASHTIME" && vi.Raw[k] != v {
							t.Errorf("%s: note %q, memory %q", k, v, vi.Raw[k])
						}
					}
				}
			})
		}
	}
}
