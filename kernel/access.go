package kernel

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vmcore-report/vmcore-report/kernel/btf"
	"github.com/vmcore-report/vmcore-report/kernel/dump"
	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/kernel/symbols"
	"github.com/vmcore-report/vmcore-report/kernel/x86"
)

// openDump opens the dump files as one dump.
func openDump(parts []File) (*dump.Dump, error) {
	return dump.OpenParts(parts)
}

// DumpInfo describes the dump file(s): format, compression, dump level,
// parts, truncation, what reads have found since Open.
type DumpInfo = dump.Info

// PRStatus is a CPU's NT_PRSTATUS note (its registers at the crash).
type PRStatus = dump.PRStatus

// The zero Kernel is one without a dump or a program (for tests of the
// layers above): its accessors return zero values.

// Program is the crashed kernel as typed memory; nil for a degraded
// kernel (see Open).
func (k *Kernel) Program() *object.Program { return k.prog }

// Unreadable is why the kernel's memory cannot be read, nil normally (see
// Open).
func (k *Kernel) Unreadable() error { return k.unreadable }

// Symbols is the symbol table (the vmlinux's, or kallsyms from memory).
func (k *Kernel) Symbols() *symbols.Table { return k.syms }

// BTF is the kernel's BTF when types come from BTF, else nil.
func (k *Kernel) BTF() *btf.Spec { return k.btf }

// Release is VMCOREINFO's OSRELEASE.
func (k *Kernel) Release() string {
	if k.info == nil {
		return ""
	}
	return k.info.OSRelease
}

// BuildID is VMCOREINFO's BUILD-ID ("" when the kernel does not export
// it).
func (k *Kernel) BuildID() string {
	if k.info == nil {
		return ""
	}
	return k.info.BuildID
}

// CrashTime is VMCOREINFO's CRASHTIME (Unix seconds), which only kdump
// records (crash_save_vmcoreinfo() in __crash_kexec()); ok is false for
// dumps taken otherwise.
func (k *Kernel) CrashTime() (sec int64, ok bool) {
	if k.info == nil {
		return 0, false
	}
	return k.info.CrashTime, k.info.HasCrashTime
}

// KernelOffset is the KASLR offset of the kernel image (VMCOREINFO
// KERNELOFFSET).
func (k *Kernel) KernelOffset() uint64 {
	if k.info == nil {
		return 0
	}
	return k.info.KernelOffset
}

// DumpInfo describes the dump. For a degraded kernel it is what the
// headers said: what the reads that failed found is in Unreadable.
func (k *Kernel) DumpInfo() DumpInfo {
	if k.unreadable != nil {
		info := k.headerInfo
		info.Parts = slices.Clone(info.Parts)
		info.Warnings = slices.Clone(info.Warnings)
		return info
	}
	if k.dump == nil {
		return DumpInfo{}
	}
	return k.dump.Info()
}

// PRStatus lists the dump's NT_PRSTATUS notes, in note order.
func (k *Kernel) PRStatus() []PRStatus {
	if k.dump == nil {
		return nil
	}
	return k.dump.PRStatus()
}

// Vmlinux is the vmlinux given to Open (its reads go through Open's
// context), or nil when the kernel is read from the dump alone.
func (k *Kernel) Vmlinux() *File { return k.vmlinux }

// TypesFrom, SymbolsFrom and VMCOREINFOFrom name the sources used, for the
// manifest.
func (k *Kernel) TypesFrom() string      { return k.typesFrom }
func (k *Kernel) SymbolsFrom() string    { return k.symbolsFrom }
func (k *Kernel) VMCOREINFOFrom() string { return k.vmcoreinfoFrom }

// Warnings are the problems Open worked around.
func (k *Kernel) Warnings() []string { return slices.Clone(k.warnings) }

// UserMemory is a process's address space: the kernel's translator with
// the page table at pgd (mm->pgd, a kernel virtual address) as its root.
func (k *Kernel) UserMemory(pgd uint64) (object.Memory, error) {
	pa, _, err := k.mmu.Translate(pgd)
	if err != nil {
		return nil, fmt.Errorf("mm->pgd: %w", err)
	}
	return k.mmu.WithPGD(pa)
}

// SetCacheSize bounds the memory kept in decoded dump pages.
func (k *Kernel) SetCacheSize(bytes int64) {
	if k.dump != nil {
		k.dump.SetCacheSize(bytes)
	}
}

// Close drops the dump's caches; it does not close the inputs' readers.
func (k *Kernel) Close() error {
	if k.dump == nil {
		return nil
	}
	return k.dump.Close()
}

// Translate is the physical address of the kernel virtual address va (for
// tests that damage a dump where a kernel structure lies).
func (k *Kernel) Translate(va uint64) (pa uint64, err error) {
	pa, _, err = k.mmu.Translate(va)
	return pa, err
}

// VMCOREINFOSymbol is VMCOREINFO's SYMBOL(name): the addresses the kernel
// records for dump tools (crash_save_vmcoreinfo_init()).
func (k *Kernel) VMCOREINFOSymbol(name string) (uint64, bool) {
	if k.info == nil {
		return 0, false
	}
	return k.info.Symbol(name)
}

// Fault is where a read of the dump failed (FaultOf).
type Fault struct {
	Phys uint64 // physical address of the first byte that could not be read
	// Virt is the kernel virtual address read there, when HasVirt: a read
	// of kernel memory, not of a page-table entry on the way to it.
	Virt    uint64
	HasVirt bool
}

// FaultOf finds, in err's chain, the read of the dump that failed: false
// when err does not come from one (a page with no physical address, a
// format or type error).
func FaultOf(err error) (Fault, bool) {
	var pf *dump.FaultError
	if !errors.As(err, &pf) {
		return Fault{}, false
	}
	f := Fault{Phys: pf.Addr}
	if vf := (*x86.FaultError)(nil); errors.As(err, &vf) && vf.Level == "" && vf.HasPA {
		f.Virt, f.HasVirt = vf.Addr, true
	}
	return f, true
}
