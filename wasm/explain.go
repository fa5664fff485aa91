package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/dump"
	"github.com/vmcore-report/vmcore-report/kernel/vmcoreinfo"
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
		dRel, dID := dumpIdentity(parts)
		vRel, vID := vmlinuxIdentity(vmlinux.R)
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

// dumpIdentity reads OSRELEASE and BUILD-ID from the dump's VMCOREINFO.
func dumpIdentity(parts []kernel.File) (release, buildID string) {
	dp := make([]dump.Part, len(parts))
	for i, p := range parts {
		dp[i] = dump.Part{Name: p.Name, R: p.R, Size: p.Size}
	}
	d, err := dump.OpenParts(dp)
	if err != nil {
		return "", ""
	}
	defer d.Close()
	raw := d.VMCOREINFO()
	if len(raw) == 0 {
		var ranges []vmcoreinfo.Range
		for _, r := range d.PhysRanges() {
			ranges = append(ranges, vmcoreinfo.Range{Start: r.Start, End: r.End})
		}
		raw, _, _ = vmcoreinfo.FindInMemory(d, ranges)
	}
	info, err := vmcoreinfo.Parse(raw)
	if err != nil {
		return "", ""
	}
	return info.OSRelease, info.BuildID
}

// noteBuildID finds NT_GNU_BUILD_ID in the note sections: the kernel's
// linker script gathers its notes into one section, .notes, rather than
// .note.gnu.build-id.
func noteBuildID(f *elf.File) string {
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOTE || s.Size > 64<<10 {
			continue
		}
		b, err := s.Data()
		if err != nil {
			continue
		}
		for len(b) >= 12 {
			namesz, descsz, typ := f.ByteOrder.Uint32(b), f.ByteOrder.Uint32(b[4:]), f.ByteOrder.Uint32(b[8:])
			nameEnd := 12 + uint64(namesz)
			descOff := 12 + (uint64(namesz)+3)&^3
			descEnd := descOff + uint64(descsz)
			if nameEnd > uint64(len(b)) || descEnd > uint64(len(b)) {
				break
			}
			if typ == 3 && string(bytes.TrimRight(b[12:nameEnd], "\x00")) == "GNU" { // NT_GNU_BUILD_ID
				return hex.EncodeToString(b[descOff:descEnd])
			}
			b = b[min((descEnd+3)&^3, uint64(len(b))):]
		}
	}
	return ""
}

// vmlinuxIdentity reads a vmlinux's release (from linux_banner) and
// build-id. It reads the whole symbol table, which is acceptable on this
// error path only.
func vmlinuxIdentity(r io.ReaderAt) (release, buildID string) {
	f, err := elf.NewFile(r)
	if err != nil {
		return "", ""
	}
	buildID = noteBuildID(f)
	syms, err := f.Symbols()
	if err != nil {
		return "", buildID
	}
	for _, s := range syms {
		if s.Name != "linux_banner" || int(s.Section) >= len(f.Sections) {
			continue
		}
		sec := f.Sections[s.Section]
		if s.Value < sec.Addr || sec.Type == elf.SHT_NOBITS {
			break
		}
		b := make([]byte, 256)
		n, _ := sec.ReadAt(b, int64(s.Value-sec.Addr))
		b = b[:n]
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		if rest, ok := strings.CutPrefix(string(b), "Linux version "); ok {
			release, _, _ = strings.Cut(rest, " ")
		}
		break
	}
	return release, buildID
}
