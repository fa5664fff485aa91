package btf

import (
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// Real kernels: Debian's -dbg vmlinux files, unpacked by the fixture
// generator; the fixture manifest names them.
//
// The expected layouts are ground truth from the DWARF in the same files,
// printed once with gdb 13.1 (no BTF involved):
//
//	gdb -batch -ex 'print sizeof(struct task_struct)' \
//	    -ex 'print &((struct task_struct *)0)->pid' ... \
//	    -ex 'ptype /o struct iphdr' -ex 'ptype /o struct sk_buff' \
//	    -ex 'print (long)NR_VM_ZONE_STAT_ITEMS' vmlinux-<release>
//
// and the per-cpu offsets of runqueues from the System.map beside each
// vmlinux (`grep -w runqueues System.map-<release>`).
type realKernel struct {
	release string
	sizes   map[string]uint64 // struct name -> sizeof
	offsets []memberWant
	bits    []memberWant // bitfields, offset in bits
	enums   map[string]int64
	percpu  map[string]uint32 // per-cpu variable -> offset in .data..percpu
	absent  []string          // enumerators this release does not have
}

type memberWant struct {
	typ, path string
	offset    uint64 // bytes, or bits in realKernel.bits
	bitSize   uint64
	ctype     string // String() of the member's type
}

var realKernels = []realKernel{
	{
		release: "6.1.0-56-cloud-amd64",
		sizes: map[string]uint64{
			"task_struct": 9728, "page": 64, "list_head": 16, "mm_struct": 1096,
			"zone": 1536, "pglist_data": 174208, "sk_buff": 232, "rq": 3264, "iphdr": 20,
		},
		offsets: []memberWant{
			{"task_struct", "pid", 2416, 0, "pid_t"},
			{"task_struct", "comm", 2976, 0, "char [16]"},
			{"task_struct", "tasks", 2192, 0, "struct list_head"},
			{"task_struct", "__state", 24, 0, "unsigned int"},
			{"task_struct", "se.vruntime", 208, 0, "u64"},
			{"task_struct", "thread.fsbase", 5352, 0, "long unsigned int"},
			{"list_head", "next", 0, 0, "struct list_head *"},
			{"list_head", "prev", 8, 0, "struct list_head *"},
			{"page", "lru", 8, 0, "struct list_head"}, // in an anonymous union and struct
			{"page", "mapping", 24, 0, "struct address_space *"},
			{"mm_struct", "pgd", 72, 0, "pgd_t *"}, // in mm_struct's anonymous struct
			{"zone", "vm_stat", 1344, 0, "atomic_long_t [11]"},
			{"zone", "vm_stat[1]", 1352, 0, "atomic_long_t"},
			{"iphdr", "saddr", 12, 0, "__be32"},
			{"iphdr", "addrs.daddr", 16, 0, "__be32"},
		},
		bits: []memberWant{
			{"iphdr", "ihl", 0, 4, "__u8"},
			{"iphdr", "version", 4, 4, "__u8"},
			{"sk_buff", "cloned", 126 * 8, 1, "__u8"},
			{"sk_buff", "nohdr", 126*8 + 1, 1, "__u8"},
			{"sk_buff", "pkt_type", 128 * 8, 3, "__u8"}, // in struct_group(headers, ...)
		},
		enums: map[string]int64{
			"NR_FREE_PAGES": 0, "NR_ZONE_LRU_BASE": 1, "NR_VM_ZONE_STAT_ITEMS": 11,
			"TASK_COMM_LEN": 16, "PG_slab": 9, "__NR_PAGEFLAGS": 24,
		},
		percpu: map[string]uint32{"runqueues": 0x31980},
	},
	{
		release: "6.12.118+deb13-cloud-amd64",
		sizes: map[string]uint64{
			"task_struct": 9792, "page": 64, "list_head": 16, "mm_struct": 1344,
			"zone": 1536, "pglist_data": 174464, "sk_buff": 232, "rq": 3456, "iphdr": 20,
		},
		offsets: []memberWant{
			{"task_struct", "pid", 2432, 0, "pid_t"},
			{"task_struct", "comm", 2976, 0, "char [16]"},
			{"task_struct", "tasks", 2224, 0, "struct list_head"},
			{"task_struct", "__state", 24, 0, "unsigned int"},
			{"task_struct", "se.vruntime", 240, 0, "u64"},
			{"task_struct", "thread.fsbase", 5416, 0, "long unsigned int"},
			{"list_head", "next", 0, 0, "struct list_head *"},
			{"list_head", "prev", 8, 0, "struct list_head *"},
			{"page", "lru", 8, 0, "struct list_head"},
			{"page", "mapping", 24, 0, "struct address_space *"},
			{"mm_struct", "pgd", 120, 0, "pgd_t *"},
			{"zone", "vm_stat", 1344, 0, "atomic_long_t [12]"},
			{"iphdr", "saddr", 12, 0, "__be32"},
			{"iphdr", "addrs.daddr", 16, 0, "__be32"},
		},
		bits: []memberWant{
			{"iphdr", "ihl", 0, 4, "__u8"},
			{"iphdr", "version", 4, 4, "__u8"},
			{"sk_buff", "cloned", 126 * 8, 1, "__u8"},
			{"sk_buff", "nohdr", 126*8 + 1, 1, "__u8"},
			{"sk_buff", "pkt_type", 128 * 8, 3, "__u8"},
		},
		enums: map[string]int64{
			"NR_FREE_PAGES": 0, "NR_ZONE_LRU_BASE": 1, "NR_VM_ZONE_STAT_ITEMS": 12,
			"TASK_COMM_LEN": 16, "__NR_PAGEFLAGS": 24,
		},
		percpu: map[string]uint32{"runqueues": 0x35e80},
		// No PG_slab: since v6.10 slab pages are marked by a page type instead.
		absent: []string{"PG_slab"},
	},
}

// openVmlinux opens the vmlinux of a real kernel, found only through the
// fixture manifest (fixtures.Missing, a failure under CI=true, when no set
// has that kernel).
func openVmlinux(tb testing.TB, release string) *os.File {
	tb.Helper()
	p := fixtures.KernelByRelease(tb, release).KernelFile(tb, "vmlinux")
	f, err := os.Open(p)
	if err != nil {
		tb.Fatalf("vmlinux %s: %v", release, err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// realSpecs decodes each real kernel's BTF once for all tests.
var realSpecs sync.Map // release -> func() (*Spec, error)

func realSpec(tb testing.TB, release string) *Spec {
	tb.Helper()
	f := openVmlinux(tb, release)
	load, _ := realSpecs.LoadOrStore(release, sync.OnceValues(func() (*Spec, error) {
		return LoadSpecFromELF(f)
	}))
	s, err := load.(func() (*Spec, error))()
	if err != nil {
		tb.Fatalf("LoadSpecFromELF(%s): %v", release, err)
	}
	return s
}

func TestVmlinuxLayouts(t *testing.T) {
	for _, k := range realKernels {
		t.Run(k.release, func(t *testing.T) {
			s := realSpec(t, k.release)
			for name, want := range k.sizes {
				st, err := s.StructByName(name)
				if err != nil {
					t.Errorf("StructByName(%s): %v", name, err)
					continue
				}
				if size, err := ktype.Sizeof(st); err != nil || size != want {
					t.Errorf("sizeof(struct %s) = %d, %v; want %d", name, size, err, want)
				}
			}
			for _, w := range k.offsets {
				st, err := s.StructByName(w.typ)
				if err != nil {
					t.Errorf("StructByName(%s): %v", w.typ, err)
					continue
				}
				off, err := ktype.MemberOffset(st, w.path)
				m, _ := ktype.FindMember(st, w.path)
				if err != nil || off != w.offset || ktype.String(m.Type) != w.ctype {
					t.Errorf("offsetof(struct %s, %s) = %d (%s), %v; want %d (%s)",
						w.typ, w.path, off, ktype.String(m.Type), err, w.offset, w.ctype)
				}
			}
			for _, w := range k.bits {
				st, err := s.StructByName(w.typ)
				if err != nil {
					t.Errorf("StructByName(%s): %v", w.typ, err)
					continue
				}
				m, err := ktype.FindMember(st, w.path)
				if err != nil || uint64(m.Offset) != w.offset || uint64(m.BitfieldSize) != w.bitSize || ktype.String(m.Type) != w.ctype {
					t.Errorf("struct %s.%s = bit %d width %d (%s), %v; want bit %d width %d (%s)",
						w.typ, w.path, m.Offset, m.BitfieldSize, ktype.String(m.Type), err, w.offset, w.bitSize, w.ctype)
				}
			}
			for name, want := range k.enums {
				if v, err := s.EnumValue(name); err != nil || v != want {
					t.Errorf("EnumValue(%s) = %d, %v; want %d", name, v, err, want)
				}
			}
			for _, name := range k.absent {
				if _, err := s.EnumValue(name); !errors.Is(err, ErrNotFound) {
					t.Errorf("EnumValue(%s) error = %v, want ErrNotFound", name, err)
				}
			}
			for name, want := range k.percpu {
				v, err := s.VarByName(name)
				if err != nil || ktype.String(v.Type) != "struct rq" {
					t.Errorf("VarByName(%s) = %v, %v", name, v, err)
				}
				sec, off, err := s.VarLocation(name)
				if err != nil || sec != ".data..percpu" || off != want {
					t.Errorf("VarLocation(%s) = %s+%#x, %v; want .data..percpu+%#x", name, sec, off, err, want)
				}
			}
			// Version probing as the helpers do it: a member that moved.
			ts, _ := s.StructByName("task_struct")
			if _, err := ktype.FindMember(ts, "state"); !errors.Is(err, ErrNotFound) {
				t.Errorf("task_struct.state (renamed __state in 5.14) error = %v, want ErrNotFound", err)
			}
			if typ, err := s.TypeByName("long unsigned int", ktype.KindInt); err != nil || typ.(*ktype.Int).Size != 8 {
				t.Errorf("TypeByName(long unsigned int) = %v, %v", typ, err)
			}
			if td, err := s.TypedefByName("pid_t"); err != nil || ktype.String(ktype.Underlying(td)) != "int" {
				t.Errorf("TypedefByName(pid_t) = %v, %v", td, err)
			}
			if e, err := s.EnumByName("zone_stat_item"); err != nil {
				t.Errorf("EnumByName(zone_stat_item): %v", err)
			} else if last := e.Values[len(e.Values)-1]; last.Name != "NR_VM_ZONE_STAT_ITEMS" || last.Value != k.enums[last.Name] {
				t.Errorf("enum zone_stat_item ends with %+v", last)
			}
		})
	}
}

// TestVmlinuxAllTypes decodes every type of both kernels and checks that
// the model is self-consistent: every struct member lies inside its struct
// and every sized type has a size.
func TestVmlinuxAllTypes(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes every type of two kernels")
	}
	for _, k := range realKernels {
		t.Run(k.release, func(t *testing.T) {
			s := realSpec(t, k.release)
			kinds := map[ktype.Kind]int{}
			for typ, err := range s.All() {
				if err != nil {
					t.Fatal(err)
				}
				kinds[typ.Kind()]++
				if ktype.String(typ) == "" {
					t.Errorf("empty String for %#v", typ)
				}
				c, ok := typ.(ktype.Composite)
				if !ok {
					continue
				}
				for _, m := range c.MemberList() {
					size, err := ktype.Sizeof(m.Type)
					if err != nil {
						t.Errorf("%s.%s: %v", ktype.String(typ), m.Name, err)
						continue
					}
					end := uint64(m.Offset) + size*8
					if m.BitfieldSize != 0 {
						end = uint64(m.Offset + m.BitfieldSize)
					}
					if end > uint64(c.ByteSize())*8 {
						t.Errorf("%s.%s ends at bit %d, past the %d-byte type", ktype.String(typ), m.Name, end, c.ByteSize())
					}
				}
			}
			t.Logf("%d types: %v", s.NumTypes(), kinds)
			for _, kind := range []ktype.Kind{ktype.KindInt, ktype.KindPointer, ktype.KindArray, ktype.KindStruct,
				ktype.KindUnion, ktype.KindEnum, ktype.KindFwd, ktype.KindTypedef, ktype.KindVolatile,
				ktype.KindConst, ktype.KindFunc, ktype.KindFuncProto, ktype.KindVar, ktype.KindDatasec} {
				if kinds[kind] == 0 {
					t.Errorf("no %s types decoded", kind)
				}
			}
		})
	}
}

// TestVmlinuxFromMemory loads the raw .BTF bytes through LoadSpec with a
// generous size, the way the BTF between __start_BTF and __stop_BTF is read
// out of a crashed kernel's memory, and checks it matches the ELF load.
func TestVmlinuxFromMemory(t *testing.T) {
	for _, k := range realKernels {
		t.Run(k.release, func(t *testing.T) {
			f := openVmlinux(t, k.release)
			ef, err := elf.NewFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sec := ef.Section(".BTF")
			raw := make([]byte, sec.Size+4096) // what follows in memory is noise
			if _, err := f.ReadAt(raw, int64(sec.Offset)); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			s, err := LoadSpec(bytes.NewReader(raw), int64(len(raw)))
			if err != nil {
				t.Fatal(err)
			}
			want := realSpec(t, k.release)
			if s.NumTypes() != want.NumTypes() {
				t.Errorf("NumTypes = %d, want %d", s.NumTypes(), want.NumTypes())
			}
			ts, err := s.StructByName("task_struct")
			if err != nil || uint64(ts.Size) != k.sizes["task_struct"] {
				t.Errorf("task_struct = %v, %v", ts, err)
			}
		})
	}
}

// commonStructs are 100 struct layouts a crash-dump report reads; all exist
// in both real kernels.
var commonStructs = strings.Fields(`
	task_struct mm_struct vm_area_struct page folio zone pglist_data kmem_cache slab module
	mount vfsmount super_block inode dentry file files_struct fdtable path qstr
	list_head hlist_head hlist_node rb_node rb_root xarray xa_node maple_tree maple_node pid
	upid pid_namespace nsproxy uts_namespace new_utsname mnt_namespace net net_device sk_buff sock
	socket inet_sock tcp_sock unix_sock cred signal_struct sighand_struct rq cfs_rq sched_entity
	rt_rq cpumask kobject kset device bus_type device_driver class block_device gendisk
	request_queue bio address_space vm_struct vmap_area percpu_counter timer_list hrtimer work_struct workqueue_struct
	pool_workqueue worker_pool worker irq_desc irqaction irq_data file_system_type seq_file proc_dir_entry kernfs_node
	cgroup css_set cgroup_subsys_state mem_cgroup swap_info_struct file_lock ipc_namespace user_namespace pt_regs thread_struct
	fpu mutex spinlock rw_semaphore wait_queue_head completion kref callback_head task_group fs_struct`)

func TestCommonStructs(t *testing.T) {
	if len(commonStructs) != 100 {
		t.Fatalf("%d common structs, want 100", len(commonStructs))
	}
	for _, k := range realKernels {
		s := realSpec(t, k.release)
		for _, name := range commonStructs {
			if _, err := s.StructByName(name); err != nil {
				t.Errorf("%s: %v", k.release, err)
			}
		}
	}
}

// BenchmarkLoadVmlinuxBTF reads and indexes the 6.1 vmlinux's .BTF (4.1 MB,
// 95k types) from the ELF file.
func BenchmarkLoadVmlinuxBTF(b *testing.B) {
	f := openVmlinux(b, realKernels[0].release)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadSpecFromELF(f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolve100Structs decodes commonStructs by name in a fresh Spec
// (cold: each struct pulls in every type it reaches, so the first one does
// most of the work), and again in a Spec that has them (warm).
func BenchmarkResolve100Structs(b *testing.B) {
	f := openVmlinux(b, realKernels[0].release)
	ef, err := elf.NewFile(f)
	if err != nil {
		b.Fatal(err)
	}
	sec := ef.Section(".BTF")
	raw := make([]byte, sec.Size)
	if _, err := f.ReadAt(raw, int64(sec.Offset)); err != nil {
		b.Fatal(err)
	}
	resolve := func(b *testing.B, s *Spec) {
		for _, name := range commonStructs {
			if _, err := s.StructByName(name); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			s, err := LoadSpec(bytes.NewReader(raw), int64(len(raw)))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			resolve(b, s)
		}
	})
	b.Run("warm", func(b *testing.B) {
		s, err := LoadSpec(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			b.Fatal(err)
		}
		resolve(b, s)
		b.ReportAllocs()
		for b.Loop() {
			resolve(b, s)
		}
	})
}
