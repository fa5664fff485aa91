//go:build !js

package report

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// A name given twice, or a file where a folder must go, is refused as
// the tar sink refuses it, and nothing existing is overwritten.
func TestDirSinkRejects(t *testing.T) {
	root := t.TempDir()
	s, err := NewDirSink(root, crashTime)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddFile("top/a/b", []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.AddFile("top/a/b", []byte("2"), 0o644); err == nil {
		t.Errorf("a file written twice was accepted")
	}
	if err := s.AddFile("top/a/b/c", []byte("3"), 0o644); err == nil {
		t.Errorf("a file under a file was accepted")
	}
	if b, _ := os.ReadFile(filepath.Join(root, "top/a/b")); string(b) != "1" {
		t.Errorf("content %q, want the first write's", b)
	}
}

// The files get the mode asked for whatever the umask lets through, as
// tar entries do.
func TestDirSinkUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	root := t.TempDir()
	s, err := NewDirSink(root, crashTime)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range []os.FileMode{0o644, 0o644, 0o600, 0o755} {
		if err := s.AddFile("top/d/f"+strconv.Itoa(i), []byte("x"), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for i, m := range []os.FileMode{0o644, 0o644, 0o600, 0o755} {
		fi, err := os.Stat(filepath.Join(root, "top/d/f"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != m || !fi.ModTime().Equal(crashTime) {
			t.Errorf("f%d: mode %v time %v, want %v at %v", i, fi.Mode(), fi.ModTime(), m, crashTime)
		}
	}
	for _, d := range []string{"top", "top/d"} {
		if fi, err := os.Stat(filepath.Join(root, d)); err != nil || fi.Mode() != 0o755|os.ModeDir {
			t.Errorf("%s: %v %v, want a folder 0755", d, fi.Mode(), err)
		}
	}
}

// BenchmarkDirSink writes a report shaped like the many-tasks one (430
// processes of 9 small files each, the sizes of /proc/1's, under
// proc/<pid>/): the cost of folder output per file, without the analysis.
func BenchmarkDirSink(b *testing.B) {
	sizes := []int{0, 5, 1323, 642, 0, 265, 23, 1347, 1}
	names := []string{"cmdline", "comm", "limits", "mountinfo", "stack", "stat", "statm", "status", "wchan"}
	const pids = 430
	data := make([]byte, 1400)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	var files []string
	for p := 1; p <= pids; p++ {
		for _, n := range names {
			files = append(files, "top/proc/"+strconv.Itoa(p)+"/"+n)
		}
	}
	base := b.TempDir()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		root := filepath.Join(base, strconv.Itoa(i))
		if err := os.Mkdir(root, 0o755); err != nil {
			b.Fatal(err)
		}
		s, err := NewDirSink(root, crashTime)
		if err != nil {
			b.Fatal(err)
		}
		for j, f := range files {
			if err := s.AddFile(f, data[:sizes[j%len(sizes)]], 0o644); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(root); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(files)), "ns/file")
}
