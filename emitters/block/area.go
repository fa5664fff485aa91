// Package block holds the block-device emitters (sos's block plugin):
// proc/partitions and proc/diskstats.
package block

import "github.com/vmcore-report/vmcore-report/emitters/emit"

var area emit.Area

// Emitters lists this area's outputs for the registry (package emitters).
func Emitters() []*emit.Emitter { return area.Emitters() }
