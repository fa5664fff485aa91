package process

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/{pid}/statm",
		Each:    emit.PerPID,
		Mirrors: "proc_pid_statm() in fs/proc/array.c (task_statm in fs/proc/task_mmu.c)",
		Desc:    "process memory in pages: size, resident, shared, text, data",
		Tracker: emit.Done,
		Run: func(c *emit.Context, pid int64, out *emit.Output) error {
			task, err := c.TaskByPID(pid)
			if err != nil {
				return err
			}
			mm, hasMM, err := linux.GetTaskMM(task)
			if err != nil {
				return err
			}
			if !hasMM {
				out.WriteString("0 0 0 0 0 0 0\n")
				return nil
			}
			s, err := readMMStats(c, mm)
			if err != nil {
				return err
			}
			const page = 1 << pageShift
			shared := s.file + s.shmem
			text := ((s.endCode+page-1)&^(page-1) - s.startCode&^(page-1)) >> pageShift
			fmt.Fprintf(out, "%d %d %d %d 0 %d 0\n", s.totalVM, shared+s.anon, shared, text, s.dataVM+s.stackVM)
			return nil
		},
	})
}
