// Package x86 translates the crashed x86_64 kernel's virtual addresses to
// physical ones: the kernel-text mapping, the direct map, and a walk of the
// kernel's own 4- or 5-level page tables (after arch/x86: page_64_types.h,
// pgtable_types.h, and Documentation/x86/x86_64/mm.rst for the layout).
//
// Typical use: NewFromVMCOREINFO, then SetPageOffset with page_offset_base
// once it is known (ReadLayout, given symbol addresses, or FindPageOffset
// from the page tables alone) and SetDirectMapSize with the end of physical
// memory; ReadVirtAt then serves kernel reads, and WithPGD a task's address
// space.
//
// Security: page-table entries come from the dump and are untrusted. The walk
// has a fixed depth, so a table that points at itself cannot loop, and
// physical addresses are masked to the architecture's 52 bits.
package x86

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/vmcore-report/vmcore-report/kernel/vmcoreinfo"
)

// PhysReader reads the crashed machine's physical memory.
type PhysReader interface {
	ReadPhysAt(p []byte, paddr uint64) (int, error)
}

// Layout constants of x86_64 Linux (arch/x86/include/asm/page_64_types.h,
// pgtable_64_types.h).
const (
	StartKernelMap = 0xffffffff80000000 // __START_KERNEL_map

	PageOffsetBaseL4 = 0xffff888000000000 // __PAGE_OFFSET_BASE_L4
	PageOffsetBaseL5 = 0xff11000000000000 // __PAGE_OFFSET_BASE_L5
	VmallocBaseL4    = 0xffffc90000000000 // __VMALLOC_BASE_L4
	VmallocBaseL5    = 0xffa0000000000000 // __VMALLOC_BASE_L5
	VmemmapBaseL4    = 0xffffea0000000000 // __VMEMMAP_BASE_L4
	VmemmapBaseL5    = 0xffd4000000000000 // __VMEMMAP_BASE_L5

	PageSize  = 1 << 12
	LargeSize = 1 << 21 // PMD_SIZE: a 2 MiB page
	HugeSize  = 1 << 30 // PUD_SIZE: a 1 GiB page

	// kernelImageSizeKASLR is KERNEL_IMAGE_SIZE with CONFIG_RANDOMIZE_BASE;
	// without it the image area is 512 MiB and modules start right after.
	kernelImageSizeKASLR = 1 << 30
	kernelImageSizeFixed = 512 << 20

	// defaultDirectMapSize is how much of the direct map the fast path
	// trusts before SetDirectMapSize: the KASLR memory layout
	// (arch/x86/mm/kaslr.c) gives the direct-map region at least
	// DIV_ROUND_UP(memory, 1 TiB) TiB, so the first TiB after
	// page_offset_base is always direct map.
	defaultDirectMapSize = 1 << 40
)

// Page-table entry bits (arch/x86/include/asm/pgtable_types.h).
const (
	pagePresent = 1 << 0 // _PAGE_PRESENT
	pagePSE     = 1 << 7 // _PAGE_PSE: a 2 MiB / 1 GiB leaf at PMD / PUD level
	// physAddrMask is __PHYSICAL_MASK (52 bits) & PAGE_MASK: it drops the
	// flag bits 0-11 and the NX, protection-key and software bits 52-63.
	physAddrMask = (1<<52 - 1) &^ (PageSize - 1)
)

// ErrNotMapped is wrapped by a *FaultError when the address has no mapping
// (a non-present page-table entry, or a non-canonical address).
var ErrNotMapped = errors.New("address not mapped")

// ErrNonCanonical is wrapped (together with ErrNotMapped) when the address
// is not canonical for the paging mode.
var ErrNonCanonical = fmt.Errorf("non-canonical address: %w", ErrNotMapped)

// FaultError reports a virtual address that could not be translated or
// read.
type FaultError struct {
	Space string // "virt"
	Addr  uint64 // the address being translated or read
	PA    uint64 // the physical address involved (entry or data), if HasPA
	HasPA bool
	Level string // page-table level where the walk stopped ("pgd", "p4d", "pud", "pmd", "pte"), if any
	Err   error
}

