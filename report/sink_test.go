package report

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
)

var crashTime = time.Date(2026, 11, 25, 18, 31, 5, 0, time.UTC)

func writeTar(t *testing.T, c Compression, files [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	s, err := NewTarSink(&buf, c, crashTime.Add(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := s.AddFile(f[0], []byte(f[1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readTar decompresses and lists an archive.
func readTar(t *testing.T, c Compression, b []byte) []*tar.Header {
	t.Helper()
	var r io.Reader = bytes.NewReader(b)
	switch c {
	case TarGzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		if zr.Name != "" || !zr.ModTime.IsZero() {
			t.Errorf("gzip header carries name %q, time %v", zr.Name, zr.ModTime)
		}
		r = zr
	case TarXZ:
		xr, err := xz.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = xr
	}
	tr := tar.NewReader(r)
	var hs []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}

func TestTarSink(t *testing.T) {
	files := [][2]string{
		{"top/proc/1/status", "Name:\tinit\n"},
		{"top/proc/meminfo", "MemTotal: 1 kB\n"},
		{"top/sos_commands/kernel/dmesg", ""},
		{"top/version.txt", "vmcore-report: test\n"},
	}
	wantNames := []string{"top/", "top/proc/", "top/proc/1/", "top/proc/1/status", "top/proc/meminfo",
		"top/sos_commands/", "top/sos_commands/kernel/", "top/sos_commands/kernel/dmesg", "top/version.txt"}
	for _, c := range []Compression{TarPlain, TarGzip, TarXZ} {
		t.Run(c.Ext(), func(t *testing.T) {
			a, b := writeTar(t, c, files), writeTar(t, c, files)
			if !bytes.Equal(a, b) {
				t.Errorf("two archives of the same files differ")
			}
			hs := readTar(t, c, a)
			if len(hs) != len(wantNames) {
				t.Fatalf("%d entries, want %d", len(hs), len(wantNames))
			}
			for i, h := range hs {
				wantMode, wantType := int64(0o644), byte(tar.TypeReg)
				if h.Name[len(h.Name)-1] == '/' {
					wantMode, wantType = 0o755, tar.TypeDir
				}
				if h.Name != wantNames[i] || h.Mode != wantMode || h.Typeflag != wantType || !h.ModTime.Equal(crashTime) ||
					h.Uid != 0 || h.Gid != 0 || h.Uname != "root" || h.Gname != "root" || !h.AccessTime.IsZero() {
					t.Errorf("entry %d: %+v, want %s mode %o at %v owned by root", i, h, wantNames[i], wantMode, crashTime)
				}
			}
		})
	}
}

func TestTarSinkRejects(t *testing.T) {
	s, err := NewTarSink(io.Discard, TarPlain, crashTime)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddFile("top/a", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"top/a", "/abs", "top/../x", "top//x", "top/a/b"} {
		if err := s.AddFile(bad, nil, 0o644); err == nil {
			t.Errorf("AddFile(%q) accepted", bad)
		}
	}
}

func TestCompressionFor(t *testing.T) {
	for name, want := range map[string]Compression{"a.tar.xz": TarXZ, "a.TXZ": TarXZ, "b.tar.gz": TarGzip, "b.tgz": TarGzip, "c.tar": TarPlain} {
		if c, ok := CompressionFor(name); !ok || c != want {
			t.Errorf("CompressionFor(%q) = %v, %v", name, c, ok)
		}
	}
	for _, name := range []string{"a.zip", "a", "a.xz"} {
		if _, ok := CompressionFor(name); ok {
			t.Errorf("CompressionFor(%q) accepted", name)
		}
	}
	if got := Sidecar([]byte{0xab, 0xcd}, "/tmp/x/report.tar.xz"); got != "abcd  report.tar.xz\n" {
		t.Errorf("sidecar %q", got)
	}
}

func TestDirSink(t *testing.T) {
	root := t.TempDir()
	s, err := NewDirSink(root, crashTime)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range [][2]string{{"top/proc/1/status", "x\n"}, {"top/version.txt", "v\n"}} {
		if err := s.AddFile(f[0], []byte(f[1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddFile("../escape", nil, 0o644); err == nil {
		t.Errorf("a path leaving the root was accepted")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"top", "top/proc", "top/proc/1", "top/proc/1/status", "top/version.txt"} {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o644)
		if fi.IsDir() {
			want = 0o755 | os.ModeDir
		}
		if fi.Mode() != want || !fi.ModTime().Equal(crashTime) {
			t.Errorf("%s: mode %v time %v, want %v at %v", p, fi.Mode(), fi.ModTime(), want, crashTime)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "top/proc/1/status")); string(b) != "x\n" {
		t.Errorf("content %q", b)
	}
}

// A plain tar stream written through NewCompressor, in pieces of any size,
// gives the TarSink's compressed archive byte for byte: the browser relies
// on it to pack in a second worker while the report is written.
func TestCompressorMatchesTarSink(t *testing.T) {
	mt := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	files := map[string][]byte{}
	var names []string
	for i := range 300 {
		name := filepath.ToSlash(filepath.Join("top", "proc", string(rune('a'+i%26)), "status"+string(rune('0'+i%10))))
		if _, dup := files[name]; dup {
			continue
		}
		names = append(names, name)
		files[name] = bytes.Repeat([]byte("Name:\tkworker/0:1\nState:\tI (idle)\n"), 1+i%40)
	}
	write := func(s Sink) {
		for _, n := range names {
			if err := s.AddFile(n, files[n], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []Compression{TarXZ, TarGzip} {
		var direct bytes.Buffer
		s, err := NewTarSink(&direct, c, mt)
		if err != nil {
			t.Fatal(err)
		}
		write(s)

		var plain, packed bytes.Buffer
		p, _ := NewTarSink(&plain, TarPlain, mt)
		write(p)
		comp, err := NewCompressor(&packed, c)
		if err != nil {
			t.Fatal(err)
		}
		for b, step := plain.Bytes(), 1; len(b) > 0; step = step*3 + 7 {
			n := min(step%70000+1, len(b))
			if _, err := comp.Write(b[:n]); err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
		if err := comp.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(direct.Bytes(), packed.Bytes()) {
			t.Errorf("%s: packed separately %d bytes, TarSink %d bytes: not identical", c.Ext(), packed.Len(), direct.Len())
		}
	}
}

type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// A failing output surfaces as an error of AddFile or, at the latest, of
// Close, though the compressor writes to it from another goroutine.
func TestTarSinkWriteError(t *testing.T) {
	for _, c := range []Compression{TarXZ, TarGzip} {
		s, err := NewTarSink(&failAfter{n: 1000}, c, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		data := make([]byte, 200<<10)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		var addErr error
		for i := 0; i < 40 && addErr == nil; i++ {
			addErr = s.AddFile(fmt.Sprintf("top/f%d", i), data, 0o644)
		}
		closeErr := s.Close()
		if addErr == nil && closeErr == nil {
			t.Errorf("%s: no error from a full disk", c.Ext())
		}
		if closeErr != nil && !strings.Contains(closeErr.Error(), "disk full") {
			t.Errorf("%s: Close error %v, want the writer's", c.Ext(), closeErr)
		}
	}
}
