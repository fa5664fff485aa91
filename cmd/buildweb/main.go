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
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("buildweb: ")
	if err := build(*src, *out, *ldflags, *quality); err != nil {
		log.Fatal(err)
	}
}

func build(src, out, ldflags string, quality int) error {
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
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags", ldflags, "-o", filepath.Join(out, "main.wasm"), "./wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build main.wasm: %w", err)
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
