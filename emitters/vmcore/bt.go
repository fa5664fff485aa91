package vmcore

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/kernel/unwind"
)

// cpuTrace is one CPU's active task and its stack at the crash.
type cpuTrace struct {
	cpu   int
	task  object.Object
	trace unwind.Trace
	// regsFrom says where the starting registers came from.
	regsFrom string
	err      error // why there is no trace (no saved registers, …)
}

// cpuRegs finds the registers saved for cpu. A kdump-made dump (VMCOREINFO
// has CRASHTIME) has them in per-cpu crash_notes, as crash_save_cpu() left
// them; the ELF notes of other dumps follow no CPU order the kernel keeps,
// and QEMU's dump-guest-memory numbers its notes pr_pid = vCPU index + 1.
func cpuRegs(c *emit.Context, cpu int) (*unwind.PtRegs, string, error) {
	if c.SavedByKdump() {
		r, _, ok, err := linux.CrashNotesRegs(c.Prog, cpu)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			return nil, "", fmt.Errorf("kdump saved no registers for cpu %d", cpu)
		}
		return r, "crash_notes", nil
	}
	for _, n := range c.PRStatus() {
		if int(n.Pid) == cpu+1 {
			r, err := linux.PRStatusRegs(n.Regs[:])
			return r, "NT_PRSTATUS note", err
		}
	}
	return nil, "", fmt.Errorf("no NT_PRSTATUS note for cpu %d", cpu)
}

// cpuTraces unwinds the active task of every CPU that ran before the
// panic, once per run.
func cpuTraces(c *emit.Context) ([]cpuTrace, error) {
	return emit.Once(c, "emitters/cpu-traces", func() ([]cpuTrace, error) {
		st, err := c.StackTracer()
		if err != nil {
			return nil, err
		}
		cpus, err := c.RunningCPUs()
		if err != nil {
			return nil, err
		}
		var out []cpuTrace
		for _, cpu := range cpus {
			ct := cpuTrace{cpu: cpu, task: linux.CPURq(c.Prog, cpu).Member("curr").Deref()}
			if err := ct.task.Err(); err != nil {
				ct.err = err
				out = append(out, ct)
				continue
			}
			regs, from, err := cpuRegs(c, cpu)
			if err != nil {
				ct.err = err
				out = append(out, ct)
				continue
			}
			ct.regsFrom = from
			ct.trace, ct.err = st.WalkRegs(ct.task, cpu, regs)
			out = append(out, ct)
		}
		// The panic's summary unwinds these first; bt -a prints their
		// lines near the end of the report.
		var looks []uint64
		for _, ct := range out {
			for _, f := range ct.trace.Frames {
				looks = append(looks, lookAddr(f))
			}
		}
		c.ReadAheadSourceLines(looks)
		return out, nil
	})
}

// btHeader is crash's task header (print_task_header in task.c).
func btHeader(c *emit.Context, task object.Object, cpu string) (string, error) {
	var rd object.Reader
	pid := rd.Int(task.Member("pid"))
	comm := rd.CString(task.Member("comm"))
	addr, _ := task.Address()
	if err := rd.Err(); err != nil {
		return "", err
	}
	return fmt.Sprintf("PID: %-7d  TASK: %x  CPU: %-3s  COMMAND: %q\n", pid, addr, cpu, comm), nil
}

// writeBt prints a trace in crash's bt layout (x86_64.c): numbered frames
// "#N [stack address] function at return address", exception frames with
// their registers, a marker where the stack changes, and the user-mode
// registers the kernel was entered with.
func writeBt(c *emit.Context, b *strings.Builder, tr unwind.Trace) {
	sym := c.Symbolizer()
	looks := make([]uint64, len(tr.Frames))
	for i, f := range tr.Frames {
		looks[i] = lookAddr(f)
	}
	c.PrefetchSourceLines(looks)
	for i, f := range tr.Frames {
		if i > 0 {
			prev := tr.Frames[i-1].Stack
			if prev != f.Stack && prev.Kind != unwind.StackUnknown && prev.Kind != unwind.StackTask {
				fmt.Fprintf(b, "--- <%s stack> ---\n", prev.Name)
			}
		}
		lead := ""
		if i < 10 {
			lead = " "
		}
		at := f.Slot
		if at == 0 {
			at = f.SP
		}
		look := looks[i]
		name := sym.SprintSymbolNoOffset(look)
		fmt.Fprintf(b, "%s#%d [%x] %s at %x\n", lead, i, at, name, f.IP)
		if file, line, ok := c.SourceLine(look); ok {
			fmt.Fprintf(b, "    %s: %d\n", file, line) // crash's bt -l
		}
		if f.Regs != nil {
			fmt.Fprintf(b, "    [exception RIP: %s]\n", exceptionRIP(c, f.Regs[unwind.RIP]))
			writeRegs(b, f.Regs, f.Partial)
		}
	}
	if tr.UserRegs != nil {
		writeRegs(b, tr.UserRegs, false)
	}
	if tr.End != nil {
		fmt.Fprintf(b, "    (the unwind stopped: %v)\n", tr.End)
	}
}

