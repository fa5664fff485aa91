package kdwarf

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// The lookups below implement ktype.Source. Each builds the name index on
// first use. When a name has several definitions (file-local structs that
// share a name), the first one in .debug_info order with a body wins.

// StructByName returns struct name. It wraps ktype.ErrNotFound when no unit
// defines it with a body.
func (d *Data) StructByName(name string) (*ktype.Struct, error) {
	t, err := d.byName(nkStruct, name)
	if err != nil {
		return nil, err
	}
	s, ok := t.(*ktype.Struct)
	if !ok {
		return nil, fmt.Errorf("struct %s: decoded as %s", name, t.Kind())
	}
	return s, nil
}

// UnionByName returns union name.
func (d *Data) UnionByName(name string) (*ktype.Union, error) {
	t, err := d.byName(nkUnion, name)
	if err != nil {
		return nil, err
	}
	u, ok := t.(*ktype.Union)
	if !ok {
		return nil, fmt.Errorf("union %s: decoded as %s", name, t.Kind())
	}
	return u, nil
}

// TypedefByName returns typedef name.
func (d *Data) TypedefByName(name string) (*ktype.Typedef, error) {
	t, err := d.byName(nkTypedef, name)
	if err != nil {
		return nil, err
	}
	td, ok := t.(*ktype.Typedef)
	if !ok {
		return nil, fmt.Errorf("typedef %s: decoded as %s", name, t.Kind())
	}
	return td, nil
}

// EnumByName returns enum name.
func (d *Data) EnumByName(name string) (*ktype.Enum, error) {
	t, err := d.byName(nkEnum, name)
	if err != nil {
		return nil, err
	}
	e, ok := t.(*ktype.Enum)
	if !ok {
		return nil, fmt.Errorf("enum %s: decoded as %s", name, t.Kind())
	}
	return e, nil
}

// TypeByName returns the type of the given kind called name: a struct,
// union, enum or typedef; a base type for KindInt and KindFloat ("unsigned
// int", spelt as the compiler does: "long unsigned int"); "void" for
// KindVoid; a Fwd for a struct or union only ever declared; and a Var for
// KindVar, with the variable's type as VarType gives it.
func (d *Data) TypeByName(name string, kind ktype.Kind) (ktype.Type, error) {
	switch kind {
	case ktype.KindStruct:
		return d.StructByName(name)
	case ktype.KindUnion:
		return d.UnionByName(name)
	case ktype.KindEnum:
		return d.EnumByName(name)
	case ktype.KindTypedef:
		return d.TypedefByName(name)
	case ktype.KindInt, ktype.KindFloat:
		t, err := d.byName(nkBase, name)
		if err != nil {
			return nil, err
		}
		if t.Kind() != kind {
			return nil, fmt.Errorf("%s %s: base type is %s: %w", kind, name, t.Kind(), ktype.ErrNotFound)
		}
		return t, nil
	case ktype.KindVoid:
		if name == "void" {
			return ktype.TheVoid, nil
		}
	case ktype.KindFwd:
		return d.fwdByName(name)
	case ktype.KindVar:
		t, external, err := d.variable(name)
		if err != nil {
			return nil, err
		}
		linkage := ktype.StaticLinkage
		if external {
			linkage = ktype.GlobalLinkage
		}
		return &ktype.Var{Name: name, Type: t, Linkage: linkage}, nil
	}
	return nil, fmt.Errorf("%s %s: %w", kind, name, ktype.ErrNotFound)
}

// VarType returns the type of the global (or file-static) variable name,
// such as struct task_struct for init_task or atomic_long_t[11] for
// vm_zone_stat. Per-cpu variables give the type of one CPU's copy. The
// defining entry is preferred to extern declarations, whose array bounds
// may be missing. It wraps ktype.ErrNotFound for unknown names.
func (d *Data) VarType(name string) (ktype.Type, error) {
	t, _, err := d.variable(name)
	return t, err
}

// variable returns the type of variable name and whether it is external
// (DW_AT_external on its definition or declaration).
func (d *Data) variable(name string) (ktype.Type, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ensureIndex(); err != nil {
		return nil, false, err
	}
	ent, ok := d.names[nkVar].lookup(name)
	off := uint64(ent.def)
	if off == 0 {
		off = uint64(ent.decl)
	}
	if !ok || off == 0 {
		return nil, false, fmt.Errorf("variable %s: %w", name, ktype.ErrNotFound)
	}
	m := &d.mat
	external := false
	// A definition completing a declaration may carry no DW_AT_type of
	// its own; follow DW_AT_specification (or DW_AT_abstract_origin).
	for range 8 {
		e, _, err := m.entry(off)
		if err != nil {
			return nil, false, fmt.Errorf("variable %s: %w", name, err)
		}
		external = external || e.external
		if e.has&(hasType|refBroken) != 0 {
			t, err := m.resolveTypeOf(&e)
			if err != nil {
				return nil, false, fmt.Errorf("variable %s: %w", name, err)
			}
			return t, external, nil
		}
		switch {
		case e.has&hasSpec != 0:
			off = e.spec
		case e.has&hasOrigin != 0:
			off = e.origin
		default:
			return nil, false, fmt.Errorf("variable %s: entry at 0x%x has no type", name, e.off)
		}
	}
	return nil, false, fmt.Errorf("variable %s: specification chain too long", name)
}

// byName resolves the first definition of name in the index of kind.
func (d *Data) byName(kind nameKind, name string) (ktype.Type, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ensureIndex(); err != nil {
		return nil, err
	}
	ent, ok := d.names[kind].lookup(name)
	if !ok || ent.def == 0 {
		return nil, fmt.Errorf("%s %s: %w", nameKindWords[kind], name, ktype.ErrNotFound)
	}
	t, err := d.mat.resolveNamed(kind, name, ent)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", nameKindWords[kind], name, err)
	}
	return t, nil
}

// fwdByName returns the forward declaration of a struct or union that no
// unit defines.
func (d *Data) fwdByName(name string) (ktype.Type, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ensureIndex(); err != nil {
		return nil, err
	}
	for _, k := range []nameKind{nkStruct, nkUnion} {
		ent, ok := d.names[k].lookup(name)
		if ok && ent.def == 0 && ent.decl != 0 {
			of := ktype.FwdStruct
			if k == nkUnion {
				of = ktype.FwdUnion
			}
			return d.mat.fwd(name, of), nil
		}
	}
	return nil, fmt.Errorf("fwd %s: %w", name, ktype.ErrNotFound)
}

// EnumValue returns the value of the enumerator called name, from any
// top-level enum of any unit, such as NR_FREE_PAGES of enum zone_stat_item.
// The first call scans .debug_info again to index every enumerator. It
// wraps ktype.ErrNotFound when no enum has it and ktype.ErrMultipleMatches
// when two enums give it different values.
func (d *Data) EnumValue(name string) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ensureEnumerators(); err != nil {
		return 0, err
	}
	e, ok := d.enums[name]
	switch {
	case !ok:
		return 0, fmt.Errorf("enumerator %s: %w", name, ktype.ErrNotFound)
	case e.conflict:
		return 0, fmt.Errorf("enumerator %s: %w", name, ktype.ErrMultipleMatches)
	}
	return e.value, nil
}
