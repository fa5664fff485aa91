package report

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"
)

// TestTarSinkAsArchiveTar checks TarSink's directly written headers
// against archive/tar writing the same entries, around the limits of a
// plain USTAR header (names of 100 bytes and more, non-ASCII, sizes at
// block boundaries), with entries archive/tar writes in between.
func TestTarSinkAsArchiveTar(t *testing.T) {
	modTime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	top := "sosvmcore-host-2024-05-06"
	long := strings.Repeat("d", 60) + "/" + strings.Repeat("f", 60)
	files := []struct {
		name string
		size int
	}{
		{"a", 0}, {"proc/1/status", 1}, {"proc/1/maps", 511}, {"proc/10/maps", 512}, {"proc/2/x", 513},
		{"sys/" + strings.Repeat("n", 100-len(top)-5), 7}, // 100 bytes with the top folder
		{"sys/" + strings.Repeat("n", 101-len(top)-5), 7}, // 101: archive/tar splits it
		{long, 1000}, {"sys/é", 3}, {"sys/after", 5}, {strings.Repeat("x", 200), 2}, {"z/last", 4096},
	}
	var got bytes.Buffer
	s, err := NewTarSink(&got, TarPlain, modTime)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	tw := tar.NewWriter(&want)
	dirs := map[string]bool{}
	var addDirs func(string)
	addDirs = func(d string) {
		if d == "." || dirs[d] {
			return
		}
		addDirs(path.Dir(d))
		dirs[d] = true
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: modTime, Uname: "root", Gname: "root"}); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range files {
		name := top + "/" + f.name
		data := bytes.Repeat([]byte{byte('a' + i)}, f.size)
		if err := s.AddFile(name, data, fs.FileMode(0o644)); err != nil {
			t.Fatal(err)
		}
		addDirs(path.Dir(name))
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(f.size), ModTime: modTime, Uname: "root", Gname: "root"}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		g, w := got.Bytes(), want.Bytes()
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		t.Fatalf("archives differ at byte %d (block %d, offset %d): %d and %d bytes", i, i/512, i%512, len(g), len(w))
	}
}
