package linux

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// This file follows the x86_64 SPARSEMEM_VMEMMAP|EXTREME memory model
// (include/linux/mmzone.h, mm/sparse.c) as far as pageblocks need it:
// pfn_to_online_page(), page_zone() and get_pageblock_migratetype().

// x86_64 constants (arch/x86/include/asm/sparsemem.h, mm/sparse.c).
const (
	sectionSizeBits    = 27 // SECTION_SIZE_BITS
	pfnSectionShift    = sectionSizeBits - PageShift
	pagesPerSection    = 1 << pfnSectionShift
	pfnSubsectionShift = 21 - PageShift // SUBSECTION_SHIFT - PAGE_SHIFT
	hugetlbPageOrder   = 9              // HPAGE_SHIFT - PAGE_SHIFT: a PMD
)

// PageblockOrder is pageblock_order (include/linux/pageblock-flags.h): a
// variable with CONFIG_HUGETLB_PAGE_SIZE_VARIABLE; otherwise the huge page
// order (capped at the largest buddy order) when hugetlbfs or, on 6.12,
// THP is built in, else the largest buddy order. (6.1 ignored THP there;
// a 6.1-era kernel with THP but without hugetlbfs is read as 6.12.)
func PageblockOrder(p *object.Program) (int, error) {
	if HasSymbol(p, "pageblock_order") {
		v, err := p.VarAs("pageblock_order", "unsigned int").Uint()
		if err != nil || v > 20 {
			return 0, fmt.Errorf("pageblock_order = %d: %v", v, err)
		}
		return int(v), nil
	}
	n, err := NrPageOrders(p)
	if err != nil {
		return 0, err
	}
	if HugetlbEnabled(p) || HasSymbol(p, "transparent_hugepage_flags") {
		return min(hugetlbPageOrder, n-1), nil
	}
	return n - 1, nil
}

// Pageblocks reads pageblock migratetypes and the zones of pages, caching
// the sections it has seen.
type Pageblocks struct {
	p                *object.Program
	order            int
	nrBits, mtMask   uint64 // NR_PAGEBLOCK_BITS, MIGRATETYPE_MASK
	isolateBit       uint64 // BIT(PB_migrate_isolate), 0 before it existed
	isolateType      uint64 // MIGRATE_ISOLATE
	onlineBit        uint64 // SECTION_IS_ONLINE
	nrSections       uint64 // NR_MEM_SECTIONS
	perRoot          uint64 // SECTIONS_PER_ROOT
	secT             ktype.Type
	flagsOff         uint64 // offsetof(struct mem_section_usage, pageblock_flags)
	vmemmap, pageSz  uint64
	zonesShift, zMax uint64 // page->flags: ZONES_PGSHIFT, ZONES_MASK
	nodesShift, nMax uint64 // NODES_PGSHIFT, NODES_MASK
	sections         map[uint64]*section
}

type section struct {
	online     bool
	subsection uint64   // usage->subsection_map[0]
	flags      []uint64 // usage->pageblock_flags[]
}

// NewPageblocks prepares the reader.
func NewPageblocks(p *object.Program) (*Pageblocks, error) {
	b := &Pageblocks{p: p, sections: map[uint64]*section{}}
	var err error
	if b.order, err = PageblockOrder(p); err != nil {
		return nil, err
	}
	// The section flags became an enum (SECTION_IS_ONLINE_BIT) after 5.10;
	// before, SECTION_IS_ONLINE is the #define 1UL << 2 of
	// include/linux/mmzone.h.
	b.onlineBit = 1 << 2
	if HasEnumValue(p, "SECTION_IS_ONLINE_BIT") {
		online, err := EnumValue(p, "SECTION_IS_ONLINE_BIT")
		if err != nil {
			return nil, err
		}
		b.onlineBit = 1 << online
	}
	if HasEnumValue(p, "PB_migrate_isolate") {
		// v6.17 ("mm/page_isolation: make page isolation a standalone
		// bit"): PB_migrate_0..2 hold the type, PB_migrate_isolate marks
		// MIGRATE_ISOLATE apart from it, and NR_PAGEBLOCK_BITS is
		// __NR_PAGEBLOCK_BITS rounded up to a power of two.
		n, err1 := EnumValue(p, "__NR_PAGEBLOCK_BITS")
		last, err2 := EnumValue(p, "PB_migrate_2")
		iso, err3 := EnumValue(p, "PB_migrate_isolate")
		isoType, err4 := EnumValue(p, "MIGRATE_ISOLATE")
		if e := errors.Join(err1, err2, err3, err4); e != nil {
			return nil, e
		}
		b.nrBits = 1
		for b.nrBits < uint64(n) {
			b.nrBits <<= 1
		}
		b.mtMask, b.isolateBit, b.isolateType = 1<<(last+1)-1, 1<<iso, uint64(isoType)
	} else {
		nr, err1 := EnumValue(p, "NR_PAGEBLOCK_BITS")
		end, err2 := EnumValue(p, "PB_migrate_end")
		start, err3 := EnumValue(p, "PB_migrate")
		if e := errors.Join(err1, err2, err3); e != nil {
			return nil, e
		}
		b.nrBits, b.mtMask = uint64(nr), 1<<(end-start+1)-1
	}
	physBits := uint64(46) // MAX_PHYSMEM_BITS
	if HasSymbol(p, "__pgtable_l5_enabled") {
		if l5, err := p.VarAs("__pgtable_l5_enabled", "unsigned int").Uint(); err == nil && l5 != 0 {
			physBits = 52
		}
	}
	b.nrSections = 1 << (physBits - sectionSizeBits)
	if b.secT, err = p.Type("struct mem_section"); err != nil {
		return nil, err
	}
	secSize, err := ktype.Sizeof(b.secT)
	if err != nil || secSize == 0 {
		return nil, fmt.Errorf("sizeof(struct mem_section): %v", err)
	}
	b.perRoot = (1 << PageShift) / secSize
	usageT, err := p.Type("struct mem_section_usage")
	if err != nil {
		return nil, err
	}
	if b.flagsOff, err = ktype.MemberOffset(usageT, "pageblock_flags"); err != nil {
		return nil, err
	}
	pageT, err := p.Type("struct page")
	if err != nil {
		return nil, err
	}
	if b.pageSz, err = ktype.Sizeof(pageT); err != nil {
		return nil, err
	}
	if b.vmemmap, err = p.VarAs("vmemmap_base", "unsigned long").Uint(); err != nil {
		return nil, err
	}
	// page->flags with SPARSEMEM_VMEMMAP: | NODE | ZONE | … | FLAGS |, from
	// the top (include/linux/page-flags-layout.h). MAX_NUMNODES *
	// MAX_NR_ZONES + 1 is the length of zonelist._zonerefs[].
	zones, err := MaxNrZones(p)
	if err != nil {
		return nil, err
	}
	refs, err := arrayLen(p, "struct zonelist", "_zonerefs")
	if err != nil {
		return nil, err
	}
	maxNodes := uint64(refs-1) / uint64(zones)
	nodesShift := uint64(bits.Len64(maxNodes - 1))
	zonesShift := uint64(bits.Len64(uint64(zones - 1)))
	b.nodesShift, b.nMax = 64-nodesShift, 1<<nodesShift-1
	b.zonesShift, b.zMax = 64-nodesShift-zonesShift, 1<<zonesShift-1
	return b, nil
}

