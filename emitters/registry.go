// Package emitters is the registry: the one list of every output of the
// report, joined from the areas below it. Each area is a sub-package named
// after the sos plugin that collects the same files (kernel, memory,
// process, processor, block, filesys) and holds one small file per output,
// mirroring the kernel (or userspace) function that prints the live file
// (meminfo_proc_show → memory/proc_meminfo.go). Package emit is what every
// emitter is written against. The registry drives both the archive and
// the coverage tracker (docs/coverage.md).
package emitters

import (
	"slices"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/block"
	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/emitters/filesys"
	kernelarea "github.com/vmcore-report/vmcore-report/emitters/kernel"
	"github.com/vmcore-report/vmcore-report/emitters/memory"
	"github.com/vmcore-report/vmcore-report/emitters/process"
	"github.com/vmcore-report/vmcore-report/emitters/processor"
	"github.com/vmcore-report/vmcore-report/emitters/vmcore"
)

// The registry's types, under the names the report and the tests use.
type (
	Emitter = emit.Emitter
	Output  = emit.Output
	Context = emit.Context
)

// Enumerations and tracker statuses (see package emit).
const (
	Single  = emit.Single
	PerPID  = emit.PerPID
	Done    = emit.Done
	Partial = emit.Partial
)

// NewContext wraps an opened kernel for a run.
var NewContext = emit.NewContext

// PanicFacts are what the panicking CPU's stack says about the crash, for
// the manifest (vmcore.Panic, shared with sys and bt -a).
type PanicFacts = vmcore.PanicFacts

// Panic finds the panicking CPU and its culprit, once per run.
var Panic = vmcore.Panic

// areas are the sub-packages; a new area is added here.
var areas = [][]*Emitter{
	kernelarea.Emitters(),
	memory.Emitters(),
	process.Emitters(),
	processor.Emitters(),
	block.Emitters(),
	filesys.Emitters(),
	vmcore.Emitters(),
}

// All returns every registered emitter, sorted by path. A path registered
// twice is a programming error.
func All() []*Emitter {
	out := slices.Concat(areas...)
	slices.SortFunc(out, func(a, b *Emitter) int { return strings.Compare(a.Path, b.Path) })
	for i := 1; i < len(out); i++ {
		if out[i].Path == out[i-1].Path {
			panic("emitters: duplicate path " + out[i].Path)
		}
	}
	return out
}
