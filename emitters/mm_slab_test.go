package emitters

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// checkPagetypeinfo: the header lines exact; free lists by zone and type
// with the same labels, the free pages of each zone by the gauge rule; the
// pageblock table's labels exact and each zone's total of pageblocks exact
// (the online pageblocks of a zone do not change), single types within
// T/512 + 16 blocks (allocations steal whole pageblocks for other types).
func checkPagetypeinfo(t *testing.T, s *fixtures.Set, got string) {
	want := truth(t, s, "proc/pagetypeinfo")
	T, _ := captureSize(t, s)
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(wl) != len(gl) {
		t.Fatalf("%d lines, kernel %d:\n%s", len(gl), len(wl), lineDiff(want, got))
	}
	for i := range wl {
		if !strings.HasPrefix(wl[i], "Node ") && wl[i] != gl[i] {
			t.Errorf("line %d: %q, kernel %q", i+1, gl[i], wl[i])
		}
	}
	wfree, gfree := map[string]int64{}, map[string]int64{}
	wlab, wrows := zoneRows(want, "type")
	glab, grows := zoneRows(got, "type")
	if strings.Join(wlab, "|") != strings.Join(glab, "|") {
		t.Errorf("free list rows differ: %q, kernel %q", glab, wlab)
	}
	for _, l := range wlab {
		zone := l[:strings.Index(l, ", type")]
		wfree[zone] += freePages(wrows[l])
		gfree[zone] += freePages(grows[l])
	}
	// The OOM scenario filled the memory after the capture: its free
	// lists (compared with drgn's exactly) and the pageblocks allocations
	// stole are not the capture's; the pageblocks of each zone, fixed at
	// boot, still are.
	oom := s.Manifest.Crash != nil && s.Manifest.Crash.Kind == "oom"
	for zone, w := range wfree {
		if oom {
			break
		}
		if ok, rule := vmstatValueOK("nr_free_pages", false, w, gfree[zone], T/4); !ok {
			t.Errorf("%s: %d free pages on the lists, kernel %d (%s)", zone, gfree[zone], w, rule)
		}
	}
	wb, gb := blockRows(want), blockRows(got)
	if len(wb) != len(gb) {
		t.Fatalf("pageblock rows: %d, kernel %d", len(gb), len(wb))
	}
	for l, w := range wb {
		g := gb[l]
		var ws, gs int64
		for i := range w {
			ws, gs = ws+w[i], gs+g[i]
			if d := g[i] - w[i]; !oom && (d > T/2048+16 || -d > T/2048+16) {
				t.Errorf("%s type %d: %d pageblocks, kernel %d", l, i, g[i], w[i])
			}
		}
		if ws != gs || len(w) != len(g) {
			t.Errorf("%s: %d pageblocks in all, kernel %d", l, gs, ws)
		}
	}
}

// blockRows reads the "Number of blocks type" table.
func blockRows(text string) map[string][]int64 {
	rows := map[string][]int64{}
	_, rest, _ := strings.Cut(text, "Number of blocks type")
	for _, l := range strings.Split(rest, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || f[0] != "Node" {
			continue
		}
		var vals []int64
		for _, x := range f[4:] {
			v, _ := strconv.ParseInt(x, 10, 64)
			vals = append(vals, v)
		}
		rows[strings.Join(f[:4], " ")] = vals
	}
	return rows
}

// slabRow is one cache line of /proc/slabinfo.
type slabRow struct {
	active, num, objsize, perSlab, pages, activeSlabs, numSlabs int64
	static                                                      string // the fields that never move
}

func parseSlabinfo(text string) (names []string, rows map[string]slabRow) {
	rows = map[string]slabRow{}
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n")[2:] {
		f := strings.Fields(l)
		if len(f) != 16 {
			continue
		}
		n := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
		names = append(names, f[0])
		rows[f[0]] = slabRow{n(1), n(2), n(3), n(4), n(5), n(13), n(14),
			strings.Join(append(f[3:6:6], f[6:12]...), " ") + " " + f[15]}
	}
	return names, rows
}

// captureGrown are the caches the capture itself grows by one object per
// file it reads or writes: /proc inodes and their dentries, the tmpfs inodes
// of the files it writes, and each inode's LSM blob. And skbuff_ext_cache:
// on 5.10 SLUB merges into it (same 192-byte objects; /proc/slabinfo shows
// a merged cache under the name of the first) a cache that grows with the
// files the capture writes (measured on 5.10: 126 objects at the capture,
// 525 at the crash-instant capture, 1188 by the OOM scenario's crash, with
// ~1130 files written).
var captureGrown = map[string]bool{"dentry": true, "proc_inode_cache": true, "shmem_inode_cache": true,
	"lsm_inode_cache": true, "inode_cache": true, "skbuff_ext_cache": true}

