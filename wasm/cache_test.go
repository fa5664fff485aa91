package main

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestCachedReaderAt(t *testing.T) {
	data := make([]byte, 10<<20+123)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	under := &countingReader{r: bytes.NewReader(data)}
	c := NewCachedReaderAt(under, int64(len(data)), 1<<20, 4<<20)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 5000; i++ {
		off := r.Int64N(int64(len(data)) + 10)
		n := r.IntN(9000)
		if i%50 == 0 {
			n = r.IntN(3 << 20)
		}
		buf := make([]byte, n)
		got, err := c.ReadAt(buf, off)
		wantN := max(0, min(int64(n), int64(len(data))-off))
		if int64(got) != wantN || !bytes.Equal(buf[:got], data[off:off+wantN]) {
			t.Fatalf("read %d at %d: got %d, %v", n, off, got, err)
		}
		if (wantN < int64(n)) != (err != nil) {
			t.Fatalf("read %d at %d: err %v", n, off, err)
		}
	}
	// Sequential small reads go out in growing read-ahead windows.
	c2 := NewCachedReaderAt(under, int64(len(data)), 1<<20, 16<<20)
	under.calls = 0
	buf := make([]byte, 4096)
	for off := int64(0); off+4096 <= int64(len(data)); off += 4096 {
		if _, err := c2.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
	}
	if under.calls > 6 {
		t.Errorf("sequential read of 10 MiB took %d underlying reads", under.calls)
	}
	// With SetDirect, a read of that size is one exact underlying read;
	// smaller ones still come from chunks.
	c3 := NewCachedReaderAt(under, int64(len(data)), 256<<10, 4<<20)
	c3.SetDirect(64 << 10)
	under.calls = 0
	big := make([]byte, 100<<10)
	for i := range 3 {
		if _, err := c3.ReadAt(big, 5<<20+int64(i)*10); err != nil || !bytes.Equal(big, data[5<<20+i*10:][:len(big)]) {
			t.Fatalf("direct read %d: %v", i, err)
		}
	}
	if st := c3.Stats(); under.calls != 3 || st.BytesRead != 3*int64(len(big)) {
		t.Errorf("3 direct reads of 100 KiB: %d underlying reads, %d bytes", under.calls, st.BytesRead)
	}
	small := make([]byte, 1000)
	for i := range 3 {
		if _, err := c3.ReadAt(small, 7<<20+int64(i)*1000); err != nil || !bytes.Equal(small, data[7<<20+i*1000:][:1000]) {
			t.Fatalf("small read %d: %v", i, err)
		}
	}
	if under.calls != 4 {
		t.Errorf("3 small reads in one chunk: %d underlying reads in all, want 4", under.calls)
	}
}

type countingReader struct {
	r     *bytes.Reader
	calls int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	return c.r.ReadAt(p, off)
}
