package emitters

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// The numbers of crash-style back traces (bt -a, bt_blocked), checked
// against sources that do not go through our symbol or type readers: the
// capture's /proc/kallsyms (the live kernel's own symbol addresses, KASLR
// applied), addr2line on the vmlinux (binutils' DWARF line reader) for
// file:line, drgn's runqueues for the task on each CPU, and the x86_64
// rules an exception frame obeys.

var (
	btHeaderRe = regexp.MustCompile(`^PID: (\d+)\s+TASK: ([0-9a-f]{16})  CPU: (\d+)\s+COMMAND: "(.*)"$`)
	btFrameRe  = regexp.MustCompile(`^ ?#(\d+) \[([0-9a-f]{16})\] (\S+)(?: \[(\S+)\])? at ([0-9a-f]{16})$`)
	btLineRe   = regexp.MustCompile(`^    (\S+): (\d+)$`)
	btExcRIPRe = regexp.MustCompile(`^    \[exception RIP: (\S+)\+(\d+)\]$`)
	// The register block of an exception frame, crash's layout: 16 hex
	// digits per register, CS and SS in 4.
	btRegRes = []*regexp.Regexp{
		regexp.MustCompile(`^    RIP: ([0-9a-f]{16})  RSP: ([0-9a-f]{16})  RFLAGS: ([0-9a-f]{8})$`),
		regexp.MustCompile(`^    RAX: ([0-9a-f]{16})  RBX: ([0-9a-f]{16})  RCX: ([0-9a-f]{16})$`),
		regexp.MustCompile(`^    RDX: ([0-9a-f]{16})  RSI: ([0-9a-f]{16})  RDI: ([0-9a-f]{16})$`),
		regexp.MustCompile(`^    RBP: ([0-9a-f]{16})   R8: ([0-9a-f]{16})   R9: ([0-9a-f]{16})$`),
		regexp.MustCompile(`^    R10: ([0-9a-f]{16})  R11: ([0-9a-f]{16})  R12: ([0-9a-f]{16})$`),
		regexp.MustCompile(`^    R13: ([0-9a-f]{16})  R14: ([0-9a-f]{16})  R15: ([0-9a-f]{16})$`),
		regexp.MustCompile(`^    ORIG_RAX: ([0-9a-f]{16})  CS: ([0-9a-f]{4})  SS: ([0-9a-f]{4})$`),
	}
	btRegNames = [][]string{{"RIP", "RSP", "RFLAGS"}, {"RAX", "RBX", "RCX"}, {"RDX", "RSI", "RDI"},
		{"RBP", "R8", "R9"}, {"R10", "R11", "R12"}, {"R13", "R14", "R15"}, {"ORIG_RAX", "CS", "SS"}}
)

// btTask is one parsed block of a back trace.
type btTask struct {
	pid, cpu     int64
	task, comm   string
	frames       []btFrame
	regs         []map[string]uint64 // exception frames, in order
	endsWithRegs bool
}

type btFrame struct {
	n        int64
	sp, addr uint64
	name     string
	module   string
	file     string
	line     int64
	// newStack: a "--- <X stack> ---" line came before this frame, so
	// its stack pointer is on another stack and may lie below the last.
	newStack bool
}

