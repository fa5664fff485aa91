package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/report"
)

func TestRun(t *testing.T) {
	rows := []report.CoverageEntry{
		{Path: "proc/meminfo", Tracker: "done", Mirrors: "meminfo_proc_show()", Desc: "memory"},
		{Path: "proc/{pid}/stat", Each: "pid", Tracker: "partial", Mirrors: "do_task_stat()", Desc: "per task", Note: "no wchan"},
	}
	dir := t.TempDir()
	md, js := filepath.Join(dir, "coverage.md"), filepath.Join(dir, "coverage.json")
	if err := run(rows, md, js); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, report.CoverageMarkdown(rows)) {
		t.Errorf("markdown is not CoverageMarkdown of the rows:\n%s", got)
	}
	for _, r := range rows {
		if !strings.Contains(string(got), r.Path) {
			t.Errorf("markdown lacks %s", r.Path)
		}
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var back []report.CoverageEntry
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, rows) {
		t.Errorf("JSON rows %+v, %v; want %+v", back, err, rows)
	}
	// The web page reads these names; omitempty leaves out an empty note.
	var raw []map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw[0]["path"] != "proc/meminfo" || raw[1]["each"] != "pid" || raw[1]["note"] != "no wchan" {
		t.Errorf("JSON field names: %v", raw)
	}
	if _, ok := raw[0]["note"]; ok {
		t.Error("an empty note is written")
	}

	// Without -json only the markdown is written.
	md2, js2 := filepath.Join(dir, "only.md"), filepath.Join(dir, "none.json")
	if err := run(rows, md2, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(js2); !os.IsNotExist(err) {
		t.Errorf("wrote JSON without -json: %v", err)
	}
	// An unwritable path is an error, not a silent success.
	if err := run(rows, filepath.Join(dir, "absent", "x.md"), ""); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
	if err := run(rows, md, filepath.Join(dir, "absent", "x.json")); err == nil {
		t.Error("writing JSON into a missing folder succeeded")
	}
}

// The registry's rows are what main writes: every registered output, with
// a tracker status.
func TestRegistryRows(t *testing.T) {
	rows := report.Coverage(nil)
	if len(rows) == 0 {
		t.Fatal("no rows from the registry")
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if r.Tracker != "done" && r.Tracker != "partial" {
			t.Errorf("%s: tracker %q", r.Path, r.Tracker)
		}
		if seen[r.Path] {
			t.Errorf("%s listed twice", r.Path)
		}
		seen[r.Path] = true
	}
}
