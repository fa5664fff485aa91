package kdwarf

import (
	"container/heap"
	"errors"
	"fmt"
	"math"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// maxRefDepth caps the chain of pointers, qualifiers, arrays and
// prototypes the decoder follows by recursion. Named types and anonymous
// structs, unions and enums are filled from a work list instead, so real
// kernels stay far below it; only malformed input (a pointer to itself)
// reaches it.
const maxRefDepth = 256

// maxViewBytes bounds the unit bytes the materializer keeps while it
// resolves a type: the 154 units that the closure of struct task_struct
// reaches on 6.1 hold 12 MB, so none is read twice. Between lookups it
// keeps maxIdleViewBytes of the most recent ones.
const (
	maxViewBytes     = 32 << 20
	maxIdleViewBytes = 4 << 20
)

// materializer turns entries into ktype values, memoised by entry offset.
//
// A struct reaches thousands of types over a hundred units or more (struct
// task_struct reaches about 10,000 over 154 units), so the order of reads
// matters. A named type becomes a shell built from the name index alone
// (name, size) and its body waits in a work list, which is worked like an
// elevator (see drain), so that .debug_info is swept forward a few times
// rather than read in the order references happen to be met.
type materializer struct {
	d     *Data
	types map[uint64]ktype.Type

	// Unnamed wrappers are shared by what they wrap, so that the
	// thousands of units defining "struct list_head *" give one Pointer.
	ptrs      map[ktype.Type]*ktype.Pointer
	consts    map[ktype.Type]*ktype.Const
	volatiles map[ktype.Type]*ktype.Volatile
	restricts map[ktype.Type]*ktype.Restrict
	arrays    map[arrayKey]*ktype.Array
	fwds      map[ktype.Fwd]*ktype.Fwd

	views     map[uint64]*unitView // by unit offset
	viewBytes int
	last      *unitView
	tick      uint64

	// One resolve call is a transaction: on error everything it added to
	// types is dropped so that no half-filled type survives.
	pending []pendingFill
	added   []uint64
}

type arrayKey struct {
	elem     ktype.Type
	count    uint64
	flexible bool
}

// pendingFill is a shell whose body (members, enumerators or typedef
// target) is still to be decoded from the entry at off.
type pendingFill struct {
	off uint64
	t   ktype.Type
}

func (m *materializer) init(d *Data) {
	*m = materializer{
		d:         d,
		types:     make(map[uint64]ktype.Type),
		ptrs:      make(map[ktype.Type]*ktype.Pointer),
		consts:    make(map[ktype.Type]*ktype.Const),
		volatiles: make(map[ktype.Type]*ktype.Volatile),
		restricts: make(map[ktype.Type]*ktype.Restrict),
		arrays:    make(map[arrayKey]*ktype.Array),
		fwds:      make(map[ktype.Fwd]*ktype.Fwd),
		views:     make(map[uint64]*unitView),
	}
}

// view returns the decoding view of the unit holding off.
func (m *materializer) view(off uint64) (*unitView, error) {
	m.tick++
	if v := m.last; v != nil && off >= v.u.dieOff && off < v.u.end {
		v.used = m.tick
		return v, nil
	}
	d := m.d
	u := d.unitAt(off)
	if u == nil {
		return nil, DecodeError{".debug_info", off, "reference outside every unit"}
	}
	if v := m.views[u.off]; v != nil {
		v.used = m.tick
		m.last = v
		return v, nil
	}
	data, err := d.info.read(u.off, u.end-u.off)
	if err != nil {
		return nil, err
	}
	tab := new(abbrevTable)
	if err := parseAbbrevs(d.abbrev, u.abbrevOff, u.format, d.be, tab); err != nil {
		return nil, fmt.Errorf("unit at 0x%x: %w", u.off, err)
	}
	m.trim(maxViewBytes - len(data))
	v := &unitView{d: d, u: u, data: data, tab: tab, used: m.tick}
	m.views[u.off] = v
	m.viewBytes += len(data)
	m.last = v
	return v, nil
}

// trim drops the least recently used unit views until they hold at most
// budget bytes.
func (m *materializer) trim(budget int) {
	for m.viewBytes > budget && len(m.views) > 0 {
		var oldest *unitView
		for _, v := range m.views {
			if oldest == nil || v.used < oldest.used {
				oldest = v
			}
		}
		delete(m.views, oldest.u.off)
		m.viewBytes -= len(oldest.data)
		if m.last == oldest {
			m.last = nil
		}
	}
}

// entry decodes the entry at off and returns it with its unit's view.
func (m *materializer) entry(off uint64) (die, *unitView, error) {
	v, err := m.view(off)
	if err != nil {
		return die{}, nil, err
	}
	e, err := v.entry(off)
	return e, v, err
}

// resolveTypeOf returns the type of e's DW_AT_type, with every type it
// reaches filled in.
func (m *materializer) resolveTypeOf(e *die) (ktype.Type, error) {
	return m.transaction(func() (ktype.Type, error) { return m.typeOf(e, 0) })
}

// resolveNamed returns the model of the named type whose index entry is
// ent, starting from the index rather than the entry.
func (m *materializer) resolveNamed(kind nameKind, name string, ent nameEntry) (ktype.Type, error) {
	return m.transaction(func() (ktype.Type, error) { return m.shell(kind, name, ent, uint64(ent.def)), nil })
}

// transaction runs start, then fills every shell it queued. On error it
// drops every type it added, so that no half-filled type survives.
func (m *materializer) transaction(start func() (ktype.Type, error)) (ktype.Type, error) {
	defer m.trim(maxIdleViewBytes)
	m.pending, m.added = m.pending[:0], m.added[:0]
	t, err := start()
	if err == nil {
		err = m.drain()
	}
	if err != nil {
		for _, o := range m.added {
			delete(m.types, o)
		}
		m.pending, m.added = m.pending[:0], m.added[:0]
		return nil, err
	}
	return t, nil
}

// drain fills pending shells like an elevator: always the nearest pending
// offset ahead of the last one filled, wrapping to the start of the section
// when nothing is left ahead. Shells found on the way are picked up in the
// same sweep when they lie ahead.
func (m *materializer) drain() error {
	var ahead, behind offsetHeap
	for _, p := range m.pending {
		heap.Push(&ahead, p)
	}
	m.pending = m.pending[:0]
	for ahead.Len() > 0 || behind.Len() > 0 {
		if ahead.Len() == 0 {
			ahead, behind = behind, ahead
		}
		p := heap.Pop(&ahead).(pendingFill)
		if err := m.fill(p); err != nil {
			return err
		}
		for _, q := range m.pending {
			if q.off >= p.off {
				heap.Push(&ahead, q)
			} else {
				heap.Push(&behind, q)
			}
		}
		m.pending = m.pending[:0]
	}
	return nil
}

// offsetHeap is a min-heap of pending fills by offset.
type offsetHeap []pendingFill

func (h offsetHeap) Len() int           { return len(h) }
func (h offsetHeap) Less(i, j int) bool { return h[i].off < h[j].off }
func (h offsetHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *offsetHeap) Push(x any)        { *h = append(*h, x.(pendingFill)) }
func (h *offsetHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (m *materializer) set(off uint64, t ktype.Type) {
	m.types[off] = t
	m.added = append(m.added, off)
}

// typeOf returns the type an entry's DW_AT_type names, void when absent.
func (m *materializer) typeOf(e *die, depth int) (ktype.Type, error) {
	if e.has&refBroken != 0 {
		return nil, DecodeError{".debug_info", e.off, "entry's type reference cannot be followed"}
	}
	if e.has&hasType == 0 {
		return ktype.TheVoid, nil
	}
	return m.typeAt(e.typ, depth+1)
}

// typeAt returns the type described by the entry at off.
func (m *materializer) typeAt(off uint64, depth int) (ktype.Type, error) {
	if t, ok := m.types[off]; ok {
		return t, nil
	}
	if depth > maxRefDepth {
		return nil, DecodeError{".debug_info", off, fmt.Sprintf("type references nested deeper than %d", maxRefDepth)}
	}
	e, v, err := m.entry(off)
	if err != nil {
		return nil, err
	}
	if e.has&refBroken != 0 {
		return nil, DecodeError{".debug_info", off, "entry's type reference cannot be followed"}
	}
	if e.has&hasSignature != 0 {
		// A stub for a type in a type unit (-fdebug-types-section).
		t, err := m.typeAt(e.signature, depth+1)
		if err != nil {
			return nil, err
		}
		m.set(off, t)
		return t, nil
	}
	if kind, indexed := kindOfTag(e.tag); indexed && kind != nkVar && len(e.name) > 0 {
		canon, ent, err := m.canonical(&e, kind, v)
		if err != nil {
			return nil, err
		}
		if canon != off {
			t := m.shell(kind, string(e.name), ent, canon)
			m.set(off, t)
			return t, nil
		}
	}
	t, err := m.build(&e, v, depth)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.describe(), err)
	}
	return t, nil
}

