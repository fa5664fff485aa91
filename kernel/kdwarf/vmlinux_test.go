package kdwarf

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel/btf"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// A real vmlinux: Debian's cloud kernels (DWARF 5, not compressed), found
// only through the fixture manifests.
type vmlinux struct {
	release string
	path    string
}

func vmlinuxes(tb testing.TB) []vmlinux {
	tb.Helper()
	var out []vmlinux
	for _, k := range fixtures.Kernels(tb) {
		out = append(out, vmlinux{k.Release, k.Set.KernelFile(tb, "vmlinux")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].release < out[j].release })
	return out
}

// Decoding a vmlinux's index takes a fraction of a second; share one Data
// (and one BTF spec) per file between tests.
var (
	openedMu sync.Mutex
	opened   = map[string]*Data{}
	openedBT = map[string]*btf.Spec{}
)

func openVmlinux(t *testing.T, k vmlinux) *Data {
	t.Helper()
	openedMu.Lock()
	defer openedMu.Unlock()
	if d := opened[k.path]; d != nil {
		return d
	}
	f, err := os.Open(k.path)
	if err != nil {
		t.Fatal(err)
	}
	// The file stays open for the life of the test binary.
	d, err := Open(f)
	if err != nil {
		t.Fatalf("%s: %v", k.release, err)
	}
	if err := d.Index(); err != nil {
		t.Fatalf("%s: %v", k.release, err)
	}
	opened[k.path] = d
	return d
}

func openBTF(t *testing.T, k vmlinux) *btf.Spec {
	t.Helper()
	openedMu.Lock()
	defer openedMu.Unlock()
	if s := openedBT[k.path]; s != nil {
		return s
	}
	f, err := os.Open(k.path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := btf.LoadSpecFromELF(f)
	if err != nil {
		t.Fatalf("%s: btf: %v", k.release, err)
	}
	openedBT[k.path] = s
	return s
}

func forEachVmlinux(t *testing.T, fn func(t *testing.T, k vmlinux, d *Data)) {
	for _, k := range vmlinuxes(t) {
		t.Run(k.release, func(t *testing.T) { fn(t, k, openVmlinux(t, k)) })
	}
}

// forVmlinux runs fn on the kernels whose release starts with prefix (the
// numbers a test expects are for that series), fixtures.Missing when no
// fixture set has one.
func forVmlinux(t *testing.T, prefix string, fn func(t *testing.T, k vmlinux, d *Data)) {
	n := 0
	for _, k := range vmlinuxes(t) {
		if strings.HasPrefix(k.release, prefix) {
			n++
			t.Run(k.release, func(t *testing.T) { fn(t, k, openVmlinux(t, k)) })
		}
	}
	if n == 0 {
		fixtures.Missing(t, fmt.Errorf("no fixture kernel of the %s series", prefix))
	}
}

// TestVmlinux61Layout checks numbers gdb's `ptype /o` prints for the 6.1
// cloud kernel.
func TestVmlinux61Layout(t *testing.T) {
	forVmlinux(t, "6.1.", func(t *testing.T, k vmlinux, d *Data) {
		ts, err := d.StructByName("task_struct")
		if err != nil {
			t.Fatal(err)
		}
		if ts.Size != 9728 {
			t.Errorf("sizeof(struct task_struct) = %d, want 9728", ts.Size)
		}
		for path, want := range map[string]uint64{
			"pid": 2416, "comm": 2976, "tasks": 2192, "__state": 24, "thread.fpu": 5504,
			"rcu_users": 4968, "rcu": 4968, // members of an anonymous union
			"wake_entry.u_flags": 64, // anonymous union inside a named member
			"thread_pid":         2520, "atomic_flags": 2352,
		} {
			if off, err := ktype.MemberOffset(ts, path); err != nil || off != want {
				t.Errorf("offsetof(struct task_struct, %s) = %d, %v; want %d", path, off, err, want)
			}
		}
		for path, want := range map[string]ktype.Bits{
			"sched_reset_on_fork": 2340*8 + 0, "sched_task_hot": 2340*8 + 3,
			"sched_remote_wakeup": 2344 * 8, "in_execve": 2344*8 + 2,
		} {
			m, err := ktype.FindMember(ts, path)
			if err != nil || m.Offset != want || m.BitfieldSize != 1 {
				t.Errorf("task_struct.%s: bit %d width %d (%v), want bit %d width 1", path, m.Offset, m.BitfieldSize, err, want)
			}
		}
		lh, err := d.StructByName("list_head")
		if err != nil || lh.Size != 16 || len(lh.Members) != 2 || lh.Members[1].Name != "prev" || lh.Members[1].Offset != 64 {
			t.Errorf("struct list_head: %v %+v", err, lh)
		}
		page, err := d.StructByName("page")
		if err != nil || page.Size != 64 {
			t.Errorf("struct page: %v, size %v", err, page)
		}
	})
}

func TestVmlinuxVarTypes(t *testing.T) {
	forEachVmlinux(t, func(t *testing.T, k vmlinux, d *Data) {
		nrItems, err := d.EnumValue("NR_VM_ZONE_STAT_ITEMS")
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]string{
			"init_task":          "struct task_struct",
			"vm_zone_stat":       fmt.Sprintf("atomic_long_t [%d]", nrItems),
			"saved_command_line": "char *",
			"jiffies_64":         "u64",
			"_totalram_pages":    "atomic_long_t", // totalram_pages() reads it
			"runqueues":          "struct rq",     // per-cpu
			"linux_banner":       "const char []",
			"init_uts_ns":        "struct uts_namespace",
		} {
			typ, err := d.VarType(name)
			if err != nil {
				t.Errorf("VarType(%s): %v", name, err)
				continue
			}
			if name == "linux_banner" && ktype.String(typ) != want {
				// Where the unit defining it has debug info (5.10's
				// init/version.c), its DWARF completes the array from the
				// initializer: then the count must be the object's size
				// (.symtab's, read here with debug/elf).
				want = fmt.Sprintf("const char [%d]", symbolSize(t, k.path, name))
			}
			if s := ktype.String(typ); s != want {
				t.Errorf("VarType(%s) = %s, want %s", name, s, want)
			}
		}
		// pg_data_t *node_data[] until 6.11, struct pglist_data * since.
		nd, err := d.VarType("node_data")
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := ktype.As[*ktype.Array](nd); !ok || a.Count != 1024 {
			t.Errorf("node_data: %s, want an array of 1024", ktype.String(nd))
		} else if p, ok := ktype.As[*ktype.Pointer](a.Elem); !ok {
			t.Errorf("node_data: %s, want an array of pointers", ktype.String(nd))
		} else if s, ok := ktype.As[*ktype.Struct](p.Target); !ok || s.Name != "pglist_data" {
			t.Errorf("node_data: %s, want pointers to struct pglist_data", ktype.String(nd))
		}
		if _, err := d.VarType("totalram_pages"); !errors.Is(err, ktype.ErrNotFound) {
			t.Errorf("VarType(totalram_pages) (an inline function): %v, want ErrNotFound", err)
		}
	})
}

