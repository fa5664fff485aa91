package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/vmcore-report/vmcore-report/report"
)

// The triage summary: what the page's first view shows, for a terminal
// (stderr at the end of a run) and for scripts (--json on stdout). It
// comes from the manifest and from sos_commands/vmcore/sys, which names
// the panicking task; the sink keeps a copy of that one file as the report
// is written.

// sysPath is crash's sys output in the report: PID and COMMAND of the
// panicking task.
const sysPath = "sos_commands/vmcore/sys"

// keepSys passes every file on to the sink and keeps the sys file.
type keepSys struct {
	report.Sink
	top string
	sys []byte
}

func (k *keepSys) AddFile(name string, data []byte, mode fs.FileMode) error {
	if name == k.top+"/"+sysPath {
		k.sys = append([]byte(nil), data...)
	}
	return k.Sink.AddFile(name, data, mode)
}

// panicTask reads "PID: n" and `COMMAND: "comm"` from sys output; ok is
// false when either is missing.
func panicTask(sys []byte) (pid int, comm string, ok bool) {
	var havePID, haveComm bool
	for _, line := range strings.Split(string(sys), "\n") {
		k, v, found := strings.Cut(strings.TrimSpace(line), ":")
		if !found {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "PID":
			if n, err := strconv.Atoi(v); err == nil {
				pid, havePID = n, true
			}
		case "COMMAND":
			if uq, err := strconv.Unquote(v); err == nil {
				comm, haveComm = uq, true
			}
		}
	}
	return pid, comm, havePID && haveComm
}

// Triage is the --json summary, one object on stdout.
type Triage struct {
	Archive      string            `json:"archive"` // the archive or folder written
	ArchiveSize  int64             `json:"archive_size,omitempty"`
	Release      string            `json:"release"`
	BuildID      string            `json:"build_id"`
	Nodename     string            `json:"nodename"`
	CrashTime    string            `json:"crash_time"` // "" when unknown
	PanicMessage string            `json:"panic_message"`
	Culprit      string            `json:"culprit"`
	PanicCPU     *int64            `json:"panic_cpu"`  // null when unknown
	PanicTask    *Task             `json:"panic_task"` // null when unknown
	PanicFrames  []string          `json:"panic_frames"`
	Taint        *report.Taint     `json:"taint"`
	Unreadable   map[string]string `json:"unreadable"` // field → why it is empty
	Truncated    []TruncatedPart   `json:"truncated"`  // dump files cut short
	Summary      report.Summary    `json:"summary"`
}

// Task is the panicking task.
type Task struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
}

// TruncatedPart is a dump file that ends before data it describes.
type TruncatedPart struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	WantSize int64  `json:"want_size,omitempty"` // what its headers imply; absent when unknown
}

func triageOf(m *report.Manifest, sys []byte, out *output) Triage {
	k := m.Kernel
	t := Triage{
		Archive: out.name, Release: k.Release, BuildID: k.BuildID, Nodename: k.Nodename, CrashTime: k.CrashTime,
		PanicMessage: k.PanicMessage, Culprit: k.Culprit, PanicFrames: k.PanicFrames, Taint: k.Taint,
		Unreadable: k.Unreadable, Truncated: []TruncatedPart{}, Summary: m.Summary,
	}
	if out.archive {
		t.ArchiveSize = out.size
	}
	if t.PanicFrames == nil {
		t.PanicFrames = []string{}
	}
	if t.Unreadable == nil {
		t.Unreadable = map[string]string{}
	}
	if k.CPUs != nil {
		t.PanicCPU = k.CPUs.PanicCPU
	}
	if pid, comm, ok := panicTask(sys); ok {
		t.PanicTask = &Task{PID: pid, Command: comm}
	}
	for _, p := range m.Inputs.Dump.Parts {
		if p.Truncated {
			t.Truncated = append(t.Truncated, TruncatedPart{Name: p.Name, Size: p.Size, WantSize: p.WantSize})
		}
	}
	return t
}

// maxFrames is how many of the panic CPU's frames the terminal summary
// shows.
const maxFrames = 6

// printTriage writes the summary for a person: what happened first.
func printTriage(w io.Writer, t Triage) {
	switch {
	case t.PanicMessage != "":
		fmt.Fprintf(w, "  Kernel panic: %s\n", t.PanicMessage)
	case t.Unreadable["memory"] != "":
		fmt.Fprintln(w, "  The crashed kernel's memory could not be read: the report holds only what the dump's headers say.")
	default:
		fmt.Fprintln(w, "  No \"Kernel panic\" line in the kernel log.")
	}
	var who []string
	if t.Culprit != "" {
		who = append(who, "culprit "+t.Culprit)
	}
	if t.PanicTask != nil {
		who = append(who, fmt.Sprintf("task %s (PID %d)", t.PanicTask.Command, t.PanicTask.PID))
	}
	if t.PanicCPU != nil {
		who = append(who, fmt.Sprintf("CPU %d", *t.PanicCPU))
	}
	if len(who) > 0 {
		fmt.Fprintf(w, "  %s\n", strings.Join(who, ", "))
	}
	for i, f := range t.PanicFrames {
		if i == maxFrames {
			fmt.Fprintf(w, "    … %d more frames (sos_commands/vmcore/bt_-a)\n", len(t.PanicFrames)-i)
			break
		}
		fmt.Fprintf(w, "    #%d %s\n", i, f)
	}
	switch {
	case t.Taint == nil:
	case t.Taint.Letters == "":
		fmt.Fprintln(w, "  not tainted")
	default:
		fmt.Fprintf(w, "  tainted: %s\n", t.Taint.Letters)
	}
	for _, p := range t.Truncated {
		if p.WantSize > p.Size {
			fmt.Fprintf(w, "  %s is truncated: %s of the %s its headers describe; copy it again\n", p.Name, humanBytes(p.Size), humanBytes(p.WantSize))
		} else {
			fmt.Fprintf(w, "  %s is truncated: it ends before data its headers describe; copy it again\n", p.Name)
		}
	}
}

func writeJSON(w io.Writer, t Triage) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}
