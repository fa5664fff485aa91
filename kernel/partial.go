package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vmcore-report/vmcore-report/kernel/dump"
	"github.com/vmcore-report/vmcore-report/kernel/vmcoreinfo"
)

// OpenPartial opens the crashed kernel for a report, as Open does,
// with one difference: when the dump's headers and VMCOREINFO can be read
// but the kernel's own memory cannot (a truncated or incomplete dump that
// lost the page tables or the kernel image), it returns a degraded kernel
// (Dump and Info only, no Prog) and, in unreadable, why. Run then writes a
// report whose manifest names the dump and the kernel and records every
// output as failed with that reason, which says more than no report.
//
// err is set when no report can be made: the dump is not readable, it has
// no VMCOREINFO, or the vmlinux does not match (ErrMismatch).
func OpenPartial(parts []File, opt Options) (k *Kernel, unreadable, err error) {
	k, err = Open(parts, opt)
	if err == nil {
		return k, nil, nil
	}
	var fault *dump.FaultError
	if errors.Is(err, ErrMismatch) || !errors.As(err, &fault) {
		return nil, nil, err
	}
	dk, derr := degradedKernel(parts)
	if derr != nil {
		return nil, nil, err
	}
	return dk, err, nil
}

// degradedKernel opens the dump and its VMCOREINFO note alone.
func degradedKernel(parts []File) (*Kernel, error) {
	d, err := openDump(parts)
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
	return &Kernel{Dump: d, Info: info, VMCOREINFOFrom: "dump note"}, nil
}

// WithContext returns r with reads that fail with ctx's error once ctx is
// done (dump.WithContext): a cancelled run stops at its next read.
func WithContext(ctx context.Context, r io.ReaderAt) io.ReaderAt { return dump.WithContext(ctx, r) }

// openDump opens the dump files as one dump.
func openDump(parts []File) (*dump.Dump, error) {
	dp := make([]dump.Part, len(parts))
	for i, p := range parts {
		dp[i] = dump.Part{Name: p.Name, R: p.R, Size: p.Size}
	}
	return dump.OpenParts(dp)
}