// symbolSize is st_size of the vmlinux's .symtab symbol name.
func symbolSize(t *testing.T, path, name string) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == name {
			return s.Size
		}
	}
	t.Fatalf("%s: no symbol %s", path, name)
	return 0
}

func TestVmlinuxEnumValues(t *testing.T) {
	forEachVmlinux(t, func(t *testing.T, k vmlinux, d *Data) {
		if v, err := d.EnumValue("NR_FREE_PAGES"); err != nil || v != 0 {
			t.Errorf("NR_FREE_PAGES = %d, %v; want 0", v, err)
		}
		spec := openBTF(t, k)
		for _, name := range []string{"NR_VM_ZONE_STAT_ITEMS", "NR_LRU_BASE", "NR_VM_NODE_STAT_ITEMS",
			"ZONE_MOVABLE", "MAX_NR_ZONES", "TASK_COMM_LEN", "PG_slab", "PG_head", "__NR_PAGEFLAGS",
			"CPUTIME_SOFTIRQ", "NR_SOFTIRQS", "PIDTYPE_MAX", "MM_SWAPENTS", "NR_MM_COUNTERS"} {
			want, werr := spec.EnumValue(name)
			have, err := d.EnumValue(name)
			if (werr == nil) != (err == nil) || have != want {
				t.Errorf("EnumValue(%s) = %d, %v; BTF says %d, %v", name, have, err, want, werr)
			}
		}
	})
}

