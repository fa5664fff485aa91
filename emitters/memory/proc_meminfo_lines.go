package memory

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// miVal is a value read from the dump, or why it could not be.
type miVal struct {
	n   uint64
	err error
}

func miv(n uint64, err error) miVal { return miVal{n, err} }

func miAdd(a, b miVal) miVal {
	if a.err != nil {
		return a
	}
	return miVal{a.n + b.n, b.err}
}

// miSub subtracts as the kernel's signed arithmetic does before clamping at 0.
func miSub(a, b miVal) miVal {
	if a.err != nil {
		return a
	}
	return miVal{uint64(max(int64(a.n)-int64(b.n), 0)), b.err}
}

// meminfoLine is one line of /proc/meminfo with its value in kB.
type meminfoLine struct {
	name string // before the colon
	kb   uint64
	text string
}

// meminfoData is the file: its lines, and the fields left out because
// they could not be read (never printed as 0).
type meminfoData struct {
	lines   []meminfoLine
	partial []string
	missing map[string]error // why a field left out could not be read
}

// value is the kB value of the line named name.
func (m *meminfoData) value(name string) (uint64, bool) {
	for _, l := range m.lines {
		if l.name == name {
			return l.kb, true
		}
	}
	return 0, false
}

// pages adds a show_val_kb() line: label (name, colon and padding as the
// kernel spells it) and a page count, printed in kB as "%8lu kB".
func (m *meminfoData) pages(label string, x miVal) {
	x.n <<= linux.PageShift - 10
	m.kb(label, x)
}

// kb adds a "%8lu kB" line whose value is already in kB.
func (m *meminfoData) kb(label string, x miVal) { m.line(label+"%8d kB\n", x) }

// line adds the line format prints with x (in kB), or records why not.
func (m *meminfoData) line(format string, x miVal) {
	name, _, _ := strings.Cut(format, ":")
	if x.err != nil {
		m.partial = append(m.partial, fmt.Sprintf("%s: %v", name, x.err))
		if m.missing == nil {
			m.missing = map[string]error{}
		}
		m.missing[name] = x.err
		return
	}
	m.lines = append(m.lines, meminfoLine{name: name, kb: x.n, text: fmt.Sprintf(format, x.n)})
}
