package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmcore-report/vmcore-report/emitters"
)

// TestCoverageUpToDate fails when docs/coverage.md no longer matches the
// registry.
func TestCoverageUpToDate(t *testing.T) {
	want := CoverageMarkdown(Coverage(nil))
	have, err := os.ReadFile(filepath.Join("..", "docs", "coverage.md"))
	if err != nil {
		t.Fatalf("%v: run `go generate ./report` (or `go run ./cmd/gencoverage -o docs/coverage.md`)", err)
	}
	if !bytes.Equal(have, want) {
		t.Errorf("docs/coverage.md is stale: run `go generate ./report` (or `go run ./cmd/gencoverage -o docs/coverage.md`) and commit it")
	}
}

func TestCoverage(t *testing.T) {
	list := []*emitters.Emitter{
		{Path: "proc/{pid}/status", Each: emitters.PerPID, Tracker: emitters.Partial, Mirrors: "proc_pid_status()", Desc: "status", Note: "no a|b\nc"},
		{Path: "proc/meminfo", Tracker: emitters.Done, Mirrors: "meminfo_proc_show()", Desc: "memory"},
	}
	rows := Coverage(list)
	md := string(CoverageMarkdown(rows))
	for _, want := range []string{
		"2 outputs: 1 done, 1 partial.",
		"| `proc/{pid}/status` | partial | proc_pid_status() | status | no a\\|b c |\n",
		"| `proc/meminfo` | done | meminfo_proc_show() | memory |  |\n",
	} {
		if !bytes.Contains([]byte(md), []byte(want)) {
			t.Errorf("coverage.md lacks %q:\n%s", want, md)
		}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"path":"proc/{pid}/status","each":"pid","tracker":"partial","mirrors":"proc_pid_status()","desc":"status","note":"no a|b\nc"}`; !bytes.Contains(b, []byte(want)) {
		t.Errorf("json %s lacks %s", b, want)
	}
}
