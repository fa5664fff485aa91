package emitters

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// Command lines against drgn's: a process that started after the capture
// (the hung scenario's `sleep 60`) has its arguments only in user memory,
// which no other rule reads. drgn's helper reads them where the dump has
// the user pages (7.2's reference dumps are -d 1); the kernel's rule for
// /proc/PID/cmdline and procps' for ps's COMMAND are applied here.

func init() {
	pidOracleChecks["proc/{pid}/cmdline"] = func(t *testing.T, s *fixtures.Set, pid int64, got string) {
		w := oracleOf(t, s).taskByPID(t, pid)
		if w == nil {
			t.Fatalf("pid %d: drgn has no such task", pid)
		}
		if want, known := w.procCmdline(t); known && got != string(want) {
			t.Errorf("pid %d cmdline %q, drgn's reading gives %q", pid, got, want)
		}
	}
}

// oracleCmdline is a task's command line as drgn's helper gives it
// (drgn.helpers.linux.mm.cmdline(): the argument area split at its NULs,
// what follows the last NUL dropped), with the raw values the kernel's rule
// needs besides; Absent where drgn could not read it (no mm, or the user
// pages not in the dump).
type oracleCmdline struct {
	Absent bool
	Read   bool
	Args   [][]byte
	// EnvEnd is mm->env_end (0 until exec set the stack up); ArgStart and
	// ArgEnd bound the argument area, LastByte its last byte (nil when
	// the area is empty).
	EnvEnd, ArgStart, ArgEnd uint64
	LastByte                 *byte
}

