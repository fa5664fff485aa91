package report

//go:generate go run ../cmd/gencoverage -o ../docs/coverage.md

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters"
)

// CoverageEntry is one row of the coverage tracker: what an emitter writes
// and how far it matches the real file. The web page reads the same rows
// as JSON.
type CoverageEntry struct {
	Path    string `json:"path"`           // path template, relative to the archive's top folder
	Each    string `json:"each,omitempty"` // "pid" for one file per process
	Tracker string `json:"tracker"`        // done or partial
	Mirrors string `json:"mirrors"`        // the kernel/userspace code reproduced
	Desc    string `json:"desc"`
	Note    string `json:"note,omitempty"` // what is missing
}

// Coverage lists the tracker rows of list (nil: every registered emitter),
// in path order.
func Coverage(list []*emitters.Emitter) []CoverageEntry {
	if list == nil {
		list = emitters.All()
	}
	out := make([]CoverageEntry, 0, len(list))
	for _, e := range list {
		out = append(out, CoverageEntry{
			Path: e.Path, Each: string(e.Each), Tracker: string(e.Tracker),
			Mirrors: e.Mirrors, Desc: e.Desc, Note: e.Note,
		})
	}
	return out
}

// CoverageMarkdown renders docs/coverage.md.
func CoverageMarkdown(rows []CoverageEntry) []byte {
	var b bytes.Buffer
	counts := map[string]int{}
	for _, r := range rows {
		counts[r.Tracker]++
	}
	b.WriteString("# Coverage\n\n")
	b.WriteString("<!-- Generated from the emitter registry by `go generate ./report` (or\n")
	b.WriteString("     `go run ./cmd/gencoverage -o docs/coverage.md`); do not edit. -->\n\n")
	b.WriteString("Every file the report writes, from the registry in `emitters/`. **done**: compared with the\n")
	b.WriteString("kernel's own output on every fixture kernel; **partial**: something is missing (see the note).\n")
	b.WriteString("`{pid}` stands for each process.\n\n")
	fmt.Fprintf(&b, "%d outputs: %d done, %d partial", len(rows), counts[string(emitters.Done)], counts[string(emitters.Partial)])
	if other := len(rows) - counts[string(emitters.Done)] - counts[string(emitters.Partial)]; other > 0 {
		fmt.Fprintf(&b, ", %d without status", other)
	}
	b.WriteString(".\n\n")
	b.WriteString("| path | tracker | mirrors | description | note |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", r.Path, cell(r.Tracker), cell(r.Mirrors), cell(r.Desc), cell(r.Note))
	}
	return b.Bytes()
}

// cell escapes a table cell: pipes and line breaks would end it.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}
