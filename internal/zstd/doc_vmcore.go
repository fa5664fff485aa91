// This package is the Go standard library's zstd decompressor
// (src/internal/zstd of Go 1.26.8, BSD-3-Clause: LICENSE beside this file),
// copied unchanged because an internal package cannot be imported. It is
// the decoder debug/elf uses for compressed sections, so the browser's
// main.wasm already links that code once: this copy compresses to ~3 KB
// there, where github.com/klauspost/compress/zstd cost ~80 KB of brotli
// (its encoder-side imports, crypto/rand and log, came with it). It is a
// decoder only, without dictionaries (makedumpfile and ld use none), and
// it keeps at most an 8 MiB window (RFC 8878 allows a decoder that limit),
// so what it allocates follows what it has produced.
//
// Cost, measured on the 6.1 fixture: a whole report from the zstd dump
// takes the same CPU as before (pages are a small part of it), reading
// every page of that dump is ~1.6x slower natively, and opening the
// vmlinux's DWARF when objcopy compressed it with zstd takes 2.0 s
// against 1.3 s (BenchmarkOpenCompressed).
//
// To update: copy the non-test files of $(go env GOROOT)/src/internal/zstd
// over these and run go test ./kernel/dump ./kernel/kdwarf ./kernel/btf.

package zstd
