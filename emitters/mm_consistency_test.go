package emitters

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// The memory files move between the capture and the crash, so the ground
// truth bounds them only loosely. These tests pin them down exactly the
// other way: the files written from one dump must agree with each other as
// the kernel's own arithmetic makes them agree, and that arithmetic is
// first checked on the live files of the capture.

// zoneFacts are what si_mem_available() and global_dirty_limits() take
// from the zones: Σ low watermarks and totalreserve_pages as
// calculate_totalreserve_pages() sums it (max protection + high watermark,
// capped at managed).
func zoneFacts(t *testing.T, zoneinfo string) (lowSum, reserve int64) {
	t.Helper()
	num := func(z, label string) int64 {
		m := regexp.MustCompile(`\n\s+` + label + `\s+(\d+)`).FindStringSubmatch(z)
		if m == nil {
			t.Fatalf("zoneinfo: no %s in %q", label, z)
		}
		v, _ := strconv.ParseInt(m[1], 10, 64)
		return v
	}
	for _, z := range regexp.MustCompile(`\n(?:Node )`).Split(zoneinfo, -1) {
		var maxProt int64
		p := regexp.MustCompile(`protection: \(([^)]*)\)`).FindStringSubmatch(z)
		for _, f := range strings.Split(p[1], ", ") {
			v, _ := strconv.ParseInt(f, 10, 64)
			maxProt = max(maxProt, v)
		}
		lowSum += num(z, "low")
		reserve += min(maxProt+num(z, "high"), num(z, "managed"))
	}
	return lowSum, reserve
}

// siMemAvailable is si_mem_available() over /proc values, in pages.
func siMemAvailable(t *testing.T, meminfo, zoneinfo string) int64 {
	_, mi := parseKV(meminfo)
	low, reserve := zoneFacts(t, zoneinfo)
	avail := mi["MemFree"]/4 - reserve
	pagecache := (mi["Active(file)"] + mi["Inactive(file)"]) / 4
	pagecache -= min(pagecache/2, low)
	reclaimable := mi["KReclaimable"] / 4
	return max(avail+pagecache+reclaimable-min(reclaimable/2, low), 0)
}

// dirtyLimits is global_dirty_limits() over /proc values.
func dirtyLimits(t *testing.T, s *fixtures.Set, vmstat, zoneinfo string) (bg, dirty int64) {
	v := map[string]int64{}
	for _, l := range strings.Split(vmstat, "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			v[f[0]], _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	sysctl := func(name string) int64 {
		n, err := strconv.ParseInt(strings.TrimSpace(truth(t, s, "proc/sys/vm/"+name)), 10, 64)
		if err != nil {
			t.Fatalf("ground truth vm.%s: %v", name, err)
		}
		return n
	}
	_, reserve := zoneFacts(t, zoneinfo)
	return dirtyLimitsOf(v["nr_free_pages"], v["nr_inactive_file"], v["nr_active_file"], reserve,
		sysctl("dirty_ratio"), sysctl("dirty_bytes"), sysctl("dirty_background_ratio"), sysctl("dirty_background_bytes"))
}

// dirtyLimitsOf is global_dirty_limits() (mm/page-writeback.c) in pages:
// global_dirtyable_memory() (free pages less totalreserve_pages, plus the
// file LRU pages, plus 1; no highmem on x86_64), then
// domain_dirty_limits(): a bytes setting wins over its ratio, rounded up
// to pages; the background threshold at most half the other (the reader is
// no real-time task).
func dirtyLimitsOf(free, inactiveFile, activeFile, reserve, ratio, bytes, bgRatio, bgBytes int64) (bg, dirty int64) {
	avail := free - min(free, reserve) + inactiveFile + activeFile + 1
	if bytes != 0 {
		dirty = (bytes + 4095) / 4096
	} else {
		dirty = ratio * 4096 / 100 * avail / 4096
	}
	if bgBytes != 0 {
		bg = (bgBytes + 4095) / 4096
	} else {
		bg = bgRatio * 4096 / 100 * avail / 4096
	}
	if bg >= dirty {
		bg = dirty / 2
	}
	return bg, dirty
}

