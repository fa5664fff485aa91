// Command devserver serves web/dist for development: the right MIME types
// (application/wasm, or instantiateStreaming fails), the pre-compressed
// .br/.gz variants chosen by Accept-Encoding, and the same strict headers a
// production static server should send (internal/webserve; the build
// writes them to web/dist/_headers). It listens on loopback by default.
//
// With -sample FILE (repeated: a dump, its vmlinux), it also serves those
// files under /sample/ and lists them in /sample/sample.json, and the page
// offers "Try a sample crash dump". `make run` passes the 6.1 fixture's
// when the fixtures are built.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vmcore-report/vmcore-report/internal/webserve"
)

// files is a repeatable flag.
type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	dir := flag.String("dir", "web/dist", "folder to serve")
	var sample files
	flag.Var(&sample, "sample", "a file of the sample offered on the page (repeat: the dump, then its vmlinux)")
	title := flag.String("sample-title", "", "the sample's description on the page")
	flag.Parse()
	if fi, err := os.Stat(*dir); err != nil || !fi.IsDir() {
		log.Fatalf("devserver: %s is not a folder (run `make web` first): %v", *dir, err)
	}
	s, err := newSample(sample, *title)
	if err != nil {
		log.Fatalf("devserver: %v", err)
	}
	if s != nil {
		log.Printf("devserver: sample %s", strings.Join(sample, ", "))
	}
	log.Printf("devserver: serving %s on http://%s/", *dir, *addr)
	log.Fatal(http.ListenAndServe(*addr, handler(*dir, s)))
}

// sample is the files the page may offer as a sample.
type sample struct {
	paths map[string]string // base name → path
	index []byte            // sample.json
}

type sampleFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

func newSample(paths []string, title string) (*sample, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	s := &sample{paths: map[string]string{}}
	var list []sampleFile
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("sample: %w", err)
		}
		name := filepath.Base(p)
		if _, dup := s.paths[name]; dup {
			return nil, fmt.Errorf("sample: two files named %s", name)
		}
		s.paths[name] = p
		list = append(list, sampleFile{Name: name, Size: fi.Size()})
	}
	b, err := json.Marshal(struct {
		Title string       `json:"title"`
		Files []sampleFile `json:"files"`
	}{title, list})
	if err != nil {
		return nil, err
	}
	s.index = b
	return s, nil
}

// encodings are tried in order of preference.
var encodings = []struct{ token, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

func handler(root string, s *sample) http.Handler {
	_ = mime.AddExtensionType(".wasm", "application/wasm")
	_ = mime.AddExtensionType(".mjs", "text/javascript")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range webserve.Headers {
			w.Header().Set(h[0], h[1])
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if rest, ok := strings.CutPrefix(p, "/sample/"); ok {
			serveSample(w, r, s, rest)
			return
		}
		if strings.HasSuffix(p, "/") {
			p += "index.html"
		}
		file := filepath.Join(root, filepath.FromSlash(p))
		if fi, err := os.Stat(file); err == nil && fi.IsDir() {
			file = filepath.Join(file, "index.html")
		}
		if ct := mime.TypeByExtension(filepath.Ext(file)); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Header().Set("Vary", "Accept-Encoding")
		w.Header().Set("Cache-Control", "no-cache")
		accept := r.Header.Get("Accept-Encoding")
		for _, e := range encodings {
			if !acceptsEncoding(accept, e.token) {
				continue
			}
			if _, err := os.Stat(file + e.ext); err == nil {
				w.Header().Set("Content-Encoding", e.token)
				http.ServeFile(w, r, file+e.ext)
				return
			}
		}
		http.ServeFile(w, r, file)
	})
}

// serveSample answers /sample/sample.json and /sample/<file>; without a
// sample, the list is empty (the page then shows no sample button).
func serveSample(w http.ResponseWriter, r *http.Request, s *sample, name string) {
	if s == nil && name == "sample.json" {
		// An empty list rather than a 404, which a browser logs as an error.
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"files":[]}`))
		return
	}
	if s == nil {
		http.NotFound(w, r)
		return
	}
	if name == "sample.json" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(s.index)
		return
	}
	p, ok := s.paths[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeFile(w, r, p)
}

// acceptsEncoding reports whether an Accept-Encoding header allows token
// (q=0 refuses it).
func acceptsEncoding(header, token string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), token) {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
