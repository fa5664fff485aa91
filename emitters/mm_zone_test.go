package emitters

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// splitValue splits a line into its text and trailing decimal value.
func splitValue(l string) (key string, v int64, ok bool) {
	key = strings.TrimRight(l, "0123456789")
	if key == l {
		return l, 0, false
	}
	v, err := strconv.ParseInt(l[len(key):], 10, 64)
	return key, v, err == nil
}

// kernelBefore reports whether the fixture's kernel is older than
// major.minor (tests may know releases; the emitters probe types).
func kernelBefore(s *fixtures.Set, major, minor int) bool {
	var a, b int
	fmt.Sscanf(s.Manifest.KernelRelease, "%d.%d", &a, &b)
	return a < major || a == major && b < minor
}

// checkZoneinfo: the same lines with the same text up to each value; the
// static values (spans, managed pages, watermarks, batch, thresholds,
// start_pfn) exact; counters by the vmstat rules; per-cpu list counts free
// to move (every allocation and free passes through them), and so is
// pcp->high from 6.7 on, which the kernel tunes as it runs. protection is
// recomputed by setup_per_zone_lowmem_reserve() on every read of
// /proc/sys/vm/lowmem_reserve_ratio (the capture read it after zoneinfo,
// with more managed pages than at boot), so it is checked against that
// computation from the dump's managed pages and the live ratios.
func checkZoneinfo(t *testing.T, s *fixtures.Set, got string) {
	want := truth(t, s, "proc/zoneinfo")
	T, _ := captureSize(t, s)
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(wl) != len(gl) {
		t.Fatalf("%d lines, kernel %d:\n%s", len(gl), len(wl), lineDiff(want, got))
	}
	exact := map[string]bool{"min": true, "low": true, "high": true, "promo": true, "spanned": true,
		"present": true, "managed": true, "cma": true, "cpu:": true, "batch:": true,
		"vm stats threshold:": true, "node_unreclaimable:": true, "start_pfn:": true}
	if kernelBefore(s, 6, 7) {
		exact["high:"] = true
	}
	var managed []int64 // of the current node, by zone
	var prot [][]int64  // idem
	node := -1
	for i := range wl {
		var nid int
		if _, err := fmt.Sscanf(gl[i], "Node %d,", &nid); err == nil && nid != node {
			if node >= 0 {
				checkProtection(t, s, managed, prot)
			}
			node, managed, prot = nid, nil, nil
		}
		if p, ok := strings.CutPrefix(strings.TrimSpace(gl[i]), "protection: ("); ok {
			var row []int64
			for _, f := range strings.Split(strings.TrimSuffix(p, ")"), ", ") {
				v, _ := strconv.ParseInt(f, 10, 64)
				row = append(row, v)
			}
			prot = append(prot, row)
			if !strings.HasPrefix(strings.TrimSpace(wl[i]), "protection: (") || strings.Count(wl[i], ",") != strings.Count(gl[i], ",") {
				t.Errorf("line %d: %q, kernel %q", i+1, gl[i], wl[i])
			}
			continue
		}
		wk, wv, wok := splitValue(wl[i])
		gk, gv, gok := splitValue(gl[i])
		if wk != gk || wok != gok {
			t.Errorf("line %d: %q, kernel %q", i+1, gl[i], wl[i])
			continue
		}
		if !gok {
			continue
		}
		label := strings.TrimSpace(gk)
		if label == "managed" {
			managed = append(managed, gv)
		}
		switch {
		case exact[label]:
			if wv != gv {
				t.Errorf("line %d %q: %d, kernel %d: must match exactly", i+1, label, gv, wv)
			}
		case label == "count:" || label == "high:":
			// per-cpu lists move with every allocation
		default:
			if ok, rule := vmstatValueOK(strings.TrimPrefix(label, "pages "), false, wv, gv, T/4); !ok {
				t.Errorf("line %d %q: %d, kernel %d (%s)", i+1, label, gv, wv, rule)
			}
		}
	}
	checkProtection(t, s, managed, prot)
}

// checkProtection recomputes lowmem_reserve[] as
// setup_per_zone_lowmem_reserve() does.
func checkProtection(t *testing.T, s *fixtures.Set, managed []int64, prot [][]int64) {
	var ratios []int64
	for _, f := range strings.Fields(truth(t, s, "proc/sys/vm/lowmem_reserve_ratio")) {
		v, _ := strconv.ParseInt(f, 10, 64)
		ratios = append(ratios, v)
	}
	if len(prot) != len(managed) || len(ratios) < len(managed)-1 {
		t.Errorf("protection rows %d, zones %d, ratios %d", len(prot), len(managed), len(ratios))
		return
	}
	for i, row := range prot {
		var sum int64
		for j := range row {
			want := int64(0)
			if j > i && i < len(managed)-1 {
				sum += managed[j]
				if ratios[i] != 0 && managed[i] != 0 {
					want = sum / ratios[i]
				}
			}
			if row[j] != want {
				t.Errorf("zone %d protection[%d] = %d, setup_per_zone_lowmem_reserve gives %d", i, j, row[j], want)
			}
		}
	}
}

// zoneRows parses "Node N, zone NAME c0 c1 …" rows (buddyinfo) by label.
func zoneRows(text, sep string) (labels []string, rows map[string][]int64) {
	rows = map[string][]int64{}
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if !strings.HasPrefix(l, "Node ") {
			continue
		}
		i := strings.Index(l, sep)
		if i < 0 {
			continue
		}
		head := strings.Fields(l[i+len(sep):])
		label := l[:i+len(sep)] + " " + head[0]
		var vals []int64
		for _, f := range head[1:] {
			v, _ := strconv.ParseInt(strings.TrimPrefix(f, ">"), 10, 64)
			vals = append(vals, v)
		}
		labels = append(labels, label)
		rows[label] = vals
	}
	return labels, rows
}

// freePages is Σ count·2^order of a buddyinfo-style row.
func freePages(counts []int64) int64 {
	var n int64
	for o, c := range counts {
		n += c << o
	}
	return n
}

// checkBuddyinfo: the same zones and orders, widths as the kernel's; the
// free pages of each zone by the gauge rule (blocks split and merge, so
// single orders are not compared).
func checkBuddyinfo(t *testing.T, s *fixtures.Set, got string) {
	want := truth(t, s, "proc/buddyinfo")
	T, _ := captureSize(t, s)
	wl, wr := zoneRows(want, "zone")
	gl, gr := zoneRows(got, "zone")
	if strings.Join(wl, "|") != strings.Join(gl, "|") || len(want) != len(got) {
		t.Fatalf("rows differ:\n%s", lineDiff(want, got))
	}
	for _, l := range wl {
		if len(wr[l]) != len(gr[l]) {
			t.Errorf("%s: %d orders, kernel %d", l, len(gr[l]), len(wr[l]))
		}
		if ok, rule := vmstatValueOK("nr_free_pages", false, freePages(wr[l]), freePages(gr[l]), T/4); !ok {
			t.Errorf("%s: %d free pages, kernel %d (%s)", l, freePages(gr[l]), freePages(wr[l]), rule)
		}
	}
}
