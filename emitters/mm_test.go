package emitters

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// Ground-truth rules of the memory files (proc/meminfo, vmstat, zoneinfo,
// buddyinfo, pagetypeinfo, slabinfo and free).
//
// What moves between the capture and the crash, and why: the guest read
// these files first, then copied some 1200 other /proc and /sys files into
// /tmp (tmpfs: shmem pages, shmem inodes, dentries; reading them made proc
// inodes), ran a dozen busybox commands, tarred /tmp to /dev/vdb through
// the block device's page cache, and crashed. So the tolerances below are
// in units of T, the size of the ground truth written to tmpfs (9 MiB and
// 13 MiB on the two kernels), and F, the number of files it holds.

// captureSize is T in kB and F, per fixture set.
func captureSize(t *testing.T, s *fixtures.Set) (kb int64, files int64) {
	t.Helper()
	v, _ := captureSizes.LoadOrStore(s.Dir, sync.OnceValues(func() ([2]int64, error) {
		var r [2]int64
		err := filepath.WalkDir(s.Manifest.Truth.Dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			r[0] += (info.Size() + 4095) / 4096 * 4
			r[1]++
			return nil
		})
		return r, err
	}))
	r, err := v.(func() ([2]int64, error))()
	if err != nil {
		t.Fatal(err)
	}
	return r[0], r[1]
}

var captureSizes sync.Map

// band is how far a value may move from the ground truth: down and up, in
// the value's own unit.
type band struct{ down, up int64 }

func (b band) ok(want, got int64) bool { return got >= want-b.down && got <= want+b.up }

// Rules in kB, from T.
var (
	// Free memory falls with the pages the capture consumed: tmpfs pages,
	// slab for its files, the tar's page cache (dropped when /dev/vdb was
	// closed, but its pages linger on per-cpu lists, which are not free).
	freeBand = func(T int64) band { return band{3*T + 4096, 4096} }
	// Shmem-backed and page-cache counters grow by what was written to
	// tmpfs; LRU shuffling moves a little either way.
	captureGrowth = func(T int64) band { return band{4096, T + 4096} }
	small         = band{1024, 1024} // a few pages of noise
)

// meminfoRules names the rule of every field that moves; any other field
// must match exactly (static after boot, or untouched in this guest: no
// swapping, no huge pages, no bounce buffers).
func meminfoRule(name string, T int64) (band, bool) {
	switch name {
	case "MemFree", "MemAvailable":
		return freeBand(T), true
	case "Unevictable", "Mlocked":
		// The spinner is mlocked (testdata/gen/lived.c): its pages join
		// the unevictable list as the mlock batches drain, some after the
		// capture (measured +16 kB on 5.10).
		return small, true
	case "Writeback":
		// The crash-instant capture is written to disk just before the
		// crash: a few pages may still be under writeback (measured
		// 144 kB on 7.2).
		return small, true
	case "Cached", "Shmem", "Active", "Inactive", "Active(anon)", "Inactive(anon)", "Committed_AS",
		"KReclaimable", "Slab", "SReclaimable", "SUnreclaim":
		// tmpfs pages are anon-LRU pages and are charged to Committed_AS;
		// the files' inodes and dentries are slab.
		return captureGrowth(T), true
	case "Buffers", "Dirty", "Active(file)", "Inactive(file)", "AnonPages", "Mapped", "KernelStack", "PageTables":
		return small, true
	case "AnonHugePages":
		// A process that faults memory in after the capture may get a
		// transparent huge page (seen: +2048 kB on a fresh 6.1
		// kdump-sysrq build); exact against drgn (oracleMeminfo).
		return band{2048, 2048}, true
	case "VmallocUsed", "Percpu":
		// forks reuse cached vmap stacks; no percpu chunk grows for a file copy
		return small, true
	}
	return band{}, false
}

// parseKV reads "Name: value [kB]" lines in order.
func parseKV(text string) (names []string, vals map[string]int64) {
	vals = map[string]int64{}
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		name, rest, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, _ := strconv.ParseInt(f[0], 10, 64)
		names = append(names, name)
		vals[name] = v
	}
	return names, vals
}

