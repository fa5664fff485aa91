// Package memory holds the memory emitters (sos's memory plugin):
// proc/meminfo, free, vmstat, zoneinfo, buddyinfo, pagetypeinfo, slabinfo
// and swaps.
package memory

import "github.com/vmcore-report/vmcore-report/emitters/emit"

var area emit.Area

// Emitters lists this area's outputs for the registry (package emitters).
func Emitters() []*emit.Emitter { return area.Emitters() }
