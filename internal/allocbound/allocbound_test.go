package allocbound

import (
	"fmt"
	"testing"
	"time"
)

var sink []byte

func TestAllocated(t *testing.T) {
	const n = 4 << 20
	got := Allocated(func() { sink = make([]byte, n) })
	// The slice itself, plus at most a little of whatever ran meanwhile.
	if got < n || got > n+1<<20 {
		t.Errorf("allocating %d bytes measured %d", n, got)
	}
	sink = nil
	if got := Allocated(func() {}); got > 64<<10 {
		t.Errorf("an empty function measured %d bytes", got)
	}
}

func TestLimit(t *testing.T) {
	for _, c := range []struct {
		size     int64
		per      float64
		constant uint64
		want     uint64
	}{
		{1000, 2.5, 100, 2600},
		{0, 10, 7, 7},
		{-5, 10, 7, 7}, // a negative size counts as 0
		{1 << 30, 1, 0, 1 << 30},
	} {
		if got := Limit(c.size, c.per, c.constant); got != c.want {
			t.Errorf("Limit(%d, %v, %d) = %d, want %d", c.size, c.per, c.constant, got, c.want)
		}
	}
}

// recorder is a testing.TB that keeps what Check reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestCheck(t *testing.T) {
	r := &recorder{TB: t}
	got := Check(r, "within", 2<<20, func() { sink = make([]byte, 1<<20) })
	if len(r.errors) != 0 || got < 1<<20 {
		t.Errorf("1 MiB under a 2 MiB bound: measured %d, errors %q", got, r.errors)
	}
	Check(r, "over", 1<<20, func() { sink = make([]byte, 2<<20) })
	if len(r.errors) != 1 {
		t.Fatalf("2 MiB over a 1 MiB bound reported %d errors", len(r.errors))
	}
	sink = nil
}

func TestPeak(t *testing.T) {
	const n = 16 << 20
	got := Peak(func() {
		b := make([]byte, n)
		for i := range b {
			b[i] = 1 // touch it so it is not optimised away
		}
		time.Sleep(20 * time.Millisecond) // held across samples
		sink = b
	})
	if got < n {
		t.Errorf("holding %d bytes: peak %d", n, got)
	}
	sink = nil
	// Memory allocated and dropped in small pieces never piles up to that.
	got = Peak(func() {
		for range 64 {
			sink = make([]byte, 4096)
		}
	})
	if got > n/4 {
		t.Errorf("small allocations: peak %d", got)
	}
	sink = nil
}
