// Package kernel opens a crash dump (and, optionally, its vmlinux) as the
// crashed kernel: the dump's physical memory, VMCOREINFO, x86_64 address
// translation, symbols and types, assembled into an object.Program for the
// helpers in kernel/linux and the emitters above them.
//
// Without a vmlinux the kernel is read from the dump alone: symbols from the
// kallsyms tables VMCOREINFO points to (Linux >= 6.0) and types from the
// kernel's own BTF in memory (__start_BTF … __stop_BTF).
package kernel

import (
	"bytes"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/vmcore-report/vmcore-report/kernel/btf"
	"github.com/vmcore-report/vmcore-report/kernel/dump"
	"github.com/vmcore-report/vmcore-report/kernel/kdwarf"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/kernel/symbols"
	"github.com/vmcore-report/vmcore-report/kernel/vmcoreinfo"
	"github.com/vmcore-report/vmcore-report/kernel/x86"
)

// File is one input file.
type File struct {
	Name string
	R    io.ReaderAt
	Size int64
}

// Options choose the inputs beyond the dump.
type Options struct {
	// Vmlinux is the matching vmlinux, or nil to read the dump alone.
	Vmlinux *File
	// Types chooses the type source when a vmlinux is given.
	Types TypeSource
}

// TypeSource chooses where types come from.
type TypeSource int

const (
	// TypesAuto: the vmlinux's BTF (a few MB, fast), DWARF when it has none;
	// from the dump alone, the kernel's BTF in memory.
	TypesAuto TypeSource = iota
	// TypesDWARF: the vmlinux's DWARF only, for kernels without BTF and to
	// check one source against the other.
	TypesDWARF
)

// Kernel is an opened crash dump.
type Kernel struct {
	Dump *dump.Dump
	Info *vmcoreinfo.Info
	// VMCOREINFOFrom says where VMCOREINFO came from: "dump note" or
	// "kernel memory" (a dump made without it, e.g. QEMU without
	// -device vmcoreinfo).
	VMCOREINFOFrom string
	MMU            *x86.Translator
	Layout         x86.Layout
	Syms           *symbols.Table
	BTF            *btf.Spec
	// DWARF is the vmlinux's DWARF, opened on demand for variable types
	// (BTF has none) or as the type source; nil without a vmlinux.
	DWARF *kdwarf.Data
	// TypesFrom and SymbolsFrom name the sources used, for the manifest.
	TypesFrom, SymbolsFrom string
	Prog                   *object.Program
	// Warnings are problems Open worked around (for the manifest and log).
	Warnings []string
	// Vmlinux is the vmlinux given to Open, or nil.
	Vmlinux *File
}

// ErrMismatch is wrapped when the vmlinux is not the crashed kernel's.
var ErrMismatch = errors.New("vmlinux does not match the dump")

// Open reads the dump's headers and the kernel's identity, and prepares
// symbols and types. Bulk data (pages, DWARF) is read later, on demand.
func Open(parts []File, opt Options) (*Kernel, error) {
	if len(parts) == 0 {
		return nil, errors.New("no dump file given")
	}
	dp := make([]dump.Part, len(parts))
	for i, p := range parts {
		dp[i] = dump.Part{Name: p.Name, R: p.R, Size: p.Size}
	}
	d, err := dump.OpenParts(dp)
	if err != nil {
		return nil, err
	}
	k := &Kernel{Dump: d, Vmlinux: opt.Vmlinux}
	if err := k.readVMCOREINFO(); err != nil {
		return nil, err
	}
	k.MMU, err = x86.NewFromVMCOREINFO(d, k.Info)
	if err != nil {
		return nil, fmt.Errorf("address translation: %w", err)
	}
	if opt.Vmlinux != nil {
		if err := k.checkVmlinux(opt.Vmlinux); err != nil {
			return nil, err
		}
		k.Syms, err = symbols.FromELF(opt.Vmlinux.R, k.Info.KernelOffset)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", opt.Vmlinux.Name, err)
		}
		k.SymbolsFrom = "vmlinux .symtab"
	} else {
		if err := k.kallsyms(); err != nil {
			return nil, err
		}
	}
	k.Layout, err = x86.ReadLayout(k.MMU, func(name string) (uint64, bool) {
		s, ok := k.Syms.Lookup(name)
		return s.Addr, ok
	})
	if err != nil {
		// page_offset_base itself may be lost (a truncated dump): find the
		// direct map from the page tables, or do without the fast path.
		if base, ferr := k.MMU.FindPageOffset(); ferr == nil {
			k.Layout.PageOffset = base
			k.Warnings = append(k.Warnings, fmt.Sprintf("%v; page_offset_base found from the page tables", err))
		} else {
			k.Layout.PageOffset = 0
			k.Warnings = append(k.Warnings, fmt.Sprintf("%v; direct map unknown (%v): every read walks the page tables", err, ferr))
		}
	}
	k.MMU.SetPageOffset(k.Layout.PageOffset)

	var types ktype.Source
	var vars object.VarTypes
	switch {
	case opt.Vmlinux == nil:
		k.BTF, err = k.btfFromMemory()
		types, k.TypesFrom = k.BTF, "BTF (kernel memory)"
	case opt.Types == TypesDWARF:
		k.DWARF, err = kdwarf.Open(opt.Vmlinux.R)
		types, vars, k.TypesFrom = k.DWARF, k.DWARF, "DWARF (vmlinux)"
	default:
		k.BTF, err = btf.LoadSpecFromELF(opt.Vmlinux.R)
		types, k.TypesFrom = k.BTF, "BTF (vmlinux .BTF)"
		if errors.Is(err, btf.ErrNoBTF) {
			k.DWARF, err = kdwarf.Open(opt.Vmlinux.R)
			types, k.TypesFrom = k.DWARF, "DWARF (vmlinux has no BTF)"
		}
		if err == nil {
			vars = &lazyDWARF{k: k, r: opt.Vmlinux.R}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("types: %w", err)
	}
	k.Prog = &object.Program{Mem: k.MMU, Types: types, Syms: k.Syms, Vars: vars}
	return k, nil
}

