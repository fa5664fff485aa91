package btf

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// inflater decodes one type and everything it refers to. It works from a
// queue instead of recursing: each type is first made as an empty shell and
// cached, then filled in, so a cycle (a struct holding a pointer to itself)
// just finds the cached shell, and the Go stack stays flat however long a
// chain of types hostile input builds.
type inflater struct {
	s       *Spec
	pending []TypeID // shells still to fill in
	created []TypeID // shells made by this call, dropped again on error
}

// inflate returns type id, decoding it if needed. The caller holds s.mu. On
// error nothing decoded by this call stays cached, so a later call for an
// unrelated type is not handed a half-filled one.
func (s *Spec) inflate(id TypeID) (ktype.Type, error) {
	if t := s.inflated[id-s.startID]; t != nil {
		return t, nil
	}
	in := inflater{s: s}
	root, err := in.ref(id)
	for err == nil && len(in.pending) > 0 {
		next := in.pending[len(in.pending)-1]
		in.pending = in.pending[:len(in.pending)-1]
		err = in.fill(next)
	}
	if err != nil {
		for _, id := range in.created {
			s.inflated[id-s.startID] = nil
		}
		return nil, err
	}
	return root, nil
}

// errAt makes a FormatError for type id's record.
func (in *inflater) errAt(id TypeID, format string, args ...any) error {
	return formatErr(in.s.typeOff+int64(in.s.recOff(id)), "type %d: "+format, append([]any{id}, args...)...)
}

// ref returns type id, making a shell for it if it is not decoded yet.
func (in *inflater) ref(id TypeID) (ktype.Type, error) {
	s := in.s
	if s.lostFrom != 0 && id >= s.lostFrom {
		// Kept types refer to lost ones all the time (a struct's member of
		// a type defined later): the reference stays, unusable.
		return &ktype.Lost{Err: fmt.Errorf("type %d: %w", id, s.loss)}, nil
	}
	if int64(id) > int64(s.NumTypes()) {
		return nil, formatErr(s.typeOff, "reference to type %d, past the last type %d", id, s.NumTypes())
	}
	if s.base != nil && id <= s.startID {
		// The base's lock, not ours: a base never refers to split types.
		return s.base.TypeByID(id)
	}
	if t := s.inflated[id-s.startID]; t != nil {
		return t, nil
	}
	if s.namesLost(id) {
		t := &ktype.Lost{Err: fmt.Errorf("type %d: a name of it is in an unreadable part of the BTF string section: %w", id, ktype.ErrLost)}
		s.inflated[id-s.startID] = t
		in.created = append(in.created, id)
		return t, nil
	}
	t, refs, err := in.shell(id)
	if err != nil {
		return nil, err
	}
	s.inflated[id-s.startID] = t
	in.created = append(in.created, id)
	if refs {
		in.pending = append(in.pending, id)
	}
	return t, nil
}

// name returns the string at off, checking it lies in the string section.
func (in *inflater) name(id TypeID, off uint32) (string, error) {
	if int64(off) >= in.s.strEnd() {
		return "", in.errAt(id, "name offset %#x past the string section", off)
	}
	return in.s.str(off), nil
}

