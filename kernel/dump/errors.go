package dump

import (
	"errors"
	"fmt"
)

// ErrNotThisFormat is what a format opener returns when the file does not
// carry its signature, so that Open can try the next one. Open itself wraps
// it when no opener recognised the file.
var ErrNotThisFormat = errors.New("not a recognised dump format")

// Sentinels a *FaultError wraps: callers tell the cases apart with errors.Is.
var (
	// ErrExcluded: the page exists in the crashed machine's RAM but the
	// producer left it out (makedumpfile dump level, ELF segment tail).
	ErrExcluded = errors.New("page excluded from dump")
	// ErrNoMemory: no RAM at that address, or no segment covers it.
	ErrNoMemory = errors.New("no memory at address")
	// ErrTruncated: the dump says the page is there, but the file ends (or
	// the incomplete dump stops) before it, or its split part was not given.
	ErrTruncated = errors.New("page missing: dump truncated or incomplete")
	// ErrCorrupt: the page's data is present but cannot be decoded.
	ErrCorrupt = errors.New("page data corrupt")
)

// FaultError reports a physical read that could not be served. Err wraps
// one of ErrExcluded, ErrNoMemory, ErrTruncated, ErrCorrupt, or an I/O error.
type FaultError struct {
	Addr uint64 // first physical address that could not be read
	Err  error
}

func (e *FaultError) Error() string { return fmt.Sprintf("read phys %#x: %v", e.Addr, e.Err) }
func (e *FaultError) Unwrap() error { return e.Err }

// FormatError is a problem in a dump's headers, in the style of
// debug/elf.FormatError: where it was, what was wrong, and the bad value.
type FormatError struct {
	Offset int64  // file offset of the bad field (of the inner file for flattened dumps)
	Msg    string // lower-case, names the structure and field
	Val    any    // offending value, or nil
}

func (e *FormatError) Error() string {
	s := e.Msg
	if e.Val != nil {
		s += fmt.Sprintf(" (%v)", e.Val)
	}
	return s + fmt.Sprintf(" at offset %#x", e.Offset)
}

func formatErr(off int64, msg string, val any) error {
	return &FormatError{Offset: off, Msg: msg, Val: val}
}
