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
	"context"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/vmcore-report/vmcore-report/internal/elfcheck"
	"github.com/vmcore-report/vmcore-report/kernel/btf"
	"github.com/vmcore-report/vmcore-report/kernel/dump"
	"github.com/vmcore-report/vmcore-report/kernel/kdwarf"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/kernel/symbols"
	"github.com/vmcore-report/vmcore-report/kernel/vmcoreinfo"
	"github.com/vmcore-report/vmcore-report/kernel/x86"
)

// File is one input file (a dump part or the vmlinux): its name for the
// manifest and messages, a reader (never read whole) and its size.
type File = dump.Part

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

// Kernel is an opened crash dump. Its parts are private: what the layers
// above need of it is a method (the program, dump facts, user memory, the
// sources used), so nothing above package kernel reaches the dump, its
// VMCOREINFO or the address translator.
type Kernel struct {
	dump *dump.Dump
	info *vmcoreinfo.Info
	// vmcoreinfoFrom says where VMCOREINFO came from: "dump note" or
	// "kernel memory" (a dump made without it, e.g. QEMU without
	// -device vmcoreinfo).
	vmcoreinfoFrom string
	mmu            *x86.Translator
	layout         x86.Layout
	syms           *symbols.Table
	btf            *btf.Spec
	// dwarf is the vmlinux's DWARF, opened on demand for variable types
	// (BTF has none) or as the type source; nil without a vmlinux.
	dwarf *kdwarf.Data
	// typesFrom and symbolsFrom name the sources used, for the manifest.
	typesFrom, symbolsFrom string
	prog                   *object.Program
	// warnings are problems Open worked around (for the manifest and log).
	warnings []string
	// vmlinux is the vmlinux given to Open, or nil.
	vmlinux *File
	// unreadable is why the kernel's memory cannot be read (a degraded
	// kernel: dump and VMCOREINFO only, no program); headerInfo is then
	// what the dump's headers said before the reads that failed.
	unreadable error
	headerInfo dump.Info
	// note is the dump's VMCOREINFO note as it parses, nil when it has
	// none or it does not parse.
	note *vmcoreinfo.Info
}

// Why Open refused, for errors.Is (report.Classify sorts an error into
// these; the front ends word each case).
var (
	// ErrMismatch: the vmlinux is not the crashed kernel's (*MismatchError).
	ErrMismatch = errors.New("vmlinux does not match the dump")
	// ErrNoDump: no dump file was given.
	ErrNoDump = errors.New("no dump file given")
	// ErrNotADump: no dump format recognised the file.
	ErrNotADump = dump.ErrNotThisFormat
	// ErrTruncated: the dump ends before data it describes.
	ErrTruncated = dump.ErrTruncated
	// ErrExcluded: a page the dump's producer left out (user pages at
	// dump level 31, most often).
	ErrExcluded = dump.ErrExcluded
	// ErrCorrupt: a page's data in the dump does not decode.
	ErrCorrupt = dump.ErrCorrupt
	// ErrMemoryUnreadable: the dump's headers and VMCOREINFO are readable
	// but the kernel's memory is not (*UnreadableError); Open then also
	// returns a degraded Kernel.
	ErrMemoryUnreadable = errors.New("the kernel's memory cannot be read")
)

// UnreadableError is Open's error for a degraded kernel: the read that
// failed (a *dump.FaultError inside), worded as that read's error.
type UnreadableError struct{ Err error }

func (e *UnreadableError) Error() string        { return e.Err.Error() }
func (e *UnreadableError) Unwrap() error        { return e.Err }
func (e *UnreadableError) Is(target error) bool { return target == ErrMemoryUnreadable }

