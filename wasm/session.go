package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/report"
)

// Read caching. Each read of a browser File costs 1–2 ms plus 4–7 ms per
// MiB (Chromium, FileReaderSync, and the copy into wasm memory), so every
// input sits behind a cache of chunks, sized so that neither count nor
// bytes dominate: 256 KiB chunks read a report's pages of the 6.1 fixture
// in 29 reads of 9 MiB, where 1 MiB chunks took 14 reads of 17 MiB.
//
// A vmlinux is read by whole sections and DWARF units of known size
// (median 110 KiB, those a report needs): those of 64 KiB or more are read
// exactly, the rest through small chunks. 1 MiB chunks with read-ahead
// made a DWARF-only report read 350 MiB where 200 are needed.
const (
	dumpChunk         = 256 << 10
	dumpCacheBytes    = 48 << 20 // shared by the parts of a split dump
	vmlinuxChunk      = 256 << 10
	vmlinuxDirectRead = 64 << 10
	vmlinuxCacheByte  = 32 << 20
	pageCacheBytes    = 32 << 20 // decoded dump pages (kernel/dump's own LRU)
)

// Input is one file to analyse.
type Input struct {
	Name string
	R    io.ReaderAt
	Size int64
}

// Request says what to analyse.
type Request struct {
	Dump    []Input // one file, or the parts of a split dump
	Vmlinux *Input  // nil: symbols and types from the dump alone
	// Types chooses the vmlinux's type source (BTF by default; DWARF only
	// for comparison and benchmarks).
	Types kernel.TypeSource

	// Stream, when set, receives the report as a plain tar stream while it
	// is written, entry by entry: the archive (Result.Archive) is that
	// stream compressed, so another worker can compress it meanwhile.
	Stream io.Writer

	// Emitters and EmitterDeadline override the registry and the default
	// deadline (tests).
	Emitters        []*emitters.Emitter
	EmitterDeadline time.Duration
}

// Stages the page shows, in order. The report's own stages (report.Stage*)
// come between StageOpen and StageArchive.
const (
	StageOpen    = "open"    // dump headers, VMCOREINFO, symbols and types
	StageArchive = "archive" // compressing the archive
)

// Events receive what a run does while it does it. Any may be nil.
type Events struct {
	Stage    func(stage string)
	Progress func(report.Progress)
	// Outcome reports each output as the manifest records it.
	Outcome func(report.Output)
	// Yield is called between outputs, so that the browser worker can
	// take messages (cancel, previews) during a long run; it should return
	// at once unless it is time to do so.
	Yield func()
}

// Result is a finished report, kept in memory (report.MemorySink) for
// previews and for archives in either format.
type Result struct {
	*report.MemorySink
	Manifest *report.Manifest
	Top      string // the archive's top folder
	// KernelUnreadable says, in plain words, why the kernel's memory could
	// not be read; then every output failed. "" normally.
	KernelUnreadable string
}

// ArchiveName is the download name sos would give it.
func (r *Result) ArchiveName(c report.Compression) string { return r.Top + c.Ext() }

// Analyze opens the dump and runs the report into memory. Its errors are
// *UserError, worded for the page.
func Analyze(ctx context.Context, req Request, ev Events) (res *Result, err error) {
	defer func() {
		// kernel/ must not panic on bad input; if it does anyway, the page
		// gets a message rather than a dead worker.
		if p := recover(); p != nil {
			res, err = nil, &UserError{Kind: KindInternal, Message: fmt.Sprintf(
				"The analyzer hit an internal error (%v). Please report it with the dump's format and kernel release.", p),
				Detail: string(debug.Stack())}
		}
	}()
	if len(req.Dump) == 0 {
		return nil, explainOpenError(req, kernel.ErrNoDump)
	}
	stage := func(s string) {
		if ev.Stage != nil {
			ev.Stage(s)
		}
	}
	stage(StageOpen)
	parts := make([]kernel.File, len(req.Dump))
	perPart := max(dumpCacheBytes/int64(len(req.Dump)), 16*dumpChunk)
	for i, in := range req.Dump {
		// Reads end with the run (kernel.Open wraps them in ctx): a cancelled run
		// stops at its next read, wherever it is.
		parts[i] = kernel.File{Name: in.Name, R: NewCachedReaderAt(in.R, in.Size, dumpChunk, perPart), Size: in.Size}
	}
	var (
		opt         = kernel.Options{Types: req.Types}
		vmlinuxDesc *report.FileInput
	)
	if req.Vmlinux != nil {
		v := req.Vmlinux
		cr := NewCachedReaderAt(v.R, v.Size, vmlinuxChunk, vmlinuxCacheByte)
		cr.SetDirect(vmlinuxDirectRead)
		opt.Vmlinux = &kernel.File{Name: v.Name, R: cr, Size: v.Size}
		vmlinuxDesc = &report.FileInput{Name: v.Name, Size: v.Size}
	}
	// As the CLI: a dump whose headers and VMCOREINFO are readable but whose
	// kernel memory is not (truncated before the page tables) still gives
	// a report, with every output failed for that reason.
	k, err := kernel.Open(ctx, parts, opt)
	var (
		unreadable error
		fr         *errFileRead
	)
	if k != nil && err != nil {
		if ctx.Err() != nil || errors.As(err, &fr) {
			// A failed read of a cancelled run, or of a File the browser
			// no longer serves, is not a property of the dump.
			k.Close()
		} else {
			unreadable, err = err, nil
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, cancelled(context.Cause(ctx))
		}
		return nil, explainOpenError(req, err)
	}
	defer k.Close()
	k.SetCacheSize(pageCacheBytes)
	if ev.Yield != nil {
		ev.Yield()
	}
	if err := ctx.Err(); err != nil {
		return nil, cancelled(err)
	}

	id := report.Identify(k)
	res = &Result{Top: id.TopDir(), MemorySink: report.NewMemorySink(id.TopDir(), id.CrashTime)}
	if unreadable != nil {
		res.KernelUnreadable = explainOpenError(req, unreadable).Error()
	}
	var (
		sink   report.Sink = res.MemorySink
		stream *report.TarSink
	)
	if req.Stream != nil {
		if stream, err = report.NewTarSink(req.Stream, report.TarPlain, id.CrashTime); err != nil {
			return nil, &UserError{Kind: KindInternal, Message: "Writing the report failed: " + err.Error()}
		}
		sink = report.Tee(res.MemorySink, stream)
	}
	m, err := report.Run(ctx, k, report.Options{
		EmitterDeadline: req.EmitterDeadline,
		Vmlinux:         vmlinuxDesc,
		Emitters:        req.Emitters,
		Outcome:         ev.Outcome,
		Progress: func(p report.Progress) {
			if ev.Progress != nil {
				ev.Progress(p)
			}
			if ev.Yield != nil {
				ev.Yield()
			}
		},
	}, sink)
	if err == nil && stream != nil {
		err = stream.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, cancelled(context.Cause(ctx))
		}
		return nil, &UserError{Kind: KindInternal, Message: "Writing the report failed: " + err.Error()}
	}
	res.Manifest = m
	return res, nil
}

