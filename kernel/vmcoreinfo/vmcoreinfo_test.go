package vmcoreinfo

import (
	"errors"
	"strings"
	"testing"
)

// sample61 is what crash_save_vmcoreinfo_init() (kernel/crash_core.c),
// log_buf_vmcoreinfo_setup() (kernel/printk/printk.c) and
// arch_crash_save_vmcoreinfo() (arch/x86/kernel/crash_core_64.c) of Debian's
// 6.1 cloud kernel write, in that order, with symbol addresses from its
// System.map moved by a KASLR offset of 0x1a000000 and a negative
// phys_base. CRASHTIME comes last, appended by kdump at crash time.
const sample61 = `OSRELEASE=6.1.0-56-cloud-amd64
BUILD-ID=4f4a1f1d9d4f0b3e0a2b8c7d6e5f4a3b2c1d0e9f
PAGESIZE=4096
SYMBOL(init_uts_ns)=ffffffff9cbf9b60
OFFSET(uts_namespace.name)=0
SYMBOL(node_online_map)=ffffffff9cb35c48
SYMBOL(swapper_pg_dir)=ffffffff9ca10000
SYMBOL(_stext)=ffffffff9b000000
SYMBOL(vmap_area_list)=ffffffff9cb5a230
SYMBOL(mem_section)=ffff9d5c7ffd5000
LENGTH(mem_section)=2048
SIZE(mem_section)=16
OFFSET(mem_section.section_mem_map)=0
NUMBER(SECTION_SIZE_BITS)=27
NUMBER(MAX_PHYSMEM_BITS)=52
SIZE(page)=64
SIZE(pglist_data)=171968
SIZE(zone)=1728
SIZE(free_area)=104
SIZE(list_head)=16
SIZE(nodemask_t)=128
OFFSET(page.flags)=0
OFFSET(page._refcount)=52
OFFSET(page.mapping)=24
OFFSET(page.lru)=8
OFFSET(page._mapcount)=48
OFFSET(page.private)=40
OFFSET(page.compound_dtor)=16
OFFSET(page.compound_order)=17
OFFSET(page.compound_head)=8
OFFSET(pglist_data.node_zones)=0
OFFSET(pglist_data.nr_zones)=169792
OFFSET(pglist_data.node_start_pfn)=169800
OFFSET(pglist_data.node_spanned_pages)=169816
OFFSET(pglist_data.node_id)=169824
OFFSET(zone.free_area)=192
OFFSET(zone.vm_stat)=1536
OFFSET(zone.spanned_pages)=104
OFFSET(free_area.free_list)=0
OFFSET(list_head.next)=0
OFFSET(list_head.prev)=8
LENGTH(zone.free_area)=11
SYMBOL(prb)=ffffffff9ca622c0
SYMBOL(printk_rb_static)=ffffffff9ca622e0
SYMBOL(clear_seq)=ffffffff9d316480
SIZE(printk_ringbuffer)=80
OFFSET(printk_ringbuffer.desc_ring)=0
OFFSET(printk_ringbuffer.text_data_ring)=48
OFFSET(printk_ringbuffer.fail)=72
SIZE(prb_desc_ring)=48
OFFSET(prb_desc_ring.count_bits)=0
OFFSET(prb_desc_ring.descs)=8
OFFSET(prb_desc_ring.infos)=16
OFFSET(prb_desc_ring.head_id)=24
OFFSET(prb_desc_ring.tail_id)=32
SIZE(prb_desc)=24
OFFSET(prb_desc.state_var)=0
OFFSET(prb_desc.text_blk_lpos)=8
SIZE(prb_data_blk_lpos)=16
OFFSET(prb_data_blk_lpos.begin)=0
OFFSET(prb_data_blk_lpos.next)=8
SIZE(printk_info)=88
OFFSET(printk_info.seq)=0
OFFSET(printk_info.ts_nsec)=8
OFFSET(printk_info.text_len)=16
OFFSET(printk_info.caller_id)=20
OFFSET(printk_info.dev_info)=24
SIZE(dev_printk_info)=64
OFFSET(dev_printk_info.subsystem)=0
LENGTH(printk_info_subsystem)=16
OFFSET(dev_printk_info.device)=16
LENGTH(printk_info_device)=48
SIZE(prb_data_ring)=32
OFFSET(prb_data_ring.size_bits)=0
OFFSET(prb_data_ring.data)=8
OFFSET(prb_data_ring.head_lpos)=16
OFFSET(prb_data_ring.tail_lpos)=24
SIZE(atomic_long_t)=8
OFFSET(atomic_long_t.counter)=0
SIZE(latched_seq)=24
OFFSET(latched_seq.val)=8
LENGTH(free_area.free_list)=6
NUMBER(NR_FREE_PAGES)=0
NUMBER(PG_lru)=4
NUMBER(PG_private)=13
NUMBER(PG_swapcache)=10
NUMBER(PG_swapbacked)=19
NUMBER(PG_slab)=9
NUMBER(PG_head_mask)=65536
NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129
NUMBER(HUGETLB_PAGE_DTOR)=2
NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-257
SYMBOL(kallsyms_names)=ffffffff9c175590
SYMBOL(kallsyms_num_syms)=ffffffff9c175588
SYMBOL(kallsyms_token_table)=ffffffff9c2c9d08
SYMBOL(kallsyms_token_index)=ffffffff9c2ca0a0
SYMBOL(kallsyms_offsets)=ffffffff9c1200b0
SYMBOL(kallsyms_relative_base)=ffffffff9c175580
NUMBER(phys_base)=-301989888
SYMBOL(init_top_pgt)=ffffffff9ca10000
NUMBER(pgtable_l5_enabled)=0
SYMBOL(node_data)=ffffffff9cc368e0
LENGTH(node_data)=1024
KERNELOFFSET=1a000000
NUMBER(KERNEL_IMAGE_SIZE)=1073741824
NUMBER(sme_mask)=0
CRASHTIME=1732550000
`

