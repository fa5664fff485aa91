package zstd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// The frames in testdata were made from pages.bin (text lines, a run of
// zeros, random bytes) with the zstd 1.5.4 CLI:
//
//	zstd -1 -c pages.bin > pages.1.zst
//	zstd -19 -c pages.bin > pages.19.zst
//	zstd --no-check -3 -c pages.bin > pages.nocheck.zst

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(b []byte) ([]byte, error) { return io.ReadAll(NewReader(bytes.NewReader(b))) }

func TestDecode(t *testing.T) {
	want := testdata(t, "pages.bin")
	for _, name := range []string{"pages.1.zst", "pages.19.zst", "pages.nocheck.zst"} {
		got, err := decode(testdata(t, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want the %d bytes of pages.bin", name, len(got), err, len(want))
		}
	}
}

func TestFrames(t *testing.T) {
	want := testdata(t, "pages.bin")
	a, b := testdata(t, "pages.1.zst"), testdata(t, "pages.19.zst")
	// Concatenated frames decode to the concatenation; a skippable frame
	// (magic 0x184D2A5?, length, payload) is passed over.
	skip := binary.LittleEndian.AppendUint32(nil, 0x184D2A53)
	skip = binary.LittleEndian.AppendUint32(skip, 5)
	skip = append(skip, "hello"...)
	in := append(append(append([]byte{}, a...), skip...), b...)
	got, err := decode(in)
	if err != nil || !bytes.Equal(got, append(append([]byte{}, want...), want...)) {
		t.Errorf("two frames around a skippable one: %d bytes, %v", len(got), err)
	}

	// Reset reads a new stream with the same Reader, byte by byte too.
	r := NewReader(bytes.NewReader(a))
	if _, err := io.ReadAll(r); err != nil {
		t.Fatal(err)
	}
	r.Reset(bytes.NewReader(b))
	var out []byte
	for {
		c, err := r.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("ReadByte after %d bytes: %v", len(out), err)
		}
		out = append(out, c)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("after Reset: %d bytes, not pages.bin", len(out))
	}
}

func TestCorrupt(t *testing.T) {
	good := testdata(t, "pages.1.zst")
	damaged := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	for name, in := range map[string][]byte{
		"empty":          nil,
		"bad magic":      damaged(func(b []byte) []byte { b[0] ^= 1; return b }),
		"checksum":       damaged(func(b []byte) []byte { b[len(b)-1] ^= 0x40; return b }),
		"truncated":      good[:len(good)/2],
		"no checksum":    good[:len(good)-4],
		"reserved bit":   damaged(func(b []byte) []byte { b[4] |= 1 << 3; return b }),
		"trailing bytes": append(append([]byte{}, good...), 1, 2, 3),
		// Frame header descriptor: single segment, 1-byte dictionary ID 7,
		// 1-byte content size.
		"dictionary": {0x28, 0xb5, 0x2f, 0xfd, 0x21, 7, 0},
	} {
		got, err := decode(in)
		if err == nil {
			t.Errorf("%s: decoded %d bytes without an error", name, len(got))
		}
		if name == "empty" || name == "truncated" {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s: %v, want io.ErrUnexpectedEOF", name, err)
			}
		}
		if name == "dictionary" && (err == nil || !strings.Contains(err.Error(), "dictionaries")) {
			t.Errorf("dictionary frame: %v", err)
		}
	}
	// Damage inside the compressed blocks: the decoder refuses the frame
	// (a bad table or sequence, or the checksum), never returns other bytes.
	want := testdata(t, "pages.bin")
	for off := 20; off < len(good)-8; off += 97 {
		got, err := decode(damaged(func(b []byte) []byte { b[off] ^= 0x10; return b }))
		if err == nil && !bytes.Equal(got, want) {
			t.Errorf("a flipped bit at %d: wrong output without an error", off)
		}
		if err == nil {
			t.Errorf("a flipped bit at %d: no error", off)
		}
	}
}
