package linux

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// RSS counter names, enum in include/linux/mm_types_task.h.
const (
	MMFilePages  = "MM_FILEPAGES"
	MMAnonPages  = "MM_ANONPAGES"
	MMSwapEnts   = "MM_SWAPENTS"
	MMShmemPages = "MM_SHMEMPAGES"
)

// mmCounter is mm->rss_stat's counter for member (an MM_* name): a struct
// percpu_counter since 6.2 ("mm: convert mm's rss stats into
// percpu_counter"), an atomic_long_t in rss_stat.count[] before.
func mmCounter(mm object.Object, member string) (object.Object, bool, error) {
	i, err := mm.Prog().Types.EnumValue(member)
	if err != nil {
		return object.Object{}, false, err
	}
	if mm.HasMember("rss_stat.count") {
		return mm.Member(fmt.Sprintf("rss_stat.count[%d].counter", i)), false, nil
	}
	return mm.Member(fmt.Sprintf("rss_stat[%d]", i)), true, nil
}

// GetMMCounter mirrors get_mm_counter() in include/linux/mm.h for the
// struct mm_struct object mm: the counter's global value, negatives read as
// 0 (percpu_counter_read_positive, or SPLIT_RSS_COUNTING's clamp before
// 6.2).
func GetMMCounter(mm object.Object, member string) (uint64, error) {
	c, percpu, err := mmCounter(mm, member)
	if err != nil {
		return 0, err
	}
	var v int64
	if percpu {
		v, err = PercpuCounterRead(c)
	} else {
		v, err = c.Int()
	}
	return uint64(max(v, 0)), err
}

// GetMMCounterSum mirrors get_mm_counter_sum() (6.2 and later: the
// percpu_counter summed over cpus, see PercpuCounterSum); before 6.2 the
// counter is a plain atomic and this equals GetMMCounter.
func GetMMCounterSum(mm object.Object, member string, cpus []int) (uint64, error) {
	c, percpu, err := mmCounter(mm, member)
	if err != nil {
		return 0, err
	}
	if !percpu {
		return GetMMCounter(mm, member)
	}
	v, err := PercpuCounterSum(c, cpus)
	return uint64(max(v, 0)), err
}

// GetMMRSS mirrors get_mm_rss(): file + anon + shmem pages by GetMMCounter.
func GetMMRSS(mm object.Object) (uint64, error) {
	var sum uint64
	for _, m := range []string{MMFilePages, MMAnonPages, MMShmemPages} {
		v, err := GetMMCounter(mm, m)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// GetTaskMM mirrors get_task_mm() in kernel/fork.c: task->mm, or a zero
// address for kernel threads (PF_KTHREAD) and exited tasks.
func GetTaskMM(task object.Object) (object.Object, bool, error) {
	flags, err := task.Member("flags").Uint()
	if err != nil {
		return object.Object{}, false, err
	}
	mm, err := task.Member("mm").Uint()
	if err != nil {
		return object.Object{}, false, err
	}
	if mm == 0 || flags&PFKthread != 0 {
		return object.Object{}, false, nil
	}
	return task.Member("mm").Deref().Settle(), true, nil
}

// MMFlagsWord is the first word of mm->flags: an unsigned long until the
// flags became the bitmap mm_flags_t (7.2 has __mm_flags[]), whose first
// word holds the MMF_* bits the kernel tests; the type decides.
func MMFlagsWord(mm object.Object) (uint64, error) {
	f := mm.Member("flags")
	if f.HasMember("__mm_flags") {
		f = f.Member("__mm_flags[0]")
	}
	return f.Uint()
}
