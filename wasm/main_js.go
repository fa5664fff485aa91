//go:build js && wasm

// Command wasm is the browser analyzer's engine: built with GOOS=js
// GOARCH=wasm, it runs inside the dedicated worker of web/worker.js, reads
// the dropped files through that worker and runs the same report pipeline
// as the CLI.
//
// The worker defines, before starting this program:
//
//	vmcrRead(index, offset, ptr, n) number  copy bytes [offset, offset+n) of
//	    file index into wasm memory at ptr; return the count, or -1 (then
//	    vmcrReadError() says why)
//	vmcrPrefetch(index, offset, n)         start reading that range in the
//	    background, for a later vmcrRead inside it
//	vmcrPending(index, offset, n) bool     whether a prefetch holding that
//	    range has yet to arrive
//	vmcrPost(message, blob?)               post a message to the page
//	vmcrPackChunk(ptr, n), vmcrPackEnd()   when the run streams its tar to
//	    a packer worker: send it bytes [ptr, ptr+n) of wasm memory, and
//	    the end of the stream
//
// and this program defines vmcr.{start, preview, archive, cancel} for the
// worker's message handler, and vmcr.{packStart, packBuffer, packWrite,
// packEnd} for a worker that packs another's stream (see packer_js.go).
// Reads use FileReaderSync in the worker and a copy straight into wasm
// memory: handing Uint8Arrays back to Go for js.CopyBytesToGo would keep
// every one alive in wasm_exec's value table (see docs/browser.md of the
// project notes).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall/js"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/report"
)

// memoryLimit makes the Go GC work harder before the wasm memory grows
// (it never shrinks): the report needs some tens of MB beyond its caches.
const memoryLimit = 384 << 20

// gcPercent lets the heap grow to 5× the live data between collections
// (Go's default is 2×): a report's live data is tens of MB, the memory
// limit still bounds the total, and collections are costly in a browser's
// first run, while the code is not yet optimised (a tenth of it at
// GOGC=100, measured under node).
const gcPercent = 400

func main() {
	debug.SetMemoryLimit(memoryLimit)
	debug.SetGCPercent(gcPercent)
	a := &app{}
	api := js.Global().Get("Object").New()
	api.Set("start", js.FuncOf(a.start))
	api.Set("help", js.FuncOf(a.help))
	api.Set("preview", js.FuncOf(a.preview))
	api.Set("archive", js.FuncOf(a.archive))
	api.Set("cancel", js.FuncOf(a.cancel))
	api.Set("packStart", js.FuncOf(packStart))
	api.Set("packBuffer", js.FuncOf(packBuffer))
	api.Set("packWrite", js.FuncOf(packWrite))
	api.Set("packEnd", js.FuncOf(packEnd))
	js.Global().Set("vmcr", api)
	rows, _ := json.Marshal(report.Coverage(nil))
	post(map[string]any{"type": "ready", "version": report.Version(), "coverage": json.RawMessage(rows)}, js.Undefined())
	select {}
}

// app holds the one run a worker does at a time and its result.
type app struct {
	mu      sync.Mutex
	running bool
	cancelF context.CancelFunc
	result  *Result
}

// post sends a message to the page through the worker. payload is turned
// into JSON and parsed on the JS side: simpler and cheaper than building
// nested js.Values, and it keeps no js.Value alive in Go.
func post(payload map[string]any, blob js.Value) { postManifest(payload, blob, "") }

