package main

import (
	"bytes"
	"math/rand/v2"
	"slices"
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

// hinted records Prefetch hints and reads.
type hinted struct {
	r            *bytes.Reader
	hints, reads [][2]int64
}

func (h *hinted) ReadAt(p []byte, off int64) (int, error) {
	h.reads = append(h.reads, [2]int64{off, int64(len(p))})
	return h.r.ReadAt(p, off)
}

func (h *hinted) Prefetch(off, n int64) { h.hints = append(h.hints, [2]int64{off, n}) }

// TestCachedReaderAtPrefetch: a hint becomes one per chunk not cached (or
// the exact range of a direct read), and the reads that follow ask the
// underlying reader for exactly those ranges, without read-ahead.
func TestCachedReaderAtPrefetch(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	h := &hinted{r: bytes.NewReader(data)}
	c := NewCachedReaderAt(h, int64(len(data)), 32<<10, 8<<20)
	c.SetDirect(64 << 10)
	buf := make([]byte, 100)
	if _, err := c.ReadAt(buf, 0); err != nil { // chunk 0 cached
		t.Fatal(err)
	}
	h.reads = nil
	c.Prefetch(10, 40<<10)          // chunk 0 cached: chunk 1 only
	c.Prefetch(100<<10, 200<<10)    // direct: exact
	c.Prefetch(1<<20-10, 1000)      // the last chunk
	c.Prefetch(int64(len(data)), 5) // past the end: nothing
	want := [][2]int64{{32 << 10, 32 << 10}, {100 << 10, 200 << 10}, {1<<20 - 32<<10, 32 << 10}}
	if !slices.Equal(h.hints, want) {
		t.Fatalf("hints %v, want %v", h.hints, want)
	}
	for _, r := range [][2]int64{{10, 40 << 10}, {100 << 10, 200 << 10}, {1<<20 - 10, 10}, {33 << 10, 10}} {
		b := make([]byte, r[1])
		if _, err := c.ReadAt(b, r[0]); err != nil || !bytes.Equal(b, data[r[0]:r[0]+r[1]]) {
			t.Fatalf("read %v: %v", r, err)
		}
	}
	if !slices.Equal(h.reads, want) {
		t.Fatalf("reads %v, want the hinted ranges %v", h.reads, want)
	}
}

// TestCachedReaderAtPrefetchNeighbour: with SetPrefetchNeighbour a miss
// hints the chunk after those it read (not one cached, asked already or
// past the end), and a later read of that chunk asks for it alone.
func TestCachedReaderAtPrefetchNeighbour(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<12) // 64 KiB: 8 chunks of 8 KiB
	h := &hinted{r: bytes.NewReader(data)}
	c := NewCachedReaderAt(h, int64(len(data)), 8<<10, 1<<20)
	c.SetPrefetchNeighbour()
	read := func(off, n int64) {
		t.Helper()
		b := make([]byte, n)
		if _, err := c.ReadAt(b, off); err != nil || !bytes.Equal(b, data[off:off+n]) {
			t.Fatalf("read %d+%d: %v", off, n, err)
		}
	}
	read(3<<10, 10) // miss at chunk 0: hints chunk 1
	read(5<<10, 10) // hit: no hint
	read(40<<10, 5) // miss at chunk 5: hints chunk 6
	read(49<<10, 5) // chunk 6, hinted: read alone; hints chunk 7
	read(57<<10, 5) // chunk 7, hinted: read alone; nothing after the end
	want := [][2]int64{{8 << 10, 8 << 10}, {48 << 10, 8 << 10}, {56 << 10, 8 << 10}}
	if !slices.Equal(h.hints, want) {
		t.Fatalf("hints %v, want %v", h.hints, want)
	}
	wantReads := [][2]int64{{0, 8 << 10}, {40 << 10, 8 << 10}, {48 << 10, 8 << 10}, {56 << 10, 8 << 10}}
	if !slices.Equal(h.reads, wantReads) {
		t.Fatalf("reads %v, want %v", h.reads, wantReads)
	}
}
