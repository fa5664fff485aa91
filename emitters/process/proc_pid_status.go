package process

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/{pid}/status",
		Each:    emit.PerPID,
		Mirrors: "proc_pid_status() in fs/proc/array.c (task_state, task_mem, task_sig, task_cap, task_seccomp)",
		Desc:    "process status: ids, credentials, memory, signals, capabilities, CPU and node masks",
		Tracker: emit.Done,
		Run:     procPidStatus,
	})
}

// section is one group of lines of a /proc file; a group that cannot be
// read is left out whole and named in the partial reasons.
type section struct {
	name string
	f    func() (string, error)
}

func writeSections(out *emit.Output, secs []section) {
	for _, s := range secs {
		text, err := s.f()
		if err != nil {
			out.Partial("%s: %v", s.name, err)
			continue
		}
		out.WriteString(text)
	}
}

// nameEscaper is seq_escape_str(m, tcomm, ESCAPE_SPACE | ESCAPE_SPECIAL,
// "\n\\") for the Name line; built once (a Replacer per file cost more
// than the rest of the line).
var nameEscaper = strings.NewReplacer("\\", "\\\\", "\n", "\\n")

func procPidStatus(c *emit.Context, pid int64, out *emit.Output) error {
	task, err := c.TaskByPID(pid)
	if err != nil {
		return err
	}
	feat := features(c)
	if feat.err != nil {
		out.Partial("Kthread and untag_mask lines left out: %v", feat.err)
	}
	name, err := procTaskName(c, task, out)
	if err != nil {
		return fmt.Errorf("name: %w", err)
	}
	fmt.Fprintf(out, "Name:\t%s\n", nameEscaper.Replace(name))
	mm, hasMM, err := linux.GetTaskMM(task)
	if err != nil {
		return fmt.Errorf("mm: %w", err)
	}
	secs := []section{{"task_state", func() (string, error) { return taskState(task, feat) }}}
	if hasMM {
		secs = append(secs, section{"task_mem", func() (string, error) { return taskMemLines(c, task, mm, feat) }})
	}
	secs = append(secs,
		section{"task_sig", func() (string, error) { return taskSig(c, task) }},
		section{"task_cap", func() (string, error) { return taskCap(task) }},
		section{"task_seccomp", func() (string, error) { return taskSeccomp(c, task, feat) }},
		section{"cpus_allowed", func() (string, error) { return taskCPUsAllowed(c, task) }},
		section{"mems_allowed", func() (string, error) { return taskMemsAllowed(task) }},
		section{"ctxt_switches", func() (string, error) { return taskCtxtSwitches(task) }},
		section{"thread_features", func() (string, error) { return threadFeatures(task) }},
	)
	writeSections(out, secs)
	return nil
}
