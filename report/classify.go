package report

import (
	"context"
	"errors"
	"io"

	"github.com/vmcore-report/vmcore-report/kernel"
)

// Kind sorts why a run made no report, for the front ends to word.
type Kind string

// The kinds; the browser page styles its message by them.
const (
	KindNoDump       Kind = "no-dump"            // no dump file given
	KindUnsupported  Kind = "unsupported-format" // not a dump format this tool reads
	KindMismatch     Kind = "vmlinux-mismatch"   // the vmlinux is another kernel's (kernel.MismatchError)
	KindBadVmlinux   Kind = "bad-vmlinux"        // the vmlinux cannot be used (kernel.VmlinuxError)
	KindNeedsVmlinux Kind = "needs-vmlinux"      // the dump alone is not enough (kernel.NeedVmlinuxError)
	KindTruncated    Kind = "truncated"          // the dump ends before what identifies the kernel
	KindReadFailed   Kind = "read-failed"        // an input could not be read (the front end's own reader)
	KindUnreadable   Kind = "unreadable"         // anything else about the dump
	KindCancelled    Kind = "cancelled"          // the run was cancelled
	KindInternal     Kind = "internal"           // writing the report failed, or a bug
)

// Classify sorts an error of opening the crashed kernel: the one place
// such errors are told apart, by sentinel and type, never by their text.
func Classify(err error) Kind {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return KindCancelled
	case errors.As(err, new(*WriteError)):
		return KindInternal
	case readFailed(err):
		return KindReadFailed
	case errors.Is(err, kernel.ErrNoDump):
		return KindNoDump
	case errors.Is(err, kernel.ErrMismatch):
		return KindMismatch
	case errors.Is(err, kernel.ErrNotADump):
		return KindUnsupported
	case errors.Is(err, kernel.ErrBadVmlinux):
		return KindBadVmlinux
	case errors.Is(err, kernel.ErrNeedVmlinux):
		return KindNeedsVmlinux
	case errors.Is(err, kernel.ErrTruncated) || errors.Is(err, io.ErrUnexpectedEOF):
		return KindTruncated
	}
	return KindUnreadable
}

// readFailed says whether err is a front end's reader failing (a browser
// File no longer readable), not the dump: such an error says so with a
// method ReadFailed() bool, which errors.As finds through wrapping.
func readFailed(err error) bool {
	var rf interface{ ReadFailed() bool }
	return errors.As(err, &rf) && rf.ReadFailed()
}
