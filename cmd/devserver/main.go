// Command devserver serves web/dist for development: the right MIME types
// (application/wasm, or instantiateStreaming fails), the pre-compressed
// .br/.gz variants chosen by Accept-Encoding, and the same strict headers a
// production static server should send. It listens on loopback by default.
package main

import (
	"flag"
	"log"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	dir := flag.String("dir", "web/dist", "folder to serve")
	flag.Parse()
	if fi, err := os.Stat(*dir); err != nil || !fi.IsDir() {
		log.Fatalf("devserver: %s is not a folder (run `make web` first): %v", *dir, err)
	}
	log.Printf("devserver: serving %s on http://%s/", *dir, *addr)
	log.Fatal(http.ListenAndServe(*addr, handler(*dir)))
}

// encodings are tried in order of preference.
var encodings = []struct{ token, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

func handler(root string) http.Handler {
	_ = mime.AddExtensionType(".wasm", "application/wasm")
	_ = mime.AddExtensionType(".mjs", "text/javascript")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
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
		w.Header().Set("X-Content-Type-Options", "nosniff")
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
