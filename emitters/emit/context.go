package emit

import (
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/kdwarf"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Context is what emitters read from: the opened kernel and values shared
// across emitters (computed once, on first use).
type Context struct {
	Prog *object.Program
	// k is reached only through the methods below, which give emitters
	// what they need of the dump and the vmlinux.
	k *kernel.Kernel

	mu    sync.Mutex
	cache map[string]any
}

// NewContext wraps an opened kernel.
func NewContext(k *kernel.Kernel) *Context {
	prog := k.Program()
	if prog != nil && prog.ModuleTypes == nil {
		// Types defined in modules (struct Scsi_Host, loop_device, …) come
		// from the module BTF the kernel keeps, read only when a type is
		// missing from the vmlinux's.
		prog.ModuleTypes = linux.NewModuleTypes(prog, k.BTF())
	}
	return &Context{k: k, Prog: prog, cache: map[string]any{}}
}

// Symbolizer resolves kernel addresses as %pS/%pB print them, modules
// included; one per run, so module symbols are read at most once.
func (c *Context) Symbolizer() *linux.Symbolizer {
	s, _ := Once(c, "symbolizer", func() (*linux.Symbolizer, error) {
		return linux.NewSymbolizer(c.Prog, c.k.Symbols()), nil
	})
	return s
}

// StackTracer is the kernel's unwinder, set up once per run: ORC tables
// from the vmlinux's sections when one is given, else from memory; module
// tables from the modules the Symbolizer lists.
func (c *Context) StackTracer() (*linux.StackTracer, error) {
	return Once(c, "stacktracer", func() (*linux.StackTracer, error) {
		mods := c.Symbolizer().Modules
		if v := c.k.Vmlinux(); v != nil {
			return linux.NewStackTracer(c.Prog, v.R, c.k.KernelOffset(), mods)
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
	// Named as "task PID" (strconv: once per per-process file, Sprintf's
	// formatting showed in the profile of a dump with thousands of tasks).
	return c.Prog.Object(typ, addr, "task "+strconv.FormatInt(pid, 10)), nil
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

// SymbolIs says whether addr is the address of the symbol name (a
// function pointer compared with the function it may point to).
func (c *Context) SymbolIs(addr uint64, name string) bool { return c.k.Symbols().Is(addr, name) }

// VarType is the type of a global or per-cpu variable (kernel.Kernel's
// VarType: BTF, then DWARF).
func (c *Context) VarType(name string) (ktype.Type, error) { return c.k.VarType(name) }

// UserMemory is the address space of a process whose mm->pgd is pgd.
func (c *Context) UserMemory(pgd uint64) (object.Memory, error) { return c.k.UserMemory(pgd) }

// DumpLevel is makedumpfile's dump level (-d), -1 when the dump has none
// (an ELF core).
func (c *Context) DumpLevel() int { return c.k.DumpInfo().DumpLevel }

// DumpFiles names the dump's files (the parts of a split dump, in part
// order).
func (c *Context) DumpFiles() []string {
	var names []string
	for _, p := range c.k.DumpInfo().Parts {
		names = append(names, p.Name)
	}
	return names
}

// SavedByKdump says whether kdump made the dump (VMCOREINFO has
// CRASHTIME): then per-cpu crash_notes hold the CPUs' registers.
func (c *Context) SavedByKdump() bool {
	_, ok := c.k.CrashTime()
	return ok
}

// PRStatus lists the dump's NT_PRSTATUS notes, in note order.
func (c *Context) PRStatus() []kernel.PRStatus { return c.k.PRStatus() }

// VmlinuxName is the name of the vmlinux given, ok false without one.
func (c *Context) VmlinuxName() (name string, ok bool) {
	if v := c.k.Vmlinux(); v != nil {
		return v.Name, true
	}
	return "", false
}

// RodataContains looks for strings in the kernel's .rodata: in the
// vmlinux's section when one is given (plain file reads), else in the
// kernel's memory.
func (c *Context) RodataContains(needles ...string) (map[string]bool, error) {
	// One scanner per run: the outputs that ask share what it read.
	s, _ := Once(c, "rodata", func() (*linux.RodataScanner, error) {
		var r io.ReaderAt
		if v := c.k.Vmlinux(); v != nil {
			r = v.R
		}
		return linux.NewRodataScanner(c.Prog, r), nil
	})
	return s.Contains(needles...)
}

// PrefetchSourceLines reads ahead what SourceLine will read for addrs,
// all at once (kdwarf.Lines.Prefetch), where the vmlinux's reader takes
// such hints: a trace asks for the line of each of its frames.
func (c *Context) PrefetchSourceLines(addrs []uint64) {
	v := c.k.Vmlinux()
	if v == nil {
		return
	}
	l, err := Once(c, "dwarf-lines", func() (*kdwarf.Lines, error) { return kdwarf.OpenLines(v.R) })
	if err != nil {
		return
	}
	pcs := make([]uint64, len(addrs))
	for i, a := range addrs {
		pcs[i] = a - c.k.KernelOffset()
	}
	l.Prefetch(pcs)
}

// ReadAheadSourceLines is PrefetchSourceLines on its own goroutine, for
// addresses known well before their lines are printed: its rounds of
// reads then arrive while other outputs are made, where in the output
// that prints them a browser waits for each round. The goroutine runs
// outside any emitter's isolation, so it recovers a panic itself: a
// read-ahead is only a hint, and the output that looks the lines up
// meets the same fault under its own isolation and reports it.
func (c *Context) ReadAheadSourceLines(addrs []uint64) {
	go func() {
		defer func() { _ = recover() }()
		c.PrefetchSourceLines(addrs)
	}()
}

// SourceLine is the file and line of a kernel-image address from the
// vmlinux's DWARF line tables (read per unit, on demand, once per run);
// ok is false without a vmlinux, for module addresses, or when the vmlinux
// has no line information.
func (c *Context) SourceLine(addr uint64) (file string, line int, ok bool) {
	v := c.k.Vmlinux()
	if v == nil {
		return "", 0, false
	}
	l, err := Once(c, "dwarf-lines", func() (*kdwarf.Lines, error) { return kdwarf.OpenLines(v.R) })
	if err != nil {
		return "", 0, false
	}
	file, line, err = l.LineForPC(addr - c.k.KernelOffset())
	return file, line, err == nil
}
