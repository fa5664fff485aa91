package btf_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
	"github.com/vmcore-report/vmcore-report/kernel/btf"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// TestBTFFromDumpMemory reads the BTF a crashed kernel carries in its own
// memory (__start_BTF..__stop_BTF, through the dump's page tables) and checks
// it describes the same types as the .BTF section of the matching vmlinux.
// This is the path a user without debug info takes. A kernel that cannot be
// read from its dump alone (no kallsyms tables in VMCOREINFO before v6.0:
// the refusal is checked) has its memory's BTF found through the vmlinux's
// symbols instead, and compared the same way.
func TestBTFFromDumpMemory(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			f, err := os.Open(s.Manifest.Vmlinux.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want, err := btf.LoadSpecFromELF(f)
			if err != nil {
				t.Fatal(err)
			}
			var got *btf.Spec
			if k, ok := kerneltest.Open(t, s, s.RefRole(), false); ok {
				got = k.BTF()
			} else {
				got = memoryBTF(t, s)
			}
			if got == nil {
				t.Fatal("no BTF read from the dump")
			}
			if got.NumTypes() != want.NumTypes() {
				t.Errorf("memory BTF has %d types, vmlinux BTF %d", got.NumTypes(), want.NumTypes())
			}
			for _, name := range []string{"task_struct", "mm_struct", "page", "zone", "pglist_data", "module", "rq", "sk_buff"} {
				g, err1 := got.StructByName(name)
				w, err2 := want.StructByName(name)
				if err1 != nil || err2 != nil {
					t.Errorf("struct %s: %v, %v", name, err1, err2)
					continue
				}
				if gl, wl := layout(g), layout(w); gl != wl {
					t.Errorf("struct %s differs:\nmemory:  %.200s\nvmlinux: %.200s", name, gl, wl)
				}
			}
			if got, want := enumValue(got, "NR_VM_ZONE_STAT_ITEMS"), enumValue(want, "NR_VM_ZONE_STAT_ITEMS"); got != want {
				t.Errorf("NR_VM_ZONE_STAT_ITEMS = %s from memory, %s from vmlinux", got, want)
			}
		})
	}
}

// memoryBTF reads __start_BTF..__stop_BTF from the dump's memory at the
// addresses the vmlinux's symbols give.
func memoryBTF(t *testing.T, s *fixtures.Set) *btf.Spec {
	t.Helper()
	k, _ := kerneltest.Open(t, s, s.RefRole(), true) // with a vmlinux: never refused
	start, err1 := k.Symbols().Addr("__start_BTF")
	stop, err2 := k.Symbols().Addr("__stop_BTF")
	if err1 != nil || err2 != nil || stop <= start {
		t.Fatalf("__start_BTF %#x (%v), __stop_BTF %#x (%v)", start, err1, stop, err2)
	}
	b := make([]byte, stop-start)
	if _, err := k.Program().Mem.ReadVirtAt(b, start); err != nil {
		t.Fatalf("the BTF in memory: %v", err)
	}
	spec, err := btf.LoadSpec(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("the BTF in memory: %v", err)
	}
	return spec
}

func layout(s *ktype.Struct) string {
	var b strings.Builder
	fmt.Fprintf(&b, "size %d;", s.Size)
	for _, m := range s.Members {
		fmt.Fprintf(&b, " %s@%d:%d;", ktype.Declaration(m.Type, m.Name), m.Offset, m.BitfieldSize)
	}
	return b.String()
}

func enumValue(s *btf.Spec, name string) string {
	v, err := s.EnumValue(name)
	return fmt.Sprint(v, err)
}