func (e *FaultError) Error() string {
	s := fmt.Sprintf("read %s %#x", e.Space, e.Addr)
	if e.Level != "" {
		s += " (" + e.Level + " entry"
		if e.HasPA {
			s += fmt.Sprintf(" at phys %#x", e.PA)
		}
		s += ")"
	} else if e.HasPA {
		s += fmt.Sprintf(" (phys %#x)", e.PA)
	}
	return s + ": " + e.Err.Error()
}

func (e *FaultError) Unwrap() error { return e.Err }

// Config describes the crashed kernel's translation state; NewFromVMCOREINFO
// fills it from VMCOREINFO.
type Config struct {
	PhysBase        uint64 // NUMBER(phys_base): the physical address __START_KERNEL_map maps to
	KernelOffset    uint64 // KERNELOFFSET: the KASLR text offset (informational)
	PGD             uint64 // physical address of init_top_pgt
	L5              bool   // NUMBER(pgtable_l5_enabled): 5-level paging
	SMEMask         uint64 // NUMBER(sme_mask): the memory-encryption bit, cleared from entries
	KernelImageSize uint64 // NUMBER(KERNEL_IMAGE_SIZE); 0 = pick safely (see kernelTextSize)
	PageOffset      uint64 // page_offset_base; 0 = unknown yet (see SetPageOffset)
}

// Translator translates kernel virtual addresses of a crashed machine.
// It is safe for concurrent use.
type Translator struct {
	r        PhysReader
	cfg      Config
	levels   int
	addrMask uint64 // physAddrMask without the SME bit
	textSize uint64

	pageOffset    atomic.Uint64 // 0 = unknown
	directMapSize atomic.Uint64

	tables *tableCache
	tlb    *tlb
}

// New returns a translator for the page tables rooted at c.PGD. It reads the
// root table once, so that a wrong PGD fails here rather than on first use.
func New(r PhysReader, c Config) (*Translator, error) {
	if r == nil {
		return nil, errors.New("x86: nil PhysReader")
	}
	if c.PGD%PageSize != 0 || c.PGD&^physAddrMask != 0 {
		return nil, fmt.Errorf("x86: page table root %#x is not a page-aligned physical address", c.PGD)
	}
	t := &Translator{
		r:        r,
		cfg:      c,
		levels:   4,
		addrMask: physAddrMask &^ c.SMEMask,
		textSize: kernelTextSize(c),
		tables:   newTableCache(r, defaultTableCachePages),
		tlb:      new(tlb),
	}
	if c.L5 {
		t.levels = 5
	}
	t.directMapSize.Store(defaultDirectMapSize)
	t.pageOffset.Store(c.PageOffset)
	// An unreadable root is not fatal: in a truncated dump the kernel text
	// (via phys_base) and the direct map (once page_offset_base is known)
	// still translate without tables; walks fail with the root's error.
	return t, nil
}

// kernelTextSize is how much of [__START_KERNEL_map, ...) the text fast path
// covers. Modules start right after KERNEL_IMAGE_SIZE, so guessing too
// large would mistranslate them: without the kernel's own number, use 1 GiB
// only when KASLR moved the kernel (CONFIG_RANDOMIZE_BASE=y implies 1 GiB),
// and the always-safe 512 MiB otherwise.
func kernelTextSize(c Config) uint64 {
	switch {
	case c.KernelImageSize > 0 && c.KernelImageSize <= kernelImageSizeKASLR:
		return c.KernelImageSize
	case c.KernelOffset != 0:
		return kernelImageSizeKASLR
	default:
		return kernelImageSizeFixed
	}
}