// lazyDWARF opens the vmlinux's DWARF the first time a variable's type is
// asked for: BTF carries no types for ordinary globals, and most reports
// never need one.
type lazyDWARF struct {
	k    *Kernel
	r    io.ReaderAt
	once sync.Once
	err  error
}

func (l *lazyDWARF) VarType(name string) (ktype.Type, error) {
	l.once.Do(func() {
		if l.k.DWARF == nil {
			l.k.DWARF, l.err = kdwarf.Open(l.r)
		}
	})
	if l.err != nil {
		return nil, fmt.Errorf("type of %s: %w", name, l.err)
	}
	return l.k.DWARF.VarType(name)
}

func (k *Kernel) readVMCOREINFO() error {
	raw := k.Dump.VMCOREINFO()
	k.VMCOREINFOFrom = "dump note"
	if len(raw) == 0 {
		var ranges []vmcoreinfo.Range
		for _, r := range k.Dump.PhysRanges() {
			ranges = append(ranges, vmcoreinfo.Range{Start: r.Start, End: r.End})
		}
		var err error
		raw, _, err = vmcoreinfo.FindInMemory(k.Dump, ranges)
		if err != nil {
			return fmt.Errorf("the dump has no VMCOREINFO note and none was found in its memory: %w", err)
		}
		k.VMCOREINFOFrom = "kernel memory"
	}
	info, err := vmcoreinfo.Parse(raw)
	if err != nil {
		return fmt.Errorf("VMCOREINFO: %w", err)
	}
	k.Info = info
	return nil
}

// kallsyms builds the symbol table from the dump alone.
func (k *Kernel) kallsyms() error {
	var a symbols.KallsymsAddrs
	for _, f := range []struct {
		name string
		dst  *uint64
	}{
		{"kallsyms_names", &a.Names}, {"kallsyms_num_syms", &a.NumSyms},
		{"kallsyms_token_table", &a.TokenTable}, {"kallsyms_token_index", &a.TokenIndex},
		{"kallsyms_offsets", &a.Offsets}, {"kallsyms_relative_base", &a.RelativeBase},
	} {
		v, ok := k.Info.Symbol(f.name)
		if !ok {
			return fmt.Errorf("no vmlinux given and VMCOREINFO lacks SYMBOL(%s) (kernels before 6.0 need the vmlinux)", f.name)
		}
		*f.dst = v
	}
	t, err := symbols.FromKallsyms(k.MMU, a)
	if err != nil {
		return err
	}
	k.Syms = t
	k.SymbolsFrom = "kallsyms (kernel memory)"
	return nil
}

// virtReaderAt reads a window of kernel virtual memory as a file.
type virtReaderAt struct {
	mem  *x86.Translator
	base uint64
}

func (v virtReaderAt) ReadAt(p []byte, off int64) (int, error) {
	return v.mem.ReadVirtAt(p, v.base+uint64(off))
}

// maxBTFBytes bounds the in-memory BTF blob (a few MB in practice).
const maxBTFBytes = 64 << 20

