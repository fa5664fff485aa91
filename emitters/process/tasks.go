package process

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// statusFeatures are output details that depend on the kernel release
// with no type or symbol to tell: the presence of their format strings in
// .rodata decides (once per run).
type statusFeatures struct {
	kthread, untagMask bool // the Kthread and untag_mask lines of status
	workerIDs          bool // wq_worker_comm() uses format_worker_id()
	// indirectBranch: the SpeculationIndirectBranch line (v5.12, "proc:
	// Provide details on indirect branch speculation").
	indirectBranch bool
	err            error // .rodata unreadable: all of the above unknown
}

func features(c *emit.Context) statusFeatures {
	f, _ := emit.Once(c, "emitters/status-features", func() (statusFeatures, error) {
		const kt, um, wid, ib = "Kthread:\t%c\n", "untag_mask:\t%#lx\n", "kworker/R-%s", "SpeculationIndirectBranch:"
		m, err := c.RodataContains(kt, um, wid, ib)
		if err != nil {
			return statusFeatures{err: fmt.Errorf("kernel format strings: %w", err)}, nil
		}
		return statusFeatures{m[kt], m[um], m[wid], m[ib], nil}, nil
	})
	return f
}

// procTaskName is linux.ProcTaskName with this kernel's worker naming. When
// that naming is unknown, a workqueue worker's name (which may then differ
// from the kernel's) is marked in out.
func procTaskName(c *emit.Context, task object.Object, out *emit.Output) (string, error) {
	feat := features(c)
	if feat.err != nil && out != nil {
		if flags, err := task.Member("flags").Uint(); err == nil && flags&linux.PFWQWorker != 0 {
			out.Partial("workqueue worker name built from comm: %v", feat.err)
		}
	}
	return linux.ProcTaskName(task, feat.workerIDs)
}
