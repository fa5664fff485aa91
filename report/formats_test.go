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
// memory). A dump that may lack kernel pages (fixtures' MayLackKernelPages:
// -d 31 by a makedumpfile that does not know the kernel, in any format) is
// the exception: where it lacks some, the manifest lists them with the
// advice to re-make the dump, the outputs that read them fail, each naming
// the stale makedumpfile, and every other file is still the reference's;
// where it lacks none, nothing fails. A dump by a makedumpfile that knows
// the kernel lacks none.
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
				stale := f.MayLackKernelPages()
				got, m := formatReport(t, s, f.Role, stale)
				missing := m.Inputs.Dump.MissingKernelPages
				switch {
				case !stale && len(missing) > 0:
					t.Errorf("missing kernel pages %v, but makedumpfile %v knows the kernel (or -d %d keeps every kernel page)", missing, f.Makedumpfile, f.DumpLevel)
				case len(missing) > 0 && !slices.ContainsFunc(m.Inputs.Dump.Warnings, func(w string) bool { return strings.Contains(w, "re-make the dump") }):
					t.Errorf("missing kernel pages %v named without the advice to re-make the dump: %v", missing, m.Inputs.Dump.Warnings)
				case len(missing) > 0:
					t.Logf("made at -d 31 by makedumpfile %s, which does not know the kernel: missing kernel pages %v, %d outputs failed", f.Makedumpfile.Version, missing, m.Summary.Failed)
				}
				if !f.VMCOREINFO {
					// The dump without VMCOREINFO is of a second guest, booted
					// without qemu_fw_cfg: other memory, so only no failure.
					return
				}
				excused := map[string]bool{}
				if len(missing) > 0 {
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
// mayLackKernelPages, on any failed output whose reasons do not name the
// makedumpfile that dropped the kernel's pages the manifest lists.
func formatReport(t *testing.T, s *fixtures.Set, role string, mayLackKernelPages bool) (map[string]string, *Manifest) {
	t.Helper()
	k := openFixture(t, s, role, false)
	sink := newMemSink()
	m, err := Run(context.Background(), k, Options{}, sink)
	if err != nil {
		t.Fatalf("%s: %v", role, err)
	}
	if m.Summary.Failed != 0 {
		for _, o := range m.Outputs {
			if o.Status == StatusFailed && !(mayLackKernelPages && len(m.Inputs.Dump.MissingKernelPages) > 0 && slices.Contains(o.Reasons, excludedByStaleMakedumpfile)) {
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