// parseBt parses crash-style bt output strictly: a line that is none of a
// header, frame, source line, exception RIP, register line, BLOCKED line
// or blank fails, as does a register block cut short.
func parseBt(t *testing.T, text string) []btTask {
	t.Helper()
	var out []btTask
	var switched bool // the last line left one stack for another
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" || strings.HasPrefix(l, "    BLOCKED: ") {
			continue
		}
		if m := btHeaderRe.FindStringSubmatch(l); m != nil {
			pid, _ := strconv.ParseInt(m[1], 10, 64)
			cpu, _ := strconv.ParseInt(m[3], 10, 64)
			out = append(out, btTask{pid: pid, task: m[2], cpu: cpu, comm: m[4]})
			continue
		}
		if len(out) == 0 {
			t.Errorf("line %d %q before any task header", i+1, l)
			return out
		}
		cur := &out[len(out)-1]
		cur.endsWithRegs = false
		if m := btFrameRe.FindStringSubmatch(l); m != nil {
			f := btFrame{name: m[3], module: m[4]}
			f.n, _ = strconv.ParseInt(m[1], 10, 64)
			f.sp, _ = strconv.ParseUint(m[2], 16, 64)
			f.addr, _ = strconv.ParseUint(m[5], 16, 64)
			f.newStack, switched = switched, false
			cur.frames = append(cur.frames, f)
			continue
		}
		if m := btLineRe.FindStringSubmatch(l); m != nil && len(cur.frames) > 0 {
			f := &cur.frames[len(cur.frames)-1]
			f.file = m[1]
			f.line, _ = strconv.ParseInt(m[2], 10, 64)
			continue
		}
		if btExcRIPRe.MatchString(l) {
			continue // checked with the registers below
		}
		if btStackSwitchRe.MatchString(l) {
			// The trace leaves an IRQ or exception stack for the one
			// below it (a CPU interrupted at the crash, as crash prints).
			switched = true
			continue
		}
		if btRegRes[0].MatchString(l) {
			regs := map[string]uint64{}
			for j, re := range btRegRes {
				if i+j >= len(lines) {
					t.Errorf("%s: register block cut after %q", cur.comm, lines[i+j-1])
					return out
				}
				m := re.FindStringSubmatch(lines[i+j])
				if m == nil {
					t.Errorf("%s: register line %q, want %s", cur.comm, lines[i+j], strings.Join(btRegNames[j], ", "))
					return out
				}
				for k, name := range btRegNames[j] {
					regs[name], _ = strconv.ParseUint(m[k+1], 16, 64)
				}
			}
			i += len(btRegRes) - 1
			cur.regs = append(cur.regs, regs)
			cur.endsWithRegs = true
			continue
		}
		t.Errorf("line %d %q is not part of a back trace", i+1, l)
	}
	return out
}

// kallsymsOf is the capture's /proc/kallsyms, sorted by address (text
// symbols only), read once per set.
type ksym struct {
	addr uint64
	name string
}

var kallsymsCache sync.Map // truth dir -> []ksym

func kallsymsOf(t *testing.T, s *fixtures.Set) []ksym {
	t.Helper()
	if v, ok := kallsymsCache.Load(s.Manifest.Truth.Dir); ok {
		return v.([]ksym)
	}
	var syms []ksym
	sc := bufio.NewScanner(strings.NewReader(truth(t, s, "proc/kallsyms")))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || !strings.ContainsAny(f[1], "tTwW") {
			continue
		}
		a, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil || a == 0 {
			continue
		}
		syms = append(syms, ksym{a, f[2]})
	}
	if len(syms) < 1000 {
		t.Fatalf("the capture's kallsyms has %d text symbols with addresses", len(syms))
	}
	sort.Slice(syms, func(i, j int) bool { return syms[i].addr < syms[j].addr })
	kallsymsCache.Store(s.Manifest.Truth.Dir, syms)
	return syms
}

// symbolAt is the kallsyms text symbol at or below addr and its offset.
func symbolAt(syms []ksym, addr uint64) (string, uint64) {
	i := sort.Search(len(syms), func(i int) bool { return syms[i].addr > addr }) - 1
	if i < 0 {
		return "", 0
	}
	// Aliases share an address: any of them names it.
	return syms[i].name, addr - syms[i].addr
}

// namesAt lists every kallsyms name at the address of the symbol holding addr.
func namesAt(syms []ksym, addr uint64) []string {
	i := sort.Search(len(syms), func(i int) bool { return syms[i].addr > addr }) - 1
	if i < 0 {
		return nil
	}
	var names []string
	for j := i; j >= 0 && syms[j].addr == syms[i].addr; j-- {
		names = append(names, syms[j].name)
	}
	return names
}

// addr2line resolves runtime addresses with binutils on the set's vmlinux
// (the KASLR offset is the capture's _text less System.map's), cached.
var addr2lineCache sync.Map // vmlinux path + addr -> "file:line"