// commonStructs are compared member by member between BTF and DWARF.
var commonStructs = []string{
	"task_struct", "mm_struct", "page", "folio", "zone", "pglist_data", "kmem_cache", "module",
	"mount", "vfsmount", "super_block", "dentry", "inode", "file", "net_device", "sk_buff",
	"sock", "socket", "net", "nsproxy", "pid", "pid_namespace", "upid", "cred", "files_struct",
	"fdtable", "fs_struct", "path", "qstr", "list_head", "hlist_head", "hlist_node", "rb_node",
	"rb_root", "xarray", "xa_node", "maple_tree", "maple_node", "vm_area_struct", "address_space",
	"signal_struct", "sighand_struct", "rq", "cfs_rq", "sched_entity", "task_group", "cgroup",
	"css_set", "cgroup_subsys_state", "kernfs_node", "kobject", "kset", "device", "device_driver",
	"bus_type", "class", "block_device", "gendisk", "request_queue", "bio", "irq_desc",
	"irqaction", "irq_data", "timer_list", "hrtimer", "work_struct", "workqueue_struct",
	"pool_workqueue", "worker_pool", "worker", "percpu_ref", "kref", "mutex", "rw_semaphore",
	"wait_queue_head", "completion", "per_cpu_pages", "free_area", "lruvec", "mem_cgroup",
	"swap_info_struct", "file_system_type", "seq_file", "proc_dir_entry", "uts_namespace",
	"new_utsname", "ipc_namespace", "mnt_namespace", "user_namespace", "tcp_sock", "inet_sock",
	"inet_connection_sock", "unix_sock", "sk_buff_head", "netdev_queue", "Qdisc", "in_device",
	"in_ifaddr", "inet6_dev", "neighbour", "rtable", "dst_entry", "vm_struct", "vmap_area",
	"resource", "pci_dev", "pci_bus", "printk_ringbuffer", "prb_desc", "printk_info",
	"bpf_prog", "perf_event", "console", "tty_struct", "tty_driver", "blk_mq_tag_set",
	"scsi_device", "Scsi_Host", "vm_event_state", "pt_regs", "thread_struct", "fpu",
	"kernel_symbol", "mod_kallsyms", "module_memory", "module_layout", "hd_struct",
	"zone_padding", "lock_class_key",
}

func TestVmlinuxAgainstBTF(t *testing.T) {
	forEachVmlinux(t, func(t *testing.T, k vmlinux, d *Data) {
		spec := openBTF(t, k)
		compared := 0
		enum32 := btfEnum32(t, spec)
		for _, name := range commonStructs {
			bt, berr := spec.StructByName(name)
			dw, derr := d.StructByName(name)
			if berr != nil || derr != nil {
				if (berr == nil) != (derr == nil) {
					t.Errorf("struct %s: BTF %v, DWARF %v", name, berr, derr)
				}
				continue // absent from this kernel
			}
			compared++
			c := comparer{t: t, enum32: enum32}
			c.types("struct "+name, dw, bt, 0)
		}
		if compared < 90 {
			t.Errorf("compared %d structs, want at least 90", compared)
		}
		t.Logf("%s: %d structs agree between BTF and DWARF (BTF enumerators as 32 bits without a sign: %v)", k.release, compared, enum32)
	})
}

// comparer checks that two models of a type have the same layout and
// spelling. Named member types are compared by name and size only (their own
// layout is compared when they are in the list); anonymous ones recursively.
type comparer struct {
	t      *testing.T
	errors int
	// enum32: the BTF side's enumerators are BTF_KIND_ENUM's 32 bits with
	// no sign (btfEnum32), compared with DWARF's modulo 2^32.
	enum32 bool
}

// btfEnum32 says whether spec marks no enum signed: BTF from pahole before
// 1.24 (5.10's), before the enum kind_flag and BTF_KIND_ENUM64 (kernel
// commit 6089fb325cf7 "bpf: Add btf enum64 support", v6.0). Its
// enumerators are 32 bits read without a sign: DWARF's -1 is BTF's
// 4294967295, and a 64-bit enumerator (1ULL << 63) keeps only its low 32
// bits. A BTF with signedness marks the enums with negative enumerators
// (perf_event_state's, in every kernel here).
func btfEnum32(t *testing.T, spec *btf.Spec) bool {
	t.Helper()
	for typ, err := range spec.All() {
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := typ.(*ktype.Enum); ok && e.Signed {
			return false
		}
	}
	return true
}

func (c *comparer) errorf(format string, args ...any) {
	c.t.Helper()
	if c.errors++; c.errors <= 20 {
		c.t.Errorf(format, args...)
	}
}