// Open opens the crashed kernel: the dump's headers, its identity
// (VMCOREINFO), address translation, symbols and types; bulk data (pages,
// DWARF) is read later, on demand. Every read of the inputs, then and
// later, goes through ctx: once it is done, reads fail and whatever is
// reading stops. Each input is opened once.
//
// When the dump's headers and VMCOREINFO can be read but the kernel's own
// memory cannot (a truncated or incomplete dump that lost the page tables
// or the kernel image), Open returns both a degraded Kernel (dump facts
// and identity, Program nil) and an *UnreadableError saying why: a report
// can still name the dump and the kernel. Otherwise a non-nil error comes
// with a nil Kernel: the dump is not readable, it has no VMCOREINFO, or
// the vmlinux does not match (ErrMismatch).
func Open(ctx context.Context, parts []File, opt Options) (*Kernel, error) {
	if len(parts) == 0 {
		return nil, ErrNoDump
	}
	parts = slices.Clone(parts)
	for i := range parts {
		parts[i].R = dump.WithContext(ctx, parts[i].R)
	}
	if v := opt.Vmlinux; v != nil {
		opt.Vmlinux = &File{Name: v.Name, R: dump.WithContext(ctx, v.R), Size: v.Size}
	}
	d, err := openDump(parts)
	if err != nil {
		return nil, err
	}
	k := &Kernel{dump: d, vmlinux: opt.Vmlinux, headerInfo: d.Info()}
	err = k.open(ctx, opt)
	if err == nil {
		return k, nil
	}
	var fault *dump.FaultError
	if errors.Is(err, ErrMismatch) || !errors.As(err, &fault) || k.note == nil {
		// Without a VMCOREINFO note there is no identity to report (the
		// search of memory is most likely what failed).
		d.Close()
		return nil, err
	}
	return &Kernel{dump: d, info: k.note, vmcoreinfoFrom: "dump note", vmlinux: opt.Vmlinux, headerInfo: k.headerInfo,
		unreadable: err}, &UnreadableError{Err: err}
}

func (k *Kernel) open(ctx context.Context, opt Options) error {
	if err := k.readVMCOREINFO(ctx); err != nil {
		return err
	}
	var err error
	if opt.Vmlinux != nil {
		if err := k.checkVmlinux(opt.Vmlinux); err != nil {
			return err
		}
		k.syms, err = symbols.FromELF(opt.Vmlinux.R, k.info.KernelOffset)
		if err == nil {
			k.symbolsFrom = "vmlinux .symtab"
		} else if kerr := k.kallsyms(); kerr == nil {
			// A stripped vmlinux still gives types; symbols come from
			// the dump.
			k.warnings = append(k.warnings, fmt.Sprintf("%s: %v; symbols from kallsyms instead", opt.Vmlinux.Name, err))
		} else {
			// A vmlinux without symbols for a kernel whose dump has no
			// kallsyms tables (before v6.0): the vmlinux cannot be used,
			// and the error says why the dump cannot stand in for it.
			return &VmlinuxError{Name: opt.Vmlinux.Name, Err: fmt.Errorf("symbols: %w; and from the dump: %w", err, kerr)}
		}
	} else {
		if err := k.kallsyms(); err != nil {
			return err
		}
	}
	k.layout, err = x86.ReadLayout(k.mmu, func(name string) (uint64, bool) {
		s, ok := k.syms.Lookup(name)
		return s.Addr, ok
	})
	if err != nil {
		// page_offset_base itself may be lost (a truncated dump): find the
		// direct map from the page tables, or do without the fast path.
		if base, ferr := k.mmu.FindPageOffset(); ferr == nil {
			k.layout.PageOffset = base
			k.warnings = append(k.warnings, fmt.Sprintf("%v; page_offset_base found from the page tables", err))
		} else {
			k.layout.PageOffset = 0
			k.warnings = append(k.warnings, fmt.Sprintf("%v; direct map unknown (%v): every read walks the page tables", err, ferr))
		}
	}
	k.mmu.SetPageOffset(k.layout.PageOffset)

	var types ktype.Source
	var vars object.VarTypes
	switch {
	case opt.Vmlinux == nil:
		k.btf, err = k.btfFromMemory()
		types, k.typesFrom = k.btf, "BTF (kernel memory)"
	case opt.Types == TypesDWARF:
		k.dwarf, err = kdwarf.Open(opt.Vmlinux.R)
		types, vars, k.typesFrom = k.dwarf, k.dwarf, "DWARF (vmlinux)"
	default:
		k.btf, err = btf.LoadSpecFromELF(opt.Vmlinux.R)
		types, k.typesFrom = k.btf, "BTF (vmlinux .BTF)"
		if err != nil {
			// No or a damaged .BTF: the vmlinux's DWARF is the next source.
			berr := err
			k.btf = nil
			k.dwarf, err = kdwarf.Open(opt.Vmlinux.R)
			types, k.typesFrom = k.dwarf, "DWARF (vmlinux has no BTF)"
			if !errors.Is(berr, btf.ErrNoBTF) {
				k.typesFrom = "DWARF (vmlinux .BTF unusable)"
				k.warnings = append(k.warnings, fmt.Sprintf("%s: %v; types from its DWARF instead", opt.Vmlinux.Name, berr))
			}
			if err != nil {
				err = fmt.Errorf("%w; and DWARF: %w", berr, err)
			}
		}
		if err == nil {
			vars = &lazyDWARF{k: k, r: opt.Vmlinux.R}
		}
	}
	if err != nil && opt.Vmlinux != nil {
		// A vmlinux without usable BTF or DWARF: the kernel's own BTF in
		// memory is the last source.
		verr := err
		k.dwarf = nil
		if k.btf, err = k.btfFromMemory(); err == nil {
			types, vars, k.typesFrom = k.btf, nil, "BTF (kernel memory)"
			k.warnings = append(k.warnings, fmt.Sprintf("types: %s: %v; types from the kernel's BTF in memory instead", opt.Vmlinux.Name, verr))
		} else {
			err = fmt.Errorf("%s: %w; and from the dump: %w", opt.Vmlinux.Name, verr, err)
		}
	}
	if err != nil {
		return fmt.Errorf("types: %w", err)
	}
	k.prog = &object.Program{Mem: k.mmu, Types: types, Syms: k.syms, Vars: vars}
	k.prog.CacheReads()
	return nil
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
		if l.k.dwarf == nil {
			l.k.dwarf, l.err = kdwarf.Open(l.r)
		}
	})
	if l.err != nil {
		return nil, fmt.Errorf("type of %s: %w", name, l.err)
	}
	return l.k.dwarf.VarType(name)
}