func TestMMFilesAgree(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID+"/live", func(t *testing.T) {
			mi, zi, vs := truth(t, s, "proc/meminfo"), truth(t, s, "proc/zoneinfo"), truth(t, s, "proc/vmstat")
			if _, v := parseKV(mi); siMemAvailable(t, mi, zi)*4 != v["MemAvailable"] {
				t.Errorf("si_mem_available() over the live files: %d kB, live MemAvailable %d kB", siMemAvailable(t, mi, zi)*4, v["MemAvailable"])
			}
			bg, dirty := dirtyLimits(t, s, vs, zi)
			if !strings.Contains(vs, "nr_dirty_threshold "+strconv.FormatInt(dirty, 10)+"\n") ||
				!strings.Contains(vs, "nr_dirty_background_threshold "+strconv.FormatInt(bg, 10)+"\n") {
				t.Errorf("global_dirty_limits() over the live files: %d, %d", dirty, bg)
			}
		})
		for _, withVmlinux := range []bool{true, false} {
			mode := map[bool]string{true: "vmlinux", false: "dump-only"}[withVmlinux]
			t.Run(s.Manifest.ID+"/"+mode, func(t *testing.T) {
				k, ok := kerneltest.Open(t, s, s.RefRole(), withVmlinux)
				if !ok {
					return
				}
				c := NewContext(k)
				files := map[string]string{}
				for _, e := range All() {
					switch e.Path {
					case "proc/meminfo", "proc/zoneinfo", "proc/vmstat", "proc/buddyinfo", "proc/pagetypeinfo":
						var out Output
						if err := e.Run(c, 0, &out); err != nil {
							t.Fatalf("%s: %v", e.Path, err)
						}
						files[e.Path] = out.String()
					}
				}
				mi, zi, vs := files["proc/meminfo"], files["proc/zoneinfo"], files["proc/vmstat"]
				_, m := parseKV(mi)
				if got := siMemAvailable(t, mi, zi) * 4; got != m["MemAvailable"] {
					t.Errorf("MemAvailable %d kB, si_mem_available() of the same dump's files %d kB", m["MemAvailable"], got)
				}
				bg, dirty := dirtyLimits(t, s, vs, zi)
				if !strings.Contains(vs, "nr_dirty_threshold "+strconv.FormatInt(dirty, 10)+"\n") ||
					!strings.Contains(vs, "nr_dirty_background_threshold "+strconv.FormatInt(bg, 10)+"\n") {
					t.Errorf("dirty thresholds differ from global_dirty_limits() of the same dump: want %d, %d", dirty, bg)
				}
				checkVmstatAgainstFiles(t, vs, m, zi, pendingNumaStats(t, c))
				checkFreeListsAgree(t, files["proc/buddyinfo"], files["proc/pagetypeinfo"])
			})
		}
	}
}

