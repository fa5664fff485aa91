package vmcore

import (
	"errors"
	"fmt"
	"github.com/vmcore-report/vmcore-report/kernel/object"
	"strings"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// PanicFacts are what the panicking CPU's stack says about the crash.
type PanicFacts struct {
	CPU int
	// Culprit is the first frame outside the panic, oops, kexec and NMI
	// machinery ("sysrq_handle_crash", "name [module]").
	Culprit string
	// Frames are the panicking CPU's first frames, as %pS prints them.
	Frames []string
	trace  cpuTrace
}

// maxPanicFrames is how many frames of the panicking CPU the manifest keeps.
const maxPanicFrames = 16

// Panic finds the panicking CPU (panic_cpu) and its culprit.
func Panic(c *emit.Context) (PanicFacts, error) {
	return emit.Once(c, "emitters/panic", func() (PanicFacts, error) {
		var pf PanicFacts
		cpu, err := c.Prog.VarAs("panic_cpu", "int").Int()
		if err != nil {
			return pf, err
		}
		if cpu < 0 {
			return pf, errors.New("panic_cpu is unset: the kernel did not panic")
		}
		pf.CPU = int(cpu)
		cts, err := cpuTraces(c)
		if err != nil {
			return pf, err
		}
		found := false
		for _, ct := range cts {
			if ct.cpu == pf.CPU {
				pf.trace, found = ct, true
			}
		}
		if !found {
			return pf, fmt.Errorf("panic cpu %d did not run before the panic", cpu)
		}
		if pf.trace.err != nil {
			return pf, pf.trace.err
		}
		sym := c.Symbolizer()
		var names []string
		for i, f := range pf.trace.trace.Frames {
			look := f.IP
			if !f.Signal {
				look--
			}
			names = append(names, sym.SprintSymbolNoOffset(look))
			if i < maxPanicFrames {
				pf.Frames = append(pf.Frames, sym.SprintBacktrace(f.IP))
			}
		}
		i, ok := linux.Culprit(names)
		if !ok {
			return pf, errors.New("no panic path on the panicking CPU's stack")
		}
		pf.Culprit = names[i]
		return pf, nil
	})
}

// crashDuration is crash's convert_time(): "N days, HH:MM:SS".
func crashDuration(ns int64) string {
	s := ns / 1e9
	d, h, m := s/86400, s%86400/3600, s%3600/60
	out := fmt.Sprintf("%02d:%02d:%02d", h, m, s%60)
	if d > 0 {
		out = fmt.Sprintf("%d days, %s", d, out)
	}
	return out
}

// sysCPUs is crash's CPUS line: the present CPUs, and how many of them
// are not online (" [OFFLINE: n]"; after panic() without kdump, every CPU
// but the panicking one cleared itself from the online mask).
func sysCPUs(c *emit.Context) (string, error) {
	present, err := linux.CPUMask(c.Prog, "__cpu_present_mask")
	if err != nil {
		return "", err
	}
	online, err := linux.CPUMask(c.Prog, "__cpu_online_mask")
	if err != nil {
		return "", err
	}
	v := fmt.Sprint(len(present))
	if len(present) > len(online) {
		v += fmt.Sprintf(" [OFFLINE: %d]", len(present)-len(online))
	}
	return v, nil
}

// sysTasks is crash's TASKS: every task it finds, threads included
// (nr_threads counts each task from copy_process() to release_task()),
// plus the idle task of each present CPU (pid 0, never counted in
// nr_threads; crash adds each runqueue's idle task).
func sysTasks(c *emit.Context) (int64, error) {
	n, err := c.Prog.VarAs("nr_threads", "int").Int()
	if err != nil {
		return 0, err
	}
	present, err := linux.CPUMask(c.Prog, "__cpu_present_mask")
	if err != nil {
		return 0, err
	}
	for _, cpu := range present {
		idle, err := linux.CPURq(c.Prog, cpu).Member("idle").Uint()
		if err != nil {
			return 0, err
		}
		if idle != 0 {
			n++
		}
	}
	return n, nil
}

// sysMemory is crash's MEMORY: the online nodes' present pages, rounded up
// to the next GiB when within 64 MiB of it, printed in GB, MB or KB with
// one decimal (".0" dropped).
func sysMemory(c *emit.Context) (string, error) {
	var pages uint64
	for pgdat, err := range linux.ForEachOnlinePgdat(c.Prog) {
		if err != nil {
			return "", err
		}
		n, err := pgdat.Member("node_present_pages").Uint()
		if err != nil {
			return "", err
		}
		pages += n
	}
	const kib, mib, gib = 1 << 10, 1 << 20, 1 << 30
	total := pages * 4096
	if next := (total + gib - 1) / gib * gib; next-total <= 64*mib {
		total = next
	}
	var v string
	switch {
	case total == 0:
		return "0", nil
	case total >= gib:
		v = fmt.Sprintf("%.1f GB", float64(total)/gib)
	case total >= mib:
		v = fmt.Sprintf("%.1f MB", float64(total)/mib)
	default:
		return fmt.Sprintf("%d KB", total/kib), nil
	}
	return strings.Replace(v, ".0 ", " ", 1), nil
}

func init() {
	area.Register(&emit.Emitter{
		Path:    "sos_commands/vmcore/sys",
		Mirrors: "crash's sys (display_sys_stats in kernel.c), plus the panic CPU's culprit",
		Desc:    "the crash in one screen: kernel, dump, CPUs, date, uptime, load, tasks, release, memory, panic message, panicking task and CPU, taint, culprit",
		Tracker: emit.Done,
		Run: func(c *emit.Context, _ int64, out *emit.Output) error {
			line := func(k, v string) { fmt.Fprintf(out, "%12s: %s\n", k, v) }
			fail := func(k string, err error) { out.Partial("%s: %v", k, err) }
			if name, ok := c.VmlinuxName(); ok {
				line("KERNEL", name)
			} else {
				line("KERNEL", "(none: symbols from kallsyms, types from the kernel's BTF)")
			}
			line("DUMPFILE", strings.Join(c.DumpFiles(), " "))
			if v, err := sysCPUs(c); err == nil {
				line("CPUS", v)
			} else {
				fail("CPUS", err)
			}
			if ns, err := linux.KtimeGetReal(c.Prog); err == nil {
				line("DATE", time.Unix(0, ns).UTC().Format("Mon Jan  2 15:04:05 MST 2006"))
			} else {
				fail("DATE", err)
			}
			if up, err := linux.KtimeGetBoottime(c.Prog); err == nil {
				line("UPTIME", crashDuration(up))
			} else {
				fail("UPTIME", err)
			}
			if l, err := linux.ReadLoadavg(c.Prog, c.RunningCPUs); err == nil {
				line("LOAD AVERAGE", l.Averages(", "))
			} else {
				fail("LOAD AVERAGE", err)
			}
			if n, err := sysTasks(c); err == nil {
				line("TASKS", fmt.Sprint(n))
			} else {
				fail("TASKS", err)
			}
			if u, err := c.Utsname(); err == nil {
				line("NODENAME", u.Nodename)
				line("RELEASE", u.Release)
				line("VERSION", u.Version)
				// crash's processor_speed(): cpu_khz / 1000.
				if khz, err := c.Prog.VarAs("cpu_khz", "unsigned int").Uint(); err != nil {
					fail("MACHINE speed", err)
					line("MACHINE", u.Machine)
				} else if khz == 0 {
					line("MACHINE", u.Machine+"  (unknown Mhz)")
				} else {
					line("MACHINE", fmt.Sprintf("%s  (%d Mhz)", u.Machine, khz/1000))
				}
			} else {
				fail("utsname", err)
			}
			if v, err := sysMemory(c); err == nil {
				line("MEMORY", v)
			} else {
				fail("MEMORY", err)
			}
			if msg, err := linux.PanicMessage(c.Prog); err == nil {
				line("PANIC", fmt.Sprintf("%q", msg))
			} else {
				fail("PANIC", err)
			}
			pf, err := Panic(c)
			if err != nil {
				fail("panic CPU", err)
			}
			if pf.trace.task.Err() == nil && err == nil {
				var rd object.Reader
				pid := rd.Int(pf.trace.task.Member("pid"))
				comm := rd.CString(pf.trace.task.Member("comm"))
				addr, ok := pf.trace.task.Address()
				if !ok {
					rd.Check(errors.New("the task has no address"))
				}
				if e := rd.Err(); e != nil {
					fail("panicking task", e)
				} else {
					line("PID", fmt.Sprint(pid))
					line("COMMAND", fmt.Sprintf("%q", comm))
					line("TASK", fmt.Sprintf("%x", addr))
					line("CPU", fmt.Sprint(pf.CPU))
					line("STATE", "TASK_RUNNING (PANIC)")
				}
			}
			if mask, err := c.Prog.VarAs("tainted_mask", "unsigned long").Uint(); err == nil {
				line("TAINT", fmt.Sprintf("%#x %s", mask, linux.TaintLetters(mask)))
			} else {
				fail("TAINT", err)
			}
			if err == nil {
				line("CULPRIT", pf.Culprit)
			}
			return nil
		},
	})
}