func (c *comparer) types(path string, dw, bt ktype.Type, depth int) {
	c.t.Helper()
	if depth > 8 {
		return
	}
	ds, derr := ktype.Sizeof(dw)
	bs, berr := ktype.Sizeof(bt)
	if ds != bs || (derr == nil) != (berr == nil) {
		c.errorf("%s: size %d (%v) in DWARF, %d (%v) in BTF", path, ds, derr, bs, berr)
	}
	du, bu := ktype.Underlying(dw), ktype.Underlying(bt)
	if du.Kind() != bu.Kind() {
		// BTF has no bitfield-free enum64 before 6.0 and no _Atomic;
		// anything else is a real difference.
		c.errorf("%s: %s in DWARF, %s in BTF", path, ktype.String(dw), ktype.String(bt))
		return
	}
	switch d := du.(type) {
	case *ktype.Struct, *ktype.Union:
		b := bu.(ktype.Composite)
		dc := d.(ktype.Composite)
		if dc.TypeName() != b.TypeName() {
			c.errorf("%s: named %q in DWARF, %q in BTF", path, dc.TypeName(), b.TypeName())
		}
		if dc.TypeName() != "" && depth > 0 {
			return
		}
		dm, bm := dc.MemberList(), b.MemberList()
		if len(dm) != len(bm) {
			c.errorf("%s: %d members in DWARF, %d in BTF", path, len(dm), len(bm))
			return
		}
		for i := range dm {
			mp := fmt.Sprintf("%s.%s", path, dm[i].Name)
			if dm[i].Name == "" {
				mp = fmt.Sprintf("%s.<anon %d>", path, i)
			}
			if dm[i].Name != bm[i].Name || dm[i].Offset != bm[i].Offset || dm[i].BitfieldSize != bm[i].BitfieldSize {
				c.errorf("%s: {%q @%d :%d} in DWARF, {%q @%d :%d} in BTF", mp,
					dm[i].Name, dm[i].Offset, dm[i].BitfieldSize, bm[i].Name, bm[i].Offset, bm[i].BitfieldSize)
				continue
			}
			// Flexible arrays print as x[] from DWARF and x[0] from BTF;
			// multi-dimensional ones are compared by c.types.
			ds := strings.ReplaceAll(ktype.String(dm[i].Type), "[]", "[0]")
			bs := ktype.String(bm[i].Type)
			if _, isArray := ktype.Underlying(dm[i].Type).(*ktype.Array); ds != bs && !isArray {
				c.errorf("%s: type %s in DWARF, %s in BTF", mp, ds, bs)
			}
			c.types(mp, dm[i].Type, bm[i].Type, depth+1)
		}
	case *ktype.Array:
		// pahole flattens multi-dimensional arrays (tags[3][1] is
		// tags[3] in BTF): compare element counts of the innermost type.
		de, dn := flatten(d)
		be, bn := flatten(bu.(*ktype.Array))
		if dn != bn {
			c.errorf("%s: %s in DWARF, %s in BTF", path, ktype.String(dw), ktype.String(bt))
		}
		c.types(path+"[]", de, be, depth+1)
	case *ktype.Pointer:
		// Only the shape of the target matters here: void * against a
		// struct pointer would be a real difference.
		b := bu.(*ktype.Pointer)
		dt, bt := ktype.Underlying(d.Target), ktype.Underlying(b.Target)
		if dt.Kind() != bt.Kind() && dt.Kind() != ktype.KindFwd && bt.Kind() != ktype.KindFwd {
			c.errorf("%s: %s in DWARF, %s in BTF", path, ktype.String(dw), ktype.String(bt))
		}
	case *ktype.Int:
		b := bu.(*ktype.Int)
		if d.Name != b.Name {
			c.errorf("%s: %s in DWARF, %s in BTF", path, d.Name, b.Name)
		}
	case *ktype.Enum:
		b := bu.(*ktype.Enum)
		if d.Name != b.Name || len(d.Values) != len(b.Values) {
			c.errorf("%s: enum %s (%d values) in DWARF, enum %s (%d) in BTF", path, d.Name, len(d.Values), b.Name, len(b.Values))
			return
		}
		for i := range d.Values {
			dv, bv := d.Values[i], b.Values[i]
			if c.enum32 {
				dv.Value, bv.Value = int64(uint32(dv.Value)), int64(uint32(bv.Value))
			}
			if dv != bv {
				c.errorf("%s: enumerator %v in DWARF, %v in BTF", path, d.Values[i], b.Values[i])
			}
		}
	}
}

// flatten returns the innermost element of nested arrays and how many of
// them there are in all.
func flatten(a *ktype.Array) (ktype.Type, uint64) {
	n := a.Count
	elem := a.Elem
	for range 32 {
		inner, ok := ktype.Underlying(elem).(*ktype.Array)
		if !ok {
			break
		}
		n *= inner.Count
		elem = inner.Elem
	}
	return elem, n
}