// postManifest is post with the report's manifest (JSON text) as the
// message's manifest, passed as it is rather than escaped into the JSON.
func postManifest(payload map[string]any, blob js.Value, manifest string) {
	b, err := json.Marshal(payload)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"type":"error","kind":"internal","message":%q}`, "cannot encode a message: "+err.Error()))
	}
	js.Global().Call("vmcrPost", string(b), blob, manifest)
}

// jsFile reads a File the worker holds, by index.
type jsFile struct {
	idx  int
	name string
	size int64
	run  *runReads // the run the File was chosen for
}

// runReads is one run's reading: counts for the progress messages, and
// the pause after each read.
type runReads struct {
	reads, bytes int64
	// after, when set, reports progress and yields: reads are the only
	// sign of life while the kernel is being opened.
	after func()
}

var (
	readFn     = js.Global().Get("vmcrRead")
	readErrFn  = js.Global().Get("vmcrReadError")
	prefetchFn = js.Global().Get("vmcrPrefetch")
	pendingFn  = js.Global().Get("vmcrPending")
	scratchMu  sync.Mutex
	scratch    []byte // heap memory JS copies into; a stack buffer could move
	maxPerRead = 8 << 20
)

// yieldEvery spaces the pauses that let the worker take messages: each
// costs a few ms (a setTimeout round trip).
const yieldEvery = 150 * time.Millisecond

// progressEvery spaces the progress messages: each is encoded here,
// parsed by the worker, copied to the page and drawn there (messages to
// the page took 5-8 % of a browser report's time at every 50 ms).
const progressEvery = 100 * time.Millisecond

// liveOutcome is what the page's tracker shows of an output while the run
// goes on (report.Output without its size, hash and time, which the
// manifest gives it at the end).
type liveOutcome struct {
	Path    string   `json:"path"`
	Emitter string   `json:"emitter"`
	Status  string   `json:"status"`
	Reasons []string `json:"reasons"`
}

func (f *jsFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset %d", f.name, off)
	}
	if off >= f.size {
		return 0, io.EOF
	}
	// A prefetch on its way is waited for before taking scratchMu: the
	// wait sleeps, and a goroutine that reads ahead in the background
	// (emit.Context.ReadAheadSourceLines) must not hold up the run's reads
	// of the other files meanwhile (those of the same file wait on its
	// CachedReaderAt).
	f.waitPrefetch(off, int(min(int64(len(p)), f.size-off, int64(maxPerRead))))
	scratchMu.Lock()
	defer scratchMu.Unlock()
	n := 0
	// A buffer larger than any stack variable can be (128 KiB) is on the
	// heap, which does not move: JS fills it directly. Smaller ones go
	// through scratch. A DWARF index reads hundreds of MB in large pieces.
	direct := len(p) > 128<<10
	for n < len(p) && off+int64(n) < f.size {
		want := min(len(p)-n, maxPerRead, int(f.size-off-int64(n)))
		dst := p[n:]
		if !direct {
			if len(scratch) < want {
				scratch = make([]byte, max(want, 1<<20))
			}
			dst = scratch
		}
		f.waitPrefetch(off+int64(n), want)
		ptr := uintptr(unsafe.Pointer(&dst[0]))
		got := readFn.Invoke(f.idx, float64(off+int64(n)), float64(ptr), want).Int()
		runtime.KeepAlive(dst)
		if got < 0 {
			return n, &errFileRead{name: f.name, err: errors.New(readErrFn.Invoke().String())}
		}
		f.run.reads++
		f.run.bytes += int64(got)
		if direct {
			n += got
		} else {
			n += copy(p[n:], scratch[:got])
		}
		if got < want {
			break
		}
	}
	if f.run.after != nil {
		scratchMu.Unlock()
		f.run.after()
		scratchMu.Lock()
	}
	if n < len(p) {
		if off+int64(n) >= f.size {
			return n, io.EOF
		}
		return n, &errFileRead{name: f.name, err: io.ErrUnexpectedEOF}
	}
	return n, nil
}

// prefetchWait bounds the wait for a prefetch still on its way.
const prefetchWait = 2 * time.Second

// waitPrefetch lets a prefetch holding [off, off+n) arrive instead of
// reading the range again: the run sleeps, and the worker takes the data
// meanwhile (a batch of prefetches arrives in about the time of one read).
func (f *jsFile) waitPrefetch(off int64, n int) {
	deadline := time.Now().Add(prefetchWait)
	for pendingFn.Invoke(f.idx, float64(off), n).Bool() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

// Prefetch starts reading [off, off+n) of the File in the background: a
// later ReadAt inside it is served from memory once the data has arrived
// (the worker takes it while the run pauses), else read as usual.
func (f *jsFile) Prefetch(off, n int64) {
	if off < 0 || n <= 0 || off >= f.size {
		return
	}
	prefetchFn.Invoke(f.idx, float64(off), float64(min(n, f.size-off)))
}

// fileSpec is a File the worker holds: {index, name, size}.
func fileSpec(v js.Value, run *runReads) (*jsFile, error) {
	if v.IsUndefined() || v.IsNull() {
		return nil, nil
	}
	f := &jsFile{idx: v.Get("index").Int(), name: v.Get("name").String(), size: int64(v.Get("size").Float()), run: run}
	if f.size <= 0 {
		return nil, &UserError{Kind: KindReadFailed, Message: fmt.Sprintf("%s is empty: was it saved completely?", f.name)}
	}
	return f, nil
}

// start(spec) begins a run; spec is {dump: [file…], vmlinux: file|null,
// format: "tar.xz"|"tar.gz", types: ""|"dwarf", stream: bool}. With
// stream, the tar goes to the packer worker as it is written and the done
// message carries no archive. It returns at once (in fact when the run
// first yields); the run reports through messages.
func (a *app) start(_ js.Value, args []js.Value) any {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running {
		post(map[string]any{"type": "error", "kind": KindInternal, "message": "An analysis is already running."}, js.Undefined())
		return nil
	}
	spec := args[0]
	reads := &runReads{}
	req, err := requestOf(spec, reads)
	if err != nil {
		postError(err)
		return nil
	}
	if sh := spec.Get("share"); sh.Type() == js.TypeBoolean && sh.Bool() {
		req.Share = &report.Share{Peer: &jsPeer{}}
	}
	format := compressionOf(spec.Get("format"))
	var sw *streamWriter
	if st := spec.Get("stream"); st.Type() == js.TypeBoolean && st.Bool() {
		sw = &streamWriter{}
		req.Stream = sw
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.running, a.cancelF, a.result = true, cancel, nil
	go a.run(ctx, req, reads, format, sw)
	return nil
}

// requestOf reads a spec's files and type source.
func requestOf(spec js.Value, reads *runReads) (Request, error) {
	var req Request
	for i := 0; i < spec.Get("dump").Length(); i++ {
		f, err := fileSpec(spec.Get("dump").Index(i), reads)
		if err != nil {
			return req, err
		}
		req.Dump = append(req.Dump, kernel.File{Name: f.name, R: f, Size: f.size})
	}
	v, err := fileSpec(spec.Get("vmlinux"), reads)
	if err != nil {
		return req, err
	}
	if v != nil {
		req.Vmlinux = &kernel.File{Name: v.name, R: v, Size: v.size}
	}
	if t := spec.Get("types"); t.Type() == js.TypeString && t.String() == "dwarf" {
		req.Types = kernel.TypesDWARF
	}
	return req, nil
}

// help(spec) makes this worker the helper of the lead's run on the same
// files (spec as for start): it makes outputs from the end of the plan
// and sends them to the lead, then posts {type: "helped", made, error}.
func (a *app) help(_ js.Value, args []js.Value) any {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running {
		post(map[string]any{"type": "helped", "made": 0, "error": "this worker is busy"}, js.Undefined())
		return nil
	}
	reads := &runReads{}
	req, err := requestOf(args[0], reads)
	if err != nil {
		post(map[string]any{"type": "helped", "made": 0, "error": err.Error()}, js.Undefined())
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.running, a.cancelF, a.result = true, cancel, nil
	go func() {
		t0 := time.Now()
		s := &report.Share{Peer: &jsPeer{}}
		err := Help(ctx, req, s)
		msg := map[string]any{"type": "helped", "made": s.Made, "elapsed_ms": time.Since(t0).Milliseconds(), "reads": reads.reads,
			"share": shareStats(s)}
		if err != nil {
			msg["error"] = err.Error()
		}
		post(msg, js.Undefined())
		a.mu.Lock()
		a.running, a.cancelF = false, nil
		a.mu.Unlock()
	}()
	return nil
}

// jsPeer is the worker's end of a shared report's MessageChannel (see
// worker.js: vmcrPeer*).
type jsPeer struct {
	buf []byte
	// For the page's figures: how often and how long the run looked for
	// messages, and how many it sent.
	receives, sends int
	inReceive       time.Duration
}

var (
	peerSendFn = js.Global().Get("vmcrPeerSend")
	peerNextFn = js.Global().Get("vmcrPeerNext")
	peerCopyFn = js.Global().Get("vmcrPeerCopy")
	peerWaitFn = js.Global().Get("vmcrPeerWait")
	yieldFn    = js.Global().Get("vmcrYield")
	// One callback each, made once: a js.Func lives until released.
	yieldCh   = make(chan struct{}, 1)
	yieldFunc = js.FuncOf(func(js.Value, []js.Value) any { signal(yieldCh); return nil })
	peerCh    = make(chan struct{}, 1)
	peerFunc  = js.FuncOf(func(js.Value, []js.Value) any { signal(peerCh); return nil })
)

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// yieldNow lets the worker's event loop run once: messages that have
// arrived are taken (the run blocks, so the runtime returns to JS).
func yieldNow() {
	yieldFn.Invoke(yieldFunc)
	<-yieldCh
}

func (p *jsPeer) Send(m report.ShareMessage) error {
	p.sends++
	p.buf = report.AppendShareMessage(p.buf[:0], m)
	ok := peerSendFn.Invoke(float64(uintptr(unsafe.Pointer(&p.buf[0]))), len(p.buf)).Bool()
	runtime.KeepAlive(p.buf)
	if !ok {
		return report.ErrPeerGone
	}
	return nil
}

func (p *jsPeer) Receive(ctx context.Context, wait bool) ([]report.ShareMessage, error) {
	t0 := time.Now()
	p.receives++
	defer func() { p.inReceive += time.Since(t0) }()
	yieldNow()
	for {
		var out []report.ShareMessage
		gone := false
		for {
			n := peerNextFn.Invoke().Int()
			if n < 0 {
				gone = n == -2
				break
			}
			b := make([]byte, max(n, 1))
			peerCopyFn.Invoke(float64(uintptr(unsafe.Pointer(&b[0]))))
			m, err := report.DecodeShareMessage(b[:n])
			if err != nil {
				return out, err
			}
			out = append(out, m)
		}
		switch {
		case len(out) > 0 || !wait:
			return out, nil
		case gone:
			return nil, report.ErrPeerGone
		}
		select {
		case <-peerCh: // drained by the next round
		default:
		}
		peerWaitFn.Invoke(peerFunc)
		select {
		case <-peerCh:
		case <-ctx.Done():
			peerWaitFn.Invoke(js.Null())
			return nil, ctx.Err()
		}
	}
}

func compressionOf(v js.Value) report.Compression {
	if v.Type() == js.TypeString && v.String() == "tar.gz" {
		return report.TarGzip
	}
	return report.TarXZ
}

func (a *app) run(ctx context.Context, req Request, reads *runReads, format report.Compression, sw *streamWriter) {
	t0 := time.Now()
	lastYield := t0
	// yield sleeps, so that every goroutine is blocked and the runtime
	// hands control back to the worker's event loop for a moment.
	yield := func() {
		if time.Since(lastYield) >= yieldEvery {
			time.Sleep(time.Millisecond)
			lastYield = time.Now()
		}
	}
	var (
		pending   []liveOutcome
		lastFlush time.Time
		stage     string
		stageAt   = map[string]int64{} // ms from the start to each stage
	)
	progress := func(p report.Progress, force bool) {
		if !force && time.Since(lastFlush) < progressEvery {
			return
		}
		lastFlush = time.Now()
		post(map[string]any{
			"type": "progress", "stage": stage, "done": p.Done, "total": p.Total, "path": p.Path,
			"reads": reads.reads, "bytes_read": reads.bytes, "elapsed_ms": time.Since(t0).Milliseconds(),
			"outcomes": pending,
		}, js.Undefined())
		pending = pending[:0]
	}
	var last report.Progress
	ev := Events{
		Stage: func(s string) {
			stage = s
			stageAt[s] = time.Since(t0).Milliseconds()
			progress(last, true)
		},
		Progress: func(p report.Progress) {
			last = p
			if p.Stage != stage && p.Stage != report.StageDone {
				stage = p.Stage
				stageAt[stage] = time.Since(t0).Milliseconds()
				progress(p, true)
				return
			}
			progress(p, false)
		},
		Outcome: func(o report.Output) {
			pending = append(pending, liveOutcome{Path: o.Path, Emitter: o.Emitter, Status: o.Status, Reasons: o.Reasons})
		},
		Yield: yield,
	}
	reads.after = func() {
		progress(last, false)
		yield()
	}
	res, err := Analyze(ctx, req, ev)
	reads.after = nil
	if err == nil {
		stage = StageArchive
		stageAt[stage] = time.Since(t0).Milliseconds()
		progress(last, true)
		var archive []byte
		if sw != nil {
			sw.end() // the packer has the rest
		} else {
			archive, err = res.Archive(format)
		}
		if err == nil {
			a.mu.Lock()
			a.result = res
			a.mu.Unlock()
			man, _ := res.File(report.ManifestPath)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			sum := res.Summarize(archive, format)
			sum.Streamed = sw != nil
			postManifest(map[string]any{
				"type": "done", "summary": sum, "paths": res.Paths(),
				"stats": map[string]any{
					"elapsed_ms": time.Since(t0).Milliseconds(), "reads": reads.reads, "bytes_read": reads.bytes,
					"go_heap_sys": ms.HeapSys, "go_sys": ms.Sys, "go_heap_alloc": ms.HeapAlloc,
					"stages_ms": stageAt, "share": shareStats(req.Share),
				},
			}, archiveBlob(archive, format, sw != nil), string(man))
		}
	}
	if err != nil {
		postError(err)
	}
	a.mu.Lock()
	a.running, a.cancelF = false, nil
	a.mu.Unlock()
}

// shareStats says how a shared report went (nil: not shared).
func shareStats(s *report.Share) map[string]any {
	if s == nil {
		return nil
	}
	st := map[string]any{"helper_made": s.Made, "both_made": s.Twice, "dropped": s.Dropped}
	if p, ok := s.Peer.(*jsPeer); ok {
		st["receives"], st["sends"], st["receive_ms"] = p.receives, p.sends, p.inReceive.Milliseconds()
	}
	return st
}

func postError(err error) {
	var ue *UserError
	if !errors.As(err, &ue) {
		ue = &UserError{Kind: KindInternal, Message: err.Error()}
	}
	post(map[string]any{"type": "error", "kind": ue.Kind, "message": ue.Message, "detail": ue.Detail}, js.Undefined())
}

func mimeOf(c report.Compression) string {
	if c == report.TarGzip {
		return "application/gzip"
	}
	return "application/x-xz"
}

func archiveBlob(archive []byte, format report.Compression, streamed bool) js.Value {
	if streamed {
		return js.Undefined()
	}
	return blobOf(archive, mimeOf(format))
}

// blobOf copies b into a JS Blob.
func blobOf(b []byte, mime string) js.Value {
	u8 := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u8, b)
	opts := js.Global().Get("Object").New()
	opts.Set("type", mime)
	return js.Global().Get("Blob").New([]any{u8}, opts)
}

// maxPreview bounds the text sent for a preview.
const maxPreview = 256 << 10

// preview(path, tail) returns {path, size, text, truncated, binary} for a
// file of the finished report, or {path, missing: true}. With tail, a file
// larger than a preview shows its end (from a line start): the triage view
// wants the last kernel messages.
func (a *app) preview(_ js.Value, args []js.Value) any {
	rel := args[0].String()
	a.mu.Lock()
	res := a.result
	a.mu.Unlock()
	out := map[string]any{"path": rel}
	var data []byte
	ok := false
	if res != nil {
		data, ok = res.File(rel)
	}
	if !ok {
		out["missing"] = true
		return out
	}
	out["size"] = len(data)
	shown := data
	if len(shown) > maxPreview {
		if len(args) > 1 && args[1].Truthy() {
			shown = shown[len(shown)-maxPreview:]
			if i := bytes.IndexByte(shown, '\n'); i >= 0 {
				shown = shown[i+1:]
			}
		} else {
			shown = shown[:maxPreview]
		}
		out["truncated"] = true
	}
	if isText(shown) {
		out["text"] = string(shown)
	} else {
		out["binary"] = true
		out["text"] = hexDump(shown[:min(len(shown), 4096)])
	}
	return out
}

// isText says whether b reads as UTF-8 text (a cut at the end of a
// truncated preview is allowed).
func isText(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		if r == 0 {
			return false
		}
		b = b[size:]
	}
	return true
}

func hexDump(b []byte) string {
	var s []byte
	for off := 0; off < len(b); off += 16 {
		s = fmt.Appendf(s, "%08x ", off)
		line := b[off:min(off+16, len(b))]
		for i := 0; i < 16; i++ {
			if i < len(line) {
				s = fmt.Appendf(s, " %02x", line[i])
			} else {
				s = append(s, "   "...)
			}
		}
		s = append(s, "  |"...)
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			s = append(s, c)
		}
		s = append(s, "|\n"...)
	}
	return string(s)
}

// archive(format) packs the finished report again in another format and
// posts it as {type: "archive"} with the Blob.
func (a *app) archive(_ js.Value, args []js.Value) any {
	a.mu.Lock()
	res := a.result
	a.mu.Unlock()
	if res == nil {
		postError(&UserError{Kind: KindInternal, Message: "There is no finished report to pack."})
		return nil
	}
	format := compressionOf(args[0])
	b, err := res.Archive(format)
	if err != nil {
		postError(err)
		return nil
	}
	sum := res.Summarize(b, format)
	post(map[string]any{"type": "archive", "name": sum.ArchiveName, "size": sum.ArchiveSize, "sha256": sum.ArchiveSHA,
		"format": args[0].String()}, blobOf(b, mimeOf(format)))
	return nil
}

// cancel() stops the run at its next yield.
func (a *app) cancel(js.Value, []js.Value) any {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancelF != nil {
		a.cancelF()
	}
	return nil
}
