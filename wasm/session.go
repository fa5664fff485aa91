package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime/debug"
	"strings"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/dump"
	"github.com/vmcore-report/vmcore-report/report"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"), as for
// the CLI, so that both write the same manifest for the same inputs.
var version = "devel"

func toolVersion() string {
	if version != "devel" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}

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
	// Outcome reports each output as its emitter returns. It is
	// provisional: an emitter abandoned at its deadline reports nothing
	// (or late), and outputs that fail before running (no process list)
	// are only in the manifest, which is authoritative.
	Outcome func(Outcome)
	// Yield is called between outputs, so that the browser worker can
	// take messages (cancel, previews) during a long run; it should return
	// at once unless it is time to do so.
	Yield func()
}

// Outcome is one output's provisional status.
type Outcome struct {
	Path       string   `json:"path"`
	Emitter    string   `json:"emitter"`
	Status     string   `json:"status"`
	Reasons    []string `json:"reasons"`
	DurationMS float64  `json:"duration_ms"`
}

// Result is a finished report, kept in memory for previews and for
// archives in either format. Its files are the report's data (kilobytes to
// tens of MB), not the dump.
type Result struct {
	Manifest  *report.Manifest
	Top       string    // the archive's top folder
	CrashTime time.Time // every entry's modification time
	// KernelUnreadable says, in plain words, why the kernel's memory could
	// not be read; then every output failed. "" normally.
	KernelUnreadable string
	files            []file // in archive order
	index            map[string]int
}

type file struct {
	name string // with the top folder
	data []byte
	mode fs.FileMode
}

// File returns the file at rel (relative to the top folder).
func (r *Result) File(rel string) ([]byte, bool) {
	i, ok := r.index[rel]
	if !ok {
		return nil, false
	}
	return r.files[i].data, true
}

// Paths lists the files in archive order, relative to the top folder.
func (r *Result) Paths() []string {
	out := make([]string, len(r.files))
	for i, f := range r.files {
		out[i] = strings.TrimPrefix(f.name, r.Top+"/")
	}
	return out
}

