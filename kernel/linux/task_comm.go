package linux

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Task flags, PF_* in include/linux/sched.h (the same in 6.1 and 6.12).
const (
	PFExiting     = 0x00000004
	PFPostCoredmp = 0x00000008
	PFWQWorker    = 0x00000020
	PFDumpcore    = 0x00000200
	PFKthread     = 0x00200000
)

// taskCommLen is the size of proc_task_name()'s buffer: names are cut to
// 63 bytes.
const taskCommLen = 64

// ProcTaskName mirrors proc_task_name() in fs/proc/array.c without the
// escaping: the name /proc/PID/stat, status and comm show. Workqueue
// workers get wq_worker_comm(), other kernel threads their full name
// (get_kthread_comm), user tasks their comm. workerIDs is passed on to
// WqWorkerComm.
func ProcTaskName(task object.Object, workerIDs bool) (string, error) {
	flags, err := task.Member("flags").Uint()
	if err != nil {
		return "", err
	}
	var name string
	switch {
	case flags&PFWQWorker != 0:
		name, err = WqWorkerComm(task, workerIDs)
	case flags&PFKthread != 0:
		name, err = GetKthreadComm(task)
	default:
		name, err = task.Member("comm").CString()
	}
	if len(name) > taskCommLen-1 {
		name = name[:taskCommLen-1]
	}
	return name, err
}

// toKthread mirrors to_kthread() in kernel/kthread.c: the struct kthread *
// of a kernel thread, kept in task->worker_private since v5.17 ("kthread:
// Generalize pf_io_worker so it can point to struct kthread"); before, the
// kthread pointer hid in task->set_child_tid, which kernel threads do not
// otherwise use. The member's presence decides.
func toKthread(task object.Object) object.Object {
	if task.HasMember("worker_private") {
		return task.Member("worker_private").Cast("struct kthread *")
	}
	return task.Member("set_child_tid").Cast("struct kthread *")
}

// GetKthreadComm mirrors get_kthread_comm() in kernel/kthread.c: the full
// name a kernel thread was created with (kthread->full_name, set when comm
// had to be truncated, 5.17 and later), else its comm.
func GetKthreadComm(task object.Object) (string, error) {
	kt := toKthread(task)
	if ptr, err := kt.Uint(); err == nil && ptr != 0 && kt.Deref().HasMember("full_name") {
		full := kt.Member("full_name")
		if fp, err := full.Uint(); err != nil {
			return "", err
		} else if fp != 0 {
			return full.CString()
		}
	} else if err != nil {
		return "", err
	}
	return task.Member("comm").CString()
}

// WqWorkerComm mirrors wq_worker_comm() in kernel/workqueue.c: the worker's
// name, then "+desc" while it runs a work item of the workqueue desc names,
// or "-desc" for the last one it ran. Kernels with format_worker_id()
// ("workqueue: Refactor worker ID formatting and make wq_worker_comm() use
// full ID string", in 6.12, not 6.1) rebuild the name from the worker's pool and id
// instead of taking comm, and name rescuers "kworker/R-<workqueue>": pass
// workerIDs for those (their .rodata holds the format "kworker/R-%s").
func WqWorkerComm(task object.Object, workerIDs bool) (string, error) {
	worker := toKthread(task).Member("data").Cast("struct worker *")
	pool := worker.Member("pool")
	poolPtr, err := pool.Uint()
	if err != nil {
		return "", err
	}
	var name string
	if workerIDs {
		if name, err = formatWorkerID(worker, pool, poolPtr); err != nil {
			return "", err
		}
	} else if name, err = task.Member("comm").CString(); err != nil {
		return "", err
	}
	if poolPtr == 0 {
		return name, nil
	}
	desc, err := worker.Member("desc").CString()
	if err != nil || desc == "" {
		return name, err
	}
	cur, err := worker.Member("current_work").Uint()
	if err != nil {
		return "", err
	}
	if cur != 0 {
		return name + "+" + desc, nil
	}
	return name + "-" + desc, nil
}

// formatWorkerID mirrors format_worker_id().
func formatWorkerID(worker, pool object.Object, poolPtr uint64) (string, error) {
	rescueWQ := worker.Member("rescue_wq")
	if wq, err := rescueWQ.Uint(); err != nil {
		return "", err
	} else if wq != 0 {
		n, err := rescueWQ.Member("name").CString()
		return "kworker/R-" + n, err
	}
	if poolPtr == 0 {
		return "kworker/dying", nil
	}
	cpu, err := pool.Member("cpu").Int()
	if err != nil {
		return "", err
	}
	id, err := worker.Member("id").Int()
	if err != nil {
		return "", err
	}
	if cpu >= 0 {
		nice, err := pool.Member("attrs").Member("nice").Int()
		if err != nil {
			return "", err
		}
		h := ""
		if nice < 0 {
			h = "H"
		}
		return fmt.Sprintf("kworker/%d:%d%s", cpu, id, h), nil
	}
	poolID, err := pool.Member("id").Int()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("kworker/u%d:%d", poolID, id), nil
}
