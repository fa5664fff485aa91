package linux

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// maxCPUs bounds cpumask reads (NR_CPUS is at most 8192 in any config).
const maxCPUs = 8192

// NrCPUIDs is nr_cpu_ids: one past the highest possible CPU number.
func NrCPUIDs(p *object.Program) (int, error) {
	n, err := p.VarAs("nr_cpu_ids", "unsigned int").Uint()
	if err != nil {
		return 0, err
	}
	if n == 0 || n > maxCPUs {
		return 0, fmt.Errorf("nr_cpu_ids = %d, not plausible", n)
	}
	return int(n), nil
}

// CPUMask reads one of the kernel's global masks (__cpu_online_mask,
// __cpu_possible_mask, __cpu_present_mask, __cpu_active_mask) as the sorted
// list of set CPUs below nr_cpu_ids.
func CPUMask(p *object.Program, symbol string) ([]int, error) {
	n, err := NrCPUIDs(p)
	if err != nil {
		return nil, err
	}
	words := make([]byte, (n+63)/64*8)
	if err := p.VarAs(symbol, "struct cpumask").Read(words); err != nil {
		return nil, err
	}
	var cpus []int
	for i := 0; i < n; i++ {
		if words[i/8]&(1<<(i%8)) != 0 {
			cpus = append(cpus, i)
		}
	}
	return cpus, nil
}

// CPUsRunningBeforePanic are the CPUs the live system had online: without
// kdump, panic() stops the other CPUs and each clears itself from
// cpu_online_mask (stop_this_cpu), but none leaves cpu_active_mask, which
// only CPU hotplug changes. So online ∪ active is what /proc showed.
func CPUsRunningBeforePanic(p *object.Program) ([]int, error) {
	online, err := CPUMask(p, "__cpu_online_mask")
	if err != nil {
		return nil, err
	}
	active, err := CPUMask(p, "__cpu_active_mask")
	if err != nil {
		return nil, err
	}
	set := map[int]bool{}
	for _, c := range append(online, active...) {
		set[c] = true
	}
	var out []int
	for c := range maxCPUs {
		if set[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// BitmapList formats sorted CPU numbers as the kernel's "%*pbl" does
// (bitmap_list_string in lib/vsprintf.c): "0-3,8,10-11".
func BitmapList(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", cpus[i], cpus[j])
		} else {
			fmt.Fprintf(&b, "%d", cpus[i])
		}
		i = j + 1
	}
	return b.String()
}

// PerCPUOffset is __per_cpu_offset[cpu]: add it to a per-cpu symbol's
// address for that CPU's copy (per_cpu_ptr).
func PerCPUOffset(p *object.Program, cpu int) (uint64, error) {
	if cpu < 0 || cpu >= maxCPUs {
		return 0, fmt.Errorf("cpu %d out of range", cpu)
	}
	base, err := p.Syms.Addr("__per_cpu_offset")
	if err != nil {
		return 0, err
	}
	t, err := p.Type("unsigned long")
	if err != nil {
		return 0, err
	}
	return p.Object(t, base+8*uint64(cpu), fmt.Sprintf("__per_cpu_offset[%d]", cpu)).Uint()
}

// PerCPU is the given CPU's copy of the per-cpu variable symbol, typed typ
// (per_cpu(symbol, cpu)).
func PerCPU(p *object.Program, symbol, typ string, cpu int) object.Object {
	off, err := PerCPUOffset(p, cpu)
	if err != nil {
		return p.Errorf(symbol, "%v", err)
	}
	addr, err := p.Syms.Addr(symbol)
	if err != nil {
		return p.Errorf(symbol, "%v", err)
	}
	t, err := p.Type(typ)
	if err != nil {
		return p.Errorf(symbol, "%v", err)
	}
	return p.Object(t, addr+off, fmt.Sprintf("per_cpu(%s, %d)", symbol, cpu))
}

// HZ is the kernel's tick rate. No variable holds HZ itself; it is
// derived from TICK_NSEC ((NSEC_PER_SEC + HZ/2) / HZ), which the kernel
// keeps in tick_nsec (kernel/time/ntp.c) while it has that variable. Newer
// kernels dropped tick_nsec (7.2 has no such symbol), so there TICK_NSEC
// comes from the jiffies clocksource (kernel/time/jiffies.c), registered
// with .mult = TICK_NSEC << JIFFIES_SHIFT and .shift = JIFFIES_SHIFT and
// never rescaled (it has no frequency). The probe is the symbol.
func HZ(p *object.Program) (uint64, error) {
	var tickNsec uint64
	var err error
	if _, e := p.Syms.Addr("tick_nsec"); e == nil {
		tickNsec, err = p.VarAs("tick_nsec", "unsigned long").Uint()
	} else {
		cs := p.VarAs("clocksource_jiffies", "struct clocksource")
		var mult, shift uint64
		if mult, err = cs.Member("mult").Uint(); err == nil {
			if shift, err = cs.Member("shift").Uint(); err == nil && shift >= 32 {
				err = fmt.Errorf("clocksource_jiffies.shift = %d, not plausible", shift)
			}
			tickNsec = mult >> shift
		}
	}
	if err != nil {
		return 0, err
	}
	if tickNsec < 100_000 || tickNsec > 100_000_000 {
		return 0, fmt.Errorf("TICK_NSEC = %d, not plausible", tickNsec)
	}
	return (1_000_000_000 + tickNsec/2) / tickNsec, nil
}
