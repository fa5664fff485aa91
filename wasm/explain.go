package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/report"
)

// Error kinds, for the page to style and for tests to check: report's
// (report.Classify), and the worker's own.
const (
	KindNoDump       = string(report.KindNoDump)
	KindUnsupported  = string(report.KindUnsupported)
	KindMismatch     = string(report.KindMismatch)
	KindBadVmlinux   = string(report.KindBadVmlinux)
	KindNeedsVmlinux = string(report.KindNeedsVmlinux)
	KindTruncated    = string(report.KindTruncated)
	KindReadFailed   = string(report.KindReadFailed)
	KindUnreadable   = string(report.KindUnreadable)
	KindCancelled    = string(report.KindCancelled)
	KindInternal     = string(report.KindInternal)
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

// ReadFailed tells report.Classify that the browser, not the dump, failed.
func (e *errFileRead) ReadFailed() bool { return true }

// explainOpenError turns kernel.Open's error into plain words.
func explainOpenError(req Request, err error) error {
	names := make([]string, len(req.Dump))
	for i, d := range req.Dump {
		names[i] = d.Name
	}
	dumpNames := strings.Join(names, ", ")
	detail := err.Error()
	var fr *errFileRead
	if errors.As(err, &fr) {
		return &UserError{Kind: KindReadFailed, Detail: detail, Message: fmt.Sprintf(
			"The browser could not read %s (%v). Was the file moved, changed or deleted after it was chosen? Choose it again.", fr.name, fr.err)}
	}
	kind := report.Classify(err)
	ue := func(format string, args ...any) *UserError {
		return &UserError{Kind: string(kind), Detail: detail, Message: fmt.Sprintf(format, args...)}
	}
	switch kind {
	case report.KindCancelled:
		return cancelled(err)
	case report.KindNoDump:
		return ue("No crash dump was given: add the vmcore file (or every part of a split dump).")
	case report.KindMismatch:
		var m *kernel.MismatchError
		errors.As(err, &m)
		dRel := orUnknown(m.DumpRelease)
		return ue("The vmlinux does not belong to the crashed kernel: the dump %s is from Linux %s (build-id %s), "+
			"but the vmlinux %q is from Linux %s (build-id %s). Give the vmlinux of %s (on Debian: package linux-image-%s-dbg, "+
			"file /usr/lib/debug/boot/vmlinux-%s), or leave the vmlinux out to read symbols and types from the dump itself.",
			quoted(req.Dump), dRel, orUnknown(m.DumpBuildID), m.Vmlinux, orUnknown(m.VmlinuxRelease), orUnknown(m.VmlinuxBuildID),
			dRel, dRel, dRel)
	case report.KindUnsupported:
		return ue("%s is not a crash dump this tool can read. It reads ELF cores (kdump's /proc/vmcore, QEMU dump-guest-memory, "+
			"makedumpfile -E), kdump-compressed files (makedumpfile), flattened streams (makedumpfile -F) and the parts "+
			"of makedumpfile --split (give them all). Decompress .gz, .xz or .zst copies first.", dumpNames)
	case report.KindBadVmlinux:
		var v *kernel.VmlinuxError
		errors.As(err, &v)
		// A vmlinux without symbols for a kernel whose dump has no kallsyms
		// tables: leaving it out cannot help.
		instead := "or leave it out to read the dump alone."
		if errors.Is(err, kernel.ErrNeedVmlinux) {
			instead = "with its symbol table: this kernel cannot be read from its dump alone."
		}
		return ue("The vmlinux %s cannot be used (%v). Give the uncompressed x86_64 vmlinux with debug information "+
			"(e.g. /usr/lib/debug/boot/vmlinux-<release> from the kernel's -dbg or -debuginfo package), not the compressed vmlinuz, "+
			"%s", v.Name, v.Err, instead)
	case report.KindNeedsVmlinux:
		return ue("The dump %s cannot be read without its vmlinux: %v. Add the crashed kernel's vmlinux with debug information "+
			"(on Debian: package linux-image-<release>-dbg, file /usr/lib/debug/boot/vmlinux-<release>).", dumpNames, err)
	case report.KindTruncated:
		return ue("The dump %s is truncated: it ends before the data needed to identify the kernel (%v). "+
			"Copy the complete file again; if it was cut short when it was taken, there is too little of it for a report.", dumpNames, err)
	}
	hint := "Check that the dump is complete and comes from an x86_64 Linux kernel"
	if req.Vmlinux == nil {
		hint += "; if the dump alone is not enough, add the crashed kernel's vmlinux."
	} else {
		hint += ", and that the vmlinux is the crashed kernel's."
	}
	return ue("The crashed kernel could not be read from %s: %v. %s", dumpNames, err, hint)
}

// quoted names the dump files: "a" or "a", "b".
func quoted(in []kernel.File) string {
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
