// Package webserve holds what a server of the browser app must send: the
// security headers cmd/devserver sets and cmd/buildweb writes into the
// build (web/dist/_headers) for static hosts.
package webserve

import "strings"

// CSP is the page's Content-Security-Policy: everything from its own
// origin, WebAssembly compilation allowed, no framing (which the <meta>
// copy in index.html cannot say: frame-ancestors works only as a header).
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self'; " +
	"img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Headers are sent with every response.
var Headers = [][2]string{
	{"Content-Security-Policy", CSP},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
}

// HeadersFile is the _headers file of the build (the format of Netlify and
// Cloudflare Pages; other servers: send these on every response, and .wasm
// as application/wasm).
func HeadersFile() string {
	var b strings.Builder
	b.WriteString("# Headers every response of this folder should carry (vmcore-report's web build).\n")
	b.WriteString("# Also serve .wasm as application/wasm; .br/.gz are pre-compressed copies for\n")
	b.WriteString("# servers that pick one by Accept-Encoding (with Content-Encoding and Vary).\n")
	b.WriteString("/*\n")
	for _, h := range Headers {
		b.WriteString("  " + h[0] + ": " + h[1] + "\n")
	}
	return b.String()
}