// shell returns the model of the canonical entry at off of a named type,
// made from its index entry without reading it: the body is queued.
func (m *materializer) shell(kind nameKind, name string, ent nameEntry, off uint64) ktype.Type {
	if t, ok := m.types[off]; ok {
		return t
	}
	var t ktype.Type
	fill := true
	if off != uint64(ent.def) {
		// Only ever declared.
		switch kind {
		case nkUnion:
			t = m.fwd(name, ktype.FwdUnion)
		case nkEnum:
			t = &ktype.Enum{Name: name}
		default:
			t = m.fwd(name, ktype.FwdStruct)
		}
		fill = false
	} else {
		switch kind {
		case nkStruct:
			t = &ktype.Struct{Name: name, Size: ent.size}
		case nkUnion:
			t = &ktype.Union{Name: name, Size: ent.size}
		case nkEnum:
			t = &ktype.Enum{Name: name, Size: ent.size}
		case nkTypedef:
			t = &ktype.Typedef{Name: name}
		default:
			t = baseType(name, ent.size, uint64(ent.encoding))
			fill = false
		}
	}
	m.set(off, t)
	if fill {
		m.pending = append(m.pending, pendingFill{off, t})
	}
	return t
}

func (m *materializer) fwd(name string, of ktype.FwdKind) *ktype.Fwd {
	key := ktype.Fwd{Name: name, Of: of}
	f := m.fwds[key]
	if f == nil {
		f = &key
		m.fwds[key] = f
	}
	return f
}

