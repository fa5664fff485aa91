// Command gencoverage writes the coverage tracker, docs/coverage.md, from
// the emitter registry (and, with -json, the same rows as JSON for the web
// page). report's TestCoverageUpToDate fails when the committed file is
// stale; `go generate ./report` runs this command.
//
//	go run ./cmd/gencoverage -o docs/coverage.md [-json coverage.json]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/vmcore-report/vmcore-report/report"
)

func main() {
	out := flag.String("o", "docs/coverage.md", "markdown file to write")
	js := flag.String("json", "", "also write the rows as JSON to this file")
	flag.Parse()
	if err := run(report.Coverage(nil), *out, *js); err != nil {
		fmt.Fprintf(os.Stderr, "gencoverage: %v\n", err)
		os.Exit(1)
	}
}

// run writes rows as markdown to out and, when js is set, as JSON to js.
func run(rows []report.CoverageEntry, out, js string) error {
	if err := os.WriteFile(out, report.CoverageMarkdown(rows), 0o644); err != nil {
		return err
	}
	if js == "" {
		return nil
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return fmt.Errorf("coverage rows: %w", err)
	}
	return os.WriteFile(js, append(b, '\n'), 0o644)
}