// shell makes type id with every field that needs no other type filled in,
// and reports whether it refers to other types (then fill completes it).
// The index pass has checked the record and its trailing data are in bounds.
func (in *inflater) shell(id TypeID) (ktype.Type, bool, error) {
	s := in.s
	nameOff, info, sizeType := s.record(id)
	name := s.str(nameOff) // checked by the index pass
	vlen := infoVlen(info)
	data := s.types[s.recOff(id)+btfTypeLen:]
	switch kind := infoKind(info); kind {
	case kindInt:
		enc := intEncoding(s.order.Uint32(data))
		var e ktype.IntEncoding
		if enc&btfIntSigned != 0 {
			e |= ktype.Signed
		}
		if enc&btfIntChar != 0 {
			e |= ktype.Char
		}
		if enc&btfIntBool != 0 {
			e |= ktype.Bool
		}
		return &ktype.Int{Name: name, Size: sizeType, Encoding: e}, false, nil
	case kindFloat:
		return &ktype.Float{Name: name, Size: sizeType}, false, nil
	case kindPointer:
		return &ktype.Pointer{}, true, nil
	case kindArray:
		return &ktype.Array{Count: uint64(s.order.Uint32(data[8:]))}, true, nil
	case kindStruct:
		return &ktype.Struct{Name: name, Size: sizeType, Members: make([]ktype.Member, vlen)}, vlen > 0, nil
	case kindUnion:
		return &ktype.Union{Name: name, Size: sizeType, Members: make([]ktype.Member, vlen)}, vlen > 0, nil
	case kindEnum, kindEnum64:
		e := &ktype.Enum{Name: name, Size: sizeType, Signed: infoKflag(info), Values: make([]ktype.EnumValue, vlen)}
		for i := range e.Values {
			vname, value, ok := s.enumerator(kind, e.Signed, int(s.recOff(id))+btfTypeLen, i)
			if !ok {
				return nil, false, in.errAt(id, "enumerator %d: name offset past the string section", i)
			}
			e.Values[i] = ktype.EnumValue{Name: vname, Value: value}
		}
		return e, false, nil
	case kindFwd:
		of := ktype.FwdStruct
		if infoKflag(info) {
			of = ktype.FwdUnion
		}
		return &ktype.Fwd{Name: name, Of: of}, false, nil
	case kindTypedef:
		return &ktype.Typedef{Name: name}, true, nil
	case kindConst:
		return &ktype.Const{}, true, nil
	case kindVolatile:
		return &ktype.Volatile{}, true, nil
	case kindRestrict:
		return &ktype.Restrict{}, true, nil
	case kindTypeTag:
		return &ktype.TypeTag{Value: name}, true, nil
	case kindFunc:
		return &ktype.Func{Name: name, Linkage: ktype.Linkage(vlen)}, true, nil
	case kindFuncProto:
		return &ktype.FuncProto{}, true, nil
	case kindVar:
		return &ktype.Var{Name: name, Linkage: ktype.Linkage(s.order.Uint32(data))}, true, nil
	case kindDatasec:
		return &ktype.Datasec{Name: name, Size: sizeType, Vars: make([]ktype.VarSecinfo, vlen)}, vlen > 0, nil
	case kindDeclTag:
		return &ktype.DeclTag{Value: name, Index: int(int32(s.order.Uint32(data)))}, true, nil
	default: // the index pass rejects unknown kinds
		return nil, false, in.errAt(id, "unknown kind %d", kind)
	}
}

// fill resolves the references of the shell made for id.
func (in *inflater) fill(id TypeID) error {
	s := in.s
	_, info, sizeType := s.record(id)
	vlen := infoVlen(info)
	data := s.types[s.recOff(id)+btfTypeLen:]
	var err error
	switch t := s.inflated[id-s.startID].(type) {
	case *ktype.Pointer:
		t.Target, err = in.ref(TypeID(sizeType))
	case *ktype.Array:
		t.Elem, err = in.ref(TypeID(s.order.Uint32(data)))
	case *ktype.Typedef:
		t.Type, err = in.ref(TypeID(sizeType))
	case *ktype.Const:
		t.Type, err = in.ref(TypeID(sizeType))
	case *ktype.Volatile:
		t.Type, err = in.ref(TypeID(sizeType))
	case *ktype.Restrict:
		t.Type, err = in.ref(TypeID(sizeType))
	case *ktype.TypeTag:
		t.Type, err = in.ref(TypeID(sizeType))
	case *ktype.Var:
		t.Type, err = in.ref(TypeID(sizeType))
	case *ktype.DeclTag:
		t.Type, err = in.ref(TypeID(sizeType))
	case *ktype.Struct:
		err = in.members(id, t.Members, infoKflag(info), data)
	case *ktype.Union:
		err = in.members(id, t.Members, infoKflag(info), data)
	case *ktype.Func:
		var proto ktype.Type
		if proto, err = in.ref(TypeID(sizeType)); err == nil {
			var ok bool
			if t.Proto, ok = proto.(*ktype.FuncProto); !ok {
				err = in.errAt(id, "FUNC refers to %s, not a FUNC_PROTO", proto.Kind())
			}
		}
	case *ktype.FuncProto:
		err = in.params(id, t, sizeType, vlen, data)
	case *ktype.Datasec:
		for i := range t.Vars {
			rec := data[i*btfVarSecinfoLen:]
			v := &t.Vars[i]
			if v.Type, err = in.ref(TypeID(s.order.Uint32(rec))); err != nil {
				break
			}
			v.Offset = s.order.Uint32(rec[4:])
			v.Size = s.order.Uint32(rec[8:])
		}
	default:
		err = in.errAt(id, "nothing to fill in a %s", t.Kind())
	}
	return err
}

