package linux

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// PercpuCounterRead mirrors percpu_counter_read() in
// include/linux/percpu_counter.h: the struct percpu_counter object fbc's
// global count, without the per-CPU deltas not yet folded into it.
func PercpuCounterRead(fbc object.Object) (int64, error) {
	return fbc.Member("count").Int()
}

// PercpuCounterSum mirrors __percpu_counter_sum() in lib/percpu_counter.c:
// the global count plus each CPU's pending delta. The kernel sums over the
// online (and dying) CPUs; pass the CPUs that were running before the panic
// (CPUsRunningBeforePanic), since the panic took the others offline without
// folding their deltas in.
func PercpuCounterSum(fbc object.Object, cpus []int) (int64, error) {
	sum, err := fbc.Member("count").Int()
	if err != nil {
		return 0, err
	}
	if !fbc.HasMember("counters") {
		return sum, nil // !CONFIG_SMP: count is all there is
	}
	counters, err := fbc.Member("counters").Uint()
	if err != nil {
		return 0, err
	}
	if counters == 0 {
		return sum, nil
	}
	t, err := fbc.Prog().Type("int")
	if err != nil {
		return 0, err
	}
	for _, cpu := range cpus {
		off, err := PerCPUOffset(fbc.Prog(), cpu)
		if err != nil {
			return 0, err
		}
		d, err := fbc.Prog().Object(t, counters+off, fmt.Sprintf("per_cpu_ptr(%s.counters, %d)", fbc.Path(), cpu)).Int()
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}
