package symbols

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/allocbound"
	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// tinyVmlinux is an x86_64 ELF executable with a .symtab of one symbol
// whose sh_size is symtabSize, and its .strtab.
func tinyVmlinux(t testing.TB, symtabSize uint64) []byte {
	t.Helper()
	strtab := []byte("\x00init_task\x00")
	sym := make([]byte, 2*elf.Sym64Size)
	le := binary.LittleEndian
	le.PutUint32(sym[elf.Sym64Size:], 1)
	sym[elf.Sym64Size+4] = byte(elf.STT_OBJECT)
	le.PutUint16(sym[elf.Sym64Size+6:], 1)
	le.PutUint64(sym[elf.Sym64Size+8:], 0xffffffff82a0a000)
	shstr := []byte("\x00.symtab\x00.strtab\x00.shstrtab\x00")
	var body bytes.Buffer
	body.Write(make([]byte, 64))
	secs := []elf.Section64{{}}
	add := func(name uint32, typ elf.SectionType, link uint32, data []byte, size uint64) {
		secs = append(secs, elf.Section64{Name: name, Type: uint32(typ), Off: uint64(body.Len()), Size: size, Link: link, Addralign: 1, Entsize: 0})
		body.Write(data)
	}
	add(1, elf.SHT_SYMTAB, 2, sym, symtabSize)
	add(9, elf.SHT_STRTAB, 0, strtab, uint64(len(strtab)))
	add(17, elf.SHT_STRTAB, 0, shstr, uint64(len(shstr)))
	for body.Len()%8 != 0 {
		body.WriteByte(0)
	}
	shoff := body.Len()
	for _, s := range secs {
		binary.Write(&body, le, s)
	}
	out := body.Bytes()
	var hdr bytes.Buffer
	binary.Write(&hdr, le, elf.Header64{
		Ident: [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)},
		Type:  uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Shoff: uint64(shoff), Ehsize: 64, Shentsize: 64, Shnum: uint16(len(secs)), Shstrndx: 3,
	})
	copy(out, hdr.Bytes())
	return out
}

// TestIssue17SymtabClaims: a .symtab whose header claims 240 MiB in a
// file of a few hundred bytes fails before anything near the claim is
// allocated.
func TestIssue17SymtabClaims(t *testing.T) {
	good := tinyVmlinux(t, 2*elf.Sym64Size)
	tab, err := FromELF(bytes.NewReader(good), 0)
	if err != nil {
		t.Fatalf("FromELF of the good file: %v", err)
	}
	if a, err := tab.Addr("init_task"); err != nil || a != 0xffffffff82a0a000 {
		t.Fatalf("init_task = %#x, %v", a, err)
	}
	bad := tinyVmlinux(t, 240<<20)
	allocbound.Check(t, ".symtab claiming 240 MiB", allocbound.Limit(int64(len(bad)), 4, 1<<20), func() {
		if _, err := FromELF(bytes.NewReader(bad), 0); err == nil {
			t.Error("no error")
		}
	})
}

// holeyMemory is kernel memory with one unreadable page.
type holeyMemory struct {
	elfMemory
	hole uint64
}

func (m holeyMemory) ReadVirtAt(p []byte, va uint64) (int, error) {
	if va <= m.hole && m.hole < va+uint64(len(p)) {
		n := int(m.hole - va)
		if n > 0 {
			if _, err := m.elfMemory.ReadVirtAt(p[:n], va); err != nil {
				return 0, err
			}
		}
		return n, errors.New("page excluded")
	}
	return m.elfMemory.ReadVirtAt(p, va)
}

// TestIssue17KallsymsBadPage: an unreadable page in the middle of
// kallsyms_names keeps the symbols decoded before it, and says so, rather
// than losing every symbol (issue 17: one bad page failed all outputs).
func TestIssue17KallsymsBadPage(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			fh, err := os.Open(s.Manifest.Vmlinux.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			elfTab, err := FromELF(fh, 0)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.NewFile(fh)
			if err != nil {
				t.Fatal(err)
			}
			a := kallsymsAddrsOf(t, elfTab)
			hole := (a.Names + 300<<10) &^ 4095
			ks, err := FromKallsyms(holeyMemory{elfMemory{f}, hole}, a)
			if err != nil {
				t.Fatalf("FromKallsyms: %v", err)
			}
			if ks.Incomplete() == nil {
				t.Errorf("Incomplete() = nil for a table cut by a bad page")
			}
			if ks.Len() < 1000 {
				t.Errorf("only %d symbols kept", ks.Len())
			}
			for _, sym := range ks.All()[:100] {
				if e, ok := elfTab.Lookup(sym.Name); !ok || e.Addr != sym.Addr {
					t.Errorf("kept symbol %s at %#x; .symtab has %#x", sym.Name, sym.Addr, e.Addr)
				}
			}
			// The whole table, to tell what was lost.
			full, err := FromKallsyms(elfMemory{f}, a)
			if err != nil || full.Incomplete() != nil {
				t.Fatalf("undamaged kallsyms: %v, %v", err, full.Incomplete())
			}
			type key struct {
				name string
				addr uint64
			}
			whole := map[key]bool{}
			for _, e := range full.All() {
				whole[key{e.Name, e.Addr}] = true
			}
			have := map[key]bool{}
			for _, e := range ks.All() {
				if have[key{e.Name, e.Addr}] = true; !whole[key{e.Name, e.Addr}] {
					t.Errorf("kept %s at %#x, not in the whole table", e.Name, e.Addr)
				}
			}
			var lost []Symbol
			for _, e := range full.All() {
				if !have[key{e.Name, e.Addr}] {
					lost = append(lost, e)
				}
			}
			// The symbols past the bad page are found again from
			// kallsyms_markers: what is lost is the block of 256 the page
			// cuts and the page's own, not everything after it.
			t.Logf("%d of %d symbols kept, %d lost", ks.Len(), full.Len(), len(lost))
			if len(lost) == 0 || len(lost) > 3*markerEvery {
				t.Errorf("%d symbols lost, want 1 to %d", len(lost), 3*markerEvery)
			}
			// A lost symbol is not put down to the kept one below it, and a
			// name not kept is lost, not absent: a probe must not say no.
			for _, e := range lost {
				if !isText(e.Type) {
					continue
				}
				if s, off, ok := ks.Symbolize(e.Addr); ok {
					t.Errorf("lost %s's address symbolized as %s+%#x", e.Name, s.Name, off)
				}
				if _, err := ks.Addr(e.Name); !errors.Is(err, ErrLost) || errors.Is(err, ErrNotFound) {
					t.Errorf("Addr(%s) = %v, want ErrLost only", e.Name, err)
				}
				break
			}
			first := ks.All()[0]
			if s, _, ok := ks.Symbolize(first.Addr); !ok || s.Addr != first.Addr {
				t.Errorf("a kept symbol's address: %v %v", s, ok)
			}
		})
	}
}
