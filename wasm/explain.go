package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/dump"
)

// Error kinds, for the page to style and for tests to check.
const (
	KindNoDump       = "no-dump"
	KindUnsupported  = "unsupported-format"
	KindMismatch     = "vmlinux-mismatch"
	KindBadVmlinux   = "bad-vmlinux"
	KindNeedsVmlinux = "needs-vmlinux"
	KindTruncated    = "truncated"
	KindReadFailed   = "read-failed"
	KindUnreadable   = "unreadable"
	KindCancelled    = "cancelled"
	KindInternal     = "internal"
)

// UserError is a failure worded for the person at the page: what went
// wrong with which file, and what to do.
type UserError struct {
	Kind    string
	Message string
	Detail  string // the underlying error, for the curious
}

func (e *UserError) Error() string { return e.Message }

func cancelled(err error) error {
	return &UserError{Kind: KindCancelled, Message: "The analysis was cancelled.", Detail: fmt.Sprint(err)}
}

// errFileRead is a read the browser refused (the File was moved, changed
// or deleted since it was chosen).
type errFileRead struct {
	name string
	err  error
}

func (e *errFileRead) Error() string { return fmt.Sprintf("read %s: %v", e.name, e.err) }
func (e *errFileRead) Unwrap() error { return e.err }

// explainOpenError turns kernel.Open's error into plain words.
func explainOpenError(req Request, parts []kernel.File, vmlinux *kernel.File, err error) error {
	names := make([]string, len(req.Dump))
	for i, d := range req.Dump {
		names[i] = d.Name
	}
	dumpNames := strings.Join(names, ", ")
	detail := err.Error()
	var fr *errFileRead
	switch {
	case errors.As(err, &fr):
		return &UserError{Kind: KindReadFailed, Detail: detail, Message: fmt.Sprintf(
			"The browser could not read %s (%v). Was the file moved, changed or deleted after it was chosen? Choose it again.", fr.name, fr.err)}
	case errors.Is(err, context.Canceled):
		return cancelled(err)
	case errors.Is(err, kernel.ErrMismatch):
		dRel, dID := kernel.DumpIdentity(parts)
		vRel, vID := kernel.VmlinuxIdentity(vmlinux.R)
		return &UserError{Kind: KindMismatch, Detail: detail, Message: fmt.Sprintf(
			"The vmlinux does not belong to the crashed kernel: the dump %s is from Linux %s (build-id %s), "+
				"but the vmlinux %q is from Linux %s (build-id %s). Give the vmlinux of %s (on Debian: package linux-image-%s-dbg, "+
				"file /usr/lib/debug/boot/vmlinux-%s), or leave the vmlinux out to read symbols and types from the dump itself.",
			quoted(req.Dump), orUnknown(dRel), orUnknown(dID), vmlinux.Name, orUnknown(vRel), orUnknown(vID),
			orUnknown(dRel), orUnknown(dRel), orUnknown(dRel))}
	case errors.Is(err, dump.ErrNotThisFormat):
		return &UserError{Kind: KindUnsupported, Detail: detail, Message: fmt.Sprintf(
			"%s is not a crash dump this tool can read. It reads ELF cores (kdump's /proc/vmcore, QEMU dump-guest-memory, "+
				"makedumpfile -E), kdump-compressed files (makedumpfile), flattened streams (makedumpfile -F) and the parts "+
				"of makedumpfile --split (give them all). Decompress .gz, .xz or .zst copies first.", dumpNames)}
	case vmlinux != nil && strings.HasPrefix(detail, vmlinux.Name+":"):
		return &UserError{Kind: KindBadVmlinux, Detail: detail, Message: fmt.Sprintf(
			"The vmlinux %s cannot be used (%s). Give the uncompressed x86_64 vmlinux with debug information "+
				"(e.g. /usr/lib/debug/boot/vmlinux-<release> from the kernel's -dbg or -debuginfo package), not the compressed vmlinuz, "+
				"or leave it out to read the dump alone.", vmlinux.Name, strings.TrimPrefix(detail, vmlinux.Name+": "))}
	case vmlinux == nil && strings.Contains(detail, "no vmlinux given"):
		// kernel.Open says so when the dump alone lacks kallsyms or BTF.
		return &UserError{Kind: KindNeedsVmlinux, Detail: detail, Message: fmt.Sprintf(
			"The dump %s cannot be read without its vmlinux: %s. Add the crashed kernel's vmlinux with debug information "+
				"(on Debian: package linux-image-<release>-dbg, file /usr/lib/debug/boot/vmlinux-<release>).",
			dumpNames, strings.TrimPrefix(detail, "no vmlinux given and "))}
	case errors.Is(err, dump.ErrTruncated) || errors.Is(err, io.ErrUnexpectedEOF):
		return &UserError{Kind: KindTruncated, Detail: detail, Message: fmt.Sprintf(
			"The dump %s is truncated: it ends before the data needed to identify the kernel (%v). "+
				"Copy the complete file again; if it was cut short when it was taken, there is too little of it for a report.", dumpNames, err)}
	}
	hint := "Check that the dump is complete and comes from an x86_64 Linux kernel"
	if vmlinux == nil {
		hint += "; if the dump alone is not enough, add the crashed kernel's vmlinux."
	} else {
		hint += ", and that the vmlinux is the crashed kernel's."
	}
	return &UserError{Kind: KindUnreadable, Detail: detail, Message: fmt.Sprintf(
		"The crashed kernel could not be read from %s: %v. %s", dumpNames, err, hint)}
}

// quoted names the dump files: "a" or "a", "b".
func quoted(in []Input) string {
	q := make([]string, len(in))
	for i, d := range in {
		q[i] = strconv.Quote(d.Name)
	}
	return strings.Join(q, ", ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
