package emit

import (
	"fmt"
	"sync"

	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Context is what emitters read from: the opened kernel and values shared
// across emitters (computed once, on first use).
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

// StackTracer is the kernel's unwinder, set up once per run: ORC tables
// from the vmlinux's sections when one is given, else from memory; module
// tables from the modules the Symbolizer lists.
func (c *Context) StackTracer() (*linux.StackTracer, error) {
	return Once(c, "stacktracer", func() (*linux.StackTracer, error) {
		mods := c.Symbolizer().Modules
		if v := c.K.Vmlinux; v != nil {
			return linux.NewStackTracer(c.Prog, v.R, c.K.Info.KernelOffset, mods)
		}
		return linux.NewStackTracer(c.Prog, nil, 0, mods)
	})
}

// Utsname reads init_uts_ns once per run.
func (c *Context) Utsname() (linux.UTS, error) {
	return Once(c, "utsname", func() (linux.UTS, error) { return linux.Utsname(c.Prog) })
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

// Processes is the process table (linux.ReadProcesses), read once per run
// for the per-process files and the report's enumeration: a lookup per
// file instead of a walk of the task list per file.
func (c *Context) Processes() *linux.Processes {
	t, _ := Once(c, "processes", func() (*linux.Processes, error) {
		return linux.ReadProcesses(c.Prog), nil
	})
	return t
}

// TaskByPID is the thread-group leader whose pid is pid.
func (c *Context) TaskByPID(pid int64) (object.Object, error) {
	t := c.Processes()
	addr, ok := t.ByPID[pid]
	if !ok {
		if t.Err != nil {
			return object.Object{}, fmt.Errorf("no process %d in the part of the task list read: %w", pid, t.Err)
		}
		return object.Object{}, fmt.Errorf("no process with pid %d", pid)
	}
	typ, err := c.Prog.Type("struct task_struct")
	if err != nil {
		return object.Object{}, err
	}
	return c.Prog.Object(typ, addr, fmt.Sprintf("task %d", pid)), nil
}

// RunningCPUs are the CPUs running before the panic, once per run: the
// per-CPU sums /proc shows run over them.
func (c *Context) RunningCPUs() ([]int, error) {
	return Once(c, "running-cpus", func() ([]int, error) {
		return linux.CPUsRunningBeforePanic(c.Prog)
	})
}

// PossibleCPUs is cpu_possible_mask, once per run.
func (c *Context) PossibleCPUs() ([]int, error) {
	return Once(c, "possible-cpus", func() ([]int, error) {
		return linux.CPUMask(c.Prog, "__cpu_possible_mask")
	})
}
