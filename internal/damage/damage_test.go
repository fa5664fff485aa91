package damage

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func read(t *testing.T, f *File, off int64, n int) ([]byte, error) {
	t.Helper()
	p := make([]byte, n)
	got, err := f.ReadAt(p, off)
	return p[:got], err
}

func TestWriteAndFlip(t *testing.T) {
	base := []byte("0123456789abcdef")
	f := New(bytes.NewReader(base), int64(len(base)))
	g := f.Write(2, []byte("XYZ")).Write(3, []byte("q")).Flip(10, 0x20)
	b, err := read(t, g, 0, 16)
	// later patches win where they overlap; 'a'^0x20 is 'A'
	if err != nil || string(b) != "01XqZ56789Abcdef" {
		t.Errorf("damaged read %q, %v", b, err)
	}
	// A read that starts inside a patch sees only its tail.
	if b, _ := read(t, g, 3, 3); string(b) != "qZ5" {
		t.Errorf("read at 3: %q", b)
	}
	// The receiver is left as it was.
	if b, _ := read(t, f, 0, 16); string(b) != string(base) {
		t.Errorf("original changed: %q", b)
	}
	// Flip of a byte past the end changes nothing.
	h := f.Cut(4).Flip(8, 0xff)
	if b, err := read(t, h, 0, 4); err != nil || string(b) != "0123" {
		t.Errorf("flip past the cut: %q, %v", b, err)
	}
}

func TestCut(t *testing.T) {
	base := []byte("0123456789")
	f := New(bytes.NewReader(base), int64(len(base))).Write(5, []byte("abcdef"))
	c := f.Cut(7)
	if c.Size != 7 || f.Size != 10 {
		t.Fatalf("sizes %d, %d", c.Size, f.Size)
	}
	b, err := read(t, c, 4, 10)
	if string(b) != "4ab" || !errors.Is(err, io.EOF) {
		t.Errorf("read across the cut: %q, %v; want \"4ab\", EOF", b, err)
	}
	if _, err := read(t, c, 7, 1); err != io.EOF {
		t.Errorf("read at the cut: %v, want EOF", err)
	}
	if _, err := read(t, c, -1, 1); err == nil {
		t.Error("negative offset read without an error")
	}
	// Cut clamps to [0, size]: a larger n keeps the size.
	if f.Cut(100).Size != 10 || f.Cut(-3).Size != 0 {
		t.Errorf("Cut(100) %d, Cut(-3) %d", f.Cut(100).Size, f.Cut(-3).Size)
	}
	// A patch beyond the file's own bytes is not read back.
	g := New(bytes.NewReader(base), 10).Write(8, []byte("WXYZ"))
	if b, err := read(t, g, 6, 8); string(b) != "67WX" || err != io.EOF {
		t.Errorf("patch past the end: %q, %v", b, err)
	}
}
