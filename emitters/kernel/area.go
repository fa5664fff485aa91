// Package kernel holds the emitters of the kernel itself, as sos's kernel
// plugin collects them: its version and command line, modules
// (proc/modules, lsmod), uname and hostname, the kernel log, sysctls
// (proc/sys/*, sysctl -a), and the registered devices and filesystems.
package kernel

import "github.com/vmcore-report/vmcore-report/emitters/emit"

var area emit.Area

// Emitters lists this area's outputs for the registry (package emitters).
func Emitters() []*emit.Emitter { return area.Emitters() }
