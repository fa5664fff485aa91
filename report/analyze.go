package report

import (
	"context"

	"github.com/vmcore-report/vmcore-report/kernel"
)

// Files are the inputs of a run: the dump (one file, or every part of a
// split dump) and, optionally, the crashed kernel's vmlinux, as plain
// readers (a front end's own read cache included): kernel.Open makes
// every read follow the run's context.
type Files struct {
	Dump    []kernel.File
	Vmlinux *kernel.File // nil: symbols and types from the dump alone
	// Types chooses the vmlinux's type source (BTF by default).
	Types kernel.TypeSource
}

// Opened is the crashed kernel as Analyze opened it, given to the front
// end's SinkFor before anything is written: what names the report and
// what the user is told is being read.
type Opened struct {
	Kernel   *kernel.Kernel
	Identity Identity // read once: the sink's name and times, and the manifest's
}

// SinkFor makes the sink of a run once its kernel is open (the archive's
// name and entry times come from the crashed machine). Analyze does not
// close the sink.
type SinkFor func(Opened) (Sink, error)

// WriteError is Analyze's error when the report could not be written (the
// sink could not be made or failed), as against the kernel not opening;
// Classify sorts it as KindInternal. Its text is the cause's.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// Analyze is a whole run, the one the CLI and the browser both make: open
// the crashed kernel (kernel.Open), identify it, make the sink, run the
// registry into it and write the log and the manifest. Its errors are the
// kernel's (sorted by Classify), the context's once it is done, or a
// *WriteError; with a *WriteError from the run the manifest so far is
// returned too.
//
// A dump whose headers and VMCOREINFO are readable but whose kernel
// memory is not (truncated before the page tables) still gives a report,
// every output failed for that reason (Opened.Kernel.Unreadable). A
// reason that is not the dump's (the run cancelled, an input the front
// end could no longer read) gives none.
func Analyze(ctx context.Context, in Files, opts Options, sinkFor SinkFor) (*Manifest, error) {
	if err := opts.Filter.Validate(); err != nil {
		return nil, err
	}
	k, err := kernel.Open(ctx, in.Dump, kernel.Options{Vmlinux: in.Vmlinux, Types: in.Types})
	if k != nil && err != nil {
		if kind := Classify(err); kind != KindCancelled && kind != KindReadFailed && ctx.Err() == nil {
			err = nil // a degraded kernel: k.Unreadable() says why
		} else {
			k.Close()
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, err
	}
	defer k.Close()
	if opts.PageCacheBytes > 0 {
		k.SetCacheSize(opts.PageCacheBytes)
	}
	id := Identify(k)
	sink, err := sinkFor(Opened{Kernel: k, Identity: id})
	if err != nil {
		return nil, &WriteError{Err: err}
	}
	m, err := run(ctx, k, id, opts, sink)
	if readFailed(err) {
		return nil, err // an input the front end could no longer read
	}
	if err != nil && ctx.Err() == nil {
		err = &WriteError{Err: err}
	}
	return m, err
}
