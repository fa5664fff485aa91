package linux

import (
	"fmt"
	"iter"
	"math/bits"
	"slices"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// InitTask is init_task, the idle task of CPU 0 (pid 0, "swapper/0").
func InitTask(p *object.Program) object.Object {
	return p.VarAs("init_task", "struct task_struct")
}

// ForEachProcess yields every thread-group leader, as for_each_process() in
// include/linux/sched/signal.h: the tasks linked on init_task.tasks
// (init_task itself, pid 0, is not yielded).
func ForEachProcess(p *object.Program) iter.Seq2[object.Object, error] {
	return ListForEachEntry(InitTask(p).Member("tasks"), "struct task_struct", "tasks")
}

// ForEachThread yields every thread of task's thread group, as
// for_each_thread() (signal->thread_head, linked by thread_node).
func ForEachThread(task object.Object) iter.Seq2[object.Object, error] {
	return ListForEachEntry(task.Member("signal").Member("thread_head"), "struct task_struct", "thread_node")
}

// Task state bits, include/linux/sched.h (identical in 6.1 and 6.12).
const (
	taskReport      = 0x7f // TASK_RUNNING … TASK_PARKED
	taskNoload      = 0x400
	taskUninterrupt = 0x2
	taskIdle        = taskUninterrupt | taskNoload
	taskRTLockWait  = 0x1000
	taskFrozen      = 0x8000
	taskReportIdle  = taskReport + 1
)

// taskStateArray is task_state_array[] of fs/proc/array.c: what
// /proc/PID/status prints, indexed by TaskStateIndex.
var taskStateArray = [...]string{
	"R (running)", "S (sleeping)", "D (disk sleep)", "T (stopped)", "t (tracing stop)",
	"X (dead)", "Z (zombie)", "P (parked)", "I (idle)",
}

// TaskStateIndex mirrors __task_state_index(): the index into
// task_state_array of what /proc shows for task. frozenIsD applies the rule
// that reports TASK_FROZEN tasks as D, which both fixture kernels have
// (Debian's 6.1.192 and 6.12) but older kernels lack; no layout change marks
// it, so the caller decides.
func TaskStateIndex(task object.Object, frozenIsD bool) (int, error) {
	member := "__state" // renamed from "state" in 5.14 (commit 2f064a59a11f)
	if !task.HasMember(member) {
		member = "state"
	}
	state, err := task.Member(member).Uint()
	if err != nil {
		return 0, err
	}
	exit, err := task.Member("exit_state").Uint()
	if err != nil {
		return 0, err
	}
	s := (state | exit) & taskReport
	if state&taskIdle == taskIdle {
		s = taskReportIdle
	}
	if state&taskRTLockWait != 0 || (frozenIsD && state&taskFrozen != 0) {
		s = taskUninterrupt
	}
	return bits.Len64(s), nil
}

// TaskState is the state as /proc/PID/status prints it, "S (sleeping)".
func TaskState(task object.Object, frozenIsD bool) (string, error) {
	i, err := TaskStateIndex(task, frozenIsD)
	if err != nil {
		return "", err
	}
	if i >= len(taskStateArray) {
		return "", fmt.Errorf("%s: state index %d out of range", task.Path(), i)
	}
	return taskStateArray[i], nil
}

// TaskStateToChar is the one-letter state ps prints, task_state_to_char().
func TaskStateToChar(task object.Object, frozenIsD bool) (byte, error) {
	s, err := TaskState(task, frozenIsD)
	if err != nil {
		return 0, err
	}
	return s[0], nil
}

// TaskPPID is the pid /proc shows as PPid: real_parent's tgid, 0 for a task
// without a live parent (task_ppid_nr_ns with pid_alive).
func TaskPPID(task object.Object) (int64, error) {
	return task.Member("real_parent").Member("tgid").Int()
}

// Processes indexes the thread-group leaders by pid: what /proc lists.
type Processes struct {
	ByPID map[int64]uint64 // pid → task_struct address
	PIDs  []int64          // sorted, as /proc lists them
	// Err is why the walk broke off; the processes found before are kept.
	Err error
}

// ReadProcesses walks the task list once (ForEachProcess).
func ReadProcesses(p *object.Program) *Processes {
	t := &Processes{ByPID: map[int64]uint64{}}
	for task, err := range ForEachProcess(p) {
		if err != nil {
			t.Err = err
			break
		}
		pid, err := task.Member("pid").Int()
		if err != nil {
			t.Err = err
			break
		}
		addr, _ := task.Address()
		t.ByPID[pid] = addr
		t.PIDs = append(t.PIDs, pid)
	}
	slices.Sort(t.PIDs)
	return t
}

// FrozenIsD is TaskState's frozenIsD: __task_state_index() reports
// TASK_FROZEN tasks as D in 6.12 and in Debian's 6.1 (6.1.192) alike; the
// TASK_FROZEN bit (0x8000, new in 6.1) was unused before, so the rule is
// harmless for older kernels.
const FrozenIsD = true
