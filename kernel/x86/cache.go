package x86

import (
	"encoding/binary"
	"io"
	"sync"
	"sync/atomic"
)

// tableCache keeps recently used page-table pages, decoded, so that a walk
// does not go to the dump for each 8-byte entry. Eviction is CLOCK: cheap
// and close enough to LRU for page-table access patterns.
type tableCache struct {
	r     PhysReader
	mu    sync.Mutex
	index map[uint64]int // table physical address -> slot
	slots []tableSlot
	hand  int
	buf   [PageSize]byte

	recent [5]int // slot of the table used last at each level, or -1

	hits, misses uint64
}

type tableSlot struct {
	pa      uint64
	used    bool
	ref     bool
	entries [512]uint64
}

// defaultTableCachePages bounds the cache at 2 MiB of tables: enough for
// the upper levels of every walk plus a few hundred leaf tables.
const defaultTableCachePages = 512

func newTableCache(r PhysReader, pages int) *tableCache {
	c := &tableCache{r: r, index: make(map[uint64]int, pages), slots: make([]tableSlot, pages)}
	for i := range c.recent {
		c.recent[i] = -1
	}
	return c
}

// entry returns entry idx of the page table at physical address table.
func (c *tableCache) entry(table, idx uint64) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entryLocked(table, idx, -1)
}

// entryLocked is entry for a caller holding c.mu (a walk takes the lock once
// for all its levels: locks are not free, least of all in WebAssembly).
//
// level (0 = pte ... 4 = pgd of 5-level paging, or -1) selects a one-slot
// memo: consecutive walks go through the same upper tables, and checking the
// table used last at that level is cheaper than the map.
func (c *tableCache) entryLocked(table, idx uint64, level int) (uint64, error) {
	memo := -1
	if level >= 0 && level < len(c.recent) {
		memo = level
		if i := c.recent[level]; i >= 0 {
			if s := &c.slots[i]; s.used && s.pa == table {
				c.hits++
				s.ref = true
				return s.entries[idx], nil
			}
		}
	}
	if i, ok := c.index[table]; ok {
		if memo >= 0 {
			c.recent[memo] = i
		}
		c.hits++
		s := &c.slots[i]
		s.ref = true
		return s.entries[idx], nil
	}
	c.misses++
	n, err := c.r.ReadPhysAt(c.buf[:], table)
	if err == nil && n != PageSize {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return 0, err
	}
	for {
		s := &c.slots[c.hand]
		if !s.used || !s.ref {
			break
		}
		s.ref = false
		c.hand = (c.hand + 1) % len(c.slots)
	}
	i := c.hand
	c.hand = (c.hand + 1) % len(c.slots)
	s := &c.slots[i]
	if s.used {
		delete(c.index, s.pa)
	}
	s.pa, s.used, s.ref = table, true, true
	for k := range s.entries {
		s.entries[k] = binary.LittleEndian.Uint64(c.buf[k*8:])
	}
	c.index[table] = i
	if memo >= 0 {
		c.recent[memo] = i
	}
	return s.entries[idx], nil
}

// tlb remembers recent page-table walks, one 4 KiB page per slot,
// direct-mapped by virtual page number. Slots hold immutable entries behind
// atomic pointers, so a hit takes no lock.
type tlb struct {
	slots [tlbSlots]atomic.Pointer[tlbEntry]
}

const tlbSlots = 1024

type tlbEntry struct {
	vpn  uint64 // va >> 12
	pa   uint64 // physical address of the 4 KiB page
	size uint64 // size of the mapping page
}

func (b *tlb) lookup(va uint64) (uint64, uint64, bool) {
	vpn := va >> 12
	e := b.slots[vpn%tlbSlots].Load()
	if e == nil || e.vpn != vpn {
		return 0, 0, false
	}
	return e.pa | va&(PageSize-1), e.size, true
}

func (b *tlb) store(va, pa, size uint64) {
	vpn := va >> 12
	b.slots[vpn%tlbSlots].Store(&tlbEntry{vpn: vpn, pa: pa &^ (PageSize - 1), size: size})
}