// readVMCOREINFO takes the kernel's identity and layout, and sets up
// address translation, from the dump's VMCOREINFO note, or, when the note
// is missing or damaged, from the copy the kernel keeps in its own memory.
// A note passed over is recorded in Warnings. A note that parses but does
// not translate is not passed over: the copy in memory says the same.
func (k *Kernel) readVMCOREINFO(ctx context.Context) error {
	parse := func(raw []byte) (*vmcoreinfo.Info, error) {
		info, err := vmcoreinfo.Parse(raw)
		if err == nil && (info.OSRelease == "" || info.PageSize == 0) {
			return info, errors.New("no OSRELEASE or PAGESIZE")
		}
		return info, err
	}
	translate := func(info *vmcoreinfo.Info, from string) error {
		mmu, err := x86.NewFromVMCOREINFO(k.dump, info)
		if err != nil {
			return fmt.Errorf("address translation: %w", err)
		}
		k.info, k.mmu, k.vmcoreinfoFrom = info, mmu, from
		return nil
	}
	var why string
	if raw := k.dump.VMCOREINFO(); len(raw) > 0 {
		info, err := parse(raw)
		if info != nil {
			k.note = info // names the kernel of a degraded open (see Open)
		}
		if err == nil {
			return translate(info, "dump note")
		}
		why = fmt.Sprintf("the dump's VMCOREINFO note is damaged (%v)", err)
	} else if p := k.dump.Info().NotesProblem; p != "" {
		why = "the dump's notes could not all be read (" + p + ") and no VMCOREINFO note was among those read"
	} else {
		why = "the dump has no VMCOREINFO note"
	}
	var ranges []vmcoreinfo.Range
	for _, r := range k.dump.DataRanges() {
		ranges = append(ranges, vmcoreinfo.Range{Start: r.Start, End: r.End})
	}
	raw, _, err := vmcoreinfo.FindInMemoryContext(ctx, k.dump, ranges)
	if errors.Is(err, vmcoreinfo.ErrNotFound) {
		return fmt.Errorf("%w: %s, and none was found in the kernel's memory", ErrNoVMCOREINFO, why)
	}
	if err != nil {
		return fmt.Errorf("%s; searching the kernel's memory: %w", why, err)
	}
	info, err := parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %s, and the copy in the kernel's memory is damaged too: %v", ErrNoVMCOREINFO, why, err)
	}
	if err := translate(info, "kernel memory"); err != nil {
		return err
	}
	if len(k.dump.VMCOREINFO()) > 0 || k.dump.Info().NotesProblem != "" {
		k.warnings = append(k.warnings, why+"; VMCOREINFO taken from the kernel's memory")
	}
	return nil
}

// ErrNoVMCOREINFO is wrapped when neither the dump's note nor the kernel's
// memory gives a usable VMCOREINFO.
var ErrNoVMCOREINFO = errors.New("no usable VMCOREINFO")

