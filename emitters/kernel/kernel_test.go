package kernel

import (
	"errors"
	"slices"
	"testing"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func TestModuleFlags(t *testing.T) {
	const (
		P = 1 << 0  // proprietary: shown for modules
		S = 1 << 2  // SMP-unsafe: a kernel-wide taint, never a module's
		O = 1 << 12 // out of tree
		E = 1 << 13 // unsigned
	)
	for _, c := range []struct {
		taints uint64
		state  string
		want   string
	}{
		{0, "Live", ""},
		{P | O | E, "Live", "(POE)"},
		{S, "Live", "()"}, // a taint modules do not show still opens the flags
		{0, "Loading", "(+)"},
		{O, "Unloading", "(O-)"},
	} {
		if got := moduleFlags(c.taints, c.state); got != c.want {
			t.Errorf("moduleFlags(%#x, %s) = %q, want %q", c.taints, c.state, got, c.want)
		}
	}
}

func TestPrintMajors(t *testing.T) {
	var out emit.Output
	printMajors(&out, map[int64][]string{
		254: {"virtblk"},
		8:   {"sd"},
		1:   {"mem", "ramdisk"}, // chain order kept within a major
		512: {"too-high"},       // only majors below 512 are shown
		-1:  {"negative"},
	})
	want := "  1 mem\n  1 ramdisk\n  8 sd\n254 virtblk\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// devTable builds chrdevs[255] with the given chains (hash index to
// entries), each entry a char_device_struct {next; major; name[64]}.
func devTable(chains map[int][]majorName) *object.Program {
	const table, entries = 0x10000, 0x20000
	m := fakekernel.Memory{}
	m.Write(table, make([]byte, 8*majorHashSize))
	n := uint64(0)
	for i, chain := range chains {
		prev := uint64(table + 8*i)
		for _, e := range chain {
			a := entries + 0x100*n
			n++
			m.U64(prev, a)
			m.U64(a+8, uint64(e.major))
			m.Write(a+16, append([]byte(e.name), 0))
			prev = a
		}
		m.U64(prev, 0)
	}
	cds := &ktype.Struct{Name: "char_device_struct", Size: 80}
	cds.Members = []ktype.Member{
		{Name: "next", Type: &ktype.Pointer{Target: cds}},
		{Name: "major", Type: &ktype.Int{Name: "unsigned int", Size: 4}, Offset: 64},
		{Name: "name", Type: &ktype.Array{Elem: &ktype.Int{Name: "char", Size: 1}, Count: 64}, Offset: 128},
	}
	return &object.Program{Mem: m, Types: fakekernel.Types{"struct char_device_struct": cds}, Syms: fakekernel.Symbols{"chrdevs": table}}
}

func TestMajorTable(t *testing.T) {
	p := devTable(map[int][]majorName{
		1:   {{1, "mem"}, {256, "alpha"}},
		4:   {{4, "tty"}, {4, "ttyS"}},
		136: {{136, "pts"}},
	})
	got, err := majorTable(p, "chrdevs", "struct char_device_struct", "name")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64][]string{1: {"mem"}, 256: {"alpha"}, 4: {"tty", "ttyS"}, 136: {"pts"}}
	if len(got) != len(want) {
		t.Errorf("table %v, want %v", got, want)
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("major %d: %q, want %q", k, got[k], v)
		}
	}

	// A chain that loops back on itself is cut with ErrTooLong.
	p = devTable(map[int][]majorName{7: {{7, "loop"}}})
	a, _ := p.Syms.Addr("chrdevs")
	mem := p.Mem.(fakekernel.Memory)
	first := make([]byte, 8)
	mem.ReadVirtAt(first, a+8*7)
	mem.Write(0x20000, first) // entry->next = entry
	if _, err := majorTable(p, "chrdevs", "struct char_device_struct", "name"); !errors.Is(err, linux.ErrTooLong) {
		t.Errorf("cyclic chain: %v, want linux.ErrTooLong", err)
	}
	// An entry on an unreadable page is an error, not an empty table.
	p = devTable(nil)
	p.Mem.(fakekernel.Memory).U64(0x10000, 0xdead0000)
	if got, err := majorTable(p, "chrdevs", "struct char_device_struct", "name"); err == nil {
		t.Errorf("unreadable entry: %v without an error", got)
	}
}

func TestArrayString(t *testing.T) {
	m := fakekernel.Memory{}
	m.Write(0x3000, []byte("Linux version 6.1.0 (gcc)\x00garbage"))
	p := &object.Program{Mem: m, Types: fakekernel.Types{}, Syms: fakekernel.Symbols{"linux_banner": 0x3000}}
	if s, err := arrayString(p, "linux_banner", 256); err != nil || s != "Linux version 6.1.0 (gcc)" {
		t.Errorf("arrayString = %q, %v", s, err)
	}
	if _, err := arrayString(p, "saved_command_line", 256); err == nil {
		t.Error("an absent symbol read without an error")
	}
}