// build decodes an entry that stands for itself: unnamed, canonical, or a
// local definition unlike the canonical one.
func (m *materializer) build(e *die, v *unitView, depth int) (ktype.Type, error) {
	name := string(e.name)
	switch e.tag {
	case tagBaseType:
		size, err := size32(e)
		if err != nil {
			return nil, err
		}
		t := baseType(name, size, e.encoding)
		m.set(e.off, t)
		return t, nil

	case tagUnspecifiedType:
		m.set(e.off, ktype.TheVoid)
		return ktype.TheVoid, nil

	case tagPointerType, tagReferenceType, tagRvalueReferenceType, tagPtrToMemberType:
		target, err := m.typeOf(e, depth)
		if err != nil {
			return nil, err
		}
		p := m.ptrs[target]
		if p == nil {
			p = &ktype.Pointer{Target: target}
			m.ptrs[target] = p
		}
		m.set(e.off, p)
		return p, nil

	case tagConstType, tagVolatileType, tagRestrictType:
		target, err := m.typeOf(e, depth)
		if err != nil {
			return nil, err
		}
		t := m.qualified(e.tag, target)
		m.set(e.off, t)
		return t, nil

	case tagAtomicType, tagImmutableType, tagPackedType, tagSharedType:
		// Qualifiers that ktype (like BTF) does not model: the layout is
		// the qualified type's.
		t, err := m.typeOf(e, depth)
		if err != nil {
			return nil, err
		}
		m.set(e.off, t)
		return t, nil

	case tagTypedef:
		t := &ktype.Typedef{Name: name}
		m.set(e.off, t)
		m.pending = append(m.pending, pendingFill{e.off, t})
		return t, nil

	case tagStructureType, tagUnionType, tagClassType:
		if e.decl {
			of := ktype.FwdStruct
			if e.tag == tagUnionType {
				of = ktype.FwdUnion
			}
			f := m.fwd(name, of)
			m.set(e.off, f)
			return f, nil
		}
		size, err := size32(e)
		if err != nil {
			return nil, err
		}
		var t ktype.Type
		if e.tag == tagUnionType {
			t = &ktype.Union{Name: name, Size: size}
		} else {
			t = &ktype.Struct{Name: name, Size: size}
		}
		m.set(e.off, t)
		m.pending = append(m.pending, pendingFill{e.off, t})
		return t, nil

	case tagEnumerationType:
		size, err := size32(e)
		if err != nil {
			return nil, err
		}
		t := &ktype.Enum{Name: name, Size: size}
		m.set(e.off, t)
		if !e.decl {
			m.pending = append(m.pending, pendingFill{e.off, t})
		}
		return t, nil

	case tagArrayType:
		return m.array(e, v, depth)

	case tagSubroutineType:
		return m.funcProto(e, v, depth)
	}
	return nil, errors.New("not a type")
}

