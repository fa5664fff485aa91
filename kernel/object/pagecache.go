package object

import "sync"

// The page cache keeps whole pages of the kernel's memory as the program's
// objects read them. A report reads each task's dozens of members one by
// one, for several outputs; without the cache each scalar is a translated
// read through the memory's interfaces, the dump's lock and its page
// lookup, and a heap buffer for the bytes (they escape into the interface
// call). With it, a read inside a cached page is a lookup and a copy.
//
// The dump does not change, so a cached page is always right. A page that
// cannot be read whole (excluded, truncated, unmapped) is not cached and the
// read is made as without the cache, so every error is the one the memory
// gives for exactly the bytes asked.
const (
	cachePageSize = 4096
	// 256 sets of 2 pages: 2 MiB. One task's outputs touch some ten
	// pages (task_struct, mm, signal, creds, pids, …); a direct-mapped
	// cache of 128 pages missed on one read in nine, mostly pages of one
	// task pushing each other out.
	cacheSets = 256
	cacheWays = 2
)

type pageCache struct {
	mu   sync.Mutex
	sets [cacheSets]struct {
		ways [cacheWays]cachedPage
		mru  uint8 // the way used last
	}
}

type cachedPage struct {
	tag  uint64 // page number + 1; 0 when the slot is empty
	data [cachePageSize]byte
}

// CacheReads makes the program keep the pages its objects read (2 MiB at
// most). Mem must not change afterwards: the pages it gave stay.
func (p *Program) CacheReads() {
	if p.pages == nil {
		p.pages = new(pageCache)
	}
}

// page is the cached page of page number pg, read into its slot if need
// be; nil when the page cannot be read whole. c.mu is held.
func (c *pageCache) page(m Memory, pg uint64) *cachedPage {
	set := &c.sets[pg%cacheSets]
	for i := range set.ways {
		if set.ways[i].tag == pg+1 {
			set.mru = uint8(i)
			return &set.ways[i]
		}
	}
	i := (set.mru + 1) % cacheWays // the other way: least recently used
	s := &set.ways[i]
	s.tag = 0
	if _, err := m.ReadVirtAt(s.data[:], pg*cachePageSize); err != nil {
		return nil
	}
	s.tag = pg + 1
	set.mru = i
	return s
}

// read fills b from va out of cached pages; false when a page it spans
// cannot be read whole (b may then be partly written).
func (c *pageCache) read(m Memory, b []byte, va uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(b) > 0 {
		s := c.page(m, va/cachePageSize)
		if s == nil {
			return false
		}
		n := copy(b, s.data[va%cachePageSize:])
		b = b[n:]
		va += uint64(n)
	}
	return true
}

// uint reads the little-endian integer of size bytes (1 to 8) at va when
// it lies in one page; ok is false otherwise or when the page cannot be
// read whole.
func (c *pageCache) uint(m Memory, va, size uint64) (v uint64, ok bool) {
	off := va % cachePageSize
	if off+size > cachePageSize {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.page(m, va/cachePageSize)
	if s == nil {
		return 0, false
	}
	b := s.data[off : off+size]
	// Decoded here rather than with encoding/binary: the browser build
	// compiles that package without inlining (cmd/buildweb), and this
	// runs for nearly every scalar a report reads.
	if size == 8 {
		_ = b[7]
		return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56, true
	}
	for i := range b {
		v |= uint64(b[i]) << (8 * i)
	}
	return v, true
}

// readMem fills b from the kernel's memory at va: from the page cache
// when it is on and b is at most two pages, else (or when a page is not
// whole in the dump) straight from Mem.
func (p *Program) readMem(b []byte, va uint64) error {
	if c := p.pages; c != nil && len(b) <= 2*cachePageSize && c.read(p.Mem, b, va) {
		return nil
	}
	_, err := p.Mem.ReadVirtAt(b, va)
	return err
}
