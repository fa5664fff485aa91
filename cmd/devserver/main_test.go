package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	h := handler(dir)
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
			rec.Header().Get("Content-Encoding") != tc.wantEnc || rec.Header().Get("Content-Type") != tc.wantType {
			t.Errorf("%s (Accept-Encoding %q): %d %q enc=%q type=%q; want %q enc=%q type=%q", tc.path, tc.accept,
				rec.Code, rec.Body.String(), rec.Header().Get("Content-Encoding"), rec.Header().Get("Content-Type"),
				tc.wantBody, tc.wantEnc, tc.wantType)
		}
	}
}
