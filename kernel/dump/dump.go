// Package dump reads Linux kernel crash dumps as physical memory, lazily,
// through io.ReaderAt: nothing larger than a chunk of metadata or a run of
// pages is ever read at once, so multi-GiB dumps work in a browser worker.
//
// Formats (Open probes them in this order):
//
//   - Flattened (makedumpfile -F, QEMU's kdump-* output): a 4096-byte
//     "makedumpfile" header, then big-endian {offset, size} records each
//     followed by size bytes of the real file, ended by {-1, -1}. One
//     streaming pass indexes the records; the inner file (kdump-compressed
//     or ELF) is then read through the index.
//   - kdump-compressed ("KDUMP   ", makedumpfile's default): disk_dump_header,
//     kdump_sub_header (versions 1–6, with the notes and VMCOREINFO), a
//     bitmap of the RAM and a bitmap of the dumped pages, one page_desc per
//     dumped page in PFN order, then page data stored raw or compressed
//     with zlib, LZO1X, snappy or zstd. --split writes several such files,
//     each covering a PFN range (OpenParts).
//   - ELF cores (/proc/vmcore copies, QEMU dump-guest-memory, makedumpfile
//     -E): PT_LOAD segments map physical ranges to file offsets, PT_NOTE
//     holds NT_PRSTATUS per CPU, VMCOREINFO and QEMU's CPU states.
//
// A page that is not in the dump is never read as zeros: a read fails with
// a *FaultError wrapping ErrExcluded (filtered out by the dump level),
// ErrNoMemory (no RAM there), ErrTruncated (the file or the incomplete dump
// stops before it) or ErrCorrupt. Only data the producer itself stored as
// zeros (makedumpfile's shared zero page) reads as zeros.
//
// Security: headers are checked for sizes and offsets before anything is
// allocated or read, and every count taken from the file is bounded, but a
// crafted dump can still make reads return wrong bytes; nothing here is a
// validator.
package dump

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/vmcore-report/vmcore-report/internal/lru"
)

// Part is one file of a dump: the whole dump, or one --split part.
type Part struct {
	Name string
	R    io.ReaderAt
	Size int64
}

// Range is a physical address range [Start, End).
type Range struct {
	Start, End uint64
}

// Utsname is the crashed kernel's struct new_utsname as the kdump header
// records it (QEMU fills only Machine).
type Utsname struct {
	Sysname, Nodename, Release, Version, Machine, Domainname string
}

// PartInfo describes one file of a dump.
type PartInfo struct {
	Name        string
	Size        int64  // bytes of the file
	StartPFN    uint64 // PFN range the part serves
	EndPFN      uint64 // exclusive
	Split       bool   // a --split part
	Flattened   bool
	FlatRecords int  // records indexed, for flattened files
	Truncated   bool // the file ends before data it describes
	// WantSize is the size the file should have: the end of the last data
	// its headers describe (kdump: the last page descriptors' data; ELF:
	// the segments). 0 when not known (bitmaps too large to count at open).
	WantSize int64
}

// Info describes a dump. Header values are what the producer wrote and
// may be wrong (QEMU's phys_base is); prefer VMCOREINFO where it overlaps.
type Info struct {
	Format string // "elf", "kdump", "flattened", "kdump-split"
	Inner  string // for "flattened": "kdump" or "elf"

	// Compression is the dump-wide choice the header declares ("none",
	// "zlib", "lzo", "snappy", "zstd"); CompressionsSeen lists the codecs
	// met in the page descriptors read so far (a page that did not shrink
	// is stored raw whatever the choice).
	Compression      string
	CompressionsSeen []string

	DumpLevel   int   // makedumpfile -d; -1 when the format does not record it
	Incomplete  bool  // the producer marked the dump incomplete
	Truncated   bool  // the file ends before data it describes (found at open or since)
	DumpedPages int64 // pages in the dump; -1 when not counted (huge bitmaps, ELF)

	PageSize      int
	MaxPFN        uint64 // PFNs [0, MaxPFN) are described
	HeaderVersion int    // kdump header_version
	WordSize      int    // the dumped machine's sizeof(long)
	BigEndian     bool
	Machine       string // e.g. "x86_64"
	Utsname       Utsname
	Timestamp     time.Time // kdump header time stamp
	Status        uint32    // kdump header status flags
	NrCPUs        int
	CurrentCPU    int
	PhysBase      uint64 // kdump sub-header phys_base; untrusted
	HasPhysBase   bool
	Split         bool // made by --split (one part may be all there is)
	EraseInfoSize int64

	Parts    []PartInfo
	Warnings []string // damage that did not stop Open

	// NotesProblem says why the dump's notes (and so perhaps its
	// VMCOREINFO) could not all be read: cut short, damaged or too large;
	// "" when they could.
	NotesProblem string
}

