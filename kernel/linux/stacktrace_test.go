package linux

import (
	"errors"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func newTracer(tb testing.TB, k *kernel.Kernel) *StackTracer {
	tb.Helper()
	sym := NewSymbolizer(k.Program(), k.Symbols())
	var st *StackTracer
	var err error
	if k.Vmlinux() != nil {
		st, err = NewStackTracer(k.Program(), k.Vmlinux().R, k.KernelOffset(), sym.Modules)
	} else {
		st, err = NewStackTracer(k.Program(), nil, 0, sym.Modules)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

func allThreads(tb testing.TB, p *object.Program) []object.Object {
	var out []object.Object
	for task, err := range ForEachProcess(p) {
		if err != nil {
			tb.Fatal(err)
		}
		for th, err := range ForEachThread(task) {
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, th)
		}
	}
	return out
}

// TestEverySleepingStackEnds unwinds every task that was not running, in
// every mode: each walk must reach the bottom of its stack (user-mode
// registers or a kernel thread's end-of-stack entry), not stop on an error.
func TestEverySleepingStackEnds(t *testing.T) {
	for _, s := range fixtures.All(t) {
		for _, mode := range kerneltest.Modes {
			t.Run(s.Manifest.ID+"/"+string(mode), func(t *testing.T) {
				k, ok := kerneltest.OpenMode(t, s, s.RefRole(), mode)
				if !ok {
					return
				}
				st := newTracer(t, k)
				n := 0
				for _, th := range allThreads(t, k.Program()) {
					_, tr, err := st.StackTraceSaveTsk(th)
					if errors.Is(err, ErrTaskRunning) || errors.Is(err, ErrStackFreed) {
						continue
					}
					pid, _ := th.Member("pid").Int()
					if err != nil {
						t.Errorf("pid %d: %v", pid, err)
						continue
					}
					if tr.End != nil || len(tr.Frames) == 0 {
						t.Errorf("pid %d: %d frames, ended with %v", pid, len(tr.Frames), tr.End)
					}
					n++
				}
				t.Logf("%d sleeping tasks unwound to the bottom (ORC from %s)", n, st.ORC.From)
			})
		}
	}
}

// BenchmarkUnwindAllTasks unwinds every task of each fixture (ORC tables
// loaded once, outside the loop; the tracer's per-task walks dropped at
// each iteration, so every walk is done again).
func BenchmarkUnwindAllTasks(b *testing.B) {
	for _, s := range fixtures.All(b) {
		for _, mode := range []kerneltest.Mode{kerneltest.BTF, kerneltest.DumpOnly} {
			b.Run(s.Manifest.ID+"/"+string(mode), func(b *testing.B) {
				k, ok := kerneltest.OpenMode(b, s, s.RefRole(), mode) // 7.2: lzo-d31 lacks the slab pages
				if !ok {
					return
				}
				st := newTracer(b, k)
				threads := allThreads(b, k.Program())
				b.ResetTimer()
				frames := 0
				for b.Loop() {
					st.walks = nil
					for _, th := range threads {
						_, tr, _ := st.StackTraceSaveTsk(th)
						frames += len(tr.Frames)
					}
				}
				b.ReportMetric(float64(len(threads)), "tasks/op")
				b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
			})
		}
	}
}
