// Package allocbound measures what a piece of code allocates, so that tests
// and fuzz targets can bound a parser's memory by the size of its input.
//
// The measure is runtime.MemStats.TotalAlloc: every byte allocated while
// the function ran, freed or not, so it is an upper bound on how far the
// heap grew. It is process-wide: allocations by other goroutines count
// too, so callers must not run in parallel with other work.
package allocbound

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

// Allocated returns the bytes allocated while f ran.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Limit is the bound used across the parsers: perInput bytes per byte of
// input plus a constant.
func Limit(inputSize int64, perInput float64, constant uint64) uint64 {
	return uint64(float64(max(inputSize, 0))*perInput) + constant
}

// Check runs f and fails tb when it allocated more than limit bytes.
func Check(tb testing.TB, what string, limit uint64, f func()) uint64 {
	tb.Helper()
	got := Allocated(f)
	if got > limit {
		tb.Errorf("%s allocated %d bytes (%.1f MiB), more than the bound of %d (%.1f MiB)",
			what, got, float64(got)/(1<<20), limit, float64(limit)/(1<<20))
	}
	return got
}

// Peak runs f and returns how far the live heap (runtime/metrics
// /memory/classes/heap/objects:bytes, which includes garbage not yet
// swept) rose above its level at the start, sampled every few
// milliseconds. It suits long runs whose total allocation says little
// about the memory they hold at once.
func Peak(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	<-stopped
	if v := read(); v > peak.Load() {
		peak.Store(v)
	}
	return max(peak.Load(), base) - base
}