// ErrNeedVmlinux is wrapped (by a *NeedVmlinuxError) when the dump alone
// cannot give the kernel's symbols and a vmlinux must be given.
var ErrNeedVmlinux = errors.New("a vmlinux is needed")

// NeedVmlinuxError says why the dump alone is not enough: VMCOREINFO lacks
// the kallsyms tables' addresses, which kernels record there only since
// v6.0 ("vmcoreinfo: include kallsyms symbols").
type NeedVmlinuxError struct {
	Missing string // the first VMCOREINFO SYMBOL() that is absent
}

func (e *NeedVmlinuxError) Error() string {
	return fmt.Sprintf("a vmlinux is needed for this kernel: its VMCOREINFO has no SYMBOL(%s) "+
		"(kernels before 6.0 record no kallsyms tables there), so the kallsyms tables cannot be found from the dump alone; "+
		"give the crashed kernel's vmlinux (with debug info) with --vmlinux", e.Missing)
}

func (e *NeedVmlinuxError) Unwrap() error { return ErrNeedVmlinux }

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
		v, ok := k.info.Symbol(f.name)
		if !ok && f.name == "kallsyms_relative_base" {
			// Gone since commit a081b5789255 ("kallsyms: Get rid of
			// kallsyms relative base", 7.x): the offsets are relative to
			// their own entries (RelativeBase 0 says so).
			continue
		}
		if !ok {
			return &NeedVmlinuxError{Missing: f.name}
		}
		*f.dst = v
	}
	t, err := symbols.FromKallsyms(k.mmu, a)
	if err != nil {
		return err
	}
	if err := t.Incomplete(); err != nil {
		k.warnings = append(k.warnings, fmt.Sprintf("kallsyms: %v", err))
	}
	k.syms = t
	k.symbolsFrom = "kallsyms (kernel memory)"
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
	start, err1 := k.syms.Addr("__start_BTF")
	stop, err2 := k.syms.Addr("__stop_BTF")
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("no vmlinux given and the kernel has no BTF (CONFIG_DEBUG_INFO_BTF): %v", errors.Join(err1, err2))
	}
	if stop <= start || stop-start > maxBTFBytes {
		return nil, fmt.Errorf("kernel BTF spans %#x-%#x, not plausible", start, stop)
	}
	r := virtReaderAt{k.mmu, start}
	spec, err := btf.LoadSpec(r, int64(stop-start))
	var fault *dump.FaultError
	if err == nil || !errors.As(err, &fault) {
		return spec, err
	}
	// Pages that cannot be read lose what is in them, nothing more where
	// that is sound: a hole in the string section loses the types named
	// there; a hole among the type records loses the record it cuts and
	// every one after it (records are variable-length: past a hole neither
	// where one starts nor its type ID is known), and keeps those before.
	// The blob is read again with the holes as zeros, which btf is told of.
	var h [24]byte // struct btf_header (include/uapi/linux/btf.h)
	if _, herr := r.ReadAt(h[:], 0); herr != nil {
		return nil, err
	}
	hdrLen, typeOff, typeLen := uint64(le32(h[4:])), uint64(le32(h[8:])), uint64(le32(h[12:]))
	strOff, strLen := uint64(le32(h[16:])), uint64(le32(h[20:]))
	typesLo, typesHi := hdrLen+typeOff, hdrLen+typeOff+typeLen
	strLo, strHi := hdrLen+strOff, hdrLen+strOff+strLen
	if typesHi > stop-start || strHi > stop-start || typesLo > typesHi || strLo > strHi {
		return nil, err // btf has said why
	}
	holes := findHoles(r, start, typesLo, strHi)
	var dmg btf.Damage
	for _, ho := range holes {
		switch {
		case ho.lo < typesHi && ho.hi > typesLo:
			if dmg.TypesEnd == 0 {
				dmg.TypesEnd = int64(max(ho.lo, typesLo))
			}
		case ho.lo < strHi && ho.hi > strLo:
			dmg.StringHoles = append(dmg.StringHoles, [2]int64{int64(max(ho.lo, strLo)), int64(min(ho.hi, strHi))})
		}
	}
	if len(holes) == 0 || dmg.TypesEnd == int64(typesLo) {
		return nil, err
	}
	spec2, err2 := btf.LoadDamagedSpec(&zeroHoles{r: r, holes: holes}, int64(stop-start), dmg)
	if err2 != nil {
		return nil, fmt.Errorf("%w; read around the unreadable pages: %v", err, err2)
	}
	first, loss := spec2.Lost()
	switch {
	case first != 0:
		k.warnings = append(k.warnings, fmt.Sprintf("kernel BTF: %d page(s) unreadable (%v): %v; the outputs that need them fail, naming the type", len(holes), holes[0].err, loss))
	default:
		k.warnings = append(k.warnings, fmt.Sprintf("kernel BTF: %d page(s) of its string section unreadable (%v): the types named there are lost", len(holes), holes[0].err))
	}
	return spec2, nil
}

