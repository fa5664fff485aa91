package btf

import (
	"encoding/binary"
)

// builder writes BTF blobs by hand for tests, record by record as in
// include/uapi/linux/btf.h.
type builder struct {
	order   byteOrder
	types   []byte
	strs    []byte
	strOffs map[string]uint32
	last    TypeID
	strBase uint32 // split BTF: the base's string section size
}

// newSplitBuilder writes split BTF on top of base: IDs continue base's,
// string offsets start past base's strings (only new strings are added).
func newSplitBuilder(base *builder) *builder {
	offs := map[string]uint32{}
	for k, v := range base.strOffs {
		offs[k] = v
	}
	return &builder{order: base.order, strs: []byte{}, strOffs: offs, last: base.last, strBase: uint32(len(base.strs))}
}

func newBuilder(order byteOrder) *builder {
	return &builder{order: order, strs: []byte{0}, strOffs: map[string]uint32{"": 0}}
}

// str adds s to the string section and returns its offset.
func (b *builder) str(s string) uint32 {
	if off, ok := b.strOffs[s]; ok {
		return off
	}
	off := b.strBase + uint32(len(b.strs))
	b.strs = append(append(b.strs, s...), 0)
	b.strOffs[s] = off
	return off
}

func (b *builder) u32(v uint32) { b.types = b.order.AppendUint32(b.types, v) }

// rec appends a struct btf_type and the words that follow it.
func (b *builder) rec(name string, kind btfKind, kflag bool, vlen int, sizeType uint32, extra ...uint32) TypeID {
	info := uint32(kind)<<24 | uint32(vlen)&0xffff
	if kflag {
		info |= 1 << 31
	}
	b.u32(b.str(name))
	b.u32(info)
	b.u32(sizeType)
	for _, w := range extra {
		b.u32(w)
	}
	b.last++
	return b.last
}

func (b *builder) intType(name string, size uint32, enc uint8, bitOff, nrBits uint32) TypeID {
	return b.rec(name, kindInt, false, 0, size, uint32(enc)<<24|bitOff<<16|nrBits)
}

func (b *builder) ptr(target TypeID) TypeID { return b.rec("", kindPointer, false, 0, uint32(target)) }

func (b *builder) array(elem, index TypeID, n uint32) TypeID {
	return b.rec("", kindArray, false, 0, 0, uint32(elem), uint32(index), n)
}

type bmember struct {
	name   string
	typ    TypeID
	offset uint32 // bits, or bitfield_size<<24|bit_offset with kflag
}

func (b *builder) composite(kind btfKind, name string, size uint32, kflag bool, ms ...bmember) TypeID {
	var extra []uint32
	for _, m := range ms {
		extra = append(extra, b.str(m.name), uint32(m.typ), m.offset)
	}
	return b.rec(name, kind, kflag, len(ms), size, extra...)
}

func (b *builder) enum(name string, size uint32, signed bool, vals ...any) TypeID {
	var extra []uint32
	for i := 0; i < len(vals); i += 2 {
		extra = append(extra, b.str(vals[i].(string)), uint32(int32(vals[i+1].(int))))
	}
	return b.rec(name, kindEnum, signed, len(vals)/2, size, extra...)
}

func (b *builder) enum64(name string, size uint32, signed bool, vals ...any) TypeID {
	var extra []uint32
	for i := 0; i < len(vals); i += 2 {
		v := vals[i+1].(uint64)
		extra = append(extra, b.str(vals[i].(string)), uint32(v), uint32(v>>32))
	}
	return b.rec(name, kindEnum64, signed, len(vals)/2, size, extra...)
}

func (b *builder) ref(kind btfKind, name string, target TypeID) TypeID {
	return b.rec(name, kind, false, 0, uint32(target))
}

func (b *builder) funcProto(ret TypeID, variadic bool, params ...bmember) TypeID {
	var extra []uint32
	for _, p := range params {
		extra = append(extra, b.str(p.name), uint32(p.typ))
	}
	n := len(params)
	if variadic {
		extra = append(extra, 0, 0)
		n++
	}
	return b.rec("", kindFuncProto, false, n, uint32(ret), extra...)
}

// blob returns the header, type section and string section.
func (b *builder) blob() []byte {
	var hdr []byte
	hdr = b.order.AppendUint16(hdr, btfMagic)
	hdr = append(hdr, btfVersion, 0)
	hdr = b.order.AppendUint32(hdr, btfHeaderLen)
	hdr = b.order.AppendUint32(hdr, 0)                    // type_off
	hdr = b.order.AppendUint32(hdr, uint32(len(b.types))) // type_len
	hdr = b.order.AppendUint32(hdr, uint32(len(b.types))) // str_off
	hdr = b.order.AppendUint32(hdr, uint32(len(b.strs)))  // str_len
	return append(append(hdr, b.types...), b.strs...)
}