// Order is pageblock_order.
func (b *Pageblocks) Order() int { return b.order }

// section reads mem_section[nr] (__nr_to_section) and its usage maps.
func (b *Pageblocks) section(nr uint64) (*section, error) {
	if s, ok := b.sections[nr]; ok {
		return s, nil
	}
	s := &section{}
	b.sections[nr] = s
	if nr >= b.nrSections {
		return s, nil
	}
	root, err := b.p.VarAs("mem_section", "struct mem_section **").Index(nr / b.perRoot).Uint()
	if err != nil || root == 0 {
		return s, err
	}
	ms := b.p.Object(b.secT, root+(nr%b.perRoot)*mustSize(b.secT), fmt.Sprintf("__nr_to_section(%d)", nr))
	m, err := ms.Member("section_mem_map").Uint()
	if err != nil {
		return s, err
	}
	usage, err := ms.Member("usage").Uint()
	if err != nil || m&b.onlineBit == 0 || usage == 0 {
		return s, err
	}
	s.online = true
	if s.subsection, err = ms.Member("usage").Member("subsection_map[0]").Uint(); err != nil {
		return s, err
	}
	// SECTION_BLOCKFLAGS_BITS, in longs
	n := int((pagesPerSection>>b.order)*b.nrBits+63) / 64
	ul, err := b.p.Type("unsigned long")
	if err != nil {
		return s, err
	}
	s.flags, err = readWords(b.p.Object(ul, usage+b.flagsOff, "usage->pageblock_flags"), n)
	return s, err
}

func mustSize(t ktype.Type) uint64 {
	n, _ := ktype.Sizeof(t)
	return n
}

// OnlinePage mirrors pfn_to_online_page() != NULL: the pfn's section is
// online and its subsection present. (A section shared with ZONE_DEVICE
// needs the dev_pagemap to tell; such pfns are taken as online and left
// to the caller's page_zone() check.)
func (b *Pageblocks) OnlinePage(pfn uint64) (bool, error) {
	s, err := b.section(pfn >> pfnSectionShift)
	if err != nil || !s.online {
		return false, err
	}
	idx := (pfn & (pagesPerSection - 1)) >> pfnSubsectionShift
	return s.subsection&(1<<idx) != 0, nil
}

// Migratetype mirrors get_pageblock_migratetype(pfn_to_page(pfn)) for an
// online pfn.
func (b *Pageblocks) Migratetype(pfn uint64) (uint64, error) {
	s, err := b.section(pfn >> pfnSectionShift)
	if err != nil {
		return 0, err
	}
	bitidx := ((pfn & (pagesPerSection - 1)) >> b.order) * b.nrBits
	if !s.online || bitidx/64 >= uint64(len(s.flags)) {
		return 0, fmt.Errorf("pfn %#x: no pageblock flags", pfn)
	}
	flags := s.flags[bitidx/64] >> (bitidx % 64)
	if flags&b.isolateBit != 0 {
		return b.isolateType, nil
	}
	return flags & b.mtMask, nil
}

// PageZone mirrors page_zone(pfn_to_page(pfn)): the node and zone index in
// the struct page's flags.
func (b *Pageblocks) PageZone(pfn uint64) (nid, zid uint64, err error) {
	t, err := b.p.Type("unsigned long")
	if err != nil {
		return 0, 0, err
	}
	flags, err := b.p.Object(t, b.vmemmap+pfn*b.pageSz, fmt.Sprintf("pfn_to_page(%#x)->flags", pfn)).Uint()
	if err != nil {
		return 0, 0, err
	}
	return flags >> b.nodesShift & b.nMax, flags >> b.zonesShift & b.zMax, nil
}