// btfHole is a page of the kernel's BTF that cannot be read: blob offsets
// [lo, hi).
type btfHole struct {
	lo, hi uint64
	err    error
}

// maxBTFHoles caps the holes recorded; past it the blob is given up (a
// blob that full of holes is not worth reading around).
const maxBTFHoles = 4096

// findHoles reads [lo, hi) of the blob that starts at virtual address base
// page by page, and returns the pages that cannot be read.
func findHoles(r io.ReaderAt, base, lo, hi uint64) []btfHole {
	var holes []btfHole
	var page [4096]byte
	for pos := lo; pos < hi; {
		n := min(hi-pos, 4096-(base+pos)%4096)
		if _, err := r.ReadAt(page[:n], int64(pos)); err != nil {
			if len(holes) == maxBTFHoles {
				return holes
			}
			if l := len(holes); l > 0 && holes[l-1].hi == pos {
				holes[l-1].hi = pos + n
			} else {
				holes = append(holes, btfHole{pos, pos + n, err})
			}
		}
		pos += n
	}
	return holes
}

// zeroHoles reads a BTF blob with its holes as zeros.
type zeroHoles struct {
	r     io.ReaderAt
	holes []btfHole
}

func (z *zeroHoles) ReadAt(p []byte, off int64) (int, error) {
	if n, err := z.r.ReadAt(p, off); err == nil {
		return n, nil
	}
	lo, hi := uint64(off), uint64(off)+uint64(len(p))
	for pos := lo; pos < hi; {
		// The next hole at or after pos, or the end.
		next, end := hi, hi
		for _, h := range z.holes {
			if h.hi > pos && h.lo < next {
				next, end = max(h.lo, pos), min(h.hi, hi)
			}
		}
		if next > pos {
			if _, err := z.r.ReadAt(p[pos-lo:next-lo], int64(pos)); err != nil {
				return int(pos - lo), err
			}
		}
		if next < hi {
			clear(p[next-lo : end-lo])
		}
		pos = end
	}
	return len(p), nil
}

// checkVmlinux compares the vmlinux's build-id with VMCOREINFO BUILD-ID, or,
// for kernels that do not export it, its banner with OSRELEASE.
func (k *Kernel) checkVmlinux(v *File) error {
	if err := CheckVmlinuxFile(v.R); err != nil {
		return &VmlinuxError{Name: v.Name, Err: err}
	}
	if err := elfcheck.Tables(v.R); err != nil {
		return &VmlinuxError{Name: v.Name, Err: err}
	}
	f, err := elf.NewFile(v.R)
	if err != nil {
		return &VmlinuxError{Name: v.Name, Err: fmt.Errorf("not an ELF file: %w", err)}
	}
	if f.Type != elf.ET_EXEC || f.Machine != elf.EM_X86_64 {
		return &VmlinuxError{Name: v.Name, Err: fmt.Errorf("%v %v, want an x86_64 vmlinux (ET_EXEC)", f.Type, f.Machine)}
	}
	id := buildID(f)
	mismatch := func(msg string) error {
		return &MismatchError{Vmlinux: v.Name, DumpRelease: k.info.OSRelease, DumpBuildID: k.info.BuildID,
			VmlinuxRelease: bannerRelease(f), VmlinuxBuildID: id, msg: msg}
	}
	if k.info.BuildID != "" && id != "" {
		if !strings.EqualFold(k.info.BuildID, id) {
			return mismatch(fmt.Sprintf("%s has build-id %s, the dump's kernel (release %s) has build-id %s: give the vmlinux of %s, or none to read the dump alone",
				v.Name, id, k.info.OSRelease, k.info.BuildID, k.info.OSRelease))
		}
		return nil
	}
	banner := elfString(f, "linux_banner")
	if banner == "" {
		return &VmlinuxError{Name: v.Name, Err: errors.New("no build-id and no linux_banner to compare with the dump")}
	}
	if !strings.HasPrefix(banner, "Linux version "+k.info.OSRelease+" ") {
		return mismatch(fmt.Sprintf("%s is %q, the dump's kernel is %s", v.Name, strings.TrimSpace(banner), k.info.OSRelease))
	}
	return nil
}

