// Package emit is what every emitter is written against: the registry
// entry (Emitter), the file being written (Output), the run's shared state
// (Context) and the not-applicable error. The emitters themselves live in
// one sub-package of emitters per sos area; package emitters lists them
// all in its registry.
//
// An emitter writes only data into its output. A value it cannot read is
// never written as 0: the emitter leaves the line out (or writes what the
// format allows) and records why with Output.Partial, which turns into the
// file's status in the manifest.
package emit

import (
	"bytes"
	"fmt"
	"strings"
)

// Tracker is an emitter's standing in the coverage tracker.
type Tracker string

// Tracker statuses. "done" is claimed only for emitters compared with the
// ground truth of every fixture kernel.
const (
	Done    Tracker = "done"    // matches the kernel's own output on every fixture kernel
	Partial Tracker = "partial" // some fields or cases are missing; Note says which
)

// Each names an enumeration an emitter is expanded over.
type Each string

// Enumerations. They are computed once per run and shared.
const (
	Single Each = ""    // a single file
	PerPID Each = "pid" // one file per process ({pid} in the path)
)

// Emitter is one registry entry.
type Emitter struct {
	// Path in the archive, relative to its top folder; {pid} is replaced
	// per process for PerPID emitters.
	Path    string
	Each    Each
	Mirrors string  // the kernel/userspace code whose output this reproduces
	Desc    string  // one line for --list and the tracker
	Tracker Tracker // coverage status
	Note    string  // what is missing, for Partial
	// Run writes the file for one item (pid for PerPID, 0 for Single).
	Run func(c *Context, item int64, out *Output) error
}

// Expand gives the concrete path for item.
func (e *Emitter) Expand(item int64) string {
	return strings.ReplaceAll(e.Path, "{pid}", fmt.Sprint(item))
}

// Area collects the emitters of one sub-package, in the order their files
// register them; package emitters joins the areas into the registry.
type Area struct{ list []*Emitter }

// Register adds e to the area; called from each emitter file's init.
func (a *Area) Register(e *Emitter) { a.list = append(a.list, e) }

// Emitters are the area's entries.
func (a *Area) Emitters() []*Emitter { return a.list }

// Output collects one file's bytes and the reasons it is incomplete.
type Output struct {
	bytes.Buffer
	partial []string
}

// Partial records that the file lacks something, and why.
func (o *Output) Partial(format string, args ...any) {
	o.partial = append(o.partial, fmt.Sprintf(format, args...))
}

// PartialReasons are the reasons recorded, in order.
func (o *Output) PartialReasons() []string { return o.partial }

// NotApplicable is returned (wrapped or not) by an emitter whose file does
// not exist for this kernel or item — a zombie's mountinfo, a feature the
// kernel lacks; the report records "not-applicable" instead of "failed".
type NotApplicable struct{ Reason string }

func (e *NotApplicable) Error() string { return e.Reason }

// NotApplicable marks the error for the report (see report's isolate.go).
func (e *NotApplicable) NotApplicable() bool { return true }
