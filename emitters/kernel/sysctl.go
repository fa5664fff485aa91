package kernel

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// sysctl is one /proc/sys file backed by a kernel variable, printed as its
// proc handler does (proc_dointvec: "%d", proc_douintvec: "%u",
// proc_doulongvec_minmax: "%lu", vectors tab-separated; proc_dostring and
// the utsname handler: the string).
type sysctl struct {
	path   string // under proc/sys/
	symbol string // backing variable; "uts:<field>" for init_uts_ns
	ctype  string // "int", "unsigned int", "unsigned long", "char[]", "char *"
	n      int    // vector length (1 for scalars)
}

// sysctls are the tables' entries for kernel.* and vm.* that are plain
// variables in both 6.1 and 6.12 (kernel/sysctl.c, kernel/utsname_sysctl.c,
// mm/*.c).
var sysctls = []sysctl{
	{"kernel/hostname", "uts:nodename", "", 1},
	{"kernel/domainname", "uts:domainname", "", 1},
	{"kernel/osrelease", "uts:release", "", 1},
	{"kernel/ostype", "uts:sysname", "", 1},
	{"kernel/version", "uts:version", "", 1},
	{"kernel/pid_max", "pid_max", "int", 1},
	{"kernel/threads-max", "max_threads", "int", 1},
	{"kernel/panic", "panic_timeout", "int", 1},
	{"kernel/panic_on_oops", "panic_on_oops", "int", 1},
	{"kernel/panic_on_warn", "panic_on_warn", "int", 1},
	{"kernel/panic_print", "panic_print", "unsigned long", 1},
	{"kernel/tainted", "tainted_mask", "unsigned long", 1},
	{"kernel/printk", "console_printk", "int", 4}, // the first field reads 15 in a panic dump: panic() calls console_verbose()
	{"kernel/kptr_restrict", "kptr_restrict", "int", 1},
	{"kernel/dmesg_restrict", "dmesg_restrict", "int", 1},
	{"kernel/randomize_va_space", "randomize_va_space", "int", 1},
	{"kernel/core_pattern", "core_pattern", "char[]", 1},
	{"kernel/core_uses_pid", "core_uses_pid", "int", 1},
	{"kernel/modprobe", "modprobe_path", "char[]", 1},
	{"kernel/softlockup_panic", "softlockup_panic", "int", 1},
	{"kernel/hung_task_timeout_secs", "sysctl_hung_task_timeout_secs", "unsigned long", 1},
	{"kernel/watchdog", "watchdog_user_enabled", "int", 1},
	{"kernel/watchdog_thresh", "watchdog_thresh", "int", 1},
	{"kernel/overflowuid", "overflowuid", "int", 1},
	{"kernel/overflowgid", "overflowgid", "int", 1},
	{"vm/swappiness", "vm_swappiness", "int", 1},
	{"vm/overcommit_memory", "sysctl_overcommit_memory", "int", 1},
	{"vm/overcommit_ratio", "sysctl_overcommit_ratio", "int", 1},
	{"vm/overcommit_kbytes", "sysctl_overcommit_kbytes", "unsigned long", 1},
	{"vm/min_free_kbytes", "min_free_kbytes", "int", 1},
	{"vm/dirty_ratio", "vm_dirty_ratio", "int", 1},
	{"vm/dirty_background_ratio", "dirty_background_ratio", "int", 1},
	{"vm/dirty_bytes", "vm_dirty_bytes", "unsigned long", 1},
	{"vm/dirty_background_bytes", "dirty_background_bytes", "unsigned long", 1},
	{"vm/dirty_expire_centisecs", "dirty_expire_interval", "unsigned int", 1},
	{"vm/dirty_writeback_centisecs", "dirty_writeback_interval", "unsigned int", 1},
	{"vm/vfs_cache_pressure", "sysctl_vfs_cache_pressure", "int", 1},
	{"vm/max_map_count", "sysctl_max_map_count", "int", 1},
	{"vm/page-cluster", "page_cluster", "int", 1},
	{"vm/panic_on_oom", "sysctl_panic_on_oom", "int", 1},
	{"vm/oom_kill_allocating_task", "sysctl_oom_kill_allocating_task", "int", 1},
	{"vm/oom_dump_tasks", "sysctl_oom_dump_tasks", "int", 1},
	{"vm/admin_reserve_kbytes", "sysctl_admin_reserve_kbytes", "unsigned long", 1},
	{"vm/user_reserve_kbytes", "sysctl_user_reserve_kbytes", "unsigned long", 1},
	{"vm/watermark_scale_factor", "watermark_scale_factor", "int", 1},
	{"vm/watermark_boost_factor", "watermark_boost_factor", "int", 1},
	{"vm/mmap_min_addr", "mmap_min_addr", "unsigned long", 1},
	{"vm/compaction_proactiveness", "sysctl_compaction_proactiveness", "int", 1},
}

