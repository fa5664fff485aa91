package memory

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func TestMiArithmetic(t *testing.T) {
	e1, e2 := errors.New("first"), errors.New("second")
	for _, c := range []struct {
		what string
		got  miVal
		n    uint64
		err  error
	}{
		{"add", miAdd(miv(5, nil), miv(7, nil)), 12, nil},
		{"sub", miSub(miv(7, nil), miv(5, nil)), 2, nil},
		// si_mem_available() and friends compute in signed longs and
		// clamp a negative result to 0; they never wrap around.
		{"sub below 0", miSub(miv(5, nil), miv(7, nil)), 0, nil},
		// The first error wins; a value with an error is never a number.
		{"add, left error", miAdd(miv(5, e1), miv(7, e2)), 5, e1},
		{"add, right error", miAdd(miv(5, nil), miv(7, e2)), 12, e2},
		{"sub, left error", miSub(miv(5, e1), miv(1, nil)), 5, e1},
		{"sub, right error", miSub(miv(5, nil), miv(1, e2)), 4, e2},
	} {
		if c.got.err != c.err || (c.err == nil && c.got.n != c.n) {
			t.Errorf("%s: %d, %v; want %d, %v", c.what, c.got.n, c.got.err, c.n, c.err)
		}
	}
}

func TestMeminfoLines(t *testing.T) {
	var m meminfoData
	m.pages("MemTotal:       ", miv(1000, nil)) // 4 KiB pages
	m.kb("KernelStack:    ", miv(1234, nil))    // already kB
	m.pages("Shmem:          ", miv(3, errors.New("vm_node_stat: page missing")))
	m.kb("Hugetlb:        ", miv(123456789, nil)) // wider than %8d
	text := ""
	for _, l := range m.lines {
		text += l.text
	}
	want := "MemTotal:           4000 kB\n" +
		"KernelStack:        1234 kB\n" +
		"Hugetlb:        123456789 kB\n"
	if text != want {
		t.Errorf("lines:\n%s\nwant:\n%s", text, want)
	}
	// A field that could not be read is left out (never printed as 0),
	// and says why.
	if _, ok := m.value("Shmem"); ok {
		t.Error("an unreadable field has a value")
	}
	if !slices.Equal(m.partial, []string{"Shmem: vm_node_stat: page missing"}) {
		t.Errorf("partial %q", m.partial)
	}
	if err := m.missing["Shmem"]; err == nil || !strings.Contains(err.Error(), "page missing") {
		t.Errorf("missing[Shmem] = %v", err)
	}
	if v, ok := m.value("MemTotal"); !ok || v != 4000 {
		t.Errorf("value(MemTotal) = %d, %v", v, ok)
	}
	if v, ok := m.value("KernelStack"); !ok || v != 1234 {
		t.Errorf("value(KernelStack) = %d, %v", v, ok)
	}
}

// fakeContext is a Context over a hand-built kernel.
func fakeContext(m fakekernel.Memory, syms fakekernel.Symbols) *emit.Context {
	level := &ktype.Enum{Name: "pg_level", Size: 4, Values: []ktype.EnumValue{
		{Name: "PG_LEVEL_NONE"}, {Name: "PG_LEVEL_4K", Value: 1}, {Name: "PG_LEVEL_2M", Value: 2}, {Name: "PG_LEVEL_1G", Value: 3}}}
	types := fakekernel.Types{
		"unsigned long": &ktype.Int{Name: "unsigned long", Size: 8},
		"u64":           &ktype.Int{Name: "u64", Size: 8},
		"int":           &ktype.Int{Name: "int", Size: 4},
		"bool":          &ktype.Int{Name: "_Bool", Size: 1, Encoding: ktype.Bool},
		"enum pg_level": level,
	}
	c := emit.NewContext(&kernel.Kernel{})
	c.Prog = &object.Program{Mem: m, Types: types, Syms: syms}
	return c
}

func text(m *meminfoData) string {
	var b strings.Builder
	for _, l := range m.lines {
		b.WriteString(l.text)
	}
	return b.String()
}

func TestMeminfoDirectMap(t *testing.T) {
	const counts, gbpages = 0x1000, 0x2000
	mem := fakekernel.Memory{}
	// direct_pages_count[PG_LEVEL_NUM]: 4K, 2M and 1G pages mapped.
	mem.U64(counts+8*1, 5000)
	mem.U64(counts+8*2, 300)
	mem.U64(counts+8*3, 2)
	syms := fakekernel.Symbols{"direct_pages_count": counts, "direct_gbpages": gbpages}
	for _, c := range []struct {
		gb   uint64
		want string
	}{
		{0, "DirectMap4k:       20000 kB\nDirectMap2M:      614400 kB\n"},
		{1, "DirectMap4k:       20000 kB\nDirectMap2M:      614400 kB\nDirectMap1G:     2097152 kB\n"},
	} {
		mem.U64(gbpages, c.gb)
		var m meminfoData
		meminfoDirectMap(fakeContext(mem, syms), &m)
		if got := text(&m); got != c.want || len(m.partial) != 0 {
			t.Errorf("direct_gbpages %d:\n%s(partial %q)\nwant:\n%s", c.gb, got, m.partial, c.want)
		}
	}
	// Without direct_gbpages the 1G line is left out, with the reason.
	var m meminfoData
	meminfoDirectMap(fakeContext(mem, fakekernel.Symbols{"direct_pages_count": counts}), &m)
	if len(m.lines) != 2 || len(m.partial) != 1 || !strings.HasPrefix(m.partial[0], "DirectMap1G: ") {
		t.Errorf("no direct_gbpages: %d lines, partial %q", len(m.lines), m.partial)
	}
}

func TestMeminfoMemtest(t *testing.T) {
	const done, bad = 0x1000, 0x1008
	syms := fakekernel.Symbols{"early_memtest_done": done, "early_memtest_bad_size": bad}
	for _, c := range []struct {
		done    byte
		badSize uint64
		want    string
	}{
		{0, 0, ""}, // memtest= did not run: no line
		{1, 0, "EarlyMemtestBad:       0 kB\n"},
		{1, 100, "EarlyMemtestBad:       1 kB\n"}, // under 1 kB still shows as 1
		{1, 5 << 20, "EarlyMemtestBad:    5120 kB\n"},
	} {
		mem := fakekernel.Memory{}
		mem.Write(done, []byte{c.done})
		mem.U64(bad, c.badSize)
		var m meminfoData
		meminfoMemtest(fakeContext(mem, syms), &m)
		if got := text(&m); got != c.want {
			t.Errorf("done %d bad %d: %q, want %q", c.done, c.badSize, got, c.want)
		}
	}
	// A kernel without CONFIG_MEMTEST has no line and nothing missing.
	var m meminfoData
	meminfoMemtest(fakeContext(fakekernel.Memory{}, fakekernel.Symbols{}), &m)
	if len(m.lines)+len(m.partial) != 0 {
		t.Errorf("no memtest: %q %q", text(&m), m.partial)
	}
}
