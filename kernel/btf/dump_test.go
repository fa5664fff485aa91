package btf_test

import (
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
// This is the path a user without debug info takes.
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
			k := kerneltest.Open(t, s, s.RefRole(), false)
			got := k.BTF()
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
