// Package processor holds the CPU emitters (sos's processor plugin):
// cpuinfo, the CPU masks of sys/devices/system/cpu, interrupts, softirqs,
// proc/stat, and the times and loads derived from them (proc/uptime,
// proc/loadavg, uptime).
package processor

import "github.com/vmcore-report/vmcore-report/emitters/emit"

var area emit.Area

// Emitters lists this area's outputs for the registry (package emitters).
func Emitters() []*emit.Emitter { return area.Emitters() }
