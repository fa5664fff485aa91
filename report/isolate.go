package report

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// outcome is how an isolated call ended.
type outcome struct {
	Err      error  // the call's own error
	Panic    string // the panic value, when it panicked
	Where    string // file:line of the panicking frame
	Stack    string // a short stack from the panic site, for the log
	TimedOut bool   // the deadline passed first; the call may still be running
	Canceled error  // the run's context ended first
	exited   bool   // the call ended its goroutine (runtime.Goexit)
}

// err folds the outcome into one error (nil when the call succeeded).
func (o outcome) err() error {
	switch {
	case o.Panic != "":
		if o.Where != "" {
			return fmt.Errorf("panic: %s (at %s)", o.Panic, o.Where)
		}
		return fmt.Errorf("panic: %s", o.Panic)
	case o.TimedOut:
		return errDeadline
	case o.Canceled != nil:
		return o.Canceled
	}
	return o.Err
}

var errDeadline = errors.New("deadline exceeded")

// isolate runs f on its own goroutine, turning a panic into an outcome and
// giving up after d.
//
// Go cannot kill a goroutine: after a timeout f keeps running in the
// background, reading the kernel concurrently with later emitters (the
// readers below are safe for that) until it returns, and its results are
// dropped. Natively a truly stuck emitter only costs a goroutine. Under
// GOOS=js there is one thread and no preemption of a loop that makes no
// function calls, so such a loop stops the whole run and the timer never
// fires; an emitter blocked in I/O or looping through calls is abandoned
// as natively.
func isolate(ctx context.Context, d time.Duration, f func() error) outcome {
	var s isolator
	defer s.close()
	return s.run(ctx, d, f)
}

// isolator is isolate for a sequence of calls (a run's outputs): one
// worker goroutine and one timer serve every call until a call is
// abandoned (deadline, cancellation) or ends its goroutine
// (runtime.Goexit), and the next call starts a new worker. A goroutine
// and a timer per output cost a tenth of a browser's report (~600
// outputs, each a goroutine start, a timer in the runtime's heap and
// their garbage); handing a call to a waiting worker is one channel
// send. What a call can and cannot be stopped from doing is as for
// isolate.
type isolator struct {
	w     *isoWorker // nil until the first call, and after one is abandoned
	timer *time.Timer
}

// isoWorker runs the calls sent on in, one at a time, sending each
// outcome on out. in is closed when the worker is abandoned or no longer
// needed: the call running then still ends into out (buffered), and the
// goroutine returns.
type isoWorker struct {
	in  chan func() error
	out chan outcome
}

func (w *isoWorker) loop() {
	for f := range w.in {
		w.call(f)
	}
}

// call runs f and sends how it ended. After runtime.Goexit the goroutine
// ends once the deferred send is done: the outcome says exited.
func (w *isoWorker) call(f func() error) {
	returned := false
	defer func() {
		if returned {
			return
		}
		r := recover()
		if r == nil {
			// runtime.Goexit (t.FailNow in a test emitter, say).
			w.out <- outcome{Panic: "goroutine exited (runtime.Goexit)", exited: true}
			return
		}
		where, stack := panicSite(debug.Stack())
		w.out <- outcome{Panic: fmt.Sprint(r), Where: where, Stack: stack}
	}()
	err := f()
	returned = true
	w.out <- outcome{Err: err}
}

// run is isolate(ctx, d, f) on the isolator's worker.
func (s *isolator) run(ctx context.Context, d time.Duration, f func() error) outcome {
	if ctx == nil {
		ctx = context.Background()
	}
	if s.w == nil {
		s.w = &isoWorker{in: make(chan func() error), out: make(chan outcome, 1)}
		go s.w.loop()
	}
	if s.timer == nil {
		s.timer = time.NewTimer(d)
	} else {
		// Since Go 1.23 Reset leaves no stale tick in the channel.
		s.timer.Reset(d)
	}
	defer s.timer.Stop()
	w := s.w
	w.in <- f
	select {
	case o := <-w.out:
		if o.exited {
			s.w = nil // its goroutine is gone
		}
		return o
	case <-s.timer.C:
		s.abandon()
		return outcome{TimedOut: true}
	case <-ctx.Done():
		s.abandon()
		return outcome{Canceled: context.Cause(ctx)}
	}
}

// abandon leaves the running call to finish on its own: its worker ends
// after it, and the next call starts another.
func (s *isolator) abandon() {
	close(s.w.in)
	s.w = nil
}

// close ends the idle worker.
func (s *isolator) close() {
	if s.w != nil {
		close(s.w.in)
		s.w = nil
	}
}

// maxStackFrames bounds the stack kept for the log.
const maxStackFrames = 8

// panicSite finds the frames below the panic in a debug.Stack() text: the
// first one's file:line, and up to maxStackFrames "function file:line"
// lines. File names keep only their last directory, so the log holds no
// path from the machine that built the tool.
func panicSite(stack []byte) (where, short string) {
	lines := strings.Split(string(stack), "\n")
	type frame struct{ fn, file string }
	var frames []frame
	// After the "goroutine N [running]:" line, frames come as pairs: the
	// call, then "\t/path/file.go:123 +0x45".
	for i := 1; i+1 < len(lines); i += 2 {
		fn := strings.TrimSpace(lines[i])
		// Drop the argument words: they are addresses that change per run.
		if j := strings.LastIndexByte(fn, '('); j > 0 && strings.HasSuffix(fn, ")") {
			fn = fn[:j]
		}
		file := strings.TrimSpace(lines[i+1])
		if j := strings.LastIndex(file, " +0x"); j >= 0 {
			file = file[:j]
		}
		frames = append(frames, frame{fn, shortFile(file)})
	}
	start := -1
	for i, f := range frames {
		if f.fn == "panic" {
			start = i + 1
		}
	}
	if start < 0 || start >= len(frames) {
		return "", ""
	}
	var b strings.Builder
	for i := start; i < len(frames) && i < start+maxStackFrames; i++ {
		fmt.Fprintf(&b, "\t%s %s\n", frames[i].fn, frames[i].file)
	}
	return frames[start].file, b.String()
}

func shortFile(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return p
	}
	if j := strings.LastIndexByte(p[:i], '/'); j >= 0 {
		return p[j+1:]
	}
	return p
}
