package process

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// maxCmdline bounds the argument area read (ARG_MAX-sized areas are 2 MiB).
const maxCmdline = 4 << 20

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/{pid}/cmdline",
		Each:    emit.PerPID,
		Mirrors: "get_mm_cmdline() in fs/proc/base.c: mm->arg_start..arg_end read through the task's page tables",
		Desc:    "process command line, NUL-separated, from the process's own memory",
		Tracker: emit.Partial,
		Note:    "needs the process's user pages: a dump made with makedumpfile -d 31 (or any level excluding user pages) lacks them, and the file is then empty and marked partial",
		Run:     procPidCmdline,
	})
}

func procPidCmdline(c *emit.Context, pid int64, out *emit.Output) error {
	task, err := c.TaskByPID(pid)
	if err != nil {
		return err
	}
	data, missing, err := taskCmdline(c, task)
	if err != nil {
		return err
	}
	if missing != nil {
		userMemoryPartial(c, out, missing)
	}
	out.Write(data)
	return nil
}

// taskCmdline mirrors get_task_cmdline() for a whole read of the file. It
// returns what could be read and, in missing, why the rest could not (user
// pages absent from the dump, most often); err is for kernel data that
// could not be read.
func taskCmdline(c *emit.Context, task object.Object) (data []byte, missing, err error) {
	mm, hasMM, err := linux.GetTaskMM(task)
	if err != nil || !hasMM {
		return nil, nil, err // kernel threads and zombies have no command line
	}
	var a [4]uint64 // arg_start, arg_end, env_start, env_end
	for i, m := range []string{"arg_start", "arg_end", "env_start", "env_end"} {
		if a[i], err = mm.Member(m).Uint(); err != nil {
			return nil, nil, err
		}
	}
	argStart, argEnd, envStart, envEnd := a[0], a[1], a[2], a[3]
	if envEnd == 0 || argStart >= argEnd {
		return nil, nil, nil // not spawned far enough to have a command line
	}
	// setproctitle() may run past arg_end, but only into the environment.
	if envStart != argEnd || envEnd < envStart {
		envStart, envEnd = argEnd, argEnd
	}
	size := envEnd - argStart
	if size > maxCmdline {
		return nil, nil, fmt.Errorf("argument area of %d bytes, not plausible", size)
	}
	if userDataExcluded(c) {
		// argv is on the process's stack, an anonymous page: no need to
		// walk four levels of its page tables (thousands of page reads
		// on a busy machine) to learn that it is not in the dump.
		return nil, fmt.Errorf("argv at %#x: %w", argStart, kernel.ErrExcluded), nil
	}
	mem, err := userMemory(c, mm)
	if err != nil {
		return nil, nil, err
	}
	// A non-NUL last byte of argv means setproctitle() rewrote it: the
	// kernel then returns the string at arg_start, up to a page.
	var last [1]byte
	if _, err := mem.ReadVirtAt(last[:], argEnd-1); err != nil {
		return nil, err, nil
	}
	if last[0] != 0 {
		page := make([]byte, min(4096, size))
		n, err := mem.ReadVirtAt(page, argStart)
		page = page[:n]
		if i := bytes.IndexByte(page, 0); i >= 0 {
			return page[:i+1], nil, nil
		}
		return page, err, nil
	}
	buf := make([]byte, argEnd-argStart)
	n, err := mem.ReadVirtAt(buf, argStart)
	return buf[:n], err, nil
}

// userMemory is the address space of the struct mm_struct object mm: the
// kernel's translator with mm->pgd (a direct-map address) as the root.
func userMemory(c *emit.Context, mm object.Object) (object.Memory, error) {
	pgd, err := mm.Member("pgd").Uint()
	if err != nil {
		return nil, err
	}
	return c.UserMemory(pgd)
}

// dumpLevelUserData is makedumpfile's dump-level bit (-d 8) that leaves out
// every anonymous page: all of a process's private memory.
const dumpLevelUserData = 8

// userDataExcluded says whether the dump was made without anonymous pages.
func userDataExcluded(c *emit.Context) bool {
	lvl := c.DumpLevel()
	return lvl >= 0 && lvl&dumpLevelUserData != 0
}

// userMemoryPartial records why user memory could not be read.
func userMemoryPartial(c *emit.Context, out *emit.Output, err error) {
	if errors.Is(err, kernel.ErrExcluded) {
		if lvl := c.DumpLevel(); lvl >= 0 {
			out.Partial("user pages not in this dump (dump level %d)", lvl)
			return
		}
		out.Partial("user pages not in this dump")
		return
	}
	out.Partial("process memory: %v", err)
}
