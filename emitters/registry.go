// Package emitters holds one small file per output of the report, each
// mirroring the kernel (or userspace) function that prints the live file
// (meminfo_proc_show → proc/meminfo), and the registry that lists them. The
// registry drives both the archive and the coverage tracker
// (docs/coverage.md).
//
// An emitter writes only data into its output. A value it cannot read is
// never written as 0: the emitter leaves the line out (or writes what the
// format allows) and records why with Output.Partial, which turns into the
// file's status in the manifest.
package emitters

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
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

var (
	regMu    sync.Mutex
	registry []*Emitter
)

// Register adds e to the registry; called from each emitter file's init.
func Register(e *Emitter) {
	regMu.Lock()
	defer regMu.Unlock()
	for _, o := range registry {
		if o.Path == e.Path {
			panic("emitters: duplicate path " + e.Path)
		}
	}
	registry = append(registry, e)
}

// All returns every registered emitter, sorted by path.
func All() []*Emitter {
	regMu.Lock()
	defer regMu.Unlock()
	out := append([]*Emitter(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Expand gives the concrete path for item.
func (e *Emitter) Expand(item int64) string {
	return strings.ReplaceAll(e.Path, "{pid}", fmt.Sprint(item))
}

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

// Context is what emitters read from: the opened kernel and enumerations
// shared across emitters (computed once, on first use).
type Context struct {
	K    *kernel.Kernel
	Prog *object.Program

	mu    sync.Mutex
	cache map[string]any
}

// NewContext wraps an opened kernel.
func NewContext(k *kernel.Kernel) *Context {
	if k.Prog != nil && k.Prog.ModuleTypes == nil {
		// Types defined in modules (struct Scsi_Host, loop_device, …) come
		// from the module BTF the kernel keeps, read only when a type is
		// missing from the vmlinux's.
		k.Prog.ModuleTypes = linux.NewModuleTypes(k.Prog, k.BTF)
	}
	return &Context{K: k, Prog: k.Prog, cache: map[string]any{}}
}

// Symbolizer resolves kernel addresses as %pS/%pB print them, modules
// included; one per run, so module symbols are read at most once.
func (c *Context) Symbolizer() *linux.Symbolizer {
	s, _ := Once(c, "symbolizer", func() (*linux.Symbolizer, error) {
		return linux.NewSymbolizer(c.Prog, c.K.Syms), nil
	})
	return s
}

// Once computes a value shared by all emitters of a run: the first call
// with key runs f, later calls return its result.
func Once[T any](c *Context, key string, f func() (T, error)) (T, error) {
	c.mu.Lock()
	if v, ok := c.cache[key]; ok {
		c.mu.Unlock()
		r := v.(onceResult[T])
		return r.v, r.err
	}
	c.mu.Unlock()
	v, err := f()
	c.mu.Lock()
	c.cache[key] = onceResult[T]{v, err}
	c.mu.Unlock()
	return v, err
}

type onceResult[T any] struct {
	v   T
	err error
}

// NotApplicable is returned (wrapped or not) by an emitter whose file does
// not exist for this kernel or item — a zombie's mountinfo, a feature the
// kernel lacks; the report records "not-applicable" instead of "failed".
type NotApplicable struct{ Reason string }

func (e *NotApplicable) Error() string { return e.Reason }

// NotApplicable marks the error for the report (see report's isolate.go).
func (e *NotApplicable) NotApplicable() bool { return true }