// sample builds a blob with every kind, mimicking bits of a kernel:
//
//	struct list_head { struct list_head *next, *prev; };
//	struct iphdr { __u8 ihl:4, version:4; __u8 tos; ...; union { struct { __be32 saddr, daddr; }; struct {...} addrs; }; };
//	struct old_bits { unsigned int a:3 (int-encoded bitfield, no kind_flag); int b; };
//	typedef const volatile char * restrict __user cstr_t;
//	enum zone_stat_item { NR_FREE_PAGES, NR_ZONE_LRU_BASE, NR_VM_ZONE_STAT_ITEMS = 11 };
//	enum big : u64 { BIG = 1<<63 };  enum neg : s32 { NEG = -1 };
//	int printk(const char *, ...);  DEFINE_PER_CPU(struct rq, runqueues);
//	union fwd_me; struct later; float-ish double; decl tag on list_head.
func sample(order byteOrder) (*builder, map[string]TypeID) {
	b := newBuilder(order)
	ids := map[string]TypeID{}
	ids["int"] = b.intType("int", 4, btfIntSigned, 0, 32)
	ids["char"] = b.intType("char", 1, btfIntSigned|btfIntChar, 0, 8)
	ids["u8"] = b.intType("unsigned char", 1, 0, 0, 8)
	ids["uint"] = b.intType("unsigned int", 4, 0, 0, 32)
	ids["bool"] = b.intType("_Bool", 1, btfIntBool, 0, 8)
	ids["__u8"] = b.ref(kindTypedef, "__u8", ids["u8"])
	ids["__be32"] = b.ref(kindTypedef, "__be32", ids["uint"])

	// struct list_head refers to itself through a pointer made after it.
	ids["list_head"] = b.composite(kindStruct, "list_head", 16, false,
		bmember{"next", b.last + 2, 0}, bmember{"prev", b.last + 2, 64})
	ids["list_head *"] = b.ptr(ids["list_head"])

	ids["addr_anon"] = b.composite(kindStruct, "", 8, false,
		bmember{"saddr", ids["__be32"], 0}, bmember{"daddr", ids["__be32"], 32})
	ids["addr_union"] = b.composite(kindUnion, "", 8, false,
		bmember{"", ids["addr_anon"], 0}, bmember{"addrs", ids["addr_anon"], 0})
	ids["iphdr"] = b.composite(kindStruct, "iphdr", 20, true,
		bmember{"ihl", ids["__u8"], 4<<24 | 0},
		bmember{"version", ids["__u8"], 4<<24 | 4},
		bmember{"tos", ids["__u8"], 8},
		bmember{"", ids["addr_union"], 96})

	ids["int:3@2"] = b.intType("unsigned int", 4, 0, 2, 3)
	ids["old_bits"] = b.composite(kindStruct, "old_bits", 8, false,
		bmember{"a", ids["int:3@2"], 0}, bmember{"b", ids["int"], 32})

	ids["const char"] = b.ref(kindConst, "", ids["char"])
	ids["volatile"] = b.ref(kindVolatile, "", ids["const char"])
	ids["tag"] = b.ref(kindTypeTag, "user", ids["volatile"])
	ids["vptr"] = b.ptr(ids["tag"])
	ids["restrict"] = b.ref(kindRestrict, "", ids["vptr"])
	ids["cstr_t"] = b.ref(kindTypedef, "cstr_t", ids["restrict"])

	ids["zone_stat_item"] = b.enum("zone_stat_item", 4, false,
		"NR_FREE_PAGES", 0, "NR_ZONE_LRU_BASE", 1, "NR_VM_ZONE_STAT_ITEMS", 11)
	ids["neg"] = b.enum("neg", 4, true, "NEG", -1)
	ids["big"] = b.enum64("big", 8, false, "BIG", uint64(1)<<63)
	ids["sbig"] = b.enum64("sbig", 8, true, "SBIG", uint64(0xffffffff_fffffffe))
	// The same enumerator name with a different value elsewhere.
	ids["other"] = b.enum("other", 4, false, "CLASH", 1, "NR_ZONE_LRU_BASE", 1)
	ids["other2"] = b.enum("other2", 4, false, "CLASH", 2)

	ids["const char *"] = b.ptr(ids["const char"])
	ids["printk_proto"] = b.funcProto(ids["int"], true, bmember{"fmt", ids["const char *"], 0})
	ids["printk"] = b.rec("printk", kindFunc, false, 1, uint32(ids["printk_proto"]))
	ids["void_proto"] = b.funcProto(0, false)
	ids["void_fn"] = b.rec("do_nothing", kindFunc, false, 0, uint32(ids["void_proto"]))

	ids["arr"] = b.array(ids["char"], ids["int"], 16)
	ids["flex"] = b.array(ids["list_head"], ids["int"], 0)
	ids["rq"] = b.composite(kindStruct, "rq", 64, false,
		bmember{"comm", ids["arr"], 0},
		bmember{"cfs_tasks", ids["list_head"], 128},
		bmember{"nr", ids["int"], 256},
		bmember{"tail", ids["flex"], 512})
	ids["runqueues"] = b.rec("runqueues", kindVar, false, 0, uint32(ids["rq"]), 1)
	ids["other_var"] = b.rec("other_var", kindVar, false, 0, uint32(ids["int"]), 0)
	ids[".data..percpu"] = b.rec(".data..percpu", kindDatasec, false, 2, 128,
		uint32(ids["other_var"]), 0, 4, uint32(ids["runqueues"]), 64, 64)

	ids["fwd_union"] = b.rec("fwd_me", kindFwd, true, 0, 0)
	ids["fwd_struct"] = b.rec("later", kindFwd, false, 0, 0)
	ids["double"] = b.rec("double", kindFloat, false, 0, 8)
	ids["decl_tag"] = b.rec("my_tag", kindDeclTag, false, 0, uint32(ids["list_head"]), 0xffffffff)
	ids["member_tag"] = b.rec("member_tag", kindDeclTag, false, 0, uint32(ids["list_head"]), 1)

	// A second, different struct list_head: lookups take the first.
	ids["list_head#2"] = b.composite(kindStruct, "list_head", 8, false, bmember{"x", ids["int"], 0})
	// A struct and a typedef of the same name.
	ids["pair"] = b.composite(kindStruct, "pair", 8, false, bmember{"a", ids["int"], 0}, bmember{"b", ids["int"], 32})
	ids["pair_t"] = b.ref(kindTypedef, "pair", ids["pair"])
	return b, ids
}

// byteOrder is what the builder writes with and LoadSpec reports.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}
