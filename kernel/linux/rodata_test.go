package linux

import (
	"bytes"
	"errors"
	"testing"
)

// countingReader counts the bytes read and fails past failAt.
type countingReader struct {
	b      []byte
	read   int64
	failAt int64
}

var errFailed = errors.New("unreadable")

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	if c.failAt > 0 && off+int64(len(p)) > c.failAt {
		return 0, errFailed
	}
	c.read += int64(len(p))
	return copy(p, c.b[off:]), nil
}

// TestRodataScanner: needles across a piece seam are found, a second
// search reads nothing again, a search stops at the piece where its last
// needle is, and a read error is returned to every search that needs the
// piece.
func TestRodataScanner(t *testing.T) {
	data := bytes.Repeat([]byte{'x'}, 3*rodataPiece-100)
	copy(data[rodataPiece-3:], "seam-needle") // across the first seam
	copy(data[10:], "early")
	copy(data[len(data)-5:], "last!")
	r := &countingReader{b: data}
	s := NewReaderScanner(r, int64(len(data)))

	m, err := s.Contains("early")
	if err != nil || !m["early"] || r.read != rodataPiece {
		t.Fatalf("early: %v %v, read %d", m, err, r.read)
	}
	m, err = s.Contains("seam-needle", "last!", "absent")
	if err != nil || !m["seam-needle"] || !m["last!"] || m["absent"] || r.read != int64(len(data)) {
		t.Fatalf("all: %v %v, read %d of %d", m, err, r.read, len(data))
	}
	m, err = s.Contains("early", "absent")
	if err != nil || !m["early"] || m["absent"] || r.read != int64(len(data)) {
		t.Fatalf("again: %v %v, read %d", m, err, r.read)
	}
	// The same answers as one scan of the whole.
	for _, n := range []string{"seam-needle", "last!", "early", "xxxx", "absent"} {
		want := bytes.Contains(data, []byte(n))
		got, err := ReaderContains(&countingReader{b: data}, int64(len(data)), n)
		if err != nil || got[n] != want {
			t.Errorf("ReaderContains(%q) = %v %v, want %v", n, got[n], err, want)
		}
	}

	bad := NewReaderScanner(&countingReader{b: data, failAt: rodataPiece + 1}, int64(len(data)))
	if m, err := bad.Contains("early"); err != nil || !m["early"] {
		t.Fatalf("first piece: %v %v", m, err)
	}
	for range 2 {
		if _, err := bad.Contains("last!"); !errors.Is(err, errFailed) {
			t.Fatalf("second piece: err %v, want %v", err, errFailed)
		}
	}
	if m, err := NewReaderScanner(r, 0).Contains("early"); err != nil || len(m) != 0 {
		t.Fatalf("empty: %v %v", m, err)
	}
}