// Summary is what the page shows about a finished report.
type Summary struct {
	Top         string   `json:"top"`
	Release     string   `json:"release"`
	BuildID     string   `json:"build_id"`
	Nodename    string   `json:"nodename"`
	CrashTime   string   `json:"crash_time"`
	Panic       string   `json:"panic_message"`
	Taint       string   `json:"taint"`
	DebugMode   string   `json:"debug_mode"`
	Types       string   `json:"types"`
	Symbols     string   `json:"symbols"`
	Format      string   `json:"format"`
	Compression string   `json:"compression"`
	DumpLevel   int      `json:"dump_level"`
	Truncated   bool     `json:"truncated"`
	Incomplete  bool     `json:"incomplete"`
	Warnings    []string `json:"warnings"`
	// KernelUnreadable: the kernel's memory could not be read, every
	// output failed; the manifest still names the dump and the kernel.
	KernelUnreadable string         `json:"kernel_unreadable,omitempty"`
	Counts           report.Summary `json:"counts"`
	DurationMS       float64        `json:"duration_ms"`
	ArchiveSize      int            `json:"archive_size"`
	ArchiveSHA       string         `json:"archive_sha256"`
	ArchiveName      string         `json:"archive_name"`
	// Streamed: the archive is being packed elsewhere from the tar stream
	// (Request.Stream); the archive fields are then empty.
	Streamed     bool   `json:"streamed"`
	ManifestPath string `json:"manifest_path"`
	LogPath      string `json:"log_path"`
}

// Summarize describes res and its archive for the page.
func (r *Result) Summarize(archive []byte, c report.Compression) Summary {
	m := r.Manifest
	s := Summary{
		Top: r.Top, Release: m.Kernel.Release, BuildID: m.Kernel.BuildID, Nodename: m.Kernel.Nodename,
		CrashTime: m.Kernel.CrashTime, Panic: m.Kernel.PanicMessage,
		DebugMode: m.Debug.Mode, Types: m.Debug.Types, Symbols: m.Debug.Symbols,
		Format: m.Inputs.Dump.Format, Compression: m.Inputs.Dump.Compression, DumpLevel: m.Inputs.Dump.DumpLevel,
		Truncated: m.Inputs.Dump.Truncated, Incomplete: m.Inputs.Dump.Incomplete, Warnings: m.Inputs.Dump.Warnings,
		KernelUnreadable: r.KernelUnreadable,
		Counts:           m.Summary, DurationMS: m.Run.DurationMS,
		ManifestPath: report.ManifestPath, LogPath: report.LogPath,
	}
	switch {
	case m.Kernel.Taint == nil:
		s.Taint = "unknown (tainted_mask could not be read)"
	case m.Kernel.Taint.Letters == "":
		s.Taint = "not tainted"
	default:
		s.Taint = fmt.Sprintf("%s (mask %#x)", m.Kernel.Taint.Letters, m.Kernel.Taint.Mask)
	}
	if m.Inputs.Dump.Inner != "" {
		s.Format += " (" + m.Inputs.Dump.Inner + " inside)"
	}
	if archive != nil {
		sum := sha256.Sum256(archive)
		s.ArchiveSize, s.ArchiveSHA, s.ArchiveName = len(archive), hex.EncodeToString(sum[:]), r.ArchiveName(c)
	}
	return s
}
