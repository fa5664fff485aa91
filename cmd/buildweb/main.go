// Command buildweb builds the browser analyzer into web/dist: main.wasm
// (GOOS=js GOARCH=wasm build of ./wasm), the toolchain's own wasm_exec.js,
// and the static assets of web/, each beside a brotli (.br) and a gzip
// (.gz) copy for servers that pick a pre-compressed variant by
// Accept-Encoding (cmd/devserver does). Any plain static server can serve
// the folder as is, as long as .wasm goes out as application/wasm.
//
//	go run ./cmd/buildweb [-src web] [-out web/dist] [-ldflags '-s -w -X github.com/vmcore-report/vmcore-report/report.version=v1'] [-brotli 11]
//
// Brotli quality 11 takes ~30 s on main.wasm here for ~13 % less than
// quality 9 (~2 s); -brotli 9 suits a quick development build.
//
// main.wasm is downloaded before anything runs, so its size is checked:
// the build fails when main.wasm.br exceeds -max-wasm-br (1.5 MB, issue
// 16) at quality 11 (a lower quality is only reported). Two steps keep it
// there without a cost at run time: the packages that run once per
// report are compiled without inlining (coldPackages), and the data
// section's segments are merged (mergeDataSegments). What the bytes are
// is in docs/dependencies.md ("What main.wasm is made of").
package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/vmcore-report/vmcore-report/internal/webserve"
)

// assets are the files of web/ copied into the build, in this order.
var assets = []string{"index.html", "triage.js", "app.js", "worker.js", "style.css", "icon.svg"}