func init() {
	for _, s := range sysctls {
		area.Register(&emit.Emitter{
			Path:    "proc/sys/" + s.path,
			Mirrors: "the sysctl table entry's proc handler, backed by " + strings.TrimPrefix(s.symbol, "uts:"),
			Desc:    "sysctl " + strings.ReplaceAll(s.path, "/", "."),
			Tracker: emit.Done,
			Note:    map[bool]string{true: "the first field reads 15 in a panic dump: panic() raised console_loglevel (console_verbose()); the value before is lost"}[s.path == "kernel/printk"],
			Run: func(c *emit.Context, _ int64, out *emit.Output) error {
				v, err := readSysctl(c, s)
				if err != nil {
					return err
				}
				fmt.Fprintln(out, v)
				return nil
			},
		})
	}
	area.Register(&emit.Emitter{
		Path:    "sos_commands/kernel/sysctl_-a",
		Mirrors: "sysctl -a (procps): \"name = value\" for every readable /proc/sys file, sorted",
		Desc:    "kernel.* and vm.* sysctls that are plain kernel variables",
		Tracker: emit.Partial,
		Note:    "only the sysctls of proc/sys/kernel and proc/sys/vm this tool reads; the live sysctl -a lists every table",
		Run:     sysctlA,
	})
}

// readSysctl reads one sysctl's value as its handler prints it.
func readSysctl(c *emit.Context, s sysctl) (string, error) {
	if f, ok := strings.CutPrefix(s.symbol, "uts:"); ok {
		u, err := c.Utsname()
		if err != nil {
			return "", err
		}
		return map[string]string{"nodename": u.Nodename, "domainname": u.Domainname, "release": u.Release,
			"sysname": u.Sysname, "version": u.Version}[f], nil
	}
	if s.ctype == "char[]" {
		return arrayString(c.Prog, s.symbol, 4096)
	}
	if s.symbol == "pid_max" { // a member of init_pid_ns on newer kernels
		v, err := linux.PidMax(c.Prog)
		return fmt.Sprint(v), err
	}
	addr, err := c.Prog.Syms.Addr(s.symbol)
	if err != nil {
		return "", err
	}
	t, err := c.Prog.Type(s.ctype)
	if err != nil {
		return "", err
	}
	size := uint64(4)
	if s.ctype == "unsigned long" {
		size = 8
	}
	vals := make([]string, s.n)
	for i := range s.n {
		o := c.Prog.Object(t, addr+uint64(i)*size, fmt.Sprintf("%s[%d]", s.symbol, i))
		if s.ctype == "int" {
			v, err := o.Int()
			if err != nil {
				return "", err
			}
			vals[i] = fmt.Sprint(v)
		} else {
			v, err := o.Uint()
			if err != nil {
				return "", err
			}
			vals[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(vals, "\t"), nil
}

// sysctlA prints the sysctls as procps sysctl -a does: dotted names in
// sorted order, "name = value", tabs in vectors kept as they are.
func sysctlA(c *emit.Context, _ int64, out *emit.Output) error {
	sorted := append([]sysctl(nil), sysctls...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].path < sorted[j].path })
	for _, s := range sorted {
		v, err := readSysctl(c, s)
		if err != nil {
			out.Partial("%s: %v", s.path, err)
			continue
		}
		fmt.Fprintf(out, "%s = %s\n", strings.ReplaceAll(s.path, "/", "."), v)
	}
	return nil
}