// VmlinuxError is a vmlinux that cannot be used: not a vmlinux at all
// (ErrNotVmlinux), damaged, or not x86_64. errors.Is(err, ErrBadVmlinux)
// tells it.
type VmlinuxError struct {
	Name string // the vmlinux's name
	Err  error
}

// ErrBadVmlinux is what a *VmlinuxError is.
var ErrBadVmlinux = errors.New("the vmlinux cannot be used")

func (e *VmlinuxError) Error() string        { return e.Name + ": " + e.Err.Error() }
func (e *VmlinuxError) Unwrap() error        { return e.Err }
func (e *VmlinuxError) Is(target error) bool { return target == ErrBadVmlinux }

// MismatchError names the two kernels when the vmlinux is not the dump's:
// the dump's (VMCOREINFO) and the vmlinux's (its build-id note and
// linux_banner). Empty means unknown. errors.Is(err, ErrMismatch) tells it.
type MismatchError struct {
	Vmlinux                        string // the vmlinux's name
	DumpRelease, DumpBuildID       string
	VmlinuxRelease, VmlinuxBuildID string
	msg                            string
}

func (e *MismatchError) Error() string        { return ErrMismatch.Error() + ": " + e.msg }
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// bannerRelease is the release in the vmlinux's linux_banner, or "".
func bannerRelease(f *elf.File) string {
	rest, ok := strings.CutPrefix(elfString(f, "linux_banner"), "Linux version ")
	if !ok {
		return ""
	}
	release, _, _ := strings.Cut(rest, " ")
	return release
}

// ErrNotVmlinux is what a *NotVmlinuxError is (errors.Is).
var ErrNotVmlinux = errors.New("not a vmlinux")

// NotVmlinuxError is CheckVmlinuxFile's error: the file is not a vmlinux,
// and What says what it is instead.
type NotVmlinuxError struct{ What string }

func (e *NotVmlinuxError) Error() string        { return ErrNotVmlinux.Error() + ": " + e.What }
func (e *NotVmlinuxError) Is(target error) bool { return target == ErrNotVmlinux }

// CheckVmlinuxFile tells from its ELF header whether r can be a vmlinux,
// saying what it is when it cannot (*NotVmlinuxError): not ELF (a
// compressed vmlinuz, say), an ELF core dump (a vmcore given in the
// vmlinux's place), or another ELF file.
func CheckVmlinuxFile(r io.ReaderAt) error {
	var h [20]byte
	n, _ := r.ReadAt(h[:], 0)
	if n < 4 || string(h[:4]) != elf.ELFMAG {
		return &NotVmlinuxError{What: fmt.Sprintf("not an ELF file (it starts %q)", h[:min(n, 4)])}
	}
	if n < 20 {
		return &NotVmlinuxError{What: "the file ends inside its ELF header"}
	}
	var typ elf.Type
	switch elf.Data(h[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		typ = elf.Type(uint16(h[16]) | uint16(h[17])<<8)
	case elf.ELFDATA2MSB:
		typ = elf.Type(uint16(h[17]) | uint16(h[16])<<8)
	}
	switch typ {
	case elf.ET_EXEC:
		return nil
	case elf.ET_CORE:
		return &NotVmlinuxError{What: "it is an ELF core dump (a vmcore): give it as the dump, and the kernel's vmlinux with --vmlinux"}
	}
	return &NotVmlinuxError{What: fmt.Sprintf("an ELF file of type %v, not an executable kernel image", typ)}
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
		// A compressed section has no ReaderAt in debug/elf.
		if s.Value < sec.Addr || sec.Type == elf.SHT_NOBITS || sec.Flags&elf.SHF_COMPRESSED != 0 {
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
	if k.btf != nil {
		if v, err := k.btf.VarByName(name); err == nil {
			return v.Type, nil
		}
	}
	if k.prog != nil && k.prog.Vars != nil {
		return k.prog.Vars.VarType(name)
	}
	return nil, fmt.Errorf("type of %s: not in BTF, and no DWARF", name)
}
