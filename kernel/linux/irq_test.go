package linux

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
)

// TestForEachIrqDesc walks the interrupt descriptors of each fixture
// kernel (a radix tree in 6.1, the sparse_irqs maple tree in 6.12): every
// irq the guest's /proc/interrupts listed is found, with the handler it
// named last on its line.
func TestForEachIrqDesc(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			p := kerneltest.OpenAlone(t, s, s.RefRole()).Program()
			found := map[int]string{}
			for d, err := range ForEachIrqDesc(p) {
				if err != nil {
					t.Fatal(err)
				}
				name := ""
				if a, _ := d.Desc.Member("action").Uint(); a != 0 {
					name, _ = d.Desc.Member("action").Member("name").CString()
				}
				found[d.Irq] = name
			}
			text, err := s.Truth("proc/interrupts")
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(string(text), "\n")[1:] {
				label, _, _ := strings.Cut(strings.TrimSpace(l), ":")
				irq, err := strconv.Atoi(label)
				if err != nil {
					continue // NMI, LOC, … and the blank last line
				}
				f := strings.Fields(l)
				if name, ok := found[irq]; !ok || name != f[len(f)-1] {
					t.Errorf("irq %d: found %v with handler %q, want %q", irq, ok, name, f[len(f)-1])
				}
			}
		})
	}
}
