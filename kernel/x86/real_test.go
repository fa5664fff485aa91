package x86_test

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel/btf"
	"github.com/vmcore-report/vmcore-report/kernel/dump"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/vmcoreinfo"
	"github.com/vmcore-report/vmcore-report/kernel/x86"
)

// openRole opens one dump of a fixture set (fixtures.Missing when the set
// lacks it).
func openRole(t *testing.T, s *fixtures.Set, role string) *dump.Dump {
	t.Helper()
	f := s.MustRole(t, role)
	fh, err := os.Open(f.Path)
	if err != nil {
		fixtures.Missing(t, err)
	}
	t.Cleanup(func() { fh.Close() })
	d, err := dump.Open(f.Name, fh, f.Size)
	if err != nil {
		t.Fatalf("open %s: %v", f.Path, err)
	}
	return d
}

// systemMap reads the wanted symbols from the set's System.map (the manifest
// names it), unrelocated.
func systemMap(t *testing.T, s *fixtures.Set, names ...string) map[string]uint64 {
	t.Helper()
	fh, err := os.Open(s.KernelFile(t, "system_map"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	syms := map[string]uint64{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && want[f[2]] {
			v, err := strconv.ParseUint(f[0], 16, 64)
			if err == nil {
				syms[f[2]] = v
			}
		}
	}
	return syms
}

// utsname is struct new_utsname (include/uapi/linux/utsname.h): six
// NUL-padded 65-byte strings.
type utsname struct{ sysname, nodename, release, version, machine, domainname string }

func decodeUtsname(b []byte) utsname {
	field := func(i int) string {
		f := b[i*65 : (i+1)*65]
		if j := bytes.IndexByte(f, 0); j >= 0 {
			f = f[:j]
		}
		return string(f)
	}
	return utsname{field(0), field(1), field(2), field(3), field(4), field(5)}
}

func wantRelease(t *testing.T, s *fixtures.Set) string {
	t.Helper()
	b, err := s.Truth("commands/uname_-r")
	if err != nil {
		t.Fatalf("ground truth: %v", err)
	}
	return strings.TrimSpace(string(b))
}

var (
	specsMu sync.Mutex
	specs   = map[string]*btf.Spec{}
)

// memberOffset gives a member's offset in a struct from the set's vmlinux's
// BTF (each vmlinux's read once).
func memberOffset(t *testing.T, s *fixtures.Set, typ, member string) uint64 {
	t.Helper()
	path := s.KernelFile(t, "vmlinux")
	specsMu.Lock()
	spec := specs[path]
	if spec == nil {
		f, err := os.Open(path)
		if err != nil {
			specsMu.Unlock()
			t.Fatal(err)
		}
		spec, err = btf.LoadSpecFromELF(f)
		f.Close()
		if err != nil {
			specsMu.Unlock()
			t.Fatal(err)
		}
		specs[path] = spec
	}
	specsMu.Unlock()
	st, err := spec.StructByName(typ)
	if err != nil {
		t.Fatal(err)
	}
	off, err := ktype.MemberOffset(st, member)
	if err != nil {
		t.Fatalf("%s.%s: %v", typ, member, err)
	}
	return off
}

// TestRealUtsname builds the translator from each dump's VMCOREINFO and
// reads init_uts_ns through the kernel-text mapping, the page tables and the
// direct map, comparing the release with what the guest printed.
func TestRealUtsname(t *testing.T) {
	for _, s := range fixtures.All(t) {
		for _, role := range []string{"lzo-d31", "qemu-elf", "qemu-kdump-zlib", "novmcoreinfo-elf"} {
			if s.Role(role) == nil {
				continue
			}
			t.Run(s.Manifest.ID+"/"+role, func(t *testing.T) {
				d := openRole(t, s, role)
				text := d.VMCOREINFO()
				if len(text) == 0 {
					// No note (QEMU without -device vmcoreinfo): use the
					// kernel's own copy in memory.
					var ranges []vmcoreinfo.Range
					for _, r := range d.PhysRanges() {
						ranges = append(ranges, vmcoreinfo.Range{Start: r.Start, End: r.End})
					}
					var err error
					if text, _, err = vmcoreinfo.FindInMemory(d, ranges); err != nil {
						t.Fatal(err)
					}
				}
				vi, err := vmcoreinfo.Parse(text)
				if err != nil {
					t.Fatalf("VMCOREINFO: %v", err)
				}
				tr, err := x86.NewFromVMCOREINFO(d, vi)
				if err != nil {
					t.Fatal(err)
				}
				uts, ok := vi.Symbol("init_uts_ns")
				if !ok {
					t.Fatal("no SYMBOL(init_uts_ns)")
				}
				// OFFSET(uts_namespace.name) is recorded since v5.11
				// (commit ca4a9241cc5e "kdump: append uts_namespace.name
				// offset to VMCOREINFO"): where it is, it must be the
				// vmlinux's; where not (5.10: the name follows a kref),
				// the vmlinux's BTF gives it.
				nameOff := memberOffset(t, s, "uts_namespace", "name")
				if off, ok := vi.Offset("uts_namespace.name"); ok && uint64(off) != nameOff {
					t.Fatalf("VMCOREINFO OFFSET(uts_namespace.name)=%d, the vmlinux's BTF %d", off, nameOff)
				}
				va := uts + nameOff

				buf := make([]byte, 6*65)
				if _, err := tr.ReadVirtAt(buf, va); err != nil {
					t.Fatalf("read init_uts_ns.name: %v", err)
				}
				u := decodeUtsname(buf)
				if u.sysname != "Linux" || u.machine != "x86_64" {
					t.Errorf("utsname %+v", u)
				}
				want := wantRelease(t, s)
				if u.release != want || u.release != vi.OSRelease {
					t.Errorf("release %q; want %q (VMCOREINFO %q)", u.release, want, vi.OSRelease)
				}
				b, err := s.Truth("proc/version")
				if err != nil {
					t.Fatalf("ground truth: %v", err)
				}
				if !strings.Contains(string(b), u.version) {
					t.Errorf("version %q not in /proc/version %q", u.version, b)
				}
				paText, _, err := tr.Translate(va)
				if err != nil {
					t.Fatal(err)
				}

				// Now find the direct map: from the kernel variable (System.map
				// plus KERNELOFFSET), and from the page tables alone.
				syms := systemMap(t, s, "page_offset_base", "vmalloc_base", "vmemmap_base", "init_uts_ns")
				if mapUts, ok := syms["init_uts_ns"]; ok && mapUts+vi.KernelOffset != uts {
					t.Fatalf("System.map init_uts_ns %#x + KERNELOFFSET %#x != VMCOREINFO %#x", mapUts, vi.KernelOffset, uts)
				}
				layout, err := x86.ReadLayout(tr, func(n string) (uint64, bool) {
					v, ok := syms[n]
					return v + vi.KernelOffset, ok
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("layout: page_offset_base %#x vmalloc_base %#x vmemmap_base %#x", layout.PageOffset, layout.VmallocBase, layout.VmemmapBase)
				found, err := tr.FindPageOffset()
				if err != nil || found != layout.PageOffset {
					t.Errorf("FindPageOffset = %#x, %v; page_offset_base is %#x", found, err, layout.PageOffset)
				}

				// The direct-map alias of init_uts_ns, first through the page
				// tables (no fast path yet), then through the fast path.
				direct := layout.PageOffset + paText
				paWalk, size, err := tr.Translate(direct)
				if err != nil || paWalk != paText {
					t.Fatalf("walk of direct-map %#x = %#x, %v; want %#x", direct, paWalk, err, paText)
				}
				t.Logf("direct map mapped with %d KiB pages", size>>10)
				tr.SetPageOffset(layout.PageOffset)
				buf2 := make([]byte, len(buf))
				if _, err := tr.ReadVirtAt(buf2, direct); err != nil || !bytes.Equal(buf, buf2) {
					t.Errorf("direct-map read differs: %v", err)
				}
			})
		}
	}
}

// TestRealVmalloc translates vmalloc addresses: 4 KiB page-table walks on
// real tables.
func TestRealVmalloc(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			d := openRole(t, s, "qemu-elf")
			vi, err := vmcoreinfo.Parse(d.VMCOREINFO())
			if err != nil {
				t.Fatal(err)
			}
			tr, err := x86.NewFromVMCOREINFO(d, vi)
			if err != nil {
				t.Fatal(err)
			}
			translated, notMapped := 0, 0
			for _, start := range vmallocAddrs(t, s, tr, vi) {
				if _, _, err := tr.Translate(start); err == nil {
					translated++
				} else if errors.Is(err, x86.ErrNotMapped) {
					notMapped++
				} else {
					t.Errorf("translate %#x: %v", start, err)
				}
			}
			t.Logf("vmalloc areas: %d translated, %d not mapped", translated, notMapped)
			if translated == 0 {
				t.Errorf("no vmalloc address translated")
			}
		})
	}
}

// TestRealModules follows the kernel's module list (System.map's "modules")
// into the module area, which only page-table walks reach, and compares the
// names with the guest's /proc/modules. struct module (include/linux/module.h)
// starts with enum module_state state, then struct list_head list, then
// char name[MODULE_NAME_LEN], so the name is at offset 24 on x86_64.
func TestRealModules(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			truth, err := s.Truth("proc/modules")
			if err != nil {
				t.Fatalf("ground truth: %v", err)
			}
			want := map[string]bool{}
			for _, line := range strings.Split(string(truth), "\n") {
				if f := strings.Fields(line); len(f) > 0 {
					want[f[0]] = true
				}
			}
			d := openRole(t, s, "lzo-d31")
			vi, err := vmcoreinfo.Parse(d.VMCOREINFO())
			if err != nil {
				t.Fatal(err)
			}
			tr, err := x86.NewFromVMCOREINFO(d, vi)
			if err != nil {
				t.Fatal(err)
			}
			syms := systemMap(t, s, "modules")
			head, ok := syms["modules"]
			if !ok {
				t.Fatal("System.map has no modules symbol")
			}
			head += vi.KernelOffset
			next, err := x86.ReadKernelU64(tr, head)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for i := 0; i < 1000 && next != head; i++ {
				mod := next - 8
				name := make([]byte, 56)
				if _, err := tr.ReadVirtAt(name, mod+24); err != nil {
					t.Fatalf("module at %#x: %v", mod, err)
				}
				if j := bytes.IndexByte(name, 0); j >= 0 {
					name = name[:j]
				}
				got[string(name)] = true
				if next, err = x86.ReadKernelU64(tr, next); err != nil {
					t.Fatal(err)
				}
			}
			for n := range want {
				if !got[n] {
					t.Errorf("module %s in /proc/modules, not found in the dump", n)
				}
			}
			for n := range got {
				if !want[n] {
					t.Errorf("module %s in the dump, not in /proc/modules", n)
				}
			}
			t.Logf("%d modules", len(got))
		})
	}
}

