package emitters

import (
	"debug/elf"
	"encoding/binary"
	"io"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// prstatus is one CPU's NT_PRSTATUS note of a kdump: the registers the
// crashed kernel saved for it (crash_save_cpu(): the panic CPU's from
// crash_setup_regs(), each other CPU's from the NMI that stopped it) and
// the pid it was running.
type prstatus struct {
	pid  int64
	regs map[string]uint64
}

// x86_64's struct user_regs_struct, the elf_prstatus pr_reg the notes
// hold (arch/x86/include/asm/user_64.h), by crash's register names.
var userRegsOrder = []string{"R15", "R14", "R13", "R12", "RBP", "RBX", "R11", "R10", "R9", "R8",
	"RAX", "RCX", "RDX", "RSI", "RDI", "ORIG_RAX", "RIP", "CS", "RFLAGS", "RSP", "SS"}

// elf_prstatus on x86_64: pr_pid at 32, pr_reg at 112 (after the siginfo
// head, cursig, sigpend/sighold, four pids and four timevals).
const prPIDOff, prRegOff = 32, 112

// kdumpPrstatus reads the NT_PRSTATUS notes of the set's kdump-made ELF
// dump with debug/elf alone, not through our dump readers: the second
// reading the bt register blocks are held to. Nil for a set without one.
func kdumpPrstatus(t *testing.T, s *fixtures.Set) []prstatus {
	t.Helper()
	f := s.Role("kdump-elf-d31")
	if f == nil {
		return nil
	}
	ef, err := elf.Open(f.Path)
	if err != nil {
		t.Fatalf("%s: %v", f.Path, err)
	}
	defer ef.Close()
	var out []prstatus
	for _, p := range ef.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p.Open(), 1<<20))
		if err != nil {
			t.Fatalf("%s notes: %v", f.Path, err)
		}
		for len(b) >= 12 {
			namesz, descsz, typ := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:])
			nameEnd := 12 + (int(namesz)+3)&^3
			descEnd := nameEnd + (int(descsz)+3)&^3
			if namesz > 1<<10 || descsz > 1<<20 || descEnd > len(b) {
				t.Fatalf("%s: a note overruns its segment", f.Path)
			}
			name, desc := string(b[12:12+namesz]), b[nameEnd:nameEnd+int(descsz)]
			b = b[descEnd:]
			if typ != uint32(elf.NT_PRSTATUS) || name != "CORE\x00" {
				continue
			}
			if len(desc) < prRegOff+8*len(userRegsOrder) {
				t.Fatalf("%s: NT_PRSTATUS of %d bytes", f.Path, len(desc))
			}
			ps := prstatus{pid: int64(int32(binary.LittleEndian.Uint32(desc[prPIDOff:]))), regs: map[string]uint64{}}
			for i, r := range userRegsOrder {
				ps.regs[r] = binary.LittleEndian.Uint64(desc[prRegOff+8*i:])
			}
			out = append(out, ps)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no NT_PRSTATUS note", f.Path)
	}
	return out
}

// checkBtAgainstPrstatus: in a kdump, a CPU other than the panicking one
// was stopped by an NMI whose handler saved the interrupted registers in
// its crash note. Stopped in user mode, bt's first register block for that
// CPU's task is that frame: every register must equal the note's.
func checkBtAgainstPrstatus(t *testing.T, s *fixtures.Set, got string) {
	notes := kdumpPrstatus(t, s)
	if notes == nil || s.Manifest.Crash == nil {
		return
	}
	compared := 0
	for _, bt := range parseBt(t, got) {
		if bt.cpu == int64(s.Manifest.Crash.PanicCPU) {
			continue
		}
		var match []prstatus
		for _, n := range notes {
			if n.pid == bt.pid {
				match = append(match, n)
			}
		}
		if len(match) != 1 {
			t.Errorf("CPU %d (pid %d): %d crash notes for its pid", bt.cpu, bt.pid, len(match))
			continue
		}
		if note := match[0].regs; note["CS"]&3 == 0 {
			// Stopped in the kernel (7.2 kdump-oom: CPU 0 idle in
			// pv_native_safe_halt): the trace starts at the saved
			// registers, without crash's NMI-stack frames above them,
			// so its first frame is at the note's RIP and RSP.
			if len(bt.frames) == 0 || bt.frames[0].addr != note["RIP"] || bt.frames[0].sp != note["RSP"] {
				t.Errorf("CPU %d (pid %d): first frame %+v, the crash note says RIP %x RSP %x", bt.cpu, bt.pid, bt.frames[:min(1, len(bt.frames))], note["RIP"], note["RSP"])
			}
			compared++
			continue
		}
		if len(bt.regs) == 0 {
			t.Errorf("CPU %d (pid %d): no register block; the NMI saved RIP %x in user mode", bt.cpu, bt.pid, match[0].regs["RIP"])
			continue
		}
		for _, r := range userRegsOrder {
			want := match[0].regs[r]
			if r == "RFLAGS" {
				want &= 0xffffffff // crash prints 8 digits
			}
			if bt.regs[0][r] != want {
				t.Errorf("CPU %d (pid %d): %s %x, the crash note says %x", bt.cpu, bt.pid, r, bt.regs[0][r], want)
			}
		}
		compared++
	}
	if compared == 0 {
		t.Errorf("no CPU's registers compared with the crash notes (%d notes)", len(notes))
	}
}