func addr2line(t *testing.T, s *fixtures.Set, addrs []uint64) map[uint64]string {
	t.Helper()
	vmlinux := s.KernelFile(t, "vmlinux")
	var text uint64
	for _, k := range kallsymsOf(t, s) {
		if k.name == "_text" {
			text = k.addr
		}
	}
	smap, err := os.ReadFile(s.KernelFile(t, "system_map"))
	if err != nil {
		t.Fatal(err)
	}
	var static uint64
	for _, l := range strings.Split(string(smap), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[2] == "_text" {
			static, _ = strconv.ParseUint(f[0], 16, 64)
		}
	}
	if text == 0 || static == 0 {
		t.Fatalf("_text: capture %#x, System.map %#x", text, static)
	}
	out := map[uint64]string{}
	var ask []uint64
	for _, a := range addrs {
		if v, ok := addr2lineCache.Load(fmt.Sprintf("%s %x", vmlinux, a)); ok {
			out[a] = v.(string)
		} else {
			ask = append(ask, a)
		}
	}
	if len(ask) == 0 {
		return out
	}
	args := []string{"-e", vmlinux}
	for _, a := range ask {
		args = append(args, fmt.Sprintf("%#x", a-text+static))
	}
	cmd := exec.Command("addr2line", args...)
	b, err := cmd.Output()
	if err != nil {
		fixtures.Missing(t, fmt.Errorf("addr2line (binutils) on %s: %v", vmlinux, err))
		return out
	}
	res := strings.Split(strings.TrimSuffix(string(bytes.TrimSpace(b)), "\n"), "\n")
	if len(res) != len(ask) {
		t.Fatalf("addr2line gave %d lines for %d addresses", len(res), len(ask))
	}
	for i, a := range ask {
		v, _, _ := strings.Cut(res[i], " (discriminator")
		out[a] = v
		addr2lineCache.Store(fmt.Sprintf("%s %x", vmlinux, a), v)
	}
	return out
}

// threadStarts are where a task's stack begins when it has no user-mode
// frame: kernel threads (ret_from_fork) and idle tasks (the boot and
// secondary CPU entries).
var threadStarts = []string{"ret_from_fork", "ret_from_fork_asm", "start_secondary", "secondary_startup_64",
	"secondary_startup_64_no_verify", "common_startup_64", "x86_64_start_kernel", "x86_64_start_reservations", "rest_init"}

// checkBtNumbers checks every number of a crash-style back trace:
//   - frames numbered 0, 1, 2 … per task; stack pointers never go down;
//   - each frame's function is the capture's kallsyms symbol holding its
//     address (or the address less one: a return address after a call
//     at a function's end), a module's with its [module];
//   - with a vmlinux, each frame's file:line is addr2line's for the
//     address or the address less one (the path may be cut at the source
//     tree's root);
//   - an exception frame: RIP a text address named as kallsyms names it
//     ("[exception RIP: sym+off]") in kernel mode (CS 0x10, SS 0x18 or 0),
//     a user address below 2^47 in user mode (CS 0x33, SS 0x2b); RFLAGS
//     with its always-one bit 1 and IF set; a system call's frame
//     (ORIG_RAX ≥ 0) has RCX = RIP and R11 = RFLAGS (SYSCALL saved them
//     there) and RAX = -ENOSYS (the entry code's value until the call
//     returns); an interrupt's has ORIG_RAX = -1;
//   - every task's trace ends at a user-mode frame or at a kernel thread's
//     or idle task's start.
//
// btStackSwitchRe is the line bt prints where a trace moves from one stack
// to the one below it ("--- <IRQ stack> ---").
var btStackSwitchRe = regexp.MustCompile(`^\s*--- <[A-Za-z0-9 #]+ stack> ---\s*$`)