// TestVmlinuxAllStructsAgainstBTF compares every struct, union, enum and
// typedef that BTF names exactly once (file-local duplicates are ambiguous
// in either source). The name index covers types defined at the top level
// of a unit, not the few defined inside a function body, which pahole puts
// in BTF too: 11 of them on 6.1, 17 on 6.12.
func TestVmlinuxAllStructsAgainstBTF(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes every type of two kernels")
	}
	forEachVmlinux(t, func(t *testing.T, k vmlinux, d *Data) {
		spec := openBTF(t, k)
		compared := 0
		var local []string
		c := comparer{t: t, enum32: btfEnum32(t, spec)}
		for typ, err := range spec.All() {
			if err != nil {
				t.Fatal(err)
			}
			switch typ.(type) {
			case *ktype.Struct, *ktype.Union, *ktype.Enum, *ktype.Typedef:
			default:
				continue
			}
			name := typ.TypeName()
			if name == "" {
				continue
			}
			n := 0
			for _, id := range spec.TypeIDsByName(name) {
				if other, _ := spec.TypeByID(id); other != nil && other.Kind() == typ.Kind() {
					n++
				}
			}
			if n != 1 {
				continue
			}
			dw, err := d.TypeByName(name, typ.Kind())
			if errors.Is(err, ktype.ErrNotFound) {
				local = append(local, name)
				continue
			}
			if err != nil {
				c.errorf("%s %s: %v", typ.Kind(), name, err)
				continue
			}
			compared++
			c.types(typ.Kind().String()+" "+name, dw, typ, 0)
		}
		if len(local) > 32 {
			t.Errorf("%d types not found: %v", len(local), local)
		}
		t.Logf("%s: %d structs, unions, enums and typedefs agree; not indexed (function-local): %v", k.release, compared, local)
	})
}

// TestCompressedVmlinux reads a vmlinux whose debug sections were
// compressed, as some distributions ship them, and checks it against the
// uncompressed original. Making one takes half a minute and 500 MB of
// temporary space (left out by -short); VMCORE_REPORT_ZVMLINUX names a ready
// one:
//
//	objcopy --compress-debug-sections=zlib vmlinux-6.1.0-56-cloud-amd64 /tmp/vmlinux-zlib
//	VMCORE_REPORT_ZVMLINUX=/tmp/vmlinux-zlib go test -run CompressedVmlinux ./kernel/kdwarf
func TestCompressedVmlinux(t *testing.T) {
	path := os.Getenv("VMCORE_REPORT_ZVMLINUX")
	if path == "" {
		if testing.Short() {
			t.Skip("makes a 500 MB compressed copy of a vmlinux")
		}
		src := vmlinuxes(t)[0].path
		path = filepath.Join(t.TempDir(), "vmlinux-zlib")
		if b, err := exec.Command("objcopy", "--compress-debug-sections=zlib", src, path).CombinedOutput(); err != nil {
			t.Fatalf("objcopy (binutils) --compress-debug-sections: %v\n%s", err, b)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := Open(f)
	if err != nil {
		t.Fatal(err)
	}
	if z.info.raw != nil {
		t.Fatalf("%s: .debug_info is not compressed", path)
	}
	ts, err := z.StructByName("task_struct")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range vmlinuxes(t) {
		plain := openVmlinux(t, k)
		want, err := plain.StructByName("task_struct")
		if err != nil || want.Size != ts.Size {
			continue // not the kernel this copy was made of
		}
		c := comparer{t: t}
		c.types("struct task_struct", ts, want, 0)
		for _, name := range commonStructs {
			zs, zerr := z.StructByName(name)
			ps, perr := plain.StructByName(name)
			if (zerr == nil) != (perr == nil) {
				t.Errorf("struct %s: %v against %v", name, zerr, perr)
				continue
			}
			if zerr == nil {
				c.types("struct "+name, zs, ps, 0)
			}
		}
		zv, zerr := z.EnumValue("NR_VM_ZONE_STAT_ITEMS")
		pv, perr := plain.EnumValue("NR_VM_ZONE_STAT_ITEMS")
		if zv != pv || zerr != nil || perr != nil {
			t.Errorf("NR_VM_ZONE_STAT_ITEMS = %d, %v; want %d, %v", zv, zerr, pv, perr)
		}
		return
	}
	t.Errorf("no uncompressed vmlinux matches %s", path)
}
