package emitters

import (
	"debug/elf"
	"fmt"
	"slices"

	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// taskTable indexes the processes (thread-group leaders) by pid, once per
// run, for the per-process emitters: a lookup per file instead of a walk of
// the task list per file.
type taskTable struct {
	byPID map[int64]uint64 // tgid → task_struct address
	pids  []int64          // sorted, as /proc lists them
	err   error            // a walk that broke off keeps what it found
}

func tasks(c *Context) (*taskTable, error) {
	return Once(c, "emitters/tasks", func() (*taskTable, error) {
		t := &taskTable{byPID: map[int64]uint64{}}
		for task, err := range linux.ForEachProcess(c.Prog) {
			if err != nil {
				t.err = err
				break
			}
			pid, err := task.Member("pid").Int()
			if err != nil {
				t.err = err
				break
			}
			addr, _ := task.Address()
			t.byPID[pid] = addr
			t.pids = append(t.pids, pid)
		}
		slices.Sort(t.pids)
		return t, nil
	})
}

// taskByPID is the thread-group leader whose pid is pid.
func taskByPID(c *Context, pid int64) (object.Object, error) {
	t, err := tasks(c)
	if err != nil {
		return object.Object{}, err
	}
	addr, ok := t.byPID[pid]
	if !ok {
		if t.err != nil {
			return object.Object{}, fmt.Errorf("no process %d in the part of the task list read: %w", pid, t.err)
		}
		return object.Object{}, fmt.Errorf("no process with pid %d", pid)
	}
	typ, err := c.Prog.Type("struct task_struct")
	if err != nil {
		return object.Object{}, err
	}
	return c.Prog.Object(typ, addr, fmt.Sprintf("task %d", pid)), nil
}

// runningCPUs are the CPUs running before the panic, once per run: the
// per-CPU sums /proc shows run over them.
func runningCPUs(c *Context) ([]int, error) {
	return Once(c, "emitters/running-cpus", func() ([]int, error) {
		return linux.CPUsRunningBeforePanic(c.Prog)
	})
}

// possibleCPUs is cpu_possible_mask, once per run.
func possibleCPUs(c *Context) ([]int, error) {
	return Once(c, "emitters/possible-cpus", func() ([]int, error) {
		return linux.CPUMask(c.Prog, "__cpu_possible_mask")
	})
}

// statusFeatures are output details that depend on the kernel release
// with no type or symbol to tell: the presence of their format strings in
// .rodata decides (once per run).
type statusFeatures struct {
	kthread, untagMask bool  // the Kthread and untag_mask lines of status
	workerIDs          bool  // wq_worker_comm() uses format_worker_id()
	err                error // .rodata unreadable: all of the above unknown
}

func features(c *Context) statusFeatures {
	f, _ := Once(c, "emitters/status-features", func() (statusFeatures, error) {
		const kt, um, wid = "Kthread:\t%c\n", "untag_mask:\t%#lx\n", "kworker/R-%s"
		m, err := rodataContains(c, kt, um, wid)
		if err != nil {
			return statusFeatures{err: fmt.Errorf("kernel format strings: %w", err)}, nil
		}
		return statusFeatures{m[kt], m[um], m[wid], nil}, nil
	})
	return f
}

// procTaskName is linux.ProcTaskName with this kernel's worker naming. When
// that naming is unknown, a workqueue worker's name (which may then differ
// from the kernel's) is marked in out.
func procTaskName(c *Context, task object.Object, out *Output) (string, error) {
	feat := features(c)
	if feat.err != nil && out != nil {
		if flags, err := task.Member("flags").Uint(); err == nil && flags&linux.PFWQWorker != 0 {
			out.Partial("workqueue worker name built from comm: %v", feat.err)
		}
	}
	return linux.ProcTaskName(task, feat.workerIDs)
}

// frozenIsD is TaskState's frozenIsD: __task_state_index() reports
// TASK_FROZEN tasks as D in 6.12 and in Debian's 6.1 (6.1.192) alike; the
// TASK_FROZEN bit (0x8000, new in 6.1) was unused before, so the rule is
// harmless for older kernels.
const frozenIsD = true

// rodataContains looks for format strings in the vmlinux's .rodata when
// there is one (plain file reads), else in the kernel's memory (every page
// decompressed: a quarter of a second in a browser).
func rodataContains(c *Context, needles ...string) (map[string]bool, error) {
	if v := c.K.Vmlinux; v != nil {
		if f, err := elf.NewFile(v.R); err == nil {
			// __start_rodata opens the .rodata section.
			if sec := f.Section(".rodata"); sec != nil && sec.Type == elf.SHT_PROGBITS {
				size := sec.Size
				if _, n, err := linux.RodataStrings(c.Prog); err == nil && n < size {
					size = n
				}
				return linux.ReaderContains(sec, int64(size), needles...)
			}
		}
	}
	return linux.RodataContains(c.Prog, needles...)
}