// NewFromVMCOREINFO builds a translator from the crashed kernel's
// VMCOREINFO: NUMBER(phys_base), SYMBOL(init_top_pgt) (whose address is
// already KASLR-relocated, and lies in the kernel-text mapping, so its
// physical address is va - __START_KERNEL_map + phys_base),
// NUMBER(pgtable_l5_enabled), NUMBER(sme_mask), NUMBER(KERNEL_IMAGE_SIZE)
// and KERNELOFFSET.
func NewFromVMCOREINFO(r PhysReader, vi *vmcoreinfo.Info) (*Translator, error) {
	if vi == nil {
		return nil, errors.New("x86: no VMCOREINFO")
	}
	physBase, ok := vi.Number("phys_base")
	if !ok {
		return nil, errors.New("x86: VMCOREINFO lacks NUMBER(phys_base)")
	}
	var c Config
	c.PhysBase = uint64(physBase)
	// init_top_pgt since 4.13; before that init_level4_pgt. swapper_pg_dir
	// is #defined to init_top_pgt on x86_64.
	var pgdVA uint64
	for _, name := range []string{"init_top_pgt", "swapper_pg_dir", "init_level4_pgt"} {
		if v, ok := vi.Symbol(name); ok {
			pgdVA = v
			break
		}
	}
	if pgdVA == 0 {
		return nil, errors.New("x86: VMCOREINFO lacks SYMBOL(init_top_pgt)")
	}
	if pgdVA < StartKernelMap {
		return nil, fmt.Errorf("x86: init_top_pgt %#x is outside the kernel text mapping", pgdVA)
	}
	c.PGD = pgdVA - StartKernelMap + c.PhysBase
	if v, ok := vi.Number("pgtable_l5_enabled"); ok {
		c.L5 = v != 0
	}
	if v, ok := vi.Number("sme_mask"); ok {
		c.SMEMask = uint64(v)
	}
	if v, ok := vi.Number("KERNEL_IMAGE_SIZE"); ok && v > 0 {
		c.KernelImageSize = uint64(v)
	}
	if vi.HasKernelOffset {
		c.KernelOffset = vi.KernelOffset
	}
	return New(r, c)
}

// Config returns the configuration the translator was built with (with the
// page offset as currently set).
func (t *Translator) Config() Config {
	c := t.cfg
	c.PageOffset = t.pageOffset.Load()
	return c
}

// SetPageOffset records page_offset_base (the start of the direct map) and
// enables the direct-map fast path: pa = va - base.
func (t *Translator) SetPageOffset(base uint64) { t.pageOffset.Store(base) }

// PageOffset returns page_offset_base as set, or 0.
func (t *Translator) PageOffset() uint64 { return t.pageOffset.Load() }

// SetDirectMapSize sets how far past page_offset_base the direct-map fast
// path applies; pass the end of the highest physical range. Addresses
// beyond it are translated by walking the page tables, which is always
// correct, only slower. The default is 1 TiB.
func (t *Translator) SetDirectMapSize(size uint64) {
	if size > 0 {
		t.directMapSize.Store(size)
	}
}

// TableCacheStats reports the page-table cache's hits and misses (reads of a
// table page from the dump).
func (t *Translator) TableCacheStats() (hits, misses uint64) {
	t.tables.mu.Lock()
	defer t.tables.mu.Unlock()
	return t.tables.hits, t.tables.misses
}

// WithPGD returns a translator for another address space (a task's
// mm->pgd, as a physical address) that shares this one's reader,
// configuration and page-table cache.
func (t *Translator) WithPGD(pgd uint64) (*Translator, error) {
	if pgd%PageSize != 0 || pgd&^physAddrMask != 0 {
		return nil, fmt.Errorf("x86: page table root %#x is not a page-aligned physical address", pgd)
	}
	n := &Translator{
		r:        t.r,
		cfg:      t.cfg,
		levels:   t.levels,
		addrMask: t.addrMask,
		textSize: t.textSize,
		tables:   t.tables,
		tlb:      new(tlb),
	}
	n.cfg.PGD = pgd
	n.pageOffset.Store(t.pageOffset.Load())
	n.directMapSize.Store(t.directMapSize.Load())
	return n, nil
}

