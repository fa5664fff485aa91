package linux

import "testing"

func TestTaintLetters(t *testing.T) {
	// TAINT_OOT_MODULE (12) | TAINT_UNSIGNED_MODULE (13) | TAINT_WARN (9), and an unknown bit.
	if got := TaintLetters(1<<12 | 1<<13 | 1<<9 | 1<<40); got != "WOE(bit 40)" {
		t.Errorf("letters %q", got)
	}
	if got := TaintLetters(0); got != "" {
		t.Errorf("letters of 0: %q", got)
	}
}