func checkBtNumbers(t *testing.T, s *fixtures.Set, got string) {
	syms := kallsymsOf(t, s)
	hasFromForkAsm := slices.ContainsFunc(syms, func(k ksym) bool { return k.name == "ret_from_fork_asm" })
	tasks := parseBt(t, got)
	var addrs []uint64
	for _, bt := range tasks {
		for _, f := range bt.frames {
			if f.file != "" {
				addrs = append(addrs, f.addr, f.addr-1)
			}
		}
	}
	lines := map[uint64]string{}
	if len(addrs) > 0 {
		lines = addr2line(t, s, addrs)
	}
	for _, bt := range tasks {
		who := fmt.Sprintf("pid %d (%s) on CPU %d", bt.pid, bt.comm, bt.cpu)
		var lastSP uint64
		for i, f := range bt.frames {
			if f.n != int64(i) {
				t.Errorf("%s: frame #%d numbered %d", who, i, f.n)
			}
			if f.sp < lastSP && !f.newStack {
				t.Errorf("%s: frame #%d's stack pointer %x below the previous %x", who, i, f.sp, lastSP)
			}
			lastSP = f.sp
			name := f.name
			if !slices.Contains(namesAt(syms, f.addr), name) && !slices.Contains(namesAt(syms, f.addr-1), name) {
				n, off := symbolAt(syms, f.addr)
				t.Errorf("%s: frame #%d %s at %x: the capture's kallsyms has %s+%#x there", who, i, name, f.addr, n, off)
			}
			if f.file != "" {
				ok := false
				for _, a := range []uint64{f.addr, f.addr - 1} {
					file, line, _ := strings.Cut(lines[a], ":")
					if line == strconv.FormatInt(f.line, 10) && (file == f.file || strings.HasSuffix(file, "/"+f.file)) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s: frame #%d %s %s: %d, addr2line: %s (or %s one byte before)", who, i, name, f.file, f.line, lines[f.addr], lines[f.addr-1])
				}
			}
		}
		for _, r := range bt.regs {
			checkExceptionFrame(t, syms, who, r)
		}
		switch {
		case bt.endsWithRegs && bt.regs[len(bt.regs)-1]["CS"] == 0x33:
		case len(bt.frames) > 0 && bt.frames[len(bt.frames)-1].name == "ret_from_fork" && hasFromForkAsm:
			// Since 6.7 (3aec4ecb3d1f, "x86: Rewrite ret_from_fork() in
			// C") ret_from_fork_asm calls ret_from_fork: a kernel
			// thread's trace ending at ret_from_fork is cut short.
			t.Errorf("%s: the trace ends at ret_from_fork, below which this kernel has ret_from_fork_asm", who)
		case len(bt.frames) > 0 && slices.Contains(threadStarts, bt.frames[len(bt.frames)-1].name):
		default:
			t.Errorf("%s: the trace ends neither in user mode nor at a thread's start", who)
		}
	}
}

func checkExceptionFrame(t *testing.T, syms []ksym, who string, r map[string]uint64) {
	t.Helper()
	const userTop = 1 << 47
	bad := func(format string, args ...any) {
		t.Errorf("%s: exception frame %s (RIP %x RSP %x RFLAGS %x CS %x SS %x ORIG_RAX %x)", who, fmt.Sprintf(format, args...),
			r["RIP"], r["RSP"], r["RFLAGS"], r["CS"], r["SS"], r["ORIG_RAX"])
	}
	switch r["CS"] {
	case 0x33:
		if r["SS"] != 0x2b || r["RIP"] >= userTop || r["RSP"] >= userTop {
			bad("in user mode with a kernel address or selector")
		}
	case 0x10:
		if r["SS"] != 0x18 && r["SS"] != 0 {
			bad("in kernel mode with SS %x", r["SS"])
		}
		if n, _ := symbolAt(syms, r["RIP"]); n == "" || r["RIP"] < 1<<63 {
			bad("in kernel mode outside the kernel's text")
		}
	default:
		bad("with CS %x, neither the kernel's nor user mode's", r["CS"])
	}
	if r["RFLAGS"]&0x2 == 0 || r["RFLAGS"]&0x200 == 0 && r["CS"] == 0x33 {
		bad("RFLAGS without the always-one bit or, in user mode, IF")
	}
	orig := int64(r["ORIG_RAX"])
	switch {
	case orig == -1:
	case orig >= 0 && orig < 1024 && r["CS"] == 0x33:
		const enosys = 1<<64 - 38
		if r["RCX"] != r["RIP"] || r["R11"] != r["RFLAGS"] || r["RAX"] != enosys {
			bad("of system call %d without RCX = RIP, R11 = RFLAGS and RAX = -ENOSYS", orig)
		}
	default:
		bad("with ORIG_RAX %d: neither a system call nor an interrupt", orig)
	}
}