// checkSlabinfo: the header exact; every live cache, in the kernel's
// order (caches made after the capture would come first, as the list is
// newest first: allowed, none expected); objsize, objects per slab, pages
// per slab, tunables and sharedavail exact; the kernel's own invariants
// (active ≤ objects ≤ slabs × objects per slab, active slabs = slabs);
// object counts of the caches the capture grows (captureGrown) within
// 4·F + 16 slabs' worth of the live ones (each of the F files the capture
// read or wrote made a proc inode, a dentry, an LSM blob or a shmem inode;
// per-cpu slabs are refilled whole), every other cache's within 32 slabs'
// worth (measured: at most 20 slabs, maple_node on 6.12, from the tar, sync
// and forks after the capture; per-cpu and partial slabs refilled whole).
func checkSlabinfo(t *testing.T, s *fixtures.Set, got string) {
	want := truth(t, s, "proc/slabinfo")
	_, F := captureSize(t, s)
	if wh, gh := strings.SplitN(want, "\n", 3), strings.SplitN(got, "\n", 3); wh[0] != gh[0] || wh[1] != gh[1] {
		t.Errorf("header %q, kernel %q", gh[:2], wh[:2])
	}
	wn, wr := parseSlabinfo(want)
	gn, gr := parseSlabinfo(got)
	// The counts against the crash-instant capture where the set has one:
	// after the first capture the guest wrote the truth tar and that
	// capture to disk (measured: bio-192 up 39 slabs on 7.2 by then).
	counts := wr
	if b, err := os.ReadFile(filepath.Join(s.Manifest.CrashTruth.Dir, "proc/slabinfo")); s.Manifest.CrashTruth.Dir != "" && err == nil {
		_, counts = parseSlabinfo(string(b))
	}
	j := 0
	for _, n := range wn {
		for j < len(gn) && gn[j] != n {
			j++
		}
		if j == len(gn) {
			t.Errorf("cache %s missing or out of the kernel's order", n)
			return
		}
	}
	if extra := len(gn) - len(wn); extra > 0 {
		t.Logf("%d caches more than the live file: created after the capture", extra)
	}
	for _, n := range gn {
		g := gr[n]
		if g.active > g.num || g.num > g.numSlabs*g.perSlab || g.activeSlabs != g.numSlabs {
			t.Errorf("%s: %+v breaks get_slabinfo()'s invariants", n, g)
		}
		w, ok := wr[n]
		if !ok {
			continue
		}
		if w.static != g.static {
			t.Errorf("%s: %q, kernel %q", n, g.static, w.static)
		}
		if c, ok := counts[n]; ok {
			w = c
		}
		slack := 32 * w.perSlab
		if captureGrown[n] {
			slack = 4*F + 16*w.perSlab
		}
		bio := strings.HasPrefix(n, "bio-") || strings.HasPrefix(n, "biovec-")
		if bio && s.Manifest.CrashTruth.Dir == "" {
			// A kdump scenario has no crash-instant capture: the truth
			// tar written to vdb after the capture takes a bio per
			// request (measured: bio-192 up 51 slabs on 7.2's sysrq and
			// hung scenarios by the crash), so 128 slabs' worth.
			slack = 128 * w.perSlab
		}
		if s.Manifest.Scenario == "kdump-oom" && bio {
			// The OOM scenario swaps after the capture (that is the
			// scenario): every swap write takes a bio (measured: bio-192
			// up 42 slabs on 7.2 by the crash), so 256 slabs' worth.
			slack = 256 * w.perSlab
		}
		for _, p := range [][2]int64{{w.active, g.active}, {w.num, g.num}, {w.numSlabs * w.perSlab, g.numSlabs * g.perSlab}} {
			if d := p[1] - p[0]; d > slack || -d > slack {
				t.Errorf("%s: %+v, kernel %+v: objects differ by more than %d", n, g, w, slack)
				break
			}
		}
	}
}

// checkFree compares with busybox free, run at the end of the capture:
// busybox prints used = total - free - buff/cache where procps 4 prints
// total - available, so used is compared with the live total - available;
// the rest by the meminfo rules. The Mem: line must obey procps' own
// arithmetic exactly.
func checkFree(t *testing.T, s *fixtures.Set, got string) {
	want := truth(t, s, "commands/free")
	T, _ := captureSize(t, s)
	row := func(text, label string) []int64 {
		for _, l := range strings.Split(text, "\n") {
			if f := strings.Fields(l); len(f) > 0 && f[0] == label {
				var v []int64
				for _, x := range f[1:] {
					n, _ := strconv.ParseInt(x, 10, 64)
					v = append(v, n)
				}
				return v
			}
		}
		return nil
	}
	const header = "               total        used        free      shared  buff/cache   available"
	if !strings.HasPrefix(got, header+"\n") {
		t.Errorf("header: %q", strings.SplitN(got, "\n", 2)[0])
	}
	wm, gm := row(want, "Mem:"), row(got, "Mem:")
	ws, gs := row(want, "Swap:"), row(got, "Swap:")
	if len(wm) != 6 || len(gm) != 6 || len(ws) != 3 || len(gs) != 3 {
		t.Fatalf("rows: %v %v / %v %v", gm, gs, wm, ws)
	}
	// Where the set has a crash-instant capture, free and available are
	// compared with its meminfo: after busybox free ran (the end of the
	// first capture) the truth tar was written and its page cache let go,
	// which that capture cannot see (7.2: +7.8 MB free by the crash).
	if d := s.Manifest.CrashTruth.Dir; d != "" {
		if b, err := os.ReadFile(filepath.Join(d, "proc/meminfo")); err == nil {
			_, m := parseKV(string(b))
			wm[2], wm[5] = m["MemFree"], m["MemAvailable"]
		}
	}
	if gm[1] != gm[0]-gm[5] {
		t.Errorf("used %d != total %d - available %d", gm[1], gm[0], gm[5])
	}
	for i, r := range []struct {
		what string
		b    band
	}{
		{"total", band{}}, {"total - available", band{freeBand(T).up, freeBand(T).down}}, {"free", freeBand(T)},
		{"shared", captureGrowth(T)}, {"buff/cache", captureGrowth(T)}, {"available", freeBand(T)},
	} {
		w := wm[i]
		if i == 1 {
			w = wm[0] - wm[5]
		}
		if !r.b.ok(w, gm[i]) {
			t.Errorf("Mem %s: %d, busybox %d (-%d/+%d)", r.what, gm[i], w, r.b.down, r.b.up)
		}
	}
	if gs[0] != ws[0] || !small.ok(ws[1], gs[1]) || !small.ok(ws[2], gs[2]) {
		t.Errorf("Swap: %v, busybox %v", gs, ws)
	}
}
