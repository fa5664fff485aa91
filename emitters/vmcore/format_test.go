package vmcore

import (
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/kernel/unwind"
)

func TestCrashDuration(t *testing.T) {
	const s = int64(1e9)
	for ns, want := range map[int64]string{
		0:                                 "00:00:00",
		999_999_999:                       "00:00:00", // whole seconds, truncated
		3661 * s:                          "01:01:01",
		86399 * s:                         "23:59:59",
		86400 * s:                         "1 days, 00:00:00",
		(2*86400 + 5*3600 + 7*60 + 9) * s: "2 days, 05:07:09",
	} {
		if got := crashDuration(ns); got != want {
			t.Errorf("crashDuration(%d) = %q, want %q", ns, got, want)
		}
	}
}

func TestWriteRegs(t *testing.T) {
	var r unwind.PtRegs
	for i := range r {
		r[i] = 0x1000 + uint64(i) // each register its own value
	}
	r[unwind.RIP] = 0xffffffff81234567
	r[unwind.CS], r[unwind.SS], r[unwind.EFLAGS] = 0x10, 0x18, 0x246
	var b strings.Builder
	writeRegs(&b, &r, false)
	want := `    RIP: ffffffff81234567  RSP: 0000000000001013  RFLAGS: 00000246
    RAX: 000000000000100a  RBX: 0000000000001005  RCX: 000000000000100b
    RDX: 000000000000100c  RSI: 000000000000100d  RDI: 000000000000100e
    RBP: 0000000000001004   R8: 0000000000001009   R9: 0000000000001008
    R10: 0000000000001007  R11: 0000000000001006  R12: 0000000000001003
    R13: 0000000000001002  R14: 0000000000001001  R15: 0000000000001000
    ORIG_RAX: 000000000000100f  CS: 0010  SS: 0018
`
	if b.String() != want {
		t.Errorf("full registers:\n%s\nwant:\n%s", b.String(), want)
	}
	// Only the IRET frame is valid: no general registers are printed.
	b.Reset()
	writeRegs(&b, &r, true)
	want = "    RIP: ffffffff81234567  RSP: 0000000000001013  RFLAGS: 00000246\n    CS: 0010  SS: 0018\n"
	if b.String() != want {
		t.Errorf("partial registers:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestLookAddr(t *testing.T) {
	// A return address names its call: the byte before it.
	if got := lookAddr(unwind.Frame{IP: 0x1000}); got != 0xfff {
		t.Errorf("return address: %#x", got)
	}
	// An interrupted instruction is named as it is.
	if got := lookAddr(unwind.Frame{IP: 0x1000, Signal: true}); got != 0x1000 {
		t.Errorf("signal frame: %#x", got)
	}
}

// fakeContext is a Context over a hand-built kernel's memory, types and
// symbols.
func fakeContext(m fakekernel.Memory, types fakekernel.Types, syms fakekernel.Symbols) *emit.Context {
	c := emit.NewContext(&kernel.Kernel{})
	c.Prog = &object.Program{Mem: m, Types: types, Syms: syms}
	return c
}

func TestSysCPUs(t *testing.T) {
	const present, online, nr = 0x1000, 0x1100, 0x1200
	types := fakekernel.Types{
		"struct cpumask": &ktype.Struct{Name: "cpumask", Size: 8},
		"unsigned int":   &ktype.Int{Name: "unsigned int", Size: 4},
	}
	syms := fakekernel.Symbols{"__cpu_present_mask": present, "__cpu_online_mask": online, "nr_cpu_ids": nr}
	for _, c := range []struct {
		present, online uint64
		want            string
	}{
		{0b1111, 0b1111, "4"},
		{0b1111, 0b0100, "4 [OFFLINE: 3]"}, // panic() without kdump: only the panicking CPU stays online
		{0b1, 0b1, "1"},
		{0b11, 0b10, "2 [OFFLINE: 1]"},
	} {
		m := fakekernel.Memory{}
		m.U64(present, c.present)
		m.U64(online, c.online)
		m.U64(nr, 4)
		got, err := sysCPUs(fakeContext(m, types, syms))
		if err != nil || got != c.want {
			t.Errorf("present %b online %b: %q, %v; want %q", c.present, c.online, got, err, c.want)
		}
	}
	// An unreadable mask is an error, not a count of 0.
	m := fakekernel.Memory{}
	m.U64(nr, 4)
	m.U64(present, 0b11)
	if got, err := sysCPUs(fakeContext(m, types, fakekernel.Symbols{"__cpu_present_mask": present, "nr_cpu_ids": nr})); err == nil {
		t.Errorf("no online mask: %q without an error", got)
	}
}
