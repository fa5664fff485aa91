package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel"
)

// TestExplainStrippedVmlinux: a vmlinux without symbols for a kernel whose
// dump has no kallsyms tables (kernel.Open's error in that case: a bad
// vmlinux that also wraps the need for one) must not be told to leave the
// vmlinux out.
func TestExplainStrippedVmlinux(t *testing.T) {
	need := &kernel.NeedVmlinuxError{Missing: "kallsyms_names"}
	for _, tc := range []struct {
		err        error
		alone      bool // the message offers the dump alone
		wantPhrase string
	}{
		{&kernel.VmlinuxError{Name: "vmlinux", Err: fmt.Errorf("symbols: %w; and from the dump: %w", elf.ErrNoSymbols, need)}, false, "cannot be read from its dump alone"},
		{&kernel.VmlinuxError{Name: "vmlinux", Err: errors.New("not an ELF file")}, true, "leave it out to read the dump alone"},
	} {
		var ue *UserError
		if !errors.As(explainOpenError(Request{}, tc.err), &ue) || ue.Kind != KindBadVmlinux ||
			!strings.Contains(ue.Message, tc.wantPhrase) || strings.Contains(ue.Message, "leave it out") != tc.alone {
			t.Errorf("%v: %+v", tc.err, ue)
		}
	}
}
