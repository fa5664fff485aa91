// Package vmcore holds what the crash utility prints about a vmcore (sos
// collects it under sos_commands/vmcore): sys and bt -a.
package vmcore

import "github.com/vmcore-report/vmcore-report/emitters/emit"

var area emit.Area

// Emitters lists this area's outputs for the registry (package emitters).
func Emitters() []*emit.Emitter { return area.Emitters() }
