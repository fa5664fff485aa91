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
	if ctx == nil {
		ctx = context.Background()
	}
	done := make(chan outcome, 1)
	go func() {
		returned := false
		defer func() {
			if returned {
				return
			}
			r := recover()
			if r == nil {
				// runtime.Goexit (t.FailNow in a test emitter, say).
				done <- outcome{Panic: "goroutine exited (runtime.Goexit)"}
				return
			}
			where, stack := panicSite(debug.Stack())
			done <- outcome{Panic: fmt.Sprint(r), Where: where, Stack: stack}
		}()
		err := f()
		returned = true
		done <- outcome{Err: err}
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case o := <-done:
		return o
	case <-timer.C:
		return outcome{TimedOut: true}
	case <-ctx.Done():
		return outcome{Canceled: context.Cause(ctx)}
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