// lookAddr is the address a frame is named and lined by: a return
// address may lie past its caller's end, so the byte before it.
func lookAddr(f unwind.Frame) uint64 {
	if f.Signal {
		return f.IP
	}
	return f.IP - 1
}

// exceptionRIP is crash's "function+decimal offset" of an interrupted ip.
func exceptionRIP(c *emit.Context, ip uint64) string {
	name, off, _, mod, ok := c.Symbolizer().Symbolize(ip)
	if !ok {
		return fmt.Sprintf("unknown or invalid address %x", ip)
	}
	s := fmt.Sprintf("%s+%d", name, off)
	if mod != "" {
		s += " [" + mod + "]"
	}
	return s
}

func writeRegs(b *strings.Builder, r *unwind.PtRegs, partial bool) {
	fmt.Fprintf(b, "    RIP: %016x  RSP: %016x  RFLAGS: %08x\n", r[unwind.RIP], r[unwind.RSP], r[unwind.EFLAGS])
	if !partial {
		fmt.Fprintf(b, "    RAX: %016x  RBX: %016x  RCX: %016x\n", r[unwind.RAX], r[unwind.RBX], r[unwind.RCX])
		fmt.Fprintf(b, "    RDX: %016x  RSI: %016x  RDI: %016x\n", r[unwind.RDX], r[unwind.RSI], r[unwind.RDI])
		fmt.Fprintf(b, "    RBP: %016x   R8: %016x   R9: %016x\n", r[unwind.RBP], r[unwind.R8], r[unwind.R9])
		fmt.Fprintf(b, "    R10: %016x  R11: %016x  R12: %016x\n", r[unwind.R10], r[unwind.R11], r[unwind.R12])
		fmt.Fprintf(b, "    R13: %016x  R14: %016x  R15: %016x\n", r[unwind.R13], r[unwind.R14], r[unwind.R15])
		fmt.Fprintf(b, "    ORIG_RAX: %016x  CS: %04x  SS: %04x\n", r[unwind.OrigRAX], r[unwind.CS], r[unwind.SS])
		return
	}
	fmt.Fprintf(b, "    CS: %04x  SS: %04x\n", r[unwind.CS], r[unwind.SS])
}

func init() {
	area.Register(&emit.Emitter{
		Path:    "sos_commands/vmcore/bt_-a",
		Mirrors: "crash's bt -a (x86_64.c back traces), from the ORC unwinder",
		Desc:    "stack of the active task of every CPU that ran before the panic, from its saved registers; file:line per frame with a vmlinux",
		Tracker: emit.Done,
		Run: func(c *emit.Context, _ int64, out *emit.Output) error {
			cts, err := cpuTraces(c)
			if err != nil {
				return err
			}
			for i, ct := range cts {
				if i > 0 {
					out.WriteString("\n")
				}
				var b strings.Builder
				if h, err := btHeader(c, ct.task, fmt.Sprint(ct.cpu)); err == nil {
					b.WriteString(h)
				} else {
					fmt.Fprintf(&b, "CPU: %d\n", ct.cpu)
				}
				if ct.err != nil {
					out.Partial("cpu %d: %v", ct.cpu, ct.err)
					fmt.Fprintf(&b, "    (no trace: %v)\n", ct.err)
				}
				writeBt(c, &b, ct.trace)
				if ct.trace.End != nil {
					out.Partial("cpu %d: %v", ct.cpu, ct.trace.End)
				}
				out.WriteString(b.String())
			}
			return nil
		},
	})
}