// fill decodes the body of a shell.
func (m *materializer) fill(p pendingFill) error {
	e, v, err := m.entry(p.off)
	if err != nil {
		return err
	}
	switch t := p.t.(type) {
	case *ktype.Struct:
		err = m.fillMembers(&e, v, &t.Members)
	case *ktype.Union:
		err = m.fillMembers(&e, v, &t.Members)
	case *ktype.Enum:
		err = fillEnum(&e, v, t)
	case *ktype.Typedef:
		t.Type, err = m.typeOf(&e, 0)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", e.describe(), err)
	}
	return nil
}

// qualified returns target with the qualifier of tag. As in C (C11
// 6.7.3p9) a qualified array is an array of qualified elements; gcc writes
// both ("const char banner[]" is const (const char [])), which would read
// "const const char []", so the qualifier moves onto the element and is not
// doubled.
func (m *materializer) qualified(tag uint32, target ktype.Type) ktype.Type {
	if a, ok := target.(*ktype.Array); ok {
		return m.arrayOf(m.qualified(tag, a.Elem), a.Count, a.Flexible)
	}
	t := target
	for range maxRefDepth {
		var inner ktype.Type
		switch q := t.(type) {
		case *ktype.Const:
			if tag == tagConstType {
				return target
			}
			inner = q.Type
		case *ktype.Volatile:
			if tag == tagVolatileType {
				return target
			}
			inner = q.Type
		case *ktype.Restrict:
			if tag == tagRestrictType {
				return target
			}
			inner = q.Type
		}
		if inner == nil {
			break
		}
		t = inner
	}
	switch tag {
	case tagConstType:
		q := m.consts[target]
		if q == nil {
			q = &ktype.Const{Type: target}
			m.consts[target] = q
		}
		return q
	case tagVolatileType:
		q := m.volatiles[target]
		if q == nil {
			q = &ktype.Volatile{Type: target}
			m.volatiles[target] = q
		}
		return q
	}
	q := m.restricts[target]
	if q == nil {
		q = &ktype.Restrict{Type: target}
		m.restricts[target] = q
	}
	return q
}

// arrayOf returns the shared model of an array.
func (m *materializer) arrayOf(elem ktype.Type, count uint64, flexible bool) *ktype.Array {
	key := arrayKey{elem, count, flexible}
	a := m.arrays[key]
	if a == nil {
		a = &ktype.Array{Elem: elem, Count: count, Flexible: flexible}
		m.arrays[key] = a
	}
	return a
}

// size32 returns DW_AT_byte_size of a struct, union or enum.
func size32(e *die) (uint32, error) {
	if e.has&hasByteSize == 0 {
		return 0, nil
	}
	if e.byteSize > math.MaxUint32 {
		return 0, fmt.Errorf("byte size %d too large", e.byteSize)
	}
	return uint32(e.byteSize), nil
}

// baseType maps DW_TAG_base_type onto Int or Float by DW_AT_encoding.
func baseType(name string, size uint32, encoding uint64) ktype.Type {
	switch encoding {
	case ateFloat, ateComplexFloat, ateDecimalFloat:
		return &ktype.Float{Name: name, Size: size}
	case ateSigned, ateSignedFixed:
		return &ktype.Int{Name: name, Size: size, Encoding: ktype.Signed}
	case ateSignedChar:
		return &ktype.Int{Name: name, Size: size, Encoding: ktype.Signed | ktype.Char}
	case ateUnsignedChar:
		return &ktype.Int{Name: name, Size: size, Encoding: ktype.Char}
	case ateBoolean:
		return &ktype.Int{Name: name, Size: size, Encoding: ktype.Bool}
	}
	// DW_ATE_unsigned, _address, _UTF, _unsigned_fixed and the rest.
	return &ktype.Int{Name: name, Size: size}
}

