// Package process holds the per-process files (proc/<pid>/cmdline, comm,
// limits, stat, statm, status) and ps (sos's process plugin).
package process

import "github.com/vmcore-report/vmcore-report/emitters/emit"

var area emit.Area

// Emitters lists this area's outputs for the registry (package emitters).
func Emitters() []*emit.Emitter { return area.Emitters() }
