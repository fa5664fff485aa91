// Package lru is a byte-budgeted least-recently-used cache of buffers,
// for the dump reader's pages and the browser's file chunks.
package lru

// LRU is a byte-budgeted least-recently-used map of buffers. It is not
// safe for concurrent use; its owner holds a lock.
type LRU[K comparable] struct {
	max, used int64
	items     map[K]*lruItem[K]
	root      lruItem[K] // sentinel: root.next is the most recent
	// OnEvict, when set, is given each buffer the budget pushes out.
	OnEvict func([]byte)
}

type lruItem[K comparable] struct {
	key        K
	val        []byte
	prev, next *lruItem[K]
}

// New is an empty LRU holding at most maxBytes bytes of buffers.
func New[K comparable](maxBytes int64) *LRU[K] {
	c := &LRU[K]{max: maxBytes, items: make(map[K]*lruItem[K])}
	c.root.next, c.root.prev = &c.root, &c.root
	return c
}

func (c *LRU[K]) unlink(it *lruItem[K]) {
	it.prev.next, it.next.prev = it.next, it.prev
}

func (c *LRU[K]) pushFront(it *lruItem[K]) {
	it.prev, it.next = &c.root, c.root.next
	c.root.next.prev = it
	c.root.next = it
}

// Get returns the buffer under k and marks it most recently used.
func (c *LRU[K]) Get(k K) ([]byte, bool) {
	it, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.unlink(it)
	c.pushFront(it)
	return it.val, true
}

// Contains says whether k is held, without marking it used.
func (c *LRU[K]) Contains(k K) bool {
	_, ok := c.items[k]
	return ok
}

// Add stores v under k, evicting the oldest entries beyond the budget. An
// entry larger than the whole budget is not kept.
func (c *LRU[K]) Add(k K, v []byte) {
	if it, ok := c.items[k]; ok {
		c.used -= int64(len(it.val))
		c.unlink(it)
		delete(c.items, k)
	}
	if int64(len(v)) > c.max {
		return
	}
	it := &lruItem[K]{key: k, val: v}
	c.items[k] = it
	c.pushFront(it)
	c.used += int64(len(v))
	c.shrink()
}

func (c *LRU[K]) shrink() {
	for c.used > c.max && c.root.prev != &c.root {
		old := c.root.prev
		c.unlink(old)
		delete(c.items, old.key)
		c.used -= int64(len(old.val))
		if c.OnEvict != nil {
			c.OnEvict(old.val)
		}
	}
}

// SetMax changes the budget, evicting what no longer fits.
func (c *LRU[K]) SetMax(maxBytes int64) {
	c.max = maxBytes
	c.shrink()
}

// Len is the number of buffers held.
func (c *LRU[K]) Len() int { return len(c.items) }

// Max is the budget in bytes.
func (c *LRU[K]) Max() int64 { return c.max }
