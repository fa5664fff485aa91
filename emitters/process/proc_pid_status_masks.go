package process

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// taskCPUsAllowed mirrors task_cpus_allowed(): the task's cpus_mask as
// "%*pb" and "%*pbl" over nr_cpu_ids bits.
func taskCPUsAllowed(c *emit.Context, task object.Object) (string, error) {
	n, err := linux.NrCPUIDs(c.Prog)
	if err != nil {
		return "", err
	}
	bits, err := readBitmap(task.Member("cpus_mask"), n)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Cpus_allowed:\t%s\nCpus_allowed_list:\t%s\n", bitmapString(bits, n), linux.BitmapList(bits)), nil
}

// taskMemsAllowed mirrors cpuset_task_status_allowed() (CONFIG_CPUSETS):
// mems_allowed over MAX_NUMNODES bits.
func taskMemsAllowed(task object.Object) (string, error) {
	if !task.HasMember("mems_allowed") {
		return "", nil
	}
	m := task.Member("mems_allowed")
	size, err := ktype.Sizeof(m.Type())
	if err != nil {
		return "", err
	}
	n := int(size * 8)
	bits, err := readBitmap(m, n)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Mems_allowed:\t%s\nMems_allowed_list:\t%s\n", bitmapString(bits, n), linux.BitmapList(bits)), nil
}

// readBitmap reads the first n bits of the bitmap object o as the list of
// set bits.
func readBitmap(o object.Object, n int) ([]int, error) {
	raw := make([]byte, (n+63)/64*8)
	if err := o.Read(raw); err != nil {
		return nil, err
	}
	var set []int
	for i := 0; i < n; i++ {
		if raw[i/8]&(1<<(i%8)) != 0 {
			set = append(set, i)
		}
	}
	return set, nil
}

// bitmapString mirrors bitmap_string() in lib/vsprintf.c ("%*pb"): 32-bit
// hex chunks, most significant first, comma separated, the first as wide
// as its bits need.
func bitmapString(set []int, n int) string {
	words := make([]uint32, (n+31)/32)
	for _, b := range set {
		words[b/32] |= 1 << (b % 32)
	}
	var b strings.Builder
	first := n % 32
	if first == 0 {
		first = 32
	}
	for i := len(words) - 1; i >= 0; i-- {
		if i != len(words)-1 {
			b.WriteByte(',')
			fmt.Fprintf(&b, "%08x", words[i])
			continue
		}
		fmt.Fprintf(&b, "%0*x", (first+3)/4, words[i])
	}
	return b.String()
}
