package lru

import (
	"slices"
	"testing"
)

func buf(n int) []byte { return make([]byte, n) }

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[int](30)
	var evicted []int
	c.OnEvict = func(b []byte) { evicted = append(evicted, len(b)) }
	c.Add(1, buf(10))
	c.Add(2, buf(11))
	c.Add(3, buf(9)) // 30 bytes: all fit
	if c.Len() != 3 || len(evicted) != 0 {
		t.Fatalf("len %d, evicted %v; want 3 held, none evicted", c.Len(), evicted)
	}
	// Using 1 makes 2 the oldest: adding 4 must push out 2 only.
	if b, ok := c.Get(1); !ok || len(b) != 10 {
		t.Fatalf("Get(1) = %d bytes, %v", len(b), ok)
	}
	c.Add(4, buf(5))
	if c.Contains(2) || !c.Contains(1) || !c.Contains(3) || !c.Contains(4) {
		t.Errorf("after adding 4: held 1 %v 2 %v 3 %v 4 %v; want 2 evicted", c.Contains(1), c.Contains(2), c.Contains(3), c.Contains(4))
	}
	if !slices.Equal(evicted, []int{11}) {
		t.Errorf("evicted %v, want the 11-byte buffer of key 2", evicted)
	}
	// Contains must not refresh: 3 stays the oldest and goes next.
	c.Contains(3)
	c.Add(5, buf(10))
	if c.Contains(3) || !c.Contains(1) {
		t.Errorf("Contains refreshed key 3 (held 3 %v, 1 %v)", c.Contains(3), c.Contains(1))
	}
}

func TestBudget(t *testing.T) {
	c := New[string](16)
	c.Add("big", buf(17))
	if c.Contains("big") || c.Len() != 0 {
		t.Error("kept an entry larger than the whole budget")
	}
	c.Add("a", buf(8))
	c.Add("b", buf(8))
	// Replacing a key frees its old size first: "a" grows to 8 again
	// without evicting "b".
	c.Add("a", buf(8))
	if !c.Contains("b") || !c.Contains("a") {
		t.Error("replacing a key counted its old buffer against the budget")
	}
	// Replacing with a buffer larger than the budget drops the key.
	c.Add("a", buf(20))
	if c.Contains("a") || !c.Contains("b") || c.Len() != 1 {
		t.Errorf("oversized replacement: a %v b %v len %d", c.Contains("a"), c.Contains("b"), c.Len())
	}
	if _, ok := c.Get("a"); ok {
		t.Error("Get found a dropped key")
	}
}

func TestSetMax(t *testing.T) {
	c := New[int](100)
	for i := range 10 {
		c.Add(i, buf(10))
	}
	c.Get(0) // most recent now
	c.SetMax(25)
	if c.Max() != 25 || c.Len() != 2 {
		t.Fatalf("max %d len %d, want 25 and 2", c.Max(), c.Len())
	}
	if !c.Contains(0) || !c.Contains(9) {
		t.Errorf("kept the wrong two: 0 %v 9 %v", c.Contains(0), c.Contains(9))
	}
	c.SetMax(0)
	if c.Len() != 0 {
		t.Errorf("budget 0 holds %d entries", c.Len())
	}
}
