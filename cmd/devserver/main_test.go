package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHandlerServesPrecompressedWithMIME(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"index.html": "<p>hi</p>", "app.wasm": "raw", "app.wasm.br": "brotli", "app.wasm.gz": "gzip",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := handler(dir, nil)
	for _, tc := range []struct{ path, accept, wantBody, wantEnc, wantType string }{
		{"/app.wasm", "gzip, br", "brotli", "br", "application/wasm"},
		{"/app.wasm", "gzip", "gzip", "gzip", "application/wasm"},
		{"/app.wasm", "br;q=0, gzip", "gzip", "gzip", "application/wasm"},
		{"/app.wasm", "", "raw", "", "application/wasm"},
		{"/", "br", "<p>hi</p>", "", "text/html; charset=utf-8"},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.accept != "" {
			req.Header.Set("Accept-Encoding", tc.accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Body.String() != tc.wantBody ||
			rec.Header().Get("Content-Encoding") != tc.wantEnc || rec.Header().Get("Content-Type") != tc.wantType ||
			!strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s (Accept-Encoding %q): %d %q enc=%q type=%q headers %v; want %q enc=%q type=%q and the security headers", tc.path, tc.accept,
				rec.Code, rec.Body.String(), rec.Header().Get("Content-Encoding"), rec.Header().Get("Content-Type"), rec.Header(),
				tc.wantBody, tc.wantEnc, tc.wantType)
		}
	}
}

func TestSample(t *testing.T) {
	dir := t.TempDir()
	dump := filepath.Join(t.TempDir(), "vmcore")
	if err := os.WriteFile(dump, []byte("KDUMP   rest"), 0o644); err != nil {
		t.Fatal(err)
	}
	get := func(h http.Handler, p string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		return rec
	}
	// Without a sample there is no list: the page shows no button.
	if rec := get(handler(dir, nil), "/sample/sample.json"); rec.Code != http.StatusOK || rec.Body.String() != `{"files":[]}` {
		t.Errorf("no sample: /sample/sample.json answered %d %q", rec.Code, rec.Body.String())
	}
	if rec := get(handler(dir, nil), "/sample/vmcore"); rec.Code != http.StatusNotFound {
		t.Errorf("no sample: /sample/vmcore answered %d", rec.Code)
	}
	s, err := newSample([]string{dump}, "a test dump")
	if err != nil {
		t.Fatal(err)
	}
	h := handler(dir, s)
	rec := get(h, "/sample/sample.json")
	var idx struct {
		Title string
		Files []struct {
			Name string
			Size int64
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &idx); err != nil || idx.Title != "a test dump" || len(idx.Files) != 1 || idx.Files[0].Name != "vmcore" || idx.Files[0].Size != 12 {
		t.Errorf("sample.json %q: %+v %v", rec.Body.String(), idx, err)
	}
	if b, _ := io.ReadAll(get(h, "/sample/vmcore").Body); string(b) != "KDUMP   rest" {
		t.Errorf("/sample/vmcore: %q", b)
	}
	for _, p := range []string{"/sample/other", "/sample/../vmcore", "/sample/%2e%2e/vmcore"} {
		if rec := get(h, p); rec.Code == http.StatusOK {
			t.Errorf("%s: 200 %q, want a refusal", p, rec.Body.String())
		}
	}
}