// pendingNumaStats is, before v5.14, what zoneinfo's NUMA lines add to
// vmstat's: zone_numa_state_snapshot() adds each CPU's pending
// vm_numa_stat_diff[] to the zone's count, where vmstat_start() prints
// global_numa_state(), the folded counts alone. Commit f19298b9516c
// ("mm/vmstat: convert NUMA statistics to basic NUMA counters", v5.14)
// folds every CPU's events into both; then nothing is pending. Read from
// the dump: per populated zone (the ones zoneinfo prints NUMA lines for),
// over the CPUs zoneinfo sums.
func pendingNumaStats(t *testing.T, c *Context) map[string]int64 {
	t.Helper()
	p := c.Prog
	if !p.HasMember("struct per_cpu_pageset", "vm_numa_stat_diff") {
		return nil
	}
	// enum numa_stat_item, in vmstat_text[]'s names.
	names := map[string]string{"NUMA_HIT": "numa_hit", "NUMA_MISS": "numa_miss", "NUMA_FOREIGN": "numa_foreign",
		"NUMA_INTERLEAVE_HIT": "numa_interleave", "NUMA_LOCAL": "numa_local", "NUMA_OTHER": "numa_other"}
	cpus, err := linux.CPUsRunningBeforePanic(p)
	if err != nil {
		t.Fatal(err)
	}
	pending := map[string]int64{}
	for zone, err := range linux.ForEachZone(p) {
		if err != nil {
			t.Fatal(err)
		}
		if populated, err := linux.PopulatedZone(zone); err != nil || !populated {
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		for _, cpu := range cpus {
			ps, err := linux.ZonePageset(zone, cpu)
			if err != nil {
				t.Fatal(err)
			}
			for enumerator, name := range names {
				i, err := linux.EnumValue(p, enumerator)
				if err != nil {
					t.Fatal(err)
				}
				d, err := ps.Member(fmt.Sprintf("vm_numa_stat_diff[%d]", i)).Uint()
				if err != nil {
					t.Fatal(err)
				}
				pending[name] += int64(d)
			}
		}
	}
	t.Logf("NUMA counts pending on the CPUs (vmstat leaves them out): %v", pending)
	return pending
}

// checkVmstatAgainstFiles: meminfo's fields are vmstat counters in kB, and
// each zone counter is the sum of the zones' (the global and per-zone
// counters are folded together); a NUMA count, less what is pending on the
// CPUs where zoneinfo adds it and vmstat does not (pendingNumaStats).
func checkVmstatAgainstFiles(t *testing.T, vmstat string, mi map[string]int64, zoneinfo string, pending map[string]int64) {
	v := map[string]int64{}
	for _, l := range strings.Split(vmstat, "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			v[f[0]], _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	for field, item := range map[string]string{"MemFree": "nr_free_pages", "Shmem": "nr_shmem",
		"Active(anon)": "nr_active_anon", "Inactive(file)": "nr_inactive_file", "Dirty": "nr_dirty",
		"AnonPages": "nr_anon_pages", "Mapped": "nr_mapped", "SReclaimable": "nr_slab_reclaimable",
		"SUnreclaim": "nr_slab_unreclaimable", "PageTables": "nr_page_table_pages"} {
		if mi[field] != 4*v[item] {
			t.Errorf("meminfo %s %d kB, vmstat %s %d pages", field, mi[field], item, v[item])
		}
	}
	sums := map[string]int64{}
	for _, l := range strings.Split(zoneinfo, "\n") {
		if f := strings.Fields(l); len(f) == 2 && (strings.HasPrefix(f[0], "nr_zone_") || f[0] == "nr_free_pages" || strings.HasPrefix(f[0], "numa_")) {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			sums[f[0]] += n
		}
	}
	if len(sums) < 10 {
		t.Errorf("zoneinfo has only %d zone counters", len(sums))
	}
	for item, sum := range sums {
		if v[item] != sum-pending[item] {
			t.Errorf("vmstat %s %d, sum over zoneinfo %d, less %d pending on the CPUs", item, v[item], sum, pending[item])
		}
	}
}

// checkFreeListsAgree: in a stopped kernel every free block is on exactly
// one free list, so pagetypeinfo's lists sum to buddyinfo's nr_free.
func checkFreeListsAgree(t *testing.T, buddyinfo, pagetypeinfo string) {
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	_, buddy := zoneRows(buddyinfo, "zone")
	labels, lists := zoneRows(pagetypeinfo, "type")
	sums := map[string][]int64{}
	for _, l := range labels {
		zone := norm(l[:strings.Index(l, ", type")])
		if sums[zone] == nil {
			sums[zone] = make([]int64, len(lists[l]))
		}
		for o, n := range lists[l] {
			sums[zone][o] += n
		}
	}
	if len(buddy) == 0 || len(sums) != len(buddy) {
		t.Errorf("%d zones in pagetypeinfo, %d in buddyinfo", len(sums), len(buddy))
	}
	for zone, b := range buddy {
		if !slices.Equal(b, sums[norm(zone)]) {
			t.Errorf("%s: buddyinfo %v, pagetypeinfo's lists sum to %v", zone, b, sums[norm(zone)])
		}
	}
}