// memory is what each format reduces to.
type memory interface {
	readPhys(p []byte, addr uint64) (int, error)
	physRanges() ([]Range, error)
	dataRanges() []Range
	updateInfo(*Info)
	setCacheSize(int64)
	close()
}

// Dump is an opened crash dump. Its methods are safe for concurrent use.
type Dump struct {
	mu         sync.Mutex
	info       Info
	mem        memory
	notes      decodedNotes
	ranges     []Range
	rangesDone bool
	closed     bool
}

func newDump(info Info, mem memory, dn decodedNotes) *Dump {
	return &Dump{info: info, mem: mem, notes: dn}
}

// opener opens one format; ErrNotThisFormat passes to the next.
type opener struct {
	name string
	open func(name string, r io.ReaderAt, size int64) (*Dump, error)
}

var openers = []opener{
	{"flattened", openFlattened},
	{"kdump", openKdump},
	{"elf", openELF},
}

// Open opens a dump of size bytes read through r, probing each format.
// name is used in messages. The caller keeps r open while the Dump is used;
// slow readers (a browser File) belong under a chunk cache (wasm/cache.go).
func Open(name string, r io.ReaderAt, size int64) (*Dump, error) {
	if size < 0 {
		return nil, fmt.Errorf("open %s: negative size %d", name, size)
	}
	sr := io.NewSectionReader(r, 0, size)
	for _, o := range openers {
		d, err := o.open(name, sr, size)
		if errors.Is(err, ErrNotThisFormat) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("open %s as %s dump: %w", name, o.name, err)
		}
		return d, nil
	}
	return nil, fmt.Errorf("open %s: %w", name, ErrNotThisFormat)
}

func openKdump(name string, r io.ReaderAt, size int64) (*Dump, error) {
	meta := lru.New[metaKey](defaultMetaCache)
	p, err := openKdumpPart(name, r, size, 0, meta)
	if err != nil {
		return nil, err
	}
	return kdumpDump([]*kdumpPart{p}, meta), nil
}

// splitWarning notes a --split part opened on its own.
func splitWarning(p *kdumpPart) string {
	return fmt.Sprintf("a --split part covering pfn %#x-%#x only; give every part of the split dump together", p.startPFN, p.endPFN)
}

// kdumpDump builds the Dump of one or more kdump parts sorted by PFN.
func kdumpDump(parts []*kdumpPart, meta *lru.LRU[metaKey]) *Dump {
	info := kdumpInfo(parts)
	if len(parts) == 1 && parts[0].split {
		info.Warnings = append(info.Warnings, splitWarning(parts[0]))
	}
	first := parts[0]
	info.NotesProblem = cmp.Or(first.notesProblem, first.vmcoreinfoProblem)
	dn := decodeNotes(first.notes, info.Machine == "x86_64")
	if first.vmcoreinfo != nil {
		dn.vmcoreinfo = first.vmcoreinfo
	}
	return newDump(info, newKdumpMem(parts, meta), dn)
}

func openFlattened(name string, r io.ReaderAt, size int64) (*Dump, error) {
	fr, err := openFlat(r, size)
	if err != nil {
		return nil, err
	}
	meta := lru.New[metaKey](defaultMetaCache)
	p, err := openKdumpPart(name, fr, fr.size, 0, meta)
	if err == nil {
		d := kdumpDump([]*kdumpPart{p}, meta)
		d.info.Format, d.info.Inner = "flattened", "kdump"
		return d, nil
	}
	if !errors.Is(err, ErrNotThisFormat) {
		return nil, fmt.Errorf("inner kdump file: %w", err)
	}
	d, err := openELF(name, fr, fr.size)
	if err == nil {
		d.info.Format, d.info.Inner = "flattened", "elf"
		pi := &d.info.Parts[0]
		pi.Flattened, pi.Size, pi.FlatRecords = true, size, len(fr.segs)
		if fr.truncated {
			pi.Truncated, d.info.Truncated = true, true
		}
		for _, w := range fr.warnings {
			d.info.Warnings = append(d.info.Warnings, name+": "+w)
		}
		return d, nil
	}
	if !errors.Is(err, ErrNotThisFormat) {
		return nil, fmt.Errorf("inner ELF file: %w", err)
	}
	head := make([]byte, 8)
	n, _ := fr.readAtSparse(head, 0)
	return nil, formatErr(flatHeaderSize, "flattened stream holds neither a kdump nor an ELF file", fmt.Sprintf("%q", head[:n]))
}

