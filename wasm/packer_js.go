//go:build js && wasm

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"syscall/js"
	"unsafe"

	"github.com/vmcore-report/vmcore-report/report"
)

// Packing in a second worker. Compressing the archive is a fifth of a
// report's time in a browser, and a worker runs on one thread: the
// analyzer streams its plain tar (Request.Stream) to another worker, which
// compresses it meanwhile with report.NewCompressor. The result is the
// archive Result.Archive would give, byte for byte (report's tests check
// it), ready a moment after the report.

// streamChunk is how much tar the analyzer gathers before handing it over:
// about the xz dictionary, so the packer starts early and keeps pace.
const streamChunk = 64 << 10

// streamWriter is the analyzer's side: Request.Stream, sent on through
// vmcrPackChunk in pieces.
type streamWriter struct{ buf []byte }

func (w *streamWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if len(w.buf) >= streamChunk {
		w.flush()
	}
	return len(p), nil
}

func (w *streamWriter) flush() {
	if len(w.buf) == 0 {
		return
	}
	// JS copies the bytes out of wasm memory before this returns.
	js.Global().Call("vmcrPackChunk", float64(uintptr(unsafe.Pointer(&w.buf[0]))), len(w.buf))
	w.buf = w.buf[:0]
}

// end sends what is left and closes the stream.
func (w *streamWriter) end() {
	w.flush()
	js.Global().Call("vmcrPackEnd")
}

// The packer worker's side: one stream at a time.
var pack struct {
	format report.Compression
	out    bytes.Buffer
	comp   io.WriteCloser
	in     []byte // JS copies each piece here (see packBuffer)
	err    error
}

// packStart(format) begins a stream ("tar.xz" or "tar.gz").
func packStart(_ js.Value, args []js.Value) any {
	pack.format = compressionOf(args[0])
	pack.out.Reset()
	pack.comp, pack.err = report.NewCompressor(&pack.out, pack.format)
	return nil
}

// packBuffer(n) returns the address of a buffer of n bytes in wasm memory
// for the next piece: JS copies into it, so no Uint8Array is kept alive in
// Go's value table (see the read path in main_js.go).
func packBuffer(_ js.Value, args []js.Value) any {
	n := args[0].Int()
	if cap(pack.in) < n {
		pack.in = make([]byte, max(n, streamChunk))
	}
	pack.in = pack.in[:n]
	if n == 0 {
		return 0
	}
	return float64(uintptr(unsafe.Pointer(&pack.in[0])))
}

// packWrite(n) compresses the n bytes JS put in the buffer.
func packWrite(_ js.Value, args []js.Value) any {
	n := args[0].Int()
	if pack.err == nil && pack.comp != nil && n <= len(pack.in) {
		_, pack.err = pack.comp.Write(pack.in[:n])
	}
	return nil
}

// packEnd() finishes the stream and posts {type: "packed", size, sha256,
// format} with the archive as a Blob, or an error message.
func packEnd(js.Value, []js.Value) any {
	if pack.comp == nil {
		postError(&UserError{Kind: KindInternal, Message: "Packing ended before it began."})
		return nil
	}
	if err := pack.comp.Close(); pack.err == nil {
		pack.err = err
	}
	if pack.err != nil {
		postError(&UserError{Kind: KindInternal, Message: "Packing the archive failed: " + pack.err.Error()})
		return nil
	}
	b := pack.out.Bytes()
	sum := sha256.Sum256(b)
	post(map[string]any{"type": "packed", "size": len(b), "sha256": hex.EncodeToString(sum[:]),
		"format": strings.TrimPrefix(pack.format.Ext(), ".")},
		blobOf(b, mimeOf(pack.format)))
	pack.comp, pack.in = nil, nil
	pack.out = bytes.Buffer{}
	return nil
}
