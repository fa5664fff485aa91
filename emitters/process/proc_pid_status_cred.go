package process

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// maxGroups bounds group_info->ngroups (NGROUPS_MAX is 65536).
const maxGroups = 65536

// mungedID mirrors from_kuid_munged()/from_kgid_munged() for the initial
// user namespace, whose mapping is the identity except for the invalid id
// (uid_t)-1, shown as the overflow id.
func mungedID(p *object.Program, v uint64, overflow string) (uint64, error) {
	if uint32(v) != ^uint32(0) {
		return uint64(uint32(v)), nil
	}
	return p.VarAs(overflow, "int").Uint()
}

// credIDs prints the Uid and Gid lines of task_state(): real, effective,
// saved and filesystem ids of the task's objective credentials
// (get_task_cred: task->real_cred).
func credIDs(task object.Object) (string, error) {
	cred := task.Member("real_cred")
	var b strings.Builder
	for _, l := range []struct {
		name, overflow string
		ids            [4]string
	}{
		{"Uid", "overflowuid", [4]string{"uid", "euid", "suid", "fsuid"}},
		{"Gid", "overflowgid", [4]string{"gid", "egid", "sgid", "fsgid"}},
	} {
		b.WriteString(l.name + ":")
		for _, id := range l.ids {
			v, err := cred.Member(id + ".val").Uint()
			if err != nil {
				return "", err
			}
			if v, err = mungedID(task.Prog(), v, l.overflow); err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "\t%d", v)
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// credGroups lists cred->group_info->gid[], space separated.
func credGroups(task object.Object) (string, error) {
	gi := task.Member("real_cred").Member("group_info")
	n, err := gi.Member("ngroups").Int()
	if err != nil {
		return "", err
	}
	if n < 0 || n > maxGroups {
		return "", fmt.Errorf("%s: %d groups, not plausible", gi.Path(), n)
	}
	if n == 0 {
		return "", nil
	}
	gidAddr, ok := gi.Member("gid").Address()
	if !ok {
		return "", fmt.Errorf("%s.gid: no address", gi.Path())
	}
	raw := make([]byte, 4*n)
	if _, err := task.Prog().Mem.ReadVirtAt(raw, gidAddr); err != nil {
		return "", fmt.Errorf("%s.gid: %w", gi.Path(), err)
	}
	ids := make([]string, n)
	for i := range ids {
		v, err := mungedID(task.Prog(), uint64(binary.LittleEndian.Uint32(raw[4*i:])), "overflowgid")
		if err != nil {
			return "", err
		}
		ids[i] = fmt.Sprint(v)
	}
	return strings.Join(ids, " "), nil
}

// capValue reads a kernel_cap_t as one 64-bit mask: u64 val in 6.12
// ("capability: just use a 'u64' instead of a 'u32[2]' array"), __u32
// cap[2] (low word first) in 6.1; both lay out the same bytes.
func capValue(c object.Object) (uint64, error) {
	var b [8]byte
	if err := c.Read(b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// taskCap mirrors task_cap(): the capability sets of __task_cred(p), each
// as 16 hex digits (render_cap_t).
func taskCap(task object.Object) (string, error) {
	cred := task.Member("real_cred")
	var b strings.Builder
	for _, l := range []struct{ name, member string }{
		{"CapInh", "cap_inheritable"}, {"CapPrm", "cap_permitted"}, {"CapEff", "cap_effective"},
		{"CapBnd", "cap_bset"}, {"CapAmb", "cap_ambient"},
	} {
		v, err := capValue(cred.Member(l.member))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s:\t%016x\n", l.name, v)
	}
	return b.String(), nil
}