// fillMembers decodes the members of the struct or union e.
func (m *materializer) fillMembers(e *die, v *unitView, members *[]ktype.Member) error {
	return v.children(e, func(c *die) error {
		if c.tag != tagMember || c.decl || c.external {
			return nil // nested types, C++ static members and the like
		}
		mt, err := m.typeOf(c, 0)
		if err != nil {
			return fmt.Errorf("member %q: %w", c.name, err)
		}
		off, err := memberBitOffset(c, mt, v.d.be)
		if err != nil {
			return fmt.Errorf("member %q at 0x%x: %w", c.name, c.off, err)
		}
		*members = append(*members, ktype.Member{
			Name:         string(c.name),
			Type:         mt,
			Offset:       off,
			BitfieldSize: ktype.Bits(c.bitSize),
		})
		return nil
	})
}

// memberBitOffset is where a member starts, in bits from the start of its
// struct, counting bits from the least significant on little-endian
// machines (as BTF does).
func memberBitOffset(c *die, mt ktype.Type, bigEndian bool) (ktype.Bits, error) {
	if c.has&hasDataBitOffset != 0 {
		return ktype.Bits(c.dataBitOffset), nil // DWARF 4 and later
	}
	var byteOff uint64
	if c.has&memberLocNotConst != 0 {
		var err error
		if byteOff, err = evalMemberLoc(c.memberLocExpr); err != nil {
			return 0, err
		}
	} else if c.has&hasMemberLoc != 0 {
		byteOff = c.memberLoc
	}
	if byteOff > math.MaxUint64/8 {
		return 0, errors.New("member offset overflows")
	}
	bits := int64(byteOff * 8)
	if c.has&hasBitOffset != 0 && c.bitSize > 0 {
		// DWARF 2/3: DW_AT_bit_offset counts from the most significant
		// bit of a storage unit of DW_AT_byte_size bytes (or of the
		// member's type) that starts at the member location.
		storage := c.byteSize
		if c.has&hasByteSize == 0 {
			sz, err := ktype.Sizeof(mt)
			if err != nil {
				return 0, fmt.Errorf("bitfield storage: %w", err)
			}
			storage = sz
		}
		bitOff := int64(c.bitOffset) // may be negative (sdata)
		if storage > 16 || c.bitSize > 128 {
			return 0, errors.New("bitfield storage unit too large")
		}
		if bigEndian {
			bits += bitOff
		} else {
			bits += int64(storage*8) - bitOff - int64(c.bitSize)
		}
		if bits < 0 {
			return 0, errors.New("bitfield starts before its struct")
		}
	}
	return ktype.Bits(bits), nil
}

