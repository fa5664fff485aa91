package linux

import (
	"errors"
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// This file answers PageSlab() for a pfn as the kernel decides it for an
// address (mm/slab.h: page_slab(virt_to_page(addr)), folio_test_slab() of
// the folio): the struct page of the compound head says slab. The struct
// pages (vmemmap) are kept by every makedumpfile dump level, so this can
// be asked of a page the dump lacks.

// slabTest is how a kernel marks a slab page.
type slabTest int

const (
	// slabFlag: bit PG_slab (enum pageflags) of page->flags, before v6.10.
	slabFlag slabTest = iota
	// slabTypeBit: v6.10 (46df8e73a4a3 "mm: free up PG_slab") made slab a
	// page type: PG_slab of enum pagetype is a bit of page->page_type
	// that is cleared when set, under PAGE_TYPE_BASE:
	// (page_type & (PAGE_TYPE_BASE | PG_slab)) == PAGE_TYPE_BASE.
	slabTypeBit
	// slabTypeByte: v6.12 (4ffca5a96678 "mm: support only one page_type
	// per page"): the type is the top byte of page->page_type,
	// page_type >> 24 == PGTY_slab (enum pagetype), as on 6.12 and 7.2.
	slabTypeByte
)

// SlabPages answers PageSlab for pfns of one kernel; NewSlabPages probes
// how that kernel marks slab pages and finds compound heads once.
type SlabPages struct {
	p       *object.Program
	pageT   ktype.Type
	pageSz  uint64
	vmemmap uint64 // vmemmap_base: pfn_to_page() with SPARSEMEM_VMEMMAP
	// head is the member of a tail page that leads to its head:
	// compound_head (head + 1) until the kernel renamed it compound_info,
	// which holds a mask instead (head = page & info) where
	// compound_info_has_mask(): CONFIG_HUGETLB_PAGE_OPTIMIZE_VMEMMAP and a
	// power-of-two sizeof(struct page) (7.2's include/linux/page-flags.h).
	head     string
	headMask bool
	test     slabTest
	value    uint64 // PG_slab (bit number or type bit), PGTY_slab
	typeBase uint64 // PAGE_TYPE_BASE, for slabTypeBit
}

// NewSlabPages probes the kernel's struct page layout and slab marking.
func NewSlabPages(p *object.Program) (*SlabPages, error) {
	s := &SlabPages{p: p}
	var err error
	if s.pageT, err = p.Type("struct page"); err != nil {
		return nil, err
	}
	if s.pageSz, err = ktype.Sizeof(s.pageT); err != nil || s.pageSz == 0 {
		return nil, fmt.Errorf("sizeof(struct page): %v", err)
	}
	if s.vmemmap, err = p.VarAs("vmemmap_base", "unsigned long").Uint(); err != nil {
		return nil, err
	}
	switch {
	case p.HasMember("struct page", "compound_info"):
		// hugetlb_vmemmap.c is built with CONFIG_HUGETLB_PAGE_OPTIMIZE_VMEMMAP.
		s.head = "compound_info"
		s.headMask = HasSymbol(p, "hugetlb_vmemmap_optimize_folio") && s.pageSz&(s.pageSz-1) == 0
	case p.HasMember("struct page", "compound_head"):
		s.head = "compound_head"
	default:
		return nil, errors.New("struct page has neither compound_info nor compound_head")
	}
	pgty, okPgty, err1 := enumerator(p, "enum pagetype", "PGTY_slab")
	typeBit, okTypeBit, err2 := enumerator(p, "enum pagetype", "PG_slab")
	base, okBase, err3 := enumerator(p, "enum pagetype", "PAGE_TYPE_BASE")
	flagBit, okFlag, err4 := enumerator(p, "enum pageflags", "PG_slab")
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	switch {
	case okPgty:
		s.test, s.value = slabTypeByte, uint64(pgty)&0xff
	case okTypeBit && okBase:
		s.test, s.value, s.typeBase = slabTypeBit, uint64(typeBit)&0xffffffff, uint64(base)&0xffffffff
	case okFlag && flagBit >= 0 && flagBit < 64:
		s.test, s.value = slabFlag, uint64(flagBit)
	default:
		return nil, errors.New("no slab page marking known: neither PGTY_slab, PG_slab with PAGE_TYPE_BASE (enum pagetype) nor PG_slab (enum pageflags)")
	}
	return s, nil
}

// enumerator looks up an enumerator of one enum type: found false, no
// error, when the kernel has no such enum or enumerator.
func enumerator(p *object.Program, enum, name string) (int64, bool, error) {
	t, err := p.Type(enum)
	if err != nil {
		if errors.Is(err, ktype.ErrNotFound) {
			return 0, false, nil
		}
		return 0, false, err
	}
	e, ok := ktype.Underlying(t).(*ktype.Enum)
	if !ok {
		return 0, false, fmt.Errorf("%s is not an enum", enum)
	}
	v, ok := e.Value(name)
	return v, ok, nil
}

// PageSlab says whether the page of pfn belongs to a slab: PageSlab() of
// its compound head, as page_slab() decides.
func (s *SlabPages) PageSlab(pfn uint64) (bool, error) {
	if pfn >= 1<<(52-PageShift) { // beyond MAX_PHYSMEM_BITS
		return false, fmt.Errorf("pfn %#x: beyond physical memory", pfn)
	}
	page := s.vmemmap + pfn*s.pageSz
	info, err := s.p.Object(s.pageT, page, fmt.Sprintf("pfn_to_page(%#x)", pfn)).Member(s.head).Uint()
	if err != nil {
		return false, err
	}
	head := page
	switch {
	case info&1 == 0: // not a tail page
	case s.headMask:
		head = page & info
	default:
		head = info - 1
	}
	o := s.p.Object(s.pageT, head, fmt.Sprintf("compound_head(pfn_to_page(%#x))", pfn))
	switch s.test {
	case slabFlag:
		flags, err := o.Member("flags").Uint()
		return flags>>s.value&1 != 0, err
	case slabTypeBit:
		t, err := o.Member("page_type").Uint()
		return t&(s.typeBase|s.value) == s.typeBase, err
	default:
		t, err := o.Member("page_type").Uint()
		return t>>24&0xff == s.value, err
	}
}