// oracleBt: each task shown on a CPU is that CPU's current task as drgn
// reads the runqueues (pid, comm, address), and every CPU that ran has
// exactly one.
func oracleBt(t *testing.T, s *fixtures.Set, got string) {
	checkBtAgainstPrstatus(t, s, got)
	o := oracleOf(t, s)
	o.tasks(t)
	seen := map[int64]bool{}
	for _, bt := range parseBt(t, got) {
		if seen[bt.cpu] {
			t.Errorf("CPU %d shown twice", bt.cpu)
		}
		seen[bt.cpu] = true
		rq, ok := o.Runqueues[strconv.FormatInt(bt.cpu, 10)]
		if ok && rq.Curr == rq.Idle {
			// An idle CPU (7.2's kdump-oom: CPU 0 while CPU 1 ran the OOM
			// task) runs its idle task, which no task list holds: pid 0,
			// named "swapper/N" by init_idle() (kernel/sched/core.c).
			if want := fmt.Sprintf("swapper/%d", bt.cpu); bt.pid != 0 || bt.comm != want || bt.task != fmt.Sprintf("%x", rq.Idle) {
				t.Errorf("CPU %d: pid %d %q task %s; drgn's rq->curr is the idle task %x (pid 0 %q)", bt.cpu, bt.pid, bt.comm, bt.task, rq.Idle, want)
			}
			continue
		}
		curr := o.taskByAddress(t, rq.Curr)
		if !ok || curr == nil {
			t.Errorf("CPU %d: drgn has no current task for it", bt.cpu)
			continue
		}
		if bt.pid != curr.PID || bt.comm != curr.Comm || bt.task != fmt.Sprintf("%x", curr.Address) {
			t.Errorf("CPU %d: pid %d %q task %s; drgn's rq->curr: pid %d %q task %x", bt.cpu, bt.pid, bt.comm, bt.task, curr.PID, curr.Comm, curr.Address)
		}
	}
	if n := len(liveCPUs(t, s)); len(seen) != n {
		t.Errorf("%d CPUs shown, the live system had %d", len(seen), n)
	}
}

// oracleBtBlocked: the blocks are drgn's tasks in D (task_state_index())
// that are no CPU's rq->curr, each once, with its address and CPU; BLOCKED
// is that CPU's rq->clock less the task's sched_info.last_arrival, as
// crash's ps -m measures it (h:mm:ss.mmm).
func oracleBtBlocked(t *testing.T, s *fixtures.Set, got string) {
	o := oracleOf(t, s)
	curr := map[uint64]bool{}
	for _, rq := range o.Runqueues {
		curr[rq.Curr] = true
	}
	want := map[int64]oracleTask{}
	for _, w := range o.tasks(t) {
		if taskStateLetter(w.State, w.ExitState) == 'D' && !curr[w.Address] {
			want[w.PID] = w
		}
	}
	seen := map[int64]bool{}
	for _, b := range btBlocks(got) {
		m := btHeaderRe.FindStringSubmatch(strings.SplitN(b, "\n", 2)[0])
		if m == nil {
			t.Errorf("block without a header:\n%s", b)
			continue
		}
		pid, _ := strconv.ParseInt(m[1], 10, 64)
		w, ok := want[pid]
		if !ok || seen[pid] {
			t.Errorf("pid %d: drgn has it in D off-CPU: %v; shown before: %v", pid, ok, seen[pid])
			continue
		}
		seen[pid] = true
		if m[2] != fmt.Sprintf("%x", w.Address) || m[3] != fmt.Sprint(w.CPU) {
			t.Errorf("pid %d: task %s CPU %s, drgn %x CPU %d", pid, m[2], m[3], w.Address, w.CPU)
		}
		clock := o.Runqueues[strconv.FormatInt(w.CPU, 10)].Clock
		if w.LastArrival != 0 && clock >= w.LastArrival {
			d := clock - w.LastArrival
			if line := fmt.Sprintf("    BLOCKED: %s.%03d since it last ran\n", crashDurationOf(float64(d/1e9)), d%1e9/1e6); !strings.Contains(b, line) {
				t.Errorf("pid %d: no %q (drgn's rq->clock %d, last_arrival %d)", pid, line, clock, w.LastArrival)
			}
		}
	}
	for pid := range want {
		if !seen[pid] {
			t.Errorf("pid %d (%s): in D off-CPU by drgn, not shown", pid, want[pid].Comm)
		}
	}
}

func init() {
	oracleChecks["sos_commands/vmcore/bt_-a"] = oracleBt
	oracleChecks["sos_commands/vmcore/bt_blocked"] = oracleBtBlocked
}