// UnmarshalJSON reads "absent" or the script's object, whose arguments are
// latin-1 (one code point per byte).
func (c *oracleCmdline) UnmarshalJSON(b []byte) error {
	if string(b) == `"absent"` {
		*c = oracleCmdline{Absent: true}
		return nil
	}
	var raw struct {
		Args     []string `json:"args"`
		EnvEnd   uint64   `json:"env_end"`
		ArgStart uint64   `json:"arg_start"`
		ArgEnd   uint64   `json:"arg_end"`
		LastByte *byte    `json:"last_byte"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("oracle cmdline: %w", err)
	}
	*c = oracleCmdline{Read: true, EnvEnd: raw.EnvEnd, ArgStart: raw.ArgStart, ArgEnd: raw.ArgEnd, LastByte: raw.LastByte}
	for _, a := range raw.Args {
		var arg []byte
		for _, r := range a {
			if r > 0xff {
				return fmt.Errorf("oracle cmdline: %q is not latin-1", a)
			}
			arg = append(arg, byte(r))
		}
		c.Args = append(c.Args, arg)
	}
	return nil
}

const pfKthread = 0x00200000

// procCmdline is /proc/PID/cmdline of drgn's task by the kernel's rule
// (fs/proc/base.c): get_task_cmdline() gives nothing where get_task_mm()
// gives no mm (a kernel thread, PF_KTHREAD, even on a borrowed mm; a task
// whose mm is gone: a zombie); get_mm_cmdline() nothing before exec set
// env_end or for an empty argument area; the area itself when its last
// byte is NUL (drgn's arguments, each ended by a NUL); else, setproctitle()
// having rewritten it, the string at arg_start up to and with its NUL, at
// most a page (get_mm_proctitle(), since v5.3's d26d0cd97c88), which is
// drgn's first argument when the area holds a NUL. known is false where
// drgn could not read the area or the string runs on past it.
func (w *oracleTask) procCmdline(t *testing.T) (data []byte, known bool) {
	t.Helper()
	c := w.Cmdline
	switch {
	case w.Flags&pfKthread != 0 || w.TotalVM == nil:
		return nil, true
	case c.Absent:
		return nil, false
	case !c.Read:
		t.Fatalf("pid %d: the oracle has no command line for it", w.PID)
	case c.EnvEnd == 0 || c.ArgStart >= c.ArgEnd:
		return nil, true
	case c.LastByte == nil:
		t.Fatalf("pid %d: the oracle has no last byte of the argument area", w.PID)
	case *c.LastByte == 0:
		var b []byte
		for _, a := range c.Args {
			b = append(append(b, a...), 0)
		}
		return b, true
	case len(c.Args) == 0:
		return nil, false
	}
	if a := c.Args[0]; len(a) < 4096 {
		return append(slices.Clip(a), 0), true
	}
	return c.Args[0][:4096], true
}

// procpsArgs is ps's args (COMMAND, -f's CMD) for a /proc/PID/cmdline as
// procps-ng 4.0.4 makes it (library/readproc.c fill_cmdline_cvt()):
// read_unvectored() turns the NULs and newlines before the trailing NULs
// into spaces and drops the last byte read if it is then a space (a NUL
// ends the string); escape_str() in the C locale (esc_all()) turns every
// byte that is not printable ASCII into '?'; an empty result reads "?". An
// empty file gives escape_command()'s "[comm]", with " <defunct>" for a
// zombie. (read_unvectored() stops at its 128 KiB buffer: the fixtures'
// command lines are far shorter.)
func procpsArgs(cmdline []byte, comm string, state byte) string {
	n := len(cmdline)
	if n == 0 {
		s := "[" + procpsEscape([]byte(comm)) + "]"
		if state == 'Z' {
			s += " <defunct>"
		}
		return s
	}
	dst := slices.Clone(cmdline)
	i := n
	for i > 0 && dst[i-1] == 0 {
		i--
	}
	for j := range i {
		if dst[j] == 0 || dst[j] == '\n' {
			dst[j] = ' '
		}
	}
	if dst[n-1] == ' ' {
		dst[n-1] = 0
	}
	if z := bytes.IndexByte(dst, 0); z >= 0 {
		dst = dst[:z]
	}
	if len(dst) == 0 {
		return "?"
	}
	return procpsEscape(dst)
}

// procpsEscape is esc_all(): isprint() of the C locale, else '?'.
func procpsEscape(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c
		if c < 0x20 || c > 0x7e {
			out[i] = '?'
		}
	}
	return string(out)
}

// psCommandText is the COMMAND column of a ps row as printed, spaces and
// all: what follows the one space after the column before it (cmdCol
// fields precede it, none holding a space).
func psCommandText(row string, cmdCol int) (string, bool) {
	i := 0
	for range cmdCol {
		for i < len(row) && row[i] == ' ' {
			i++
		}
		for i < len(row) && row[i] != ' ' {
			i++
		}
	}
	if i >= len(row) || row[i] != ' ' {
		return "", false
	}
	return row[i+1:], true
}

// oraclePSCommand compares the COMMAND of a ps row with procps' args of
// drgn's task w (its /proc/PID/cmdline by the kernel's rule; -L: the
// thread's, the same mm), exactly; compared is false where drgn could not
// read it, and for kernel threads, whose names oraclePS checks (procps
// shows a workqueue worker's name from /proc/PID/stat, not comm).
func oraclePSCommand(t *testing.T, w *oracleTask, row string, cmdCol int) (compared bool) {
	t.Helper()
	if w.Flags&pfKthread != 0 {
		return false
	}
	data, known := w.procCmdline(t)
	if !known {
		return false
	}
	want := procpsArgs(data, w.Comm, taskStateLetter(w.State, w.ExitState))
	if got, ok := psCommandText(row, cmdCol); !ok || got != want {
		t.Errorf("pid %d (%s): command %q, procps would show %q from drgn's reading of its command line", w.PID, w.Comm, got, want)
	}
	return true
}

// TestProcpsArgs: procps' rules on the edge cases the fixtures lack.
func TestProcpsArgs(t *testing.T) {
	for _, tc := range []struct {
		cmdline []byte
		comm    string
		state   byte
		want    string
	}{
		{[]byte("sleep\x0060\x00"), "sleep", 'S', "sleep 60"},
		{[]byte("a\x00b c\x00"), "a", 'S', "a b c"},
		{[]byte("a\nb\x00\x00"), "a", 'S', "a b"},
		{[]byte("a \x00"), "a", 'S', "a "},         // the last byte read is the NUL
		{[]byte("a\n\x00"), "a", 'S', "a "},        // likewise
		{[]byte("title "), "a", 'S', "title"},      // setproctitle's, no NUL: dropped
		{[]byte("\x00"), "a", 'S', "?"},            // an empty argv[0]
		{[]byte("x\x01\xe9\x00"), "a", 'S', "x??"}, // C locale
		{nil, "lived", 'Z', "[lived] <defunct>"},   // no command line
		{nil, "k\tw", 'S', "[k?w]"},
	} {
		if got := procpsArgs(tc.cmdline, tc.comm, tc.state); got != tc.want {
			t.Errorf("procpsArgs(%q, %q, %c) = %q, want %q", tc.cmdline, tc.comm, tc.state, got, tc.want)
		}
	}
	if got, ok := psCommandText("0   278  0.0 ?  S 14:25   0:00  lead space", 7); !ok || got != " lead space" {
		t.Errorf("psCommandText = %q %v", got, ok)
	}
}