func main() {
	src := flag.String("src", "web", "folder with the page's sources")
	out := flag.String("out", "web/dist", "folder to build into (replaced)")
	ldflags := flag.String("ldflags", "-s -w", "Go linker flags for main.wasm")
	quality := flag.Int("brotli", brotli.BestCompression, "brotli quality, 0-11")
	maxBr := flag.Int("max-wasm-br", 1_500_000, "fail when main.wasm.br is larger (bytes, at brotli quality 11; 0: no check)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("buildweb: ")
	if err := build(*src, *out, *ldflags, *quality, *maxBr); err != nil {
		log.Fatal(err)
	}
}

// coldPackages are compiled without inlining (-l) for the browser: code
// that runs once per report (the emitters, the pipeline, the worker's
// glue, kernel.Open and VMCOREINFO, debug/elf's parsing, the tar
// headers) or only to write the manifest and messages (encoding/json,
// fmt, reflect, time's formatting). Inlining there buys no measurable
// time, but each inlined call adds code and, above all, position tables
// (the inline tree, file and line changes) to the pclntab, which
// compresses poorly: -l here takes ~90 KB off main.wasm.br. Under node
// the 6.1 report with BTF took no more CPU (3.8 s for four runs against
// 4.2 s with inlining everywhere: less for V8 to compile). Hot code (dump
// pages, address translation, types, the kernel walks of kernel/linux,
// symbols, unwinding, the runtime, the compressors) keeps it: with -l
// everywhere but the runtime the analysis took ~10 % more CPU.
//
// emitters/process is not cold: its code runs per task (stat, status and
// ps of every thread), and on a dump of ~2,100 tasks (make
// bench-fixtures) the browser's report took 7.3-9.7 s with it compiled
// -l, 2.7-3.3 s without (Go time in make browser-bench, load 10; the
// whole emitters tree hot: 2.6-2.8 s). It costs ~27 KB of main.wasm.br.
var coldPackages = []string{
	"github.com/vmcore-report/vmcore-report/emitters",
	"github.com/vmcore-report/vmcore-report/emitters/block",
	"github.com/vmcore-report/vmcore-report/emitters/emit",
	"github.com/vmcore-report/vmcore-report/emitters/filesys",
	"github.com/vmcore-report/vmcore-report/emitters/kernel",
	"github.com/vmcore-report/vmcore-report/emitters/memory",
	"github.com/vmcore-report/vmcore-report/emitters/processor",
	"github.com/vmcore-report/vmcore-report/emitters/vmcore",
	"github.com/vmcore-report/vmcore-report/report/...",
	"github.com/vmcore-report/vmcore-report/wasm",
	"github.com/vmcore-report/vmcore-report/kernel",
	"github.com/vmcore-report/vmcore-report/kernel/vmcoreinfo",
	"github.com/vmcore-report/vmcore-report/internal/elfcheck",
	"encoding/json",
	"encoding/binary",
	"fmt",
	"internal/fmtsort",
	"reflect",
	"time",
	"debug/...",
	"archive/tar",
	"compress/gzip",
	"context",
	"errors",
	"os",
	"syscall",
	"path/...",
	"runtime/debug",
	"internal/godebug",
	"internal/bisect",
}

// mergeGap is the longest run of zeros mergeDataSegments writes out to
// join two data segments.
const mergeGap = 4096

func build(src, out, ldflags string, quality, maxBr int) error {
	t0 := time.Now()
	if filepath.Base(filepath.Clean(out)) != "dist" {
		// The folder is removed first: refuse anything that does not look
		// like a build output folder.
		return fmt.Errorf("-out %s: the output folder must be named dist", out)
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	goTool := "go"
	if g := os.Getenv("GO"); g != "" {
		goTool = g
	}
	wasm := filepath.Join(out, "main.wasm")
	args := []string{"build", "-trimpath", "-ldflags", ldflags}
	for _, p := range coldPackages {
		args = append(args, "-gcflags", p+"=-l")
	}
	cmd := exec.Command(goTool, append(args, "-o", wasm, "./wasm")...)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build main.wasm: %w", err)
	}
	mod, err := os.ReadFile(wasm)
	if err != nil {
		return err
	}
	merged, err := mergeDataSegments(mod, mergeGap)
	if err != nil {
		return fmt.Errorf("main.wasm: %w", err)
	}
	if err := os.WriteFile(wasm, merged, 0o644); err != nil {
		return err
	}
	log.Printf("main.wasm built in %.1fs", time.Since(t0).Seconds())
	goroot, err := exec.Command(goTool, "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	// wasm_exec.js must come from the toolchain that built main.wasm.
	if err := copyFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"), filepath.Join(out, "wasm_exec.js")); err != nil {
		return err
	}
	for _, a := range assets {
		if err := copyFile(filepath.Join(src, a), filepath.Join(out, a)); err != nil {
			return err
		}
	}
	// The headers a static host should send (cmd/devserver sends them).
	if err := os.WriteFile(filepath.Join(out, "_headers"), []byte(webserve.HeadersFile()), 0o644); err != nil {
		return err
	}
	names, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	var files []string
	for _, n := range names {
		if n.Name() != "_headers" {
			files = append(files, n.Name())
		}
	}
	sort.Strings(files)
	for _, n := range files {
		sizes, err := precompress(filepath.Join(out, n), quality)
		if err != nil {
			return err
		}
		log.Printf("%-12s %9d  br %8d  gz %8d", n, sizes[0], sizes[1], sizes[2])
		if n != "main.wasm" || maxBr <= 0 {
			continue
		}
		switch {
		case quality < brotli.BestCompression:
			log.Printf("main.wasm.br not checked against %d bytes: brotli quality %d < 11", maxBr, quality)
		case sizes[1] > maxBr:
			return fmt.Errorf("main.wasm.br is %d bytes, over the %d-byte budget (-max-wasm-br): see docs/dependencies.md for what it is made of", sizes[1], maxBr)
		default:
			log.Printf("main.wasm.br %d bytes: within the %d-byte budget", sizes[1], maxBr)
		}
	}
	log.Printf("built %s in %.1fs", out, time.Since(t0).Seconds())
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// precompress writes name.br and name.gz; it returns the three sizes.
func precompress(name string, quality int) ([3]int, error) {
	var sizes [3]int
	b, err := os.ReadFile(name)
	if err != nil {
		return sizes, err
	}
	sizes[0] = len(b)
	var br bytes.Buffer
	w := brotli.NewWriterOptions(&br, brotli.WriterOptions{Quality: quality, LGWin: 24})
	if err := writeAll(w, b); err != nil {
		return sizes, fmt.Errorf("brotli %s: %w", name, err)
	}
	var gz bytes.Buffer
	// No name and a zero time in the header: the same input gives the same bytes.
	gw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err := writeAll(gw, b); err != nil {
		return sizes, fmt.Errorf("gzip %s: %w", name, err)
	}
	sizes[1], sizes[2] = br.Len(), gz.Len()
	return sizes, errors.Join(os.WriteFile(name+".br", br.Bytes(), 0o644), os.WriteFile(name+".gz", gz.Bytes(), 0o644))
}

func writeAll(w io.WriteCloser, b []byte) error {
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.Close()
}