// BenchmarkRealReadVirt reads the utsname through the kernel-text mapping,
// the direct-map fast path and page-table walks of the direct map, and
// translates scattered direct-map addresses by walking the real tables.
func BenchmarkRealReadVirt(b *testing.B) {
	sets := fixtures.All(b)
	s := sets[0]
	f := s.Role("lzo-d31")
	if f == nil {
		b.Skip("no lzo-d31 dump")
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	d, err := dump.Open(f.Name, fh, f.Size)
	if err != nil {
		b.Fatal(err)
	}
	vi, err := vmcoreinfo.Parse(d.VMCOREINFO())
	if err != nil {
		b.Fatal(err)
	}
	tr, err := x86.NewFromVMCOREINFO(d, vi)
	if err != nil {
		b.Fatal(err)
	}
	uts, _ := vi.Symbol("init_uts_ns")
	pa, _, err := tr.Translate(uts)
	if err != nil {
		b.Fatal(err)
	}
	base, err := tr.FindPageOffset()
	if err != nil {
		b.Fatal(err)
	}
	direct, _ := tr.WithPGD(tr.Config().PGD)
	direct.SetPageOffset(base)
	buf := make([]byte, 6*65)
	for _, c := range []struct {
		name string
		tr   *x86.Translator
		va   uint64
	}{
		{"text", tr, uts},
		{"direct", direct, base + pa},
		{"walk", tr, base + pa},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.tr.ReadVirtAt(buf, c.va); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("translate-walk", func(b *testing.B) {
		b.ReportAllocs()
		i := uint64(0)
		for b.Loop() {
			i = (i + 1025) % (256 << 20 >> 12)
			if _, _, err := tr.Translate(base + i<<12); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// vmallocAddrs returns up to 200 vmalloc addresses of the dump: the start of
// each area on vmap_area_list where VMCOREINFO gives it and the vmap_area
// offsets; since v6.9 (commit 55c49fee57af, "mm/vmalloc: remove
// vmap_area_list") the kernel stacks of the tasks, which CONFIG_VMAP_STACK
// (set in Debian's kernels) allocates with vmalloc, found from init_task
// (System.map) and task_struct's tasks and stack members (the vmlinux's BTF).
func vmallocAddrs(t *testing.T, s *fixtures.Set, tr *x86.Translator, vi *vmcoreinfo.Info) []uint64 {
	t.Helper()
	var out []uint64
	if head, ok := vi.Symbol("vmap_area_list"); ok {
		offList, ok2 := vi.Offset("vmap_area.list")
		offStart, ok3 := vi.Offset("vmap_area.va_start")
		if !ok2 || !ok3 {
			t.Fatal("VMCOREINFO has vmap_area_list without the vmap_area offsets")
		}
		next, err := x86.ReadKernelU64(tr, head)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 200 && next != head; i++ {
			area := next - uint64(offList)
			start, err := x86.ReadKernelU64(tr, area+uint64(offStart))
			if err != nil {
				t.Fatalf("vmap_area %#x: %v", area, err)
			}
			out = append(out, start)
			if next, err = x86.ReadKernelU64(tr, next); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	offTasks := memberOffset(t, s, "task_struct", "tasks")
	offStack := memberOffset(t, s, "task_struct", "stack")
	initTask, ok := systemMap(t, s, "init_task")["init_task"]
	if !ok {
		t.Fatal("System.map has no init_task")
	}
	head := initTask + vi.KernelOffset + offTasks
	next, err := x86.ReadKernelU64(tr, head)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200 && next != head; i++ {
		stack, err := x86.ReadKernelU64(tr, next-offTasks+offStack)
		if err != nil {
			t.Fatalf("task %#x: %v", next-offTasks, err)
		}
		out = append(out, stack)
		if next, err = x86.ReadKernelU64(tr, next); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < 10 {
		t.Fatalf("%d tasks on init_task.tasks", len(out))
	}
	return out
}
