package report

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// userPageOutputs are the outputs that read user memory, which the dumps
// filtered at level 31 (-d 31 drops user pages) lack: a process's command
// line, and ps's COMMAND column built from it.
func userPageOutput(path string) bool {
	return strings.HasSuffix(path, "/cmdline") || strings.HasPrefix(path, "sos_commands/process/ps_")
}

// sameData compares one output of two dumps of the same memory: crash's sys
// names the dump file (its DUMPFILE line), the rest must be equal.
func sameData(path, a, b string) bool {
	if path == "sos_commands/vmcore/sys" {
		drop := regexp.MustCompile(`(?m)^    DUMPFILE: .*\n`)
		a, b = drop.ReplaceAllString(a, ""), drop.ReplaceAllString(b, "")
	}
	return a == b
}

// TestEveryFormatSameReport runs the whole report on every dump of every
// fixture kernel that is not cut short: no output may fail, and every data
// file that does not read user pages must be byte for byte the one the
// lzo-d31 dump gives (the same memory, read through another container,
// compression, filtering level or split; the dump of the bare second guest
// is other memory).
func TestEveryFormatSameReport(t *testing.T) {
	for _, s := range fixtures.All(t) {
		ref := formatReport(t, s, "lzo-d31")
		seen := map[string]bool{"lzo-d31": true}
		for _, f := range s.Manifest.Files {
			if f.Truncated || seen[f.Role] {
				continue
			}
			seen[f.Role] = true
			t.Run(s.Manifest.ID+"/"+f.Role, func(t *testing.T) {
				got := formatReport(t, s, f.Role)
				if !f.VMCOREINFO {
					// The dump without VMCOREINFO is of a second guest, booted
					// without qemu_fw_cfg: other memory, so only no failure.
					return
				}
				for p, want := range ref {
					if userPageOutput(p) {
						continue
					}
					if g, ok := got[p]; !ok {
						t.Errorf("%s missing (the lzo-d31 report has it)", p)
					} else if !sameData(p, g, want) {
						t.Errorf("%s differs from the lzo-d31 report's", p)
					}
				}
				for p := range got {
					if _, ok := ref[p]; !ok && !userPageOutput(p) {
						t.Errorf("%s is not in the lzo-d31 report", p)
					}
				}
			})
		}
	}
}

// formatReport runs every emitter on one dump, read alone, and returns the
// data files by path (the manifest and logs, which name the input, left
// out), failing the test on any failed output.
func formatReport(t *testing.T, s *fixtures.Set, role string) map[string]string {
	t.Helper()
	k := openFixture(t, s, role, false)
	sink := newMemSink()
	m, err := Run(context.Background(), k, Options{}, sink)
	if err != nil {
		t.Fatalf("%s: %v", role, err)
	}
	if m.Summary.Failed != 0 {
		for _, o := range m.Outputs {
			if o.Status == StatusFailed {
				t.Errorf("%s: %s failed: %v", role, o.Path, o.Reasons)
			}
		}
	}
	top := TopDir(k) + "/"
	out := map[string]string{}
	for p, b := range sink.files {
		rel := strings.TrimPrefix(p, top)
		if strings.HasPrefix(rel, "sos_reports/") || strings.HasPrefix(rel, "sos_logs/") || rel == "version.txt" {
			continue
		}
		out[rel] = string(b)
	}
	return out
}
