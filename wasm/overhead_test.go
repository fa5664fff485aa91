package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/report"
)

// BenchmarkRunOverhead is the fixed cost of a report's outputs: 600
// emitters that each write a small file (about a browser report's
// outputs, per-process ones expanded) through the browser's sinks, a
// MemorySink teed with a plain tar stream, and the manifest. Nothing is
// read from a kernel, so what is left is the run loop's isolation, the
// sinks and the manifest. Under node:
//
//	GOOS=js GOARCH=wasm go test -c -o /tmp/w.wasm ./wasm
//	node $(go env GOROOT)/lib/wasm/wasm_exec_node.js /tmp/w.wasm -test.run '^$' -test.bench RunOverhead -test.benchmem
func BenchmarkRunOverhead(b *testing.B) {
	const n = 600
	data := strings.Repeat("Name:\tkworker/0:1\nState:\tS (sleeping)\n", 6)
	list := make([]*emitters.Emitter, n)
	for i := range list {
		list[i] = &emitters.Emitter{Path: fmt.Sprintf("proc/%d/status", i+1), Run: func(_ *emitters.Context, _ int64, out *emitters.Output) error {
			out.WriteString(data)
			return nil
		}}
	}
	k := &kernel.Kernel{} // nothing readable: only the outputs' own cost
	modTime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	top := report.TopDir(k)
	for b.Loop() {
		ts, err := report.NewTarSink(io.Discard, report.TarPlain, modTime)
		if err != nil {
			b.Fatal(err)
		}
		m, err := report.Run(context.Background(), k, report.Options{Emitters: list, ToolVersion: "bench"}, report.Tee(report.NewMemorySink(top, modTime), ts))
		if err != nil {
			b.Fatal(err)
		}
		if m.Summary.OK != n {
			b.Fatalf("summary %+v", m.Summary)
		}
		if err := ts.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
