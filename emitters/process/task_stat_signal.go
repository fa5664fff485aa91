package process

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// readSignalLocked reads what do_task_stat() takes under the sighand lock.
func (s *taskStat) readSignalLocked(c *emit.Context, task object.Object, ns uint64, whole bool) error {
	sig := task.Member("signal").Settle()
	if tty, err := sig.Member("tty").Uint(); err != nil {
		return err
	} else if tty != 0 {
		if err := s.readTTY(sig.Member("tty"), ns); err != nil {
			return fmt.Errorf("tty: %w", err)
		}
	}
	var err error
	if s.threads, err = sig.Member("nr_threads").Int(); err != nil {
		return err
	}
	if s.sigIgn, s.sigCgt, err = sigActions(c, task); err != nil {
		return err
	}
	if s.rsslim, err = sig.Member(fmt.Sprintf("rlim[%d].rlim_cur", rlimitRSS)).Uint(); err != nil {
		return err
	}
	// The process-wide exit code came with v5.17 ("exit: Use the correct
	// exit_code in /proc/<pid>/stat"); before, task->exit_code only. No
	// type marks it; task_struct.worker_private, from the same series of
	// exit and kthread changes, stands in for it.
	if whole && task.HasMember("worker_private") {
		flags, err := sig.Member("flags").Uint()
		if err != nil {
			return err
		}
		if flags&(0x4|0x1) != 0 { // SIGNAL_GROUP_EXIT | SIGNAL_STOP_STOPPED
			if s.exitCode, err = sig.Member("group_exit_code").Int(); err != nil {
				return err
			}
		}
	}
	if s.sid, err = linux.TaskPidNrNs(task, linux.PIDTypeSID, ns); err != nil {
		return err
	}
	if alive, err := task.Member("thread_pid").Uint(); err != nil {
		return err
	} else if alive != 0 {
		if s.ppid, err = linux.TaskPidNrNs(task.Member("real_parent").Deref(), linux.PIDTypeTGID, ns); err != nil {
			return err
		}
	}
	s.pgid, err = linux.TaskPidNrNs(task, linux.PIDTypePGID, ns)
	return err
}

// readTTY reads the controlling tty: its foreground process group and
// new_encode_dev(tty_devnum(tty)).
func (s *taskStat) readTTY(tty object.Object, ns uint64) error {
	pgrp := tty.Member("pgrp")
	if tty.Deref().HasMember("ctrl") {
		pgrp = tty.Member("ctrl").Member("pgrp")
	}
	var err error
	if s.tpgid, err = linux.PidNrNs(pgrp, ns); err != nil {
		return err
	}
	major, err := tty.Member("driver").Member("major").Uint()
	if err != nil {
		return err
	}
	minorStart, err := tty.Member("driver").Member("minor_start").Uint()
	if err != nil {
		return err
	}
	index, err := tty.Member("index").Uint()
	if err != nil {
		return err
	}
	minor := minorStart + index
	s.ttyNr = int64(minor&0xff | major<<8 | (minor&^0xff)<<12)
	s.tty, err = tty.Member("name").CString()
	return err
}