func TestParse61(t *testing.T) {
	// The note's descriptor is padded with NULs to a 4-byte boundary, and the
	// kernel's buffer is zero-filled: both must be ignored.
	info, err := Parse([]byte(sample61 + "\x00\x00\x00"))
	if err != nil {
		t.Fatal(err)
	}
	if info.OSRelease != "6.1.0-56-cloud-amd64" || info.PageSize != 4096 ||
		info.BuildID != "4f4a1f1d9d4f0b3e0a2b8c7d6e5f4a3b2c1d0e9f" {
		t.Errorf("header: %q %d %q", info.OSRelease, info.PageSize, info.BuildID)
	}
	if !info.HasKernelOffset || info.KernelOffset != 0x1a000000 {
		t.Errorf("KERNELOFFSET = %#x, %v", info.KernelOffset, info.HasKernelOffset)
	}
	if !info.HasCrashTime || info.CrashTime != 1732550000 {
		t.Errorf("CRASHTIME = %d, %v", info.CrashTime, info.HasCrashTime)
	}
	checkU := func(what string, got uint64, ok bool, want uint64) {
		t.Helper()
		if !ok || got != want {
			t.Errorf("%s = %#x, %v; want %#x", what, got, ok, want)
		}
	}
	checkI := func(what string, got int64, ok bool, want int64) {
		t.Helper()
		if !ok || got != want {
			t.Errorf("%s = %d, %v; want %d", what, got, ok, want)
		}
	}
	v, ok := info.Symbol("init_uts_ns")
	checkU("SYMBOL(init_uts_ns)", v, ok, 0xffffffff9cbf9b60)
	v, ok = info.Symbol("kallsyms_relative_base")
	checkU("SYMBOL(kallsyms_relative_base)", v, ok, 0xffffffff9c175580)
	n, ok := info.Number("phys_base")
	checkI("NUMBER(phys_base)", n, ok, -301989888)
	n, ok = info.Number("PAGE_BUDDY_MAPCOUNT_VALUE")
	checkI("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", n, ok, -129)
	n, ok = info.Offset("list_head.prev")
	checkI("OFFSET(list_head.prev)", n, ok, 8)
	n, ok = info.Offset("printk_info.caller_id")
	checkI("OFFSET(printk_info.caller_id)", n, ok, 20)
	n, ok = info.Size("page")
	checkI("SIZE(page)", n, ok, 64)
	n, ok = info.Length("zone.free_area")
	checkI("LENGTH(zone.free_area)", n, ok, 11)
	n, ok = info.Length("node_data")
	checkI("LENGTH(node_data)", n, ok, 1024)
	if _, ok := info.Symbol("no_such_symbol"); ok {
		t.Errorf("unknown symbol found")
	}
	if len(info.Malformed) != 0 || info.Truncated {
		t.Errorf("malformed: %v, truncated %v", info.Malformed, info.Truncated)
	}
	wantLines := strings.Count(sample61, "\n")
	if len(info.Lines) != wantLines || info.Lines[0] != "OSRELEASE=6.1.0-56-cloud-amd64" || info.Lines[wantLines-1] != "CRASHTIME=1732550000" {
		t.Errorf("Lines: %d, first %q", len(info.Lines), info.Lines[0])
	}
	if info.String() != sample61 {
		t.Errorf("String() does not give the text back")
	}
	if info.Raw["SYMBOL(init_top_pgt)"] != "ffffffff9ca10000" || info.Raw["NUMBER(phys_base)"] != "-301989888" {
		t.Errorf("Raw: %q %q", info.Raw["SYMBOL(init_top_pgt)"], info.Raw["NUMBER(phys_base)"])
	}
}

