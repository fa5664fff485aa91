package process

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// taskState mirrors task_state(): ids, credentials, fd table size, groups
// and the pid of each namespace level.
func taskState(task object.Object, feat statusFeatures) (string, error) {
	var b strings.Builder
	p := task.Prog()
	ns, ok := linux.InitPidNS(p).Address()
	if !ok {
		return "", fmt.Errorf("init_pid_ns: no address")
	}
	if fs, err := task.Member("fs").Uint(); err != nil {
		return "", err
	} else if fs != 0 {
		umask, err := task.Member("fs").Member("umask").Uint()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "Umask:\t%#04o\n", umask)
	}
	state, err := linux.TaskState(task, linux.FrozenIsD)
	if err != nil {
		return "", err
	}
	tgid, err := linux.TaskPidNrNs(task, linux.PIDTypeTGID, ns)
	if err != nil {
		return "", err
	}
	pidNr, err := linux.PidNrNs(task.Member("thread_pid"), ns)
	if err != nil {
		return "", err
	}
	var ppid, tpid, ngid int64
	if alive, err := task.Member("thread_pid").Uint(); err != nil {
		return "", err
	} else if alive != 0 {
		if ppid, err = linux.TaskPidNrNs(task.Member("real_parent").Deref(), linux.PIDTypeTGID, ns); err != nil {
			return "", err
		}
	}
	// ptrace_parent(): the tracer is ->parent while ->ptrace is set.
	if traced, err := task.Member("ptrace").Uint(); err != nil {
		return "", err
	} else if traced != 0 {
		if tpid, err = linux.TaskPidNrNs(task.Member("parent").Deref(), linux.PIDTypePID, ns); err != nil {
			return "", err
		}
	}
	if task.HasMember("numa_group") { // task_numa_group_id(), CONFIG_NUMA_BALANCING
		if ng, err := task.Member("numa_group").Uint(); err != nil {
			return "", err
		} else if ng != 0 {
			if ngid, err = task.Member("numa_group").Member("gid").Int(); err != nil {
				return "", err
			}
		}
	}
	fmt.Fprintf(&b, "State:\t%s\nTgid:\t%d\nNgid:\t%d\nPid:\t%d\nPPid:\t%d\nTracerPid:\t%d\n", state, tgid, ngid, pidNr, ppid, tpid)
	cred, err := credIDs(task)
	if err != nil {
		return "", err
	}
	b.WriteString(cred)
	var maxFDs uint64
	if files, err := task.Member("files").Uint(); err != nil {
		return "", err
	} else if files != 0 {
		if maxFDs, err = task.Member("files").Member("fdt").Member("max_fds").Uint(); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(&b, "FDSize:\t%d\n", maxFDs)
	groups, err := credGroups(task)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "Groups:\t%s \n", groups)
	levels, err := linux.PidLevels(task.Member("thread_pid"))
	if err != nil {
		return "", err
	}
	for _, l := range []struct{ name, typ string }{
		{"NStgid", linux.PIDTypeTGID}, {"NSpid", linux.PIDTypePID},
		{"NSpgid", linux.PIDTypePGID}, {"NSsid", linux.PIDTypeSID},
	} {
		b.WriteString(l.name + ":")
		for _, lns := range levels {
			nr, err := linux.TaskPidNrNs(task, l.typ, lns)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "\t%d", nr)
		}
		b.WriteByte('\n')
	}
	if feat.kthread {
		flags, err := task.Member("flags").Uint()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "Kthread:\t%d\n", min(flags&linux.PFKthread, 1))
	}
	return b.String(), nil
}
