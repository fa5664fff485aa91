package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
)

type file struct {
	name, data string
	mode       int64
}

// write makes an archive of files, compressed as comp ("gz", "xz" or "").
func write(t *testing.T, comp string, files []file) string {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, f := range files {
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Name: f.name, Mode: mode, Size: int64(len(f.data)), ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.data))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	switch comp {
	case "gz":
		zw := gzip.NewWriter(&out)
		zw.Write(tb.Bytes())
		zw.Close()
	case "xz":
		xw, err := xz.NewWriter(&out)
		if err != nil {
			t.Fatal(err)
		}
		xw.Write(tb.Bytes())
		xw.Close()
	default:
		out = tb
	}
	name := filepath.Join(t.TempDir(), "a.tar."+comp)
	if err := os.WriteFile(name, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

const top = "vmcore-report-x/"

func manifest(started string, dur int) string {
	return `{"run": {"started": "` + started + `", "duration_ms": ` + strings.Repeat("1", dur) + `, "version": "v1"},
	  "outputs": [{"path": "proc/meminfo", "status": "ok", "duration_ms": ` + strings.Repeat("2", dur) + `}]}`
}

func base() []file {
	return []file{
		{name: top + "proc/meminfo", data: "MemTotal: 1 kB\nMemFree: 2 kB\n"},
		{name: top + manifestPath, data: manifest("2026-01-01T00:00:00Z", 1)},
		{name: top + logPath, data: "took 12 ms\n"},
		{name: top + "proc/version", data: "Linux\n"},
	}
}

func readAll(t *testing.T, name string) []entry {
	t.Helper()
	e, err := read(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// What differs between two runs by design is not a difference: the
// manifest's timings and the log; the compression does not matter either.
func TestSameRun(t *testing.T) {
	b := base()
	b[1].data = manifest("2026-05-05T12:00:00Z", 3)
	b[2].data = "took 99 ms\nmore\n"
	x, y := readAll(t, write(t, "gz", base())), readAll(t, write(t, "xz", b))
	if d := compare(x, y); len(d) != 0 {
		t.Errorf("runs differing only in timing: %q", d)
	}
	if len(x) != 4 {
		t.Errorf("%d entries, want 4", len(x))
	}
	if d := compare(x, readAll(t, write(t, "", base()))); len(d) != 0 {
		t.Errorf("a plain tar: %q", d)
	}
}

func TestDifferences(t *testing.T) {
	a := readAll(t, write(t, "gz", base()))
	for _, c := range []struct {
		what string
		edit func([]file) []file
		want []string
	}{
		{"content", func(f []file) []file { f[0].data = "MemTotal: 1 kB\nMemFree: 3 kB\n"; return f },
			[]string{top + "proc/meminfo: contents differ at line 2:\n  A: \"MemFree: 2 kB\"\n  B: \"MemFree: 3 kB\""}},
		{"manifest status", func(f []file) []file { f[1].data = strings.Replace(f[1].data, `"ok"`, `"partial"`, 1); return f },
			[]string{top + manifestPath + ": contents differ"}},
		{"mode", func(f []file) []file { f[3].mode = 0o600; return f },
			[]string{top + "proc/version: headers differ"}},
		{"missing", func(f []file) []file { return f[:3] },
			[]string{"only in A: " + top + "proc/version"}},
		{"extra", func(f []file) []file { return append(f, file{name: top + "proc/new", data: "x"}) },
			[]string{"only in B: " + top + "proc/new"}},
		{"order", func(f []file) []file { f[0], f[3] = f[3], f[0]; return f },
			[]string{"in another order"}},
	} {
		d := compare(a, readAll(t, write(t, "gz", c.edit(base()))))
		if len(d) == 0 {
			t.Errorf("%s: no difference found", c.what)
			continue
		}
		for _, w := range c.want {
			found := false
			for _, x := range d {
				found = found || strings.Contains(x, w)
			}
			if !found {
				t.Errorf("%s: differences %q lack %q", c.what, d, w)
			}
		}
	}
}

func TestManyDifferences(t *testing.T) {
	var fa, fb []file
	for i := range 50 {
		n := top + "f" + strings.Repeat("x", i)
		fa = append(fa, file{name: n, data: "a"})
		fb = append(fb, file{name: n, data: "b"})
	}
	d := compare(readAll(t, write(t, "", fa)), readAll(t, write(t, "", fb)))
	if len(d) != maxDiffs+1 || d[maxDiffs] != "… (more differences)" {
		t.Errorf("%d differences listed, last %q; want %d and a marker", len(d), d[len(d)-1], maxDiffs)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.tar.gz")
	os.WriteFile(bad, []byte{0x1f, 0x8b, 0, 0, 1, 2, 3}, 0o644)
	if _, err := read(bad); err == nil {
		t.Error("a broken gzip read without an error")
	}
	if _, err := read(filepath.Join(dir, "absent")); err == nil {
		t.Error("a missing file read without an error")
	}
	badManifest := write(t, "gz", []file{{name: top + manifestPath, data: "{not json"}})
	if _, err := read(badManifest); err == nil || !strings.Contains(err.Error(), "manifest") {
		t.Errorf("an unparsable manifest: %v", err)
	}
}