func (k *Kernel) btfFromMemory() (*btf.Spec, error) {
	start, err1 := k.Syms.Addr("__start_BTF")
	stop, err2 := k.Syms.Addr("__stop_BTF")
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("no vmlinux given and the kernel has no BTF (CONFIG_DEBUG_INFO_BTF): %v", errors.Join(err1, err2))
	}
	if stop <= start || stop-start > maxBTFBytes {
		return nil, fmt.Errorf("kernel BTF spans %#x-%#x, not plausible", start, stop)
	}
	return btf.LoadSpec(virtReaderAt{k.MMU, start}, int64(stop-start))
}

// checkVmlinux compares the vmlinux's build-id with VMCOREINFO BUILD-ID, or,
// for kernels that do not export it, its banner with OSRELEASE.
func (k *Kernel) checkVmlinux(v *File) error {
	f, err := elf.NewFile(v.R)
	if err != nil {
		return fmt.Errorf("%s: not an ELF file: %w", v.Name, err)
	}
	if f.Type != elf.ET_EXEC || f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("%s: %v %v, want an x86_64 vmlinux (ET_EXEC)", v.Name, f.Type, f.Machine)
	}
	id := buildID(f)
	if k.Info.BuildID != "" && id != "" {
		if !strings.EqualFold(k.Info.BuildID, id) {
			return fmt.Errorf("%w: %s has build-id %s, the dump's kernel (release %s) has build-id %s: give the vmlinux of %s, or none to read the dump alone",
				ErrMismatch, v.Name, id, k.Info.OSRelease, k.Info.BuildID, k.Info.OSRelease)
		}
		return nil
	}
	banner := elfString(f, "linux_banner")
	if banner == "" {
		return fmt.Errorf("%s: no build-id and no linux_banner to compare with the dump", v.Name)
	}
	if !strings.HasPrefix(banner, "Linux version "+k.Info.OSRelease+" ") {
		return fmt.Errorf("%w: %s is %q, the dump's kernel is %s", ErrMismatch, v.Name, strings.TrimSpace(banner), k.Info.OSRelease)
	}
	return nil
}

// buildID finds the NT_GNU_BUILD_ID note in any note section (Debian's
// vmlinux keeps it in .notes, others in .note.gnu.build-id).
func buildID(f *elf.File) string {
	for _, sec := range f.Sections {
		if sec.Type != elf.SHT_NOTE || sec.Size > 1<<20 {
			continue
		}
		b, err := sec.Data()
		if err != nil {
			continue
		}
		for len(b) >= 12 {
			namesz, descsz, typ := le32(b[0:]), le32(b[4:]), le32(b[8:])
			nameEnd := 12 + uint64(namesz+3)&^3
			descEnd := nameEnd + uint64(descsz+3)&^3
			if nameEnd > uint64(len(b)) || nameEnd+uint64(descsz) > uint64(len(b)) {
				break
			}
			if typ == 3 && namesz == 4 && string(b[12:15]) == "GNU" {
				return hex.EncodeToString(b[nameEnd : nameEnd+uint64(descsz)])
			}
			if descEnd > uint64(len(b)) {
				break
			}
			b = b[descEnd:]
		}
	}
	return ""
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// elfString reads the NUL-terminated string at symbol name in the file.
func elfString(f *elf.File, name string) string {
	syms, err := f.Symbols()
	if err != nil {
		return ""
	}
	for _, s := range syms {
		if s.Name != name || int(s.Section) >= len(f.Sections) {
			continue
		}
		sec := f.Sections[s.Section]
		if s.Value < sec.Addr || sec.Type == elf.SHT_NOBITS {
			return ""
		}
		b := make([]byte, 512)
		n, _ := sec.ReadAt(b, int64(s.Value-sec.Addr))
		if i := bytes.IndexByte(b[:n], 0); i >= 0 {
			return string(b[:i])
		}
		return string(b[:n])
	}
	return ""
}

// VarType is the type of a global or per-cpu variable: from BTF first (it
// has the per-cpu ones, and costs nothing more), then from DWARF, which is
// opened on demand and is expensive to index in a browser.
func (k *Kernel) VarType(name string) (ktype.Type, error) {
	if k.BTF != nil {
		if v, err := k.BTF.VarByName(name); err == nil {
			return v.Type, nil
		}
	}
	if k.Prog != nil && k.Prog.Vars != nil {
		return k.Prog.Vars.VarType(name)
	}
	return nil, fmt.Errorf("type of %s: not in BTF, and no DWARF", name)
}
