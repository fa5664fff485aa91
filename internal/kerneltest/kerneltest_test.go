package kerneltest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel"
)

// recorder is a testing.TB whose Fatalf records instead of ending the test.
type recorder struct {
	testing.TB
	failed []string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}

// TestRefusedAlone: on every set (scenarios too: their note is read from
// kdump-elf-d31), the dump opened alone is refused exactly
// when the set's note lacks a kallsyms entry, and RefusedAlone fails a
// refusal the note does not call for, a success it does, and a refusal
// naming another entry.
func TestRefusedAlone(t *testing.T) {
	refusedSets := 0
	for _, s := range fixtures.Every(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			missing := s.NeedsVmlinux(t)
			k, ok := OpenMode(t, s, s.RefRole(), DumpOnly)
			if ok != (missing == "") || ok != (k != nil) {
				t.Fatalf("opened alone: %v; the note lacks %q", ok, missing)
			}
			if !ok {
				refusedSets++
			}
			wrong := map[string]error{
				"a success":          nil,
				"a refusal":          &kernel.NeedVmlinuxError{Missing: fixtures.KallsymsSymbols[0]},
				"another entry":      &kernel.NeedVmlinuxError{Missing: "kallsyms_not_an_entry"},
				"an unrelated error": errors.New("unrelated"),
			}
			if missing == "" {
				delete(wrong, "a success")
				delete(wrong, "an unrelated error") // not a refusal: the caller's to judge
			} else {
				delete(wrong, "a refusal")
				if missing != fixtures.KallsymsSymbols[0] {
					wrong["a refusal"] = &kernel.NeedVmlinuxError{Missing: fixtures.KallsymsSymbols[0]}
				}
			}
			for name, err := range wrong {
				r := &recorder{TB: t}
				RefusedAlone(r, s, err)
				if len(r.failed) == 0 {
					t.Errorf("%s (%v) passed; the note lacks %q", name, err, missing)
				}
			}
		})
	}
	t.Logf("%d sets refused alone", refusedSets)
}
