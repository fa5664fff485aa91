package processor

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/softirqs",
		Mirrors: "show_softirqs() in fs/proc/softirqs.c",
		Desc:    "softirq counts per type and CPU",
		Tracker: emit.Done,
		Run: func(c *emit.Context, _ int64, out *emit.Output) error {
			cs, err := readCPUStats(c)
			if err != nil {
				return err
			}
			n := 0
			if len(cs.Possible) > 0 {
				n = len(cs.Possible[0].Kstat.Softirqs)
			}
			names, err := stringPointers(c.Prog, "softirq_to_name", n)
			if err != nil {
				return err
			}
			var b strings.Builder
			b.WriteString(strings.Repeat(" ", 20))
			for _, s := range cs.Possible {
				fmt.Fprintf(&b, "CPU%-8d", s.CPU)
			}
			b.WriteByte('\n')
			for i, name := range names {
				fmt.Fprintf(&b, "%12s:", name)
				for _, s := range cs.Possible {
					fmt.Fprintf(&b, " %10d", s.Kstat.Softirqs[i])
				}
				b.WriteByte('\n')
			}
			out.WriteString(b.String())
			return nil
		},
	})
}

// stringPointers reads the first n strings of the array of char pointers
// at symbol (softirq_to_name[NR_SOFTIRQS]).
func stringPointers(p *object.Program, symbol string, n int) ([]string, error) {
	t, err := p.Type("char *")
	if err != nil {
		return nil, err
	}
	base, err := p.Syms.Addr(symbol)
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		if out[i], err = p.Object(t, base+8*uint64(i), fmt.Sprintf("%s[%d]", symbol, i)).CString(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
