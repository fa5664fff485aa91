package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/report"
)

// openInputs opens the dump parts and the vmlinux as io.ReaderAt (they are
// never read whole). The returned function closes the files.
func openInputs(cfg *config) (report.Files, func(), error) {
	var (
		files []*os.File
		in    report.Files
	)
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, p := range cfg.dumps {
		f, size, err := openInput(p)
		if err != nil {
			closeAll()
			return in, nil, fail(exitNoReport, "cannot read the dump file %s: %v", p, err)
		}
		files = append(files, f)
		// The base name only: the manifest holds nothing about the
		// machine doing the analysis.
		in.Dump = append(in.Dump, kernel.File{Name: filepath.Base(p), R: f, Size: size})
	}
	if cfg.vmlinux != "" {
		f, size, err := openInput(cfg.vmlinux)
		if err != nil {
			closeAll()
			return in, nil, fail(exitNoReport, "cannot read the vmlinux %s: %v", cfg.vmlinux, err)
		}
		files = append(files, f)
		var nv *kernel.NotVmlinuxError
		if err := kernel.CheckVmlinuxFile(f); errors.As(err, &nv) {
			closeAll()
			return in, nil, fail(exitNoReport, "--vmlinux %s is %s: give the uncompressed vmlinux with debug info "+
				"(e.g. /usr/lib/debug/boot/vmlinux-<release> from the kernel's -dbg or -debuginfo package), not the compressed vmlinuz",
				cfg.vmlinux, nv.What)
		}
		in.Vmlinux = &kernel.File{Name: filepath.Base(cfg.vmlinux), R: f, Size: size}
		if cfg.dwarf {
			in.Types = kernel.TypesDWARF
		}
	}
	return in, closeAll, nil
}

// openInput opens a dump or vmlinux for reading at random offsets: a
// regular file or a block device. Its kind is checked before it is opened,
// since opening a FIFO waits for a writer.
func openInput(p string) (*os.File, int64, error) {
	if p == "-" {
		return nil, 0, errors.New("standard input cannot be read at random offsets: give a file")
	}
	if err := checkInput(p); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, fmt.Errorf("%w (check the path and your permission to read it)", err)
	}
	size, err := inputSize(f)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, size, nil
}

// explainOpenError turns kernel.Open's error into what went wrong with
// which file and what to do.
func explainOpenError(cfg *config, err error) error {
	dumpNames := strings.Join(cfg.dumps, ", ")
	switch report.Classify(err) {
	case report.KindMismatch:
		var m *kernel.MismatchError
		errors.As(err, &m)
		dRel, dID, vRel, vID := m.DumpRelease, m.DumpBuildID, m.VmlinuxRelease, m.VmlinuxBuildID
		return fail(exitNoReport, "the vmlinux does not belong to the crashed kernel (%v):\n"+
			"  dump    %s: release %s, build-id %s\n"+
			"  vmlinux %s: release %s, build-id %s\n"+
			"Give the vmlinux of release %s (e.g. Debian's linux-image-%s-dbg package, /usr/lib/debug/boot/vmlinux-%s), "+
			"or leave out --vmlinux to read symbols and types from the dump itself.",
			err, dumpNames, orUnknown(dRel), orUnknown(dID), cfg.vmlinux, orUnknown(vRel), orUnknown(vID),
			orUnknown(dRel), orUnknown(dRel), orUnknown(dRel))
	case report.KindUnsupported:
		return fail(exitNoReport, "%s: not a crash dump vmcore-report can read (%v). It reads ELF cores (kdump's /proc/vmcore, "+
			"QEMU dump-guest-memory, makedumpfile -E), kdump-compressed files, flattened streams (makedumpfile -F) and the "+
			"parts of makedumpfile --split (give them all); decompress .gz, .xz or .zst copies first", dumpNames, err)
	case report.KindNeedsVmlinux:
		// The error says why and what to give: the general hint (is the
		// dump complete?) would send the user the wrong way.
		return fail(exitNoReport, "cannot read the crashed kernel from %s alone: %v", dumpNames, err)
	}
	hint := "check that the dump is complete and from an x86_64 kernel"
	if cfg.vmlinux == "" {
		hint += "; if the dump alone is not enough, give the crashed kernel's vmlinux with --vmlinux"
	} else {
		hint += ", and that the vmlinux is the crashed kernel's"
	}
	return fail(exitNoReport, "cannot read the crashed kernel from %s: %v (%s)", dumpNames, err, hint)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
