package report

import (
	"errors"
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/dump"
	"github.com/vmcore-report/vmcore-report/kernel/vmcoreinfo"
)

// OpenKernel opens the crashed kernel for a report, as kernel.Open does,
// with one difference: when the dump's headers and VMCOREINFO can be read
// but the kernel's own memory cannot (a truncated or incomplete dump that
// lost the page tables or the kernel image), it returns a degraded kernel
// (Dump and Info only, no Prog) and, in unreadable, why. Run then writes a
// report whose manifest names the dump and the kernel and records every
// output as failed with that reason, which says more than no report.
//
// err is set when no report can be made: the dump is not readable, it has
// no VMCOREINFO, or the vmlinux does not match (kernel.ErrMismatch).
func OpenKernel(parts []kernel.File, opt kernel.Options) (k *kernel.Kernel, unreadable, err error) {
	k, err = kernel.Open(parts, opt)
	if err == nil {
		return k, nil, nil
	}
	var fault *dump.FaultError
	if errors.Is(err, kernel.ErrMismatch) || !errors.As(err, &fault) {
		return nil, nil, err
	}
	dk, derr := degradedKernel(parts)
	if derr != nil {
		return nil, nil, err
	}
	return dk, err, nil
}

// degradedKernel opens the dump and its VMCOREINFO note alone.
func degradedKernel(parts []kernel.File) (*kernel.Kernel, error) {
	dp := make([]dump.Part, len(parts))
	for i, p := range parts {
		dp[i] = dump.Part{Name: p.Name, R: p.R, Size: p.Size}
	}
	d, err := dump.OpenParts(dp)
	if err != nil {
		return nil, err
	}
	raw := d.VMCOREINFO()
	if len(raw) == 0 {
		// Searching memory for it is what just failed, most likely.
		d.Close()
		return nil, errors.New("no VMCOREINFO note")
	}
	info, err := vmcoreinfo.Parse(raw)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("VMCOREINFO: %w", err)
	}
	return &kernel.Kernel{Dump: d, Info: info, VMCOREINFOFrom: "dump note"}, nil
}