// evalMemberLoc evaluates the location expressions DWARF 2/3 producers use
// for member offsets: DW_OP_plus_uconst n, or DW_OP_constu n.
func evalMemberLoc(expr []byte) (uint64, error) {
	r := reader{data: expr, sec: "location expression"}
	op := r.u8()
	switch op {
	case opPlusUconst, opConstu:
		v := r.uleb()
		if r.err == nil && r.pos == len(expr) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("unsupported member location expression % x", expr)
}

// fillEnum decodes the signedness and enumerators of the enum e into t.
func fillEnum(e *die, v *unitView, t *ktype.Enum) error {
	signed, err := enumSigned(e, v)
	if err != nil {
		return err
	}
	t.Signed = signed
	return v.children(e, func(c *die) error {
		if c.tag != tagEnumerator {
			return nil
		}
		t.Values = append(t.Values, ktype.EnumValue{Name: string(c.name), Value: enumeratorValue(c, signed, t.Size)})
		return nil
	})
}

// enumSigned decides the signedness of an enum: from its DW_AT_encoding
// (GCC 12 emits one), else from the underlying DW_AT_type (DWARF 3 and
// later), else from whether an enumerator is negative.
func enumSigned(e *die, v *unitView) (bool, error) {
	if e.has&hasEncoding != 0 {
		return e.encoding == ateSigned || e.encoding == ateSignedChar, nil
	}
	if e.has&hasType != 0 {
		off := e.typ
		for range 8 { // through typedefs and qualifiers to the base type
			if off < v.u.dieOff || off >= v.u.end {
				break // in another unit: fall back to the values
			}
			b, err := v.entry(off)
			if err != nil {
				return false, err
			}
			if b.tag == tagBaseType {
				return b.encoding == ateSigned || b.encoding == ateSignedChar, nil
			}
			if b.has&hasType == 0 {
				break
			}
			off = b.typ
		}
	}
	signed := false
	err := v.children(e, func(c *die) error {
		if c.tag == tagEnumerator && (c.constForm == formSdata || c.constForm == formImplicitConst) && int64(c.constValue) < 0 {
			signed = true
		}
		return nil
	})
	return signed, err
}

// enumeratorValue interprets DW_AT_const_value of an enumerator. sdata and
// implicit_const are signed, udata unsigned. The dataN forms carry bits
// whose meaning comes from the enum: GCC writes non-negative values with
// them (255 in a signed 4-byte enum is data1 0xff), so a value is
// sign-extended only when it does not fit the signed enum's size.
func enumeratorValue(c *die, signed bool, size uint32) int64 {
	v := c.constValue
	switch c.constForm {
	case formData1, formData2, formData4, formData8:
		if signed && size > 0 && size < 8 && v >= 1<<(8*size-1) && v < 1<<(8*size) {
			return int64(v) - 1<<(8*size)
		}
	}
	return int64(v)
}

// array decodes an array type; each DW_TAG_subrange_type child is one
// dimension, outermost first.
func (m *materializer) array(e *die, v *unitView, depth int) (ktype.Type, error) {
	elem, err := m.typeOf(e, depth)
	if err != nil {
		return nil, err
	}
	var dims []arrayDim
	err = v.children(e, func(c *die) error {
		if c.tag != tagSubrangeType && c.tag != tagEnumerationType {
			return nil
		}
		dims = append(dims, subrangeCount(c))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(dims) == 0 {
		dims = []arrayDim{{0, true}}
	}
	t := elem
	for i := len(dims) - 1; i >= 0; i-- {
		t = m.arrayOf(t, dims[i].count, dims[i].flexible)
	}
	m.set(e.off, t)
	return t, nil
}

// arrayDim is one dimension of an array.
type arrayDim struct {
	count    uint64
	flexible bool
}

// subrangeCount returns the element count of one array dimension.
func subrangeCount(c *die) (d arrayDim) {
	switch {
	case c.has&hasCount != 0:
		d.count = c.count
	case c.has&hasUpperBound != 0:
		ub := c.upperBound
		lb := uint64(0)
		if c.has&hasLowerBound != 0 {
			lb = c.lowerBound
		}
		switch {
		case ub == math.MaxUint64 && lb == 0, c.upperForm == formData4 && ub == math.MaxUint32 && lb == 0:
			// Upper bound -1: a zero-length array (older GCC).
			d.count = 0
		case ub >= lb:
			d.count = ub - lb + 1
		}
	default:
		// No bound, or a run-time one: a flexible or variable-length array.
		d.flexible = true
	}
	return d
}

// funcProto decodes a subroutine type.
func (m *materializer) funcProto(e *die, v *unitView, depth int) (ktype.Type, error) {
	fp := &ktype.FuncProto{}
	m.set(e.off, fp) // before recursing: a parameter may point back to it
	ret, err := m.typeOf(e, depth)
	if err != nil {
		return nil, err
	}
	fp.Return = ret
	err = v.children(e, func(c *die) error {
		switch c.tag {
		case tagFormalParameter:
			pt, err := m.typeOf(c, depth)
			if err != nil {
				return err
			}
			fp.Params = append(fp.Params, ktype.FuncParam{Name: string(c.name), Type: pt})
		case tagUnspecifiedParams:
			fp.Variadic = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fp, nil
}