func checkMeminfo(t *testing.T, s *fixtures.Set, got string) {
	want := truth(t, s, "proc/meminfo")
	T, _ := captureSize(t, s)
	wn, wv := parseKV(want)
	gn, gv := parseKV(got)
	if !slices.Equal(wn, gn) {
		t.Fatalf("fields differ from the kernel's:\nwant %v\nhave %v", wn, gn)
	}
	// Every line keeps the kernel's widths: equal text when equal values.
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i, n := range wn {
		if wv[n] == gv[n] && wl[i] != gl[i] {
			t.Errorf("line %d: %q, kernel %q", i+1, gl[i], wl[i])
		}
	}
	for _, n := range wn {
		// The OOM scenario filled the memory after its capture, with
		// huge pages, and swapped: those fields, and every moving one,
		// only against drgn (oracleMeminfo).
		if oomSwaps(s) && (n == "SwapCached" || n == "SwapFree" || n == "AnonHugePages") {
			continue
		}
		if r, moving := meminfoRule(n, T); moving {
			if oomSwaps(s) {
				continue
			}
			if s.Manifest.Scenario != "" && (n == "MemFree" || n == "MemAvailable") {
				// A scenario runs on for seconds after its capture: the
				// pages of the truth tar's page cache, freed onto the
				// per-cpu lists when /dev/vdb was closed, drain back to
				// the buddy lists meanwhile (seen: MemFree up 6.8 MiB on a
				// from-nothing 6.1 kdump-sysrq build, T 8 MiB).
				r.up = T + 4096
			}
			if !r.ok(wv[n], gv[n]) {
				t.Errorf("%s = %d kB, live %d kB: outside -%d/+%d kB", n, gv[n], wv[n], r.down, r.up)
			}
		} else if wv[n] != gv[n] {
			t.Errorf("%s = %d, live %d: must match exactly", n, gv[n], wv[n])
		}
	}
}

// cumulativeItems are vmstat items that only count up.
func cumulativeItem(name string, isEvent bool) bool {
	if isEvent || strings.HasPrefix(name, "numa_") || strings.HasPrefix(name, "workingset_") ||
		strings.HasPrefix(name, "pgpromote_") || strings.HasPrefix(name, "pgdemote_") {
		return true
	}
	switch name {
	case "nr_dirtied", "nr_written", "nr_vmscan_write", "nr_vmscan_immediate_reclaim",
		"nr_throttled_written", "nr_foll_pin_acquired", "nr_foll_pin_released":
		return true
	}
	return false
}

// vmstatValueOK applies the vmstat rules to one counter, in pages.
// Cumulative counters never go down and grow with the work the capture
// did (each page written was allocated, copied and freed a few times:
// 128 events per page written, plus 100000 for the commands); gauges move
// as meminfo's free memory does.
func vmstatValueOK(name string, isEvent bool, want, got, Tpages int64) (bool, string) {
	if cumulativeItem(name, isEvent) {
		return got >= want && got <= want+128*Tpages+100000, "cumulative: never down, up by at most 128·T+100000"
	}
	b := band{3*Tpages + 1024, 3*Tpages + 1024}
	return b.ok(want, got), fmt.Sprintf("gauge: within ±%d pages", b.up)
}

func checkVmstat(t *testing.T, s *fixtures.Set, got string) {
	want := truth(t, s, "proc/vmstat")
	T, _ := captureSize(t, s)
	parse := func(text string) (names []string, vals []int64) {
		for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			f := strings.Fields(l)
			if len(f) != 2 {
				continue
			}
			v, _ := strconv.ParseInt(f[1], 10, 64)
			names, vals = append(names, f[0]), append(vals, v)
		}
		return
	}
	wn, wv := parse(want)
	gn, gv := parse(got)
	if !slices.Equal(wn, gn) { // the names and their order are the kernel's
		t.Fatalf("names differ:\n%s", lineDiff(strings.Join(wn, "\n"), strings.Join(gn, "\n")))
	}
	events := false // the VM events follow the last vm_stat item
	for i, n := range wn {
		if ok, rule := vmstatValueOK(n, events, wv[i], gv[i], T/4); !ok {
			t.Errorf("%s = %d, live %d (%s)", n, gv[i], wv[i], rule)
		}
		if n == "nr_dirty_background_threshold" || n == "nr_memmap_boot_pages" {
			events = true
		}
	}
}

func init() {
	checks["proc/meminfo"] = checkMeminfo
	checks["proc/vmstat"] = checkVmstat
	checks["proc/zoneinfo"] = checkZoneinfo
	checks["proc/buddyinfo"] = checkBuddyinfo
	checks["proc/pagetypeinfo"] = checkPagetypeinfo
	checks["proc/slabinfo"] = checkSlabinfo
	checks["sos_commands/memory/free"] = checkFree
}