var levelNames = [...]string{"pte", "pmd", "pud", "p4d", "pgd"}

// Translate returns the physical address of va and the size of the page
// that maps it: 4 KiB, 2 MiB or 1 GiB from a page-table walk, and PageSize
// from the linear fast paths (kernel text, direct map), whose real mapping
// size is not looked up. Errors are *FaultError, wrapping ErrNotMapped for a
// missing mapping or the reader's error for an unreadable page table.
func (t *Translator) Translate(va uint64) (pa uint64, size uint64, err error) {
	if va-StartKernelMap < t.textSize {
		return va - StartKernelMap + t.cfg.PhysBase, PageSize, nil
	}
	if base := t.pageOffset.Load(); base != 0 && va-base < t.directMapSize.Load() {
		return va - base, PageSize, nil
	}
	if pa, size, ok := t.tlb.lookup(va); ok {
		return pa, size, nil
	}
	pa, size, err = t.walk(va)
	if err == nil {
		t.tlb.store(va, pa, size)
	}
	return pa, size, err
}

// walk translates va through the page tables.
func (t *Translator) walk(va uint64) (uint64, uint64, error) {
	vaBits := uint(48)
	if t.levels == 5 {
		vaBits = 57
	}
	if top := int64(va) >> (vaBits - 1); top != 0 && top != -1 {
		return 0, 0, &FaultError{Space: "virt", Addr: va, Err: ErrNonCanonical}
	}
	t.tables.mu.Lock()
	defer t.tables.mu.Unlock()
	table := t.cfg.PGD
	for level := t.levels - 1; level >= 0; level-- {
		shift := 12 + 9*uint(level)
		idx := (va >> shift) & 511
		name := levelNames[level]
		if level == t.levels-1 {
			name = "pgd"
		}
		entryPA := table + idx*8
		e, err := t.tables.entryLocked(table, idx, level)
		if err != nil {
			return 0, 0, &FaultError{Space: "virt", Addr: va, PA: entryPA, HasPA: true, Level: name, Err: err}
		}
		if e&pagePresent == 0 {
			return 0, 0, &FaultError{Space: "virt", Addr: va, PA: entryPA, HasPA: true, Level: name, Err: ErrNotMapped}
		}
		// PSE marks a leaf only at PUD (1 GiB) and PMD (2 MiB) level; the
		// bit is reserved above and is PAT on 4 KiB entries.
		if level == 0 || (level <= 2 && e&pagePSE != 0) {
			size := uint64(1) << shift
			return e&t.addrMask&^(size-1) | va&(size-1), size, nil
		}
		table = e & t.addrMask
	}
	return 0, 0, &FaultError{Space: "virt", Addr: va, Err: errors.New("page-table walk did not end")}
}

// ReadVirtAt reads len(p) bytes at virtual address va, translating each page
// and merging physically contiguous pieces into one read. It returns the
// number of bytes read; a shorter count comes with a *FaultError naming the
// first virtual address that failed.
func (t *Translator) ReadVirtAt(p []byte, va uint64) (int, error) {
	done := 0
	for done < len(p) {
		cur := va + uint64(done)
		pa, size, err := t.Translate(cur)
		if err != nil {
			return done, err
		}
		// Extend the run while the next pages follow physically.
		run := size - pa&(size-1)
		for uint64(done)+run < uint64(len(p)) {
			next := cur + run
			npa, nsize, err := t.Translate(next)
			if err != nil || npa != pa+run {
				break
			}
			run += nsize - npa&(nsize-1)
		}
		if rest := uint64(len(p) - done); run > rest {
			run = rest
		}
		n, err := t.r.ReadPhysAt(p[done:done+int(run)], pa)
		if n < 0 || n > int(run) {
			n = 0
		}
		done += n
		if err == nil && uint64(n) < run {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return done, &FaultError{Space: "virt", Addr: va + uint64(done), PA: pa + uint64(n), HasPA: true, Err: err}
		}
	}
	return done, nil
}
