//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

// The engine only runs in a browser worker; natively its logic is tested
// through Analyze (go test ./wasm) and the same pipeline is the CLI.
func main() {
	fmt.Fprintln(os.Stderr, "wasm: this is the browser worker's engine; build it with GOOS=js GOARCH=wasm (make web) or use cmd/vmcore-report")
	os.Exit(2)
}
