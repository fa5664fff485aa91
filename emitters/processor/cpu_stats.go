package processor

import (
	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// readCPUStats reads the CPUs' counters once per run, for /proc/stat,
// /proc/uptime and /proc/softirqs.
func readCPUStats(c *emit.Context) (*linux.CPUStats, error) {
	return emit.Once(c, "cpu-stats", func() (*linux.CPUStats, error) {
		possible, err := c.PossibleCPUs()
		if err != nil {
			return nil, err
		}
		running, err := c.RunningCPUs()
		if err != nil {
			return nil, err
		}
		return linux.ReadCPUStats(c.Prog, possible, running)
	})
}
