package emitters

import (
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// stackTracer is the kernel's unwinder, set up once per run: ORC tables
// from the vmlinux's sections when one is given, else from memory; module
// tables from the modules the Symbolizer lists.
func stackTracer(c *Context) (*linux.StackTracer, error) {
	return Once(c, "stacktracer", func() (*linux.StackTracer, error) {
		mods := c.Symbolizer().Modules
		if v := c.K.Vmlinux; v != nil {
			return linux.NewStackTracer(c.Prog, v.R, c.K.Info.KernelOffset, mods)
		}
		return linux.NewStackTracer(c.Prog, nil, 0, mods)
	})
}
