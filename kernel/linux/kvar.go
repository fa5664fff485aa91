package linux

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/kernel/symbols"
)

// Small helpers over the kernel's symbols and enumerators, used to decide
// what a kernel was built with (CONFIG_… options bring symbols and
// enumerators with them) and to read its arrays in bulk.

// EnumValue is the value of the kernel enumerator name (NR_FREE_PAGES),
// from the types in use.
func EnumValue(p *object.Program, name string) (int64, error) {
	v, err := p.Types.EnumValue(name)
	if err != nil {
		return 0, fmt.Errorf("enumerator %s: %w", name, err)
	}
	return v, nil
}

// HasEnumValue reports whether the kernel was built with enumerator name;
// many are under #ifdef CONFIG_… (MIGRATE_CMA, NR_UNACCEPTED).
//
// An enumerator whose enum may have been lost (ktype.ErrLost) is an
// undecided probe (Program.NoteUndecided), not a no.
func HasEnumValue(p *object.Program, name string) bool {
	_, err := p.Types.EnumValue(name)
	if err != nil && errors.Is(err, ktype.ErrLost) {
		p.NoteUndecided(err)
	}
	return err == nil
}

// HasSymbol reports whether the kernel has the symbol name.
//
// A symbol table read in part (kallsyms cut short) cannot say no: such a
// miss is an undecided probe (Program.NoteUndecided).
func HasSymbol(p *object.Program, name string) bool {
	_, err := p.Syms.Addr(name)
	if err != nil && errors.Is(err, symbols.ErrLost) {
		p.NoteUndecided(err)
	}
	return err == nil
}

// SymbolIndex is element i of the array variable symbol whose elements
// have type typ: symbol[i]. (Program.VarAs types a symbol as one element.)
func SymbolIndex(p *object.Program, symbol, typ string, i int) object.Object {
	path := fmt.Sprintf("%s[%d]", symbol, i)
	t, err := p.Type(typ)
	if err != nil {
		return p.Errorf(path, "%v", err)
	}
	addr, err := p.Syms.Addr(symbol)
	if err != nil {
		return p.Errorf(path, "%v", err)
	}
	size, err := ktype.Sizeof(t)
	if err != nil {
		return p.Errorf(path, "%v", err)
	}
	if i < 0 || i > 1<<20 {
		return p.Errorf(path, "index out of range")
	}
	return p.Object(t, addr+uint64(i)*size, path)
}

// enumCount is an enum's NR_… terminator, bounds-checked.
func enumCount(p *object.Program, name string) (int, error) {
	v, err := EnumValue(p, name)
	if err != nil {
		return 0, err
	}
	if v < 0 || v > maxVMStatItems {
		return 0, fmt.Errorf("%s = %d, not plausible", name, v)
	}
	return int(v), nil
}

// readWords reads n little-endian 64-bit words at the object's address
// (an array of atomic_long_t or unsigned long) in one read.
func readWords(o object.Object, n int) ([]uint64, error) {
	if n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("%s: %d words, not plausible", o.Path(), n)
	}
	b := make([]byte, 8*n)
	if err := o.Read(b); err != nil {
		return nil, err
	}
	w := make([]uint64, n)
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return w, nil
}

// IntOrAtomic reads a counter that some kernels keep as a plain integer
// and others as atomic_t / atomic_long_t (its counter member): the type
// the kernel has decides (kswapd_failures became atomic_t and
// swap_info_struct.inuse_pages atomic_long_t after 6.12).
func IntOrAtomic(o object.Object) (int64, error) {
	if o.HasMember("counter") {
		o = o.Member("counter")
	}
	return o.Int()
}
