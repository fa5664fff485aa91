package linux

import (
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// koBTF reads the .BTF section of module name's .ko (or .ko.xz, as
// Debian 13 ships them) from the fixture's kernel package (modules/ beside
// the vmlinux), nil when absent.
func koBTF(t *testing.T, s *fixtures.Set, name string) []byte {
	t.Helper()
	dir := filepath.Join(filepath.Dir(s.Manifest.Vmlinux.Path), "modules")
	var path string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		n := strings.ReplaceAll(d.Name(), "-", "_")
		if err == nil && !d.IsDir() && (n == name+".ko" || n == name+".ko.xz") {
			path = p
		}
		return nil
	})
	if path == "" {
		return nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".xz") {
		xr, err := xz.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if raw, err = io.ReadAll(xr); err != nil {
			t.Fatal(err)
		}
	}
	f, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	sec := f.Section(".BTF")
	if sec == nil {
		return nil
	}
	b, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// configSet says whether the set's kernel config (the manifest's
// kernel_config) has option=y.
func configSet(t *testing.T, s *fixtures.Set, option string) bool {
	t.Helper()
	b, err := os.ReadFile(s.KernelFile(t, "kernel_config"))
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(strings.Split(string(b), "\n"), option+"=y")
}

// TestModuleBTFMatchesKo reads btf_modules from each fixture dump in each
// mode: every loaded module has BTF, the bytes the kernel keeps equal the
// .BTF section of the module's .ko, and it decodes on top of the vmlinux
// BTF. Types that exist only in modules then resolve through
// object.Program.ModuleTypes, and real instances read: the loop devices
// of the loop module's loop_index_idr against /sys/block/loop*.
func TestModuleBTFMatchesKo(t *testing.T) {
	for _, s := range fixtures.All(t) {
		for _, mode := range kerneltest.Modes {
			t.Run(s.Manifest.ID+"/"+string(mode), func(t *testing.T) {
				k, ok := kerneltest.OpenMode(t, s, s.RefRole(), mode)
				if !ok {
					return
				}
				mt := NewModuleTypes(k.Program(), k.BTF())
				mods, err := mt.Modules()
				sym := NewSymbolizer(k.Program(), k.Symbols())
				loaded, lerr := sym.Modules()
				if lerr != nil {
					t.Fatal(lerr)
				}
				if built := configSet(t, s, "CONFIG_DEBUG_INFO_BTF_MODULES"); errors.Is(err, ErrNoModuleBTF) || !built {
					// Module BTF exists since v5.11 (commit 5f9ae91f7c0d
					// "kbuild: Build kernel module BTFs if BTF is enabled
					// and pahole supports it"): a kernel built without it
					// must say so, and its modules carry none.
					if built || !errors.Is(err, ErrNoModuleBTF) {
						t.Fatalf("CONFIG_DEBUG_INFO_BTF_MODULES set: %v; module BTF: %v", built, err)
					}
					for _, m := range loaded {
						if koBTF(t, s, m.Name) != nil {
							t.Errorf("%s: ErrNoModuleBTF, yet its .ko has a .BTF section", m.Name)
						}
					}
					t.Logf("no module BTF, as the kernel's config says: %v", err)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				var want, have []string
				for _, m := range loaded {
					want = append(want, m.Name)
				}
				for _, m := range mods {
					have = append(have, m.Module)
				}
				sort.Strings(want)
				sort.Strings(have)
				if strings.Join(have, " ") != strings.Join(want, " ") {
					t.Errorf("btf_modules %v, loaded modules %v", have, want)
				}
				compared, types := 0, 0
				for _, m := range mods {
					spec, err := mt.Spec(m)
					if err != nil {
						t.Errorf("%s: %v", m.Module, err)
						continue
					}
					types += spec.NumTypes() - int(spec.StartID()) + 1
					ko := koBTF(t, s, m.Module)
					if ko == nil {
						continue
					}
					mem := make([]byte, m.Size)
					if _, err := k.Program().Mem.ReadVirtAt(mem, m.Data); err != nil {
						t.Errorf("%s: %v", m.Module, err)
						continue
					}
					if !bytes.Equal(mem, ko) {
						t.Errorf("%s: the kernel's BTF (%d bytes) differs from the .ko's .BTF (%d bytes)", m.Module, len(mem), len(ko))
					}
					compared++
				}
				t.Logf("%d modules with BTF (%d own types), %d equal to their .ko's .BTF", len(mods), types, compared)
				if compared == 0 {
					t.Error("no module BTF compared with a .ko")
				}

				// Module-only types, through the Program's fallback.
				k.Program().ModuleTypes = mt
				for _, n := range []string{"struct Scsi_Host", "struct loop_device", "struct virtio_blk"} {
					if _, err := k.Program().Types.StructByName(strings.TrimPrefix(n, "struct ")); !errors.Is(err, ktype.ErrNotFound) {
						t.Errorf("%s is in the vmlinux types (%v): not a module-only type", n, err)
					}
					typ, err := k.Program().Type(n)
					if err != nil {
						t.Errorf("%s: %v", n, err)
						continue
					}
					if sz, _ := ktype.Sizeof(typ); sz == 0 {
						t.Errorf("%s: size 0", n)
					}
				}
				idr, err := sym.ModuleKallsymsLookupName("loop:loop_index_idr")
				if err != nil {
					t.Fatal(err)
				}
				idrType, err := k.Program().Type("struct idr")
				if err != nil {
					t.Fatal(err)
				}
				loType, err := k.Program().Type("struct loop_device")
				if err != nil {
					t.Fatal(err)
				}
				var numbers []int64
				for e, err := range XArrayForEach(k.Program().Object(idrType, idr, "loop_index_idr").Member("idr_rt")) {
					if err != nil {
						t.Fatal(err)
					}
					lo := k.Program().Object(loType, e.Entry, "loop_device")
					n, err := lo.Member("lo_number").Int()
					if err != nil {
						t.Fatal(err)
					}
					if uint64(n) != e.Index {
						t.Errorf("loop_device at index %d has lo_number %d", e.Index, n)
					}
					numbers = append(numbers, n)
				}
				for i := 0; ; i++ {
					if _, err := s.Truth("sys/block/loop" + string(rune('0'+i)) + "/size"); err != nil {
						if len(numbers) != i {
							t.Errorf("%d loop devices read, the truth has loop0..loop%d", len(numbers), i-1)
						}
						break
					}
				}
			})
		}
	}
}
