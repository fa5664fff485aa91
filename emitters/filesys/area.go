// Package filesys holds the filesystem emitters (sos's filesys plugin):
// proc/mounts, proc/<pid>/mountinfo and proc/locks.
package filesys

import "github.com/vmcore-report/vmcore-report/emitters/emit"

var area emit.Area

// Emitters lists this area's outputs for the registry (package emitters).
func Emitters() []*emit.Emitter { return area.Emitters() }