// members decodes struct btf_member entries into ms.
func (in *inflater) members(id TypeID, ms []ktype.Member, kflag bool, data []byte) error {
	s := in.s
	for i := range ms {
		rec := data[i*btfMemberLen:]
		nameOff := s.order.Uint32(rec)
		typeID := TypeID(s.order.Uint32(rec[4:]))
		offset := s.order.Uint32(rec[8:])
		name, err := in.name(id, nameOff)
		if err != nil {
			return err
		}
		typ, err := in.ref(typeID)
		if err != nil {
			return err
		}
		m := ktype.Member{Name: name, Type: typ}
		if kflag {
			m.Offset = ktype.Bits(memberBitOffset(offset))
			m.BitfieldSize = ktype.Bits(memberBitfieldSize(offset))
		} else {
			// Without kind_flag a bitfield's width (and any extra bit offset)
			// sits in the encoding of its INT type (Documentation/bpf/btf.rst,
			// "BTF_KIND_STRUCT"). Read it from the record: the model's Int
			// does not carry it.
			m.Offset = ktype.Bits(offset)
			if nrBits, bitOff, ok := in.s.intLayout(typeID); ok {
				m.Offset += ktype.Bits(bitOff)
				m.BitfieldSize = ktype.Bits(nrBits)
			}
		}
		ms[i] = m
	}
	return nil
}

// intLayout reports the bit width and bit offset of INT type id when they
// describe a bitfield rather than the whole integer.
func (s *Spec) intLayout(id TypeID) (nrBits, bitOff uint32, ok bool) {
	if s.base != nil && id <= s.startID {
		return s.base.intLayout(id)
	}
	if !s.own(id) {
		return 0, 0, false
	}
	_, info, size := s.record(id)
	if infoKind(info) != kindInt {
		return 0, 0, false
	}
	v := s.order.Uint32(s.types[s.recOff(id)+btfTypeLen:])
	nrBits, bitOff = intBits(v), intOffset(v)
	if bitOff == 0 && uint64(nrBits) == uint64(size)*8 {
		return 0, 0, false
	}
	return nrBits, bitOff, true
}

// params decodes a FUNC_PROTO's return type and struct btf_param entries. A
// last parameter with neither name nor type marks a variadic function.
func (in *inflater) params(id TypeID, fp *ktype.FuncProto, ret uint32, vlen int, data []byte) error {
	s := in.s
	var err error
	if fp.Return, err = in.ref(TypeID(ret)); err != nil {
		return err
	}
	if vlen > 0 {
		last := data[(vlen-1)*btfParamLen:]
		if s.order.Uint32(last) == 0 && s.order.Uint32(last[4:]) == 0 {
			fp.Variadic = true
			vlen--
		}
	}
	fp.Params = make([]ktype.FuncParam, vlen)
	for i := range fp.Params {
		rec := data[i*btfParamLen:]
		name, err := in.name(id, s.order.Uint32(rec))
		if err != nil {
			return err
		}
		typ, err := in.ref(TypeID(s.order.Uint32(rec[4:])))
		if err != nil {
			return err
		}
		fp.Params[i] = ktype.FuncParam{Name: name, Type: typ}
	}
	return nil
}