// Archive packs the report as the CLI does: the same entries in the same
// order through report.TarSink, so the bytes equal the CLI's for the same
// run.
func (r *Result) Archive(c report.Compression) ([]byte, error) {
	var buf bytes.Buffer
	s, err := report.NewTarSink(&buf, c, r.CrashTime)
	if err != nil {
		return nil, err
	}
	for _, f := range r.files {
		if err := s.AddFile(f.name, f.data, f.mode); err != nil {
			return nil, err
		}
	}
	if err := s.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ArchiveName is the download name sos would give it.
func (r *Result) ArchiveName(c report.Compression) string { return r.Top + c.Ext() }

// recorder is the Sink of a browser run: it keeps the files.
type recorder struct{ r *Result }

func (s recorder) AddFile(name string, data []byte, mode fs.FileMode) error {
	rel, ok := strings.CutPrefix(name, s.r.Top+"/")
	if !ok {
		return fmt.Errorf("archive entry %q is outside the top folder %s", name, s.r.Top)
	}
	if _, dup := s.r.index[rel]; dup {
		return fmt.Errorf("archive entry %q written twice", name)
	}
	s.r.index[rel] = len(s.r.files)
	s.r.files = append(s.r.files, file{name: name, data: bytes.Clone(data), mode: mode})
	return nil
}

func (recorder) Close() error { return nil }

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
		return nil, &UserError{Kind: KindNoDump, Message: "No crash dump was given: add the vmcore file (or every part of a split dump)."}
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
		parts[i] = kernel.File{Name: in.Name, R: dump.NewCachedReaderAt(in.R, in.Size, dumpChunk, perPart), Size: in.Size}
	}
	var (
		opt         = kernel.Options{Types: req.Types}
		vmlinuxDesc *report.FileInput
	)
	if req.Vmlinux != nil {
		v := req.Vmlinux
		cr := dump.NewCachedReaderAt(v.R, v.Size, vmlinuxChunk, vmlinuxCacheByte)
		cr.SetDirect(vmlinuxDirectRead)
		opt.Vmlinux = &kernel.File{Name: v.Name, R: cr, Size: v.Size}
		vmlinuxDesc = &report.FileInput{Name: v.Name, Size: v.Size}
	}
	// As the CLI: a dump whose headers and VMCOREINFO are readable but whose
	// kernel memory is not (truncated before the page tables) still gives
	// a report, with every output failed for that reason.
	k, unreadable, err := report.OpenKernel(parts, opt)
	var fr *errFileRead
	if err == nil && (ctx.Err() != nil || errors.As(unreadable, &fr)) {
		// A failed read of a cancelled run, or of a File the browser no
		// longer serves, is not a property of the dump.
		k.Dump.Close()
		err = unreadable
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, cancelled(context.Cause(ctx))
		}
		return nil, explainOpenError(req, parts, opt.Vmlinux, err)
	}
	defer k.Dump.Close()
	k.Dump.SetCacheSize(pageCacheBytes)
	if ev.Yield != nil {
		ev.Yield()
	}
	if err := ctx.Err(); err != nil {
		return nil, cancelled(err)
	}

	id := report.Identify(k)
	res = &Result{Top: id.TopDir(), CrashTime: id.CrashTime, index: map[string]int{}}
	if unreadable != nil {
		res.KernelUnreadable = explainOpenError(req, parts, opt.Vmlinux, unreadable).Error()
	}
	list := req.Emitters
	if list == nil {
		list = emitters.All()
	}
	if ev.Outcome != nil {
		list = observed(list, ev.Outcome)
	}
	var (
		sink   report.Sink = recorder{res}
		stream *report.TarSink
	)
	if req.Stream != nil {
		if stream, err = report.NewTarSink(req.Stream, report.TarPlain, id.CrashTime); err != nil {
			return nil, &UserError{Kind: KindInternal, Message: "Writing the report failed: " + err.Error()}
		}
		sink = teeSink{recorder{res}, stream}
	}
	m, err := report.Run(ctx, k, report.Options{
		EmitterDeadline:  req.EmitterDeadline,
		ToolVersion:      toolVersion(),
		Vmlinux:          vmlinuxDesc,
		Emitters:         list,
		KernelUnreadable: unreadable,
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

// teeSink gives every file to both sinks.
type teeSink struct{ a, b report.Sink }

func (t teeSink) AddFile(name string, data []byte, mode fs.FileMode) error {
	if err := t.a.AddFile(name, data, mode); err != nil {
		return err
	}
	return t.b.AddFile(name, data, mode)
}

func (t teeSink) Close() error { return errors.Join(t.a.Close(), t.b.Close()) }

// observed wraps each emitter's Run to report its outcome as it returns,
// with the statuses report.Run gives (ok, partial, not-applicable,
// failed). A panic is not recovered here, so report.Run records it exactly
// as in the CLI; the manifest then corrects the provisional outcome.
func observed(list []*emitters.Emitter, notify func(Outcome)) []*emitters.Emitter {
	out := make([]*emitters.Emitter, len(list))
	for i, e := range list {
		w := *e
		run := e.Run
		if run != nil {
			w.Run = func(c *emitters.Context, item int64, o *emitters.Output) error {
				t0 := time.Now()
				returned := false
				var err error
				defer func() {
					oc := Outcome{Path: e.Expand(item), Emitter: e.Path, Reasons: []string{},
						DurationMS: float64(time.Since(t0).Microseconds()) / 1000}
					switch {
					case !returned:
						oc.Status, oc.Reasons = "failed", []string{"panic"}
					case err == nil && len(o.PartialReasons()) == 0:
						oc.Status = "ok"
					case err == nil:
						oc.Status, oc.Reasons = "partial", o.PartialReasons()
					case isNotApplicable(err):
						oc.Status, oc.Reasons = "not-applicable", []string{err.Error()}
					default:
						oc.Status, oc.Reasons = "failed", []string{err.Error()}
					}
					notify(oc)
				}()
				err = run(c, item, o)
				returned = true
				return err
			}
		}
		out[i] = &w
	}
	return out
}

// isNotApplicable is report's rule: an error with NotApplicable() true.
func isNotApplicable(err error) bool {
	var na interface{ NotApplicable() bool }
	return errors.As(err, &na) && na.NotApplicable()
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
