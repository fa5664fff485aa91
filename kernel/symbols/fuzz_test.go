package symbols

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/allocbound"
)

// flatMemory maps one byte slice at a base address.
type flatMemory struct {
	base uint64
	b    []byte
}

func (m flatMemory) ReadVirtAt(p []byte, va uint64) (int, error) {
	if va < m.base || va-m.base > uint64(len(m.b)) || uint64(len(p)) > uint64(len(m.b))-(va-m.base) {
		return 0, errors.New("unmapped")
	}
	return copy(p, m.b[va-m.base:]), nil
}

// tinyKallsyms lays out a two-symbol table: tokens are single characters,
// so each compressed byte is the character itself.
func tinyKallsyms() []byte {
	mem := make([]byte, 4096)
	binary.LittleEndian.PutUint32(mem[0:], 2) // num_syms
	for i := 0; i < 256; i++ {                // token_index at 0x100, token_table at 0x400
		binary.LittleEndian.PutUint16(mem[0x100+2*i:], uint16(2*i))
		mem[0x400+2*i] = byte(i)
	}
	binary.LittleEndian.PutUint32(mem[0x800:], 0x10)   // offsets
	binary.LittleEndian.PutUint32(mem[0x804:], 0x20)   //
	binary.LittleEndian.PutUint64(mem[0x900:], 0x1000) // relative_base
	copy(mem[0xa00:], "\x04Tfoo\x04tbar")              // names
	return mem
}

var tinyAddrs = KallsymsAddrs{NumSyms: 0, TokenIndex: 0x100, TokenTable: 0x400, Offsets: 0x800, RelativeBase: 0x900, Names: 0xa00}

func TestKallsymsTiny(t *testing.T) {
	tab, err := FromKallsyms(flatMemory{0, tinyKallsyms()}, tinyAddrs)
	if err != nil {
		t.Fatal(err)
	}
	foo, ok1 := tab.Lookup("foo")
	bar, ok2 := tab.Lookup("bar")
	if !ok1 || !ok2 || foo.Addr != 0x1010 || foo.Type != 'T' || bar.Addr != 0x1020 || bar.Type != 't' {
		t.Errorf("foo %+v bar %+v", foo, bar)
	}
	if got := tab.String(0x1018); got != "foo+0x8" {
		t.Errorf("symbolize 0x1018 = %q", got)
	}
}

func FuzzKallsyms(f *testing.F) {
	f.Add(tinyKallsyms())
	f.Fuzz(func(t *testing.T, mem []byte) {
		// Must end in a table or an error, never a panic or a runaway
		// allocation: the tables decoded are slices of mem, so a few bytes
		// per byte of it, plus the 16 MiB offsets table a num_syms of 4 Mi
		// may make us read before the names show it is wrong.
		allocbound.Check(t, "FromKallsyms", allocbound.Limit(int64(len(mem)), 64, 24<<20), func() {
			_, _ = FromKallsyms(flatMemory{0, mem}, tinyAddrs)
		})
	})
}

// FuzzFromELF reads the .symtab of arbitrary ELF files: errors, never a
// panic, and memory in proportion to the file (sections are checked
// against it before anything is allocated for them).
func FuzzFromELF(f *testing.F) {
	f.Add(tinyVmlinux(f, 2*64))
	f.Add(tinyVmlinux(f, 240<<20))
	f.Fuzz(func(t *testing.T, file []byte) {
		allocbound.Check(t, "FromELF", allocbound.Limit(int64(len(file)), 16, 4<<20), func() {
			tab, err := FromELF(bytes.NewReader(file), 0x1000000)
			if err == nil {
				for _, s := range tab.All() {
					tab.Symbolize(s.Addr + 1)
				}
			}
		})
	})
}
