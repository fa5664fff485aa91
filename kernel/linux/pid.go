package linux

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Pid types, enum pid_type in include/linux/pid_types.h (include/linux/pid.h
// in 6.1); the same values in both.
const (
	PIDTypePID  = "PIDTYPE_PID"
	PIDTypeTGID = "PIDTYPE_TGID"
	PIDTypePGID = "PIDTYPE_PGID"
	PIDTypeSID  = "PIDTYPE_SID"
)

// maxPidLevel bounds pid namespace nesting (MAX_PID_NS_LEVEL is 32).
const maxPidLevel = 32

// InitPidNS is init_pid_ns, the initial pid namespace (struct
// pid_namespace), whose numbers /proc of the initial namespace shows.
func InitPidNS(p *object.Program) object.Object {
	return p.VarAs("init_pid_ns", "struct pid_namespace")
}

// TaskPidPtr is the struct pid * of task for the pid type (one of the
// PIDType names), as task_pid_ptr() in kernel/pid.c: thread_pid for
// PIDTYPE_PID, signal->pids[type] for the others.
func TaskPidPtr(task object.Object, typ string) object.Object {
	if typ == PIDTypePID {
		return task.Member("thread_pid")
	}
	i, err := task.Prog().Types.EnumValue(typ)
	if err != nil {
		return task.Prog().Errorf(task.Path(), "%s: %v", typ, err)
	}
	// Member, then Index: the path reads "signal.pids[i]" as with
	// Member("pids[i]"), without formatting a member path per call.
	return task.Member("signal").Member("pids").Index(uint64(i))
}

// PidNrNs mirrors pid_nr_ns() in kernel/pid.c: the number the struct pid *
// object pid has in the pid namespace at address ns, 0 when pid is NULL or
// not visible there.
func PidNrNs(pid object.Object, ns uint64) (int64, error) {
	ptr, err := pid.Uint()
	if err != nil || ptr == 0 {
		return 0, err
	}
	p := pid.Prog()
	t, err := p.Type("struct pid_namespace")
	if err != nil {
		return 0, err
	}
	// The namespace's object is named by its address (*(struct
	// pid_namespace *)0x…), spelled only if a message needs it.
	nsLevel, err := p.Object(t, ns, "").Member("level").Uint()
	if err != nil {
		return 0, err
	}
	pd := pid.Deref() // once, not per member
	level, err := pd.Member("level").Uint()
	if err != nil {
		return 0, err
	}
	if nsLevel > level || level > maxPidLevel {
		return 0, nil
	}
	upid := pd.Member("numbers").Index(nsLevel).Settle()
	upidNS, err := upid.Member("ns").Uint()
	if err != nil {
		return 0, err
	}
	if upidNS != ns {
		return 0, nil
	}
	return upid.Member("nr").Int()
}

// PidNr mirrors pid_nr(): the number of the struct pid * object pid in the
// initial namespace (its numbers[0]), 0 for NULL.
func PidNr(pid object.Object) (int64, error) {
	ptr, err := pid.Uint()
	if err != nil || ptr == 0 {
		return 0, err
	}
	return pid.Member("numbers").Index(0).Member("nr").Int()
}

// TaskPidNrNs mirrors __task_pid_nr_ns() for the namespace at ns:
// task_pid_nr_ns, task_tgid_nr_ns, task_pgrp_nr_ns and task_session_nr_ns
// by typ. A task without a live pid (pid_alive() false) has none: 0.
func TaskPidNrNs(task object.Object, typ string, ns uint64) (int64, error) {
	alive, err := task.Member("thread_pid").Uint()
	if err != nil || alive == 0 {
		return 0, err
	}
	return PidNrNs(TaskPidPtr(task, typ), ns)
}

// PidLevels gives, for the struct pid * object pid, the namespace address
// of each level from 0 to pid->level (pid->numbers[i].ns): the namespaces
// /proc/PID/status lists in NStgid, NSpid, NSpgid and NSsid.
func PidLevels(pid object.Object) ([]uint64, error) {
	level, err := pid.Member("level").Uint()
	if err != nil {
		return nil, err
	}
	if level > maxPidLevel {
		return nil, fmt.Errorf("%s: pid level %d, not plausible", pid.Path(), level)
	}
	out := make([]uint64, 0, level+1)
	for i := uint64(0); i <= level; i++ {
		ns, err := pid.Member("numbers").Index(i).Member("ns").Uint()
		if err != nil {
			return nil, err
		}
		out = append(out, ns)
	}
	return out, nil
}

// IDRGetCursor mirrors idr_get_cursor() in include/linux/idr.h for the
// struct idr object idr: the next id it will try to allocate.
func IDRGetCursor(idr object.Object) (int64, error) {
	v, err := idr.Member("idr_next").Uint()
	return int64(int32(v)), err
}

// PidMax is the kernel's pid_max as /proc/sys/kernel/pid_max shows it for
// the initial namespace: the global pid_max (kernel/pid.c) until v6.14
// ("pid: allow pid_max to be set per pid namespace") moved it into struct
// pid_namespace, where the initial value lives in init_pid_ns.pid_max. The
// member's presence decides.
func PidMax(p *object.Program) (int64, error) {
	if p.HasMember("struct pid_namespace", "pid_max") {
		return p.VarAs("init_pid_ns", "struct pid_namespace").Member("pid_max").Int()
	}
	return p.VarAs("pid_max", "int").Int()
}
