//go:build !unix

package kdwarf

import (
	"testing"
	"time"
)

func cpuTime() time.Duration { return 0 }

// reportCPU reports wall time per op where CPU time is not available (in
// a js/wasm runtime the two are the same: one thread).
func reportCPU(b *testing.B, _ time.Duration, t0 time.Time) {
	b.ReportMetric(float64(time.Since(t0))/float64(b.N)/1e6, "wall-ms/op")
}