// OpenParts opens a dump split over several files (makedumpfile --split),
// given in any order, or a single file like Open. Each part may itself be
// flattened. PFNs that no given part covers read as ErrTruncated.
func OpenParts(parts []Part) (*Dump, error) {
	switch len(parts) {
	case 0:
		return nil, errors.New("open split dump: no parts")
	case 1:
		return Open(parts[0].Name, parts[0].R, parts[0].Size)
	}
	return openSplit(parts)
}

// ReadPhysAt reads len(p) bytes of physical memory at paddr, with
// io.ReaderAt semantics: n < len(p) comes with a *FaultError naming the
// first address that could not be read; the n bytes before it are valid.
func (d *Dump) ReadPhysAt(p []byte, paddr uint64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, &FaultError{Addr: paddr, Err: errors.New("dump closed")}
	}
	return d.mem.readPhys(p, paddr)
}

// Info describes the dump, including what reads have found since Open
// (codecs met, truncation).
func (d *Dump) Info() Info {
	d.mu.Lock()
	defer d.mu.Unlock()
	info := d.info
	info.Parts = slices.Clone(d.info.Parts)
	info.Warnings = slices.Clone(d.info.Warnings)
	d.mem.updateInfo(&info)
	return info
}

// VMCOREINFO returns the raw VMCOREINFO text (KEY=value lines), or nil
// when the dump has none.
func (d *Dump) VMCOREINFO() []byte { return bytes.Clone(d.notes.vmcoreinfo) }

// Notes returns every ELF note of the dump, in file order. The
// descriptors are shared: do not modify them.
func (d *Dump) Notes() []Note { return slices.Clone(d.notes.notes) }

// PRStatus returns the decoded x86_64 NT_PRSTATUS notes, in note order.
func (d *Dump) PRStatus() []PRStatus { return slices.Clone(d.notes.prstatus) }

// QEMUCPUStates returns QEMU's per-vCPU state notes (with CR3), in vCPU
// order; nil for dumps QEMU did not write.
func (d *Dump) QEMUCPUStates() []QEMUCPUState { return slices.Clone(d.notes.qemu) }

// PhysRanges lists the physical ranges that exist in the crashed machine
// (RAM per the kdump 1st bitmap, PT_LOAD ranges for ELF), sorted and
// merged. Pages inside may still be excluded from the dump. Computed on
// first use.
func (d *Dump) PhysRanges() []Range {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.rangesDone && !d.closed {
		rs, err := d.mem.physRanges()
		if err != nil {
			d.info.Warnings = append(d.info.Warnings, fmt.Sprintf("physical ranges: %v", err))
		}
		d.ranges, d.rangesDone = rs, true
	}
	return slices.Clone(d.ranges)
}

// DataRanges lists the physical ranges whose bytes the dump's files hold
// (dumped pages with a descriptor in the file, segment bytes before the
// end of the file), sorted and merged: a scan over them costs what the
// files hold, never what a header claims. Pages inside may still fail to
// read (corrupt data, a cut inside the page data).
func (d *Dump) DataRanges() []Range {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	return d.mem.dataRanges()
}

// SetCacheSize bounds the memory kept in decoded pages (default 64 MiB).
func (d *Dump) SetCacheSize(bytes int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mem.setCacheSize(bytes)
}

// Close drops the caches. It does not close the readers given to Open.
func (d *Dump) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		d.mem.close()
	}
	return nil
}

// sortParts orders kdump parts by their first PFN.
func sortParts(parts []*kdumpPart) {
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].startPFN < parts[j].startPFN })
}