func TestParseOtherForms(t *testing.T) {
	text := "OSRELEASE=6.14.0\r\n" + // CRLF tolerated
		"\n" + // blank line
		"NUMBER(VMALLOC_START)=0xffffc90000000000\n" + // hex NUMBER (newer kernels)
		"NUMBER(kimage_voffset)=0xffff800070000000\n" +
		"SYMBOL(vmemmap)=0xffffea0000000000\n" + // 0x tolerated
		"CONFIG_KALLSYMS=y\n" +
		"KERNELPACMASK=0xffff800000000000\n" + // arm64: unknown, kept raw
		"SDMA=1000\n" + // s390: unknown, kept raw
		"SIZE(huge)=18446744073709551615\n" + // %lu above MaxInt64 keeps its bits
		"CRASHTIME=1732550000\n" +
		"CRASHTIME=1732550001" // later wins; no final newline
	info, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if info.OSRelease != "6.14.0" {
		t.Errorf("OSRELEASE %q", info.OSRelease)
	}
	if n, _ := info.Number("VMALLOC_START"); uint64(n) != 0xffffc90000000000 {
		t.Errorf("VMALLOC_START %#x", uint64(n))
	}
	if v, _ := info.Symbol("vmemmap"); v != 0xffffea0000000000 {
		t.Errorf("vmemmap %#x", v)
	}
	if c, ok := info.Config("CONFIG_KALLSYMS"); !ok || c != "y" {
		t.Errorf("Config(CONFIG_KALLSYMS) = %q %v", c, ok)
	}
	if c, ok := info.Config("KALLSYMS"); !ok || c != "y" {
		t.Errorf("Config(KALLSYMS) = %q %v", c, ok)
	}
	if info.Raw["KERNELPACMASK"] != "0xffff800000000000" || info.Raw["SDMA"] != "1000" {
		t.Errorf("unknown keys not kept: %v", info.Raw)
	}
	if s, _ := info.Size("huge"); s != -1 {
		t.Errorf("SIZE(huge) = %d", s)
	}
	if info.CrashTime != 1732550001 {
		t.Errorf("CRASHTIME %d; want the later line", info.CrashTime)
	}
	if info.HasKernelOffset {
		t.Errorf("HasKernelOffset without KERNELOFFSET")
	}
	if len(info.Malformed) != 0 {
		t.Errorf("malformed: %v", info.Malformed)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		text     string
		wantErr  error
		wantLine int // line of the first problem; 0 = none
	}{
		{"empty", "", ErrEmpty, 0},
		{"nuls", "\x00\x00\x00\x00", ErrEmpty, 0},
		{"spaces", " \n\n\t\n", ErrEmpty, 0},
		{"garbage", "hello world\nthis is not vmcoreinfo\n", ErrNoEntries, 1},
		{"binary", "\x7fELF\x02\x01\x01\n", ErrNoEntries, 1},
		{"only-bad-values", "\nSYMBOL(x)=zz\nPAGESIZE=4095\n", ErrNoEntries, 2},
		{"bad-among-good", "OSRELEASE=6.1\nSYMBOL(x)=zz\nOFFSET(a.b)=-\nfoo\n=1\nPAGESIZE=4096\n", nil, 2},
		// vmcoreinfo_append_str cuts each entry at 79 bytes, which loses its
		// newline and glues it to the next entry.
		{"glued", "OSRELEASE=6.1\nSYMBOL(a_very_long_symbol)=ffffffff81000000SIZE(page)=64\n", nil, 2},
		{"unknown-lowercase", "OSRELEASE=6.1\nfoo=bar\n", nil, 2},
		{"empty-values", "OSRELEASE=\nBUILD-ID=\nPAGESIZE=4096\n", nil, 1},
		{"bad-build-id", "OSRELEASE=6.1\nBUILD-ID=xyz\n", nil, 2},
		{"text-after-nul", "OSRELEASE=6.1\n\x00SYMBOL(x)=zz\n", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Parse([]byte(tc.text))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || info != nil {
					t.Fatalf("Parse = %v, %v; want %v", info, err, tc.wantErr)
				}
				var le *LineError
				if tc.wantLine != 0 && (!errors.As(err, &le) || le.Line != tc.wantLine) {
					t.Errorf("error %v does not name line %d", err, tc.wantLine)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantLine == 0 {
				if len(info.Malformed) != 0 {
					t.Errorf("malformed: %v", info.Malformed)
				}
				return
			}
			if len(info.Malformed) == 0 || info.Malformed[0].Line != tc.wantLine {
				t.Errorf("Malformed = %v; want first at line %d", info.Malformed, tc.wantLine)
			}
		})
	}
}

// The kernel stops writing at VMCOREINFO_BYTES (one page): a last line
// without its newline in a full page is cut and must not be believed.
func TestParseTruncated(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("OSRELEASE=6.1\nPAGESIZE=4096\n")
	for i := 0; sb.Len() < 4096; i++ {
		sb.WriteString("SYMBOL(s)=ffffffff81000000\n")
	}
	b := []byte(sb.String())[:4096]
	if b[len(b)-1] == '\n' {
		b = b[:4095]
		b = append(b, 'f')
	}
	info, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Truncated || len(info.Malformed) != 1 {
		t.Errorf("Truncated = %v, Malformed = %v", info.Truncated, info.Malformed)
	}
}

func TestParseLimits(t *testing.T) {
	big := strings.Repeat("SIZE(x)=1\n", maxTextBytes/10+1)
	if _, err := Parse([]byte(big)); err == nil {
		t.Errorf("accepted %d bytes", len(big))
	}
	many := "OSRELEASE=x\n" + strings.Repeat("A=1\n", maxLines+10)
	info, err := Parse([]byte(many))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Lines) != maxLines {
		t.Errorf("kept %d lines; limit %d", len(info.Lines), maxLines)
	}
}
