package main

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
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
// bytes dominate. A dump's pages, for a report of the 6.1 fixture with its
// vmlinux (and of the many-tasks set): 256 KiB chunks take 31 reads of
// 9.7 MiB (58 of 26), 512 KiB ones 19 of 10.7 (39 of 29), 1 MiB ones 13
// of 12.7 (26 of 37). On a loaded machine a read's fixed cost grows to
// 5–60 ms (the browser process serves it), so fewer reads count more.
//
// A vmlinux is read by whole sections and DWARF units of known size
// (median 110 KiB, those a report needs): those of 64 KiB or more are read
// exactly, the rest through small chunks. 1 MiB chunks with read-ahead
// made a DWARF-only report read 350 MiB where 200 are needed; the line
// tables of a trace read a few hundred bytes here and there (a unit's
// head, its abbreviations, its line program), for which 32 KiB chunks
// read 0.9 MiB of the 6.1 fixture's where 256 KiB ones read 5.2 (and a
// DWARF-only report 218 MiB in 306 reads against 231 in 278).
const (
	dumpChunk         = 512 << 10
	dumpCacheBytes    = 48 << 20 // shared by the parts of a split dump
	vmlinuxChunk      = 32 << 10
	vmlinuxDirectRead = 64 << 10
	vmlinuxCacheByte  = 32 << 20
	pageCacheBytes    = 32 << 20 // decoded dump pages (kernel/dump's own LRU)
)

// Request says what to analyse.
type Request struct {
	Dump    []kernel.File // one file, or the parts of a split dump
	Vmlinux *kernel.File  // nil: symbols and types from the dump alone
	// Types chooses the vmlinux's type source (BTF by default; DWARF only
	// for comparison and benchmarks).
	Types kernel.TypeSource

	// Stream, when set, receives the report as a plain tar stream while it
	// is written, entry by entry: the archive (Result.Archive) is that
	// stream compressed, so another worker can compress it meanwhile.
	Stream io.Writer

	// Share, when set, makes the run the lead of a report shared with a
	// helper worker (Help), which makes outputs from the end of the plan.
	Share *report.Share

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

// Analyze opens the dump and runs the report into memory
// (report.Analyze). Its errors are *UserError, worded for the page.
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
	if ev.Stage != nil {
		ev.Stage(StageOpen)
	}
	in := inputs(req)
	var stream *report.TarSink
	m, err := report.Analyze(ctx, in, report.Options{
		EmitterDeadline: req.EmitterDeadline,
		Emitters:        req.Emitters,
		Outcome:         ev.Outcome,
		PageCacheBytes:  pageCacheBytes,
		Share:           req.Share,
		Progress: func(p report.Progress) {
			if ev.Progress != nil {
				ev.Progress(p)
			}
			if ev.Yield != nil {
				ev.Yield()
			}
		},
	}, func(o report.Opened) (report.Sink, error) {
		top := o.Identity.TopDir()
		res = &Result{Top: top, MemorySink: report.NewMemorySink(top, o.Identity.CrashTime)}
		if u := o.Kernel.Unreadable(); u != nil {
			res.KernelUnreadable = explainOpenError(req, u).Error()
		}
		if req.Stream == nil {
			return res.MemorySink, nil
		}
		var err error
		if stream, err = report.NewTarSink(req.Stream, report.TarPlain, o.Identity.CrashTime); err != nil {
			return nil, err
		}
		return report.Tee(res.MemorySink, stream), nil
	})
	if err == nil && stream != nil {
		err = stream.Close()
	}
	switch {
	case err == nil:
		res.Manifest = m
		return res, nil
	case ctx.Err() != nil:
		return nil, cancelled(context.Cause(ctx))
	case res == nil, report.Classify(err) == report.KindReadFailed:
		// Not opened, or a file the browser could no longer read in the
		// middle of the run: no report, and the file named.
		return nil, explainOpenError(req, err)
	}
	return nil, &UserError{Kind: KindInternal, Message: "Writing the report failed: " + err.Error()}
}

// inputs puts every input behind the worker's read cache.
func inputs(req Request) report.Files {
	in := report.Files{Types: req.Types}
	perPart := max(dumpCacheBytes/int64(max(len(req.Dump), 1)), 16*dumpChunk)
	for _, d := range req.Dump {
		cr := NewCachedReaderAt(d.R, d.Size, dumpChunk, perPart)
		cr.SetPrefetchNeighbour()
		in.Dump = append(in.Dump, kernel.File{Name: d.Name, R: cr, Size: d.Size})
	}
	if v := req.Vmlinux; v != nil {
		cr := NewCachedReaderAt(v.R, v.Size, vmlinuxChunk, vmlinuxCacheByte)
		cr.SetDirect(vmlinuxDirectRead)
		in.Vmlinux = &kernel.File{Name: v.Name, R: cr, Size: v.Size}
		if p, ok := v.R.(prefetcher); ok {
			prefetchLate(cr, p)
		}
	}
	return in
}

// Help is the helper worker's run (report.Help): it opens the same inputs
// as the lead and makes outputs from the end of the plan for it, through
// s.Peer. Its error is only for the worker's log: the lead makes whatever
// the helper did not.
func Help(ctx context.Context, req Request, s *report.Share) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("helper: internal error: %v", p)
		}
	}()
	return report.Help(ctx, inputs(req), report.Options{
		EmitterDeadline: req.EmitterDeadline,
		Emitters:        req.Emitters,
		PageCacheBytes:  pageCacheBytes,
	}, s)
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

// prefetcher is a file that can start reading a range in the background
// (the browser's File, read asynchronously by the worker) and serve a
// later read of it from memory.
type prefetcher interface {
	Prefetch(off, n int64)
}

// lateSections are the vmlinux sections a report reads whole, late in the
// run (the first stack trace, the first format-string probe, the first
// file:line), with how much of each (0: all): started at once, they arrive
// while the report runs instead of stopping it at each (5 reads of 7.6 MiB
// for the 6.1 fixture, 5-60 ms each on a loaded machine). What is read
// early (.symtab, .strtab, .BTF) would not arrive sooner than a read made
// when it is needed, since the worker takes the data only when the run
// pauses. A section the run does not read costs its bytes only.
var lateSections = []struct {
	name string
	max  uint64
}{
	{".orc_unwind_ip", 0}, {".orc_unwind", 0}, // unwind_orc.go: whole tables
	{".rodata", 4 << 20},                          // rodata.go: its first piece
	{".debug_aranges", 0}, {".debug_line_str", 0}, // kdwarf.OpenLines
}

// prefetchLate asks p for the lateSections of the vmlinux r reads (through
// its cache: the headers read here are those kernel.Open reads next).
func prefetchLate(r io.ReaderAt, p prefetcher) {
	f, err := elf.NewFile(r)
	if err != nil {
		return // kernel.Open says why
	}
	for _, ls := range lateSections {
		sec := f.Section(ls.name)
		if sec == nil || sec.Type == elf.SHT_NOBITS || sec.Flags&elf.SHF_COMPRESSED != 0 || sec.FileSize == 0 {
			continue
		}
		n := sec.FileSize
		if ls.max > 0 {
			n = min(n, ls.max)
		}
		p.Prefetch(int64(sec.Offset), int64(n))
	}
}
