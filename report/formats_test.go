package report

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel"
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
// reference dump gives (lzo-d31; lzo-d1 for a kernel its makedumpfile does
// not know: the same memory, read through another container, compression,
// filtering level or split; the dump of the bare second guest is other
// memory). A dump that lacks kernel pages (fixtures' LacksKernelPages: -d 31
// by a makedumpfile that does not know the kernel) is the exception: there
// the outputs that read those pages fail, each naming the stale
// makedumpfile, the manifest lists the missing pages, and every other file
// is still the reference's.
func TestEveryFormatSameReport(t *testing.T) {
	for _, s := range fixtures.All(t) {
		refRole := s.RefRole()
		ref, _ := formatReport(t, s, refRole, false)
		seen := map[string]bool{refRole: true}
		for _, f := range s.Manifest.Files {
			if f.Truncated || seen[f.Role] {
				continue
			}
			seen[f.Role] = true
			t.Run(s.Manifest.ID+"/"+f.Role, func(t *testing.T) {
				stale := f.LacksKernelPages()
				got, m := formatReport(t, s, f.Role, stale)
				if !f.VMCOREINFO {
					// The dump without VMCOREINFO is of a second guest, booted
					// without qemu_fw_cfg: other memory, so only no failure.
					return
				}
				excused := map[string]bool{}
				if stale {
					if len(m.Inputs.Dump.MissingKernelPages) == 0 || m.Summary.Failed == 0 {
						t.Errorf("made at -d 31 by makedumpfile %s, which does not know the kernel: missing kernel pages %v, %d outputs failed; want both",
							f.Makedumpfile.Version, m.Inputs.Dump.MissingKernelPages, m.Summary.Failed)
					}
					// Not compared: what failed for the pages the dump lacks,
					// and what is partial only for them (each value left out
					// says it: a proc/PID/status without the lines read
					// through its signal struct, meminfo without Buffers).
					for _, o := range m.Outputs {
						if o.Status == StatusFailed && slices.Contains(o.Reasons, excludedByStaleMakedumpfile) ||
							o.Status == StatusPartial && !slices.ContainsFunc(o.Reasons, func(r string) bool { return !strings.Contains(r, kernel.ErrExcluded.Error()) }) {
							excused[o.Path] = true
						}
					}
				}
				for p, want := range ref {
					if userPageOutput(p) || excused[p] {
						continue
					}
					if g, ok := got[p]; !ok {
						t.Errorf("%s missing (the %s report has it)", p, refRole)
					} else if !sameData(p, g, want) {
						t.Errorf("%s differs from the %s report's", p, refRole)
					}
				}
				for p := range got {
					if _, ok := ref[p]; !ok && !userPageOutput(p) {
						t.Errorf("%s is not in the %s report", p, refRole)
					}
				}
			})
		}
	}
}

// formatReport runs every emitter on one dump, read alone, and returns the
// data files by path (the manifest and logs, which name the input, left
// out) and the manifest, failing the test on any failed output; with
// lacksKernelPages, on any failed output whose reasons do not name the
// makedumpfile that dropped the kernel's pages.
func formatReport(t *testing.T, s *fixtures.Set, role string, lacksKernelPages bool) (map[string]string, *Manifest) {
	t.Helper()
	k := openFixture(t, s, role, false)
	sink := newMemSink()
	m, err := Run(context.Background(), k, Options{}, sink)
	if err != nil {
		t.Fatalf("%s: %v", role, err)
	}
	if m.Summary.Failed != 0 {
		for _, o := range m.Outputs {
			if o.Status == StatusFailed && !(lacksKernelPages && slices.Contains(o.Reasons, excludedByStaleMakedumpfile)) {
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
	return out, m
}
