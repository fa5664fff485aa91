package main

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/vmcore-report/vmcore-report/internal/lru"
)

// CachedReaderAt serves small reads from large aligned chunks of an
// underlying io.ReaderAt, keeping recently used chunks in a byte-bounded LRU
// and reading further ahead while access is sequential. It is meant to sit
// on top of readers whose cost is per call rather than per byte, such as a
// browser File read from a worker (1–2 ms per read, plus the bytes).
// Reads of at least two chunks (or SetDirect's size) bypass the cache.
// Safe for concurrent use.
type CachedReaderAt struct {
	mu       sync.Mutex
	r        io.ReaderAt
	size     int64
	chunk    int64
	direct   int64 // reads this large bypass the cache
	cache    *lru.LRU[int64]
	lastMiss int64 // chunk index of the previous miss, for read-ahead
	ahead    int64 // chunks fetched per miss; doubles while sequential
	stats    CacheStats
	// ahead of need: chunks asked of the underlying reader's Prefetch,
	// each read alone (no read-ahead) so that the read is the one asked.
	prefetched map[int64]bool
	// neighbour: a miss also asks the underlying reader's Prefetch for
	// the chunk after those it reads (SetPrefetchNeighbour).
	neighbour bool
}

// SetPrefetchNeighbour makes each miss also prefetch the chunk that
// follows, when the underlying reader can read ahead: a dump's pages
// that a report reads lie in clusters (the kernel's image, its slabs), so
// the next chunk is often read soon after, and then it is already there.
func (c *CachedReaderAt) SetPrefetchNeighbour() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.neighbour = true
}

// CacheStats counts what a CachedReaderAt did.
type CacheStats struct {
	Reads      int64 // ReadAt calls served
	Hits       int64 // chunk lookups found in the cache
	Misses     int64 // chunk lookups that went to the underlying reader
	Underlying int64 // ReadAt calls made on the underlying reader
	BytesRead  int64 // bytes read from the underlying reader
}

const maxReadAhead = 8 // chunks

// NewCachedReaderAt wraps r (size bytes long). chunk is the read unit
// (e.g. 1 MiB; values below 4 KiB are raised to 4 KiB) and maxBytes bounds
// the memory held in cached chunks (at least one read-ahead window is kept).
func NewCachedReaderAt(r io.ReaderAt, size int64, chunk int, maxBytes int64) *CachedReaderAt {
	if chunk < 4096 {
		chunk = 4096
	}
	if maxBytes < int64(chunk) {
		maxBytes = int64(chunk)
	}
	return &CachedReaderAt{
		r:        r,
		size:     size,
		chunk:    int64(chunk),
		direct:   2 * int64(chunk),
		cache:    lru.New[int64](maxBytes),
		lastMiss: -2,
		ahead:    1,
	}
}

// SetDirect makes reads of at least n bytes bypass the cache (2 chunks by
// default): for a file read in pieces of known extent (the sections of a
// vmlinux, its DWARF units), one exact read costs less than the chunks
// around it.
func (c *CachedReaderAt) SetDirect(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.direct = max(n, 1)
}

// Prefetch asks the underlying reader, when it can read ahead, for what a
// later ReadAt(off, n) will read from it: the exact range of a direct
// read, else the chunks not yet cached.
func (c *CachedReaderAt) Prefetch(off, n int64) {
	p, ok := c.r.(prefetcher)
	if !ok || off < 0 || n <= 0 || off >= c.size {
		return
	}
	n = min(n, c.size-off)
	c.mu.Lock()
	defer c.mu.Unlock()
	if n >= c.direct {
		p.Prefetch(off, n)
		return
	}
	for idx := off / c.chunk; idx*c.chunk < off+n; idx++ {
		c.prefetchChunk(idx)
	}
}

// prefetchChunk asks the underlying reader for chunk idx ahead of need,
// unless it is cached or asked already. c.mu is held.
func (c *CachedReaderAt) prefetchChunk(idx int64) {
	p, ok := c.r.(prefetcher)
	if !ok || c.prefetched[idx] || c.cache.Contains(idx) {
		return
	}
	if c.prefetched == nil {
		c.prefetched = map[int64]bool{}
	}
	c.prefetched[idx] = true
	start := idx * c.chunk
	p.Prefetch(start, min(c.chunk, c.size-start))
}

// Size is the size given to NewCachedReaderAt.
func (c *CachedReaderAt) Size() int64 { return c.size }

// Stats returns a copy of the counters.
func (c *CachedReaderAt) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// ReadAt implements io.ReaderAt.
func (c *CachedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("cached reader: negative offset %d", off)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Reads++
	if off >= c.size {
		return 0, io.EOF
	}
	want := p
	if rest := c.size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	if int64(len(want)) >= c.direct {
		c.stats.Underlying++
		n, err := c.r.ReadAt(want, off)
		c.stats.BytesRead += int64(n)
		if n == len(want) {
			err = nil
		} else if err == nil {
			err = io.ErrUnexpectedEOF
		}
		if err == nil && len(want) < len(p) {
			err = io.EOF
		}
		return n, err
	}
	n := 0
	for n < len(want) {
		pos := off + int64(n)
		idx := pos / c.chunk
		data, err := c.chunkAt(idx)
		in := pos - idx*c.chunk
		if in < int64(len(data)) {
			n += copy(want[n:], data[in:])
		}
		if err != nil {
			return n, err
		}
		if in >= int64(len(data)) {
			return n, io.ErrUnexpectedEOF
		}
	}
	if len(want) < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readAhead is how many chunks a miss at idx reads: more while misses
// are sequential.
func (c *CachedReaderAt) readAhead(idx int64) int64 {
	if idx == c.lastMiss+1 {
		c.ahead = min(c.ahead*2, maxReadAhead)
	} else {
		c.ahead = 1
	}
	nChunks := c.ahead
	if maxChunks := c.cache.Max() / c.chunk; nChunks > maxChunks {
		nChunks = max(maxChunks, 1)
	}
	c.lastMiss = idx + nChunks - 1
	return nChunks
}

// chunkAt returns chunk idx, reading it (and, when access is sequential,
// the chunks after it) on a miss. A short chunk comes with an error unless
// it is the file's last.
func (c *CachedReaderAt) chunkAt(idx int64) ([]byte, error) {
	if b, ok := c.cache.Get(idx); ok {
		c.stats.Hits++
		return b, nil
	}
	c.stats.Misses++
	nChunks := int64(1)
	if c.prefetched[idx] {
		delete(c.prefetched, idx)
	} else {
		nChunks = c.readAhead(idx)
	}
	start := idx * c.chunk
	end := min(start+nChunks*c.chunk, c.size)
	if c.neighbour && end < c.size {
		c.prefetchChunk(idx + nChunks)
	}
	buf := make([]byte, end-start)
	c.stats.Underlying++
	n, err := c.r.ReadAt(buf, start)
	c.stats.BytesRead += int64(n)
	if n == len(buf) {
		err = nil
	} else if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // size promised more
	}
	// Keep only whole chunks (or the file's last, short one) that were read.
	var first []byte
	for i := int64(0); ; i++ {
		cs := start + i*c.chunk
		if cs >= start+int64(n) {
			break
		}
		ce := min(cs+c.chunk, end)
		if ce > start+int64(n) {
			if i == 0 {
				first = buf[:n]
			}
			break
		}
		b := buf[cs-start : ce-start : ce-start]
		c.cache.Add(idx+i, b)
		if i == 0 {
			first = b
		}
	}
	return first, err
}
