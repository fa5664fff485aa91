// Package btf decodes the BPF Type Format (the .BTF section of a vmlinux, or
// the bytes between __start_BTF and __stop_BTF in the memory of a running or
// crashed kernel) into the source-neutral type model of kernel/ktype.
//
// LoadSpec reads the blob with three reads and indexes it in one pass: the
// offset of each type record and a hashed index of names. Types are decoded
// into ktype values only when asked for, together with everything they refer
// to, and kept for later calls.
//
// Security: every offset, count and type ID from the blob is checked before
// use and malformed input gives a *FormatError, never a panic; allocation is
// bounded by the blob's size, itself capped. The package does not verify the
// semantic rules of the kernel's BTF verifier (such as a member lying inside
// its struct): a type decoded from hostile BTF is well-formed Go but may
// describe nonsense, and ktype's helpers cap every walk.
package btf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// TypeID is a BTF type ID: the index of a type record, counting from 1; 0 is
// void.
type TypeID uint32

// ErrNotFound is ktype.ErrNotFound, which lookups wrap when nothing matches.
var ErrNotFound = ktype.ErrNotFound

// FormatError reports malformed BTF: what is wrong and where in the blob.
type FormatError struct {
	Offset int64  // byte offset in the BTF blob
	Msg    string // what is wrong, lower case
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("btf: %s (at offset %#x)", e.Msg, e.Offset)
}

func formatErr(off int64, format string, args ...any) error {
	return &FormatError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// Spec is a decoded BTF blob. It is safe for concurrent use. The types it
// returns are shared by all callers and must not be modified.
type Spec struct {
	order   binary.ByteOrder
	typeOff int64  // offset of the type section in the blob, for errors
	types   []byte // the type section
	strings string // the string section; names are substrings of it

	// Split BTF (a module's, on top of the vmlinux's): base holds types
	// 1..startID and strings [0, strBase); this spec's own type IDs continue
	// from startID+1 and its string offsets from strBase (libbpf's and the
	// kernel's btf_type_by_id()/btf_name_by_offset() rules). Zero for a
	// base spec.
	base    *Spec
	startID TypeID
	strBase uint32

	// offsets[id-startID] is where type id's record starts in types;
	// offsets[0] is unused (void, or the base's last type, has no record
	// here).
	offsets []uint32
	// names holds hash(name)<<32 | id for every named type, sorted, so a
	// lookup is a binary search; hash collisions are resolved by comparing
	// the names.
	seed  maphash.Seed
	names []uint64

	mu       sync.Mutex
	inflated []ktype.Type // by type ID - startID; nil until decoded

	enumOnce  sync.Once
	enumIndex map[string]enumValue

	// A blob read in part (LoadDamagedSpec): lostFrom is the first type ID
	// whose record could not be read (0 when none was lost) and loss says
	// why; strHoles are the ranges of string offsets that read as zeros.
	lostFrom TypeID
	loss     error
	strHoles [][2]uint32
	typesEnd int64 // where the type records stop being readable, in the type section; 0: whole
	// lostKinds has bit k set when a record of ktype.Kind k has its name
	// in a string hole; enumsLost when an enumerator has.
	lostKinds uint64
	enumsLost bool
}

// enumValue is one entry of the enumerator index.
type enumValue struct {
	value     int64
	ambiguous bool // two enums give the name different values
}

var _ ktype.Source = (*Spec)(nil)

// LoadSpec decodes the BTF blob that starts at offset 0 of r and lies within
// size bytes: a raw .BTF section, or the __start_BTF.. __stop_BTF range of
// kernel memory. Bytes past the end the header declares are ignored, so size
// may be generous. Malformed input gives a *FormatError.
func LoadSpec(r io.ReaderAt, size int64) (*Spec, error) {
	return loadSpec(r, size, nil)
}

// LoadSplitSpec decodes split BTF, such as a module's, whose type IDs and
// string offsets continue those of base (the vmlinux BTF): a reference to
// an ID up to base's last, or to a string offset below base's string
// section size, is base's. Name lookups on the result see base's types
// first, then its own.
func LoadSplitSpec(r io.ReaderAt, size int64, base *Spec) (*Spec, error) {
	if base == nil {
		return nil, errors.New("btf: split BTF without a base")
	}
	return loadSpec(r, size, base)
}

// Damage says which parts of a BTF blob could not be read, for
// LoadDamagedSpec. Offsets are in the blob, as LoadSpec's reads.
type Damage struct {
	// TypesEnd is where the type section stops being readable (0: it is
	// whole). The records that end before it are kept; the one it cuts and
	// every one after it are lost, however much of the rest is readable:
	// records are variable-length, so after a hole neither where a record
	// starts nor which type ID it has is known.
	TypesEnd int64
	// StringHoles are ranges [lo, hi) of the string section that could
	// not be read; the reader returns zeros there. A type whose name, or a
	// name of whose members, enumerators or parameters, touches a hole is
	// lost (a name cut at a hole would read as a shorter, wrong one).
	StringHoles [][2]int64
}

// LoadDamagedSpec decodes a blob of which the parts d names could not be
// read (r returns zeros there). What it keeps is what LoadSpec would give
// for those types; the lost ones come back as *ktype.Lost where kept types
// refer to them, and lookups that find nothing wrap ktype.ErrLost instead of
// ErrNotFound unless the name cannot be a lost type's (it is not in the
// string section at all), so that a probe of the kernel's types does not
// take "lost" for "absent". Lost reports what was lost.
func LoadDamagedSpec(r io.ReaderAt, size int64, d Damage) (*Spec, error) {
	return loadSpecDamaged(r, size, nil, d)
}

// Lost says which types a spec from LoadDamagedSpec lost: those from ID
// first on (0 when the type records were read whole), and why; err also
// covers types lost to string holes. err is nil for a whole spec.
func (s *Spec) Lost() (first TypeID, err error) {
	switch {
	case s.lostFrom != 0:
		return s.lostFrom, s.loss
	case len(s.strHoles) > 0:
		return 0, fmt.Errorf("%d range(s) of the string section unreadable: the types named there are lost: %w", len(s.strHoles), ktype.ErrLost)
	}
	return 0, nil
}

func loadSpec(r io.ReaderAt, size int64, base *Spec) (*Spec, error) {
	return loadSpecDamaged(r, size, base, Damage{})
}

func loadSpecDamaged(r io.ReaderAt, size int64, base *Spec, d Damage) (*Spec, error) {
	if size < btfHeaderLen {
		return nil, formatErr(0, "blob of %d bytes is shorter than the %d-byte header", size, btfHeaderLen)
	}
	var hdr [btfHeaderLen]byte
	if err := readFull(r, hdr[:], 0); err != nil {
		return nil, fmt.Errorf("btf: read header: %w", err)
	}
	var order binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint16(hdr[0:]) == btfMagic:
		order = binary.LittleEndian
	case binary.BigEndian.Uint16(hdr[0:]) == btfMagic:
		order = binary.BigEndian
	default:
		return nil, formatErr(0, "bad magic %#04x", binary.LittleEndian.Uint16(hdr[0:]))
	}
	if hdr[2] != btfVersion {
		return nil, formatErr(2, "unsupported version %d", hdr[2])
	}
	// The kernel rejects any flags (btf_parse_hdr in kernel/bpf/btf.c); so do
	// we, since a flag could change the meaning of what follows.
	if hdr[3] != 0 {
		return nil, formatErr(3, "unsupported flags %#x", hdr[3])
	}
	var (
		hdrLen  = int64(order.Uint32(hdr[4:]))
		typeOff = int64(order.Uint32(hdr[8:]))
		typeLen = int64(order.Uint32(hdr[12:]))
		strOff  = int64(order.Uint32(hdr[16:]))
		strLen  = int64(order.Uint32(hdr[20:]))
	)
	// Layout rules as libbpf's btf_parse_hdr: types, then strings, both
	// inside the blob, the type section 4-byte aligned.
	switch {
	case hdrLen < btfHeaderLen:
		return nil, formatErr(4, "header length %d is shorter than %d", hdrLen, btfHeaderLen)
	case typeOff%4 != 0:
		return nil, formatErr(8, "type section offset %#x is not 4-byte aligned", typeOff)
	case typeLen%4 != 0:
		return nil, formatErr(12, "type section length %#x is not a multiple of 4", typeLen)
	case typeOff+typeLen > strOff:
		return nil, formatErr(16, "type section [%#x,%#x) runs into string section at %#x", typeOff, typeOff+typeLen, strOff)
	case hdrLen+strOff+strLen > size:
		return nil, formatErr(20, "string section [%#x,%#x) ends past the blob's %d bytes", hdrLen+strOff, hdrLen+strOff+strLen, size)
	case hdrLen+strOff+strLen > maxBlobSize:
		return nil, formatErr(20, "blob of %d bytes exceeds the %d-byte limit", hdrLen+strOff+strLen, maxBlobSize)
	case strLen == 0 && base == nil:
		return nil, formatErr(20, "empty string section")
	}

	var types, strs []byte
	if m, ok := r.(memBlob); ok && int64(len(m)) >= hdrLen+strOff+strLen {
		// A blob already in memory (a vmlinux's .BTF): its sections are
		// used in place, not copied again piece by piece (the copies of a
		// growing buffer were a fifth of loading it in a browser).
		types = m[hdrLen+typeOff : hdrLen+typeOff+typeLen : hdrLen+typeOff+typeLen]
		strs = m[hdrLen+strOff : hdrLen+strOff+strLen : hdrLen+strOff+strLen]
	} else {
		var err error
		if types, err = readGrow(r, typeLen, hdrLen+typeOff); err != nil {
			return nil, fmt.Errorf("btf: read type section (%d bytes at %#x): %w", typeLen, hdrLen+typeOff, err)
		}
		if strs, err = readGrow(r, strLen, hdrLen+strOff); err != nil {
			return nil, fmt.Errorf("btf: read string section (%d bytes at %#x): %w", strLen, hdrLen+strOff, err)
		}
	}
	// The first string is "" (name_off 0 means anonymous) and the last one
	// must be terminated, so every name lookup finds a NUL. Split BTF's
	// strings continue the base's: only the end is checked, and they may be
	// empty (btf_parse_str_sec() in kernel/bpf/btf.c).
	if (base == nil && strs[0] != 0) || (strLen > 0 && strs[strLen-1] != 0) {
		return nil, formatErr(hdrLen+strOff, "string section does not start and end with NUL")
	}
	s := &Spec{
		order:   order,
		typeOff: hdrLen + typeOff,
		types:   types,
		strings: string(strs),
		seed:    maphash.MakeSeed(),
	}
	if base != nil {
		if base.order != order {
			return nil, formatErr(0, "split BTF in %v on a %v base", order, base.order)
		}
		s.base, s.startID = base, TypeID(base.NumTypes())
		if base.strEnd() > maxBlobSize {
			return nil, formatErr(0, "base string section of %d bytes", base.strEnd())
		}
		s.strBase = uint32(base.strEnd())
	}
	if d.TypesEnd > 0 && d.TypesEnd < hdrLen+typeOff+typeLen {
		s.typesEnd = max(d.TypesEnd-(hdrLen+typeOff), 0)
		if s.typesEnd == 0 {
			return nil, formatErr(hdrLen+typeOff, "the type section is unreadable from its start")
		}
	}
	for _, h := range d.StringHoles {
		lo, hi := max(h[0], hdrLen+strOff)-(hdrLen+strOff), min(h[1], hdrLen+strOff+strLen)-(hdrLen+strOff)
		if lo < hi {
			s.strHoles = append(s.strHoles, [2]uint32{s.strBase + uint32(lo), s.strBase + uint32(hi)})
		}
	}
	if err := s.index(); err != nil {
		return nil, err
	}
	s.inflated = make([]ktype.Type, len(s.offsets))
	s.inflated[0] = ktype.TheVoid
	return s, nil
}

// memBlob is a whole BTF blob in memory, read by loadSpecDamaged in place.
type memBlob []byte

func (m memBlob) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("btf: negative offset")
	}
	if off >= int64(len(m)) {
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readFull fills p from off. io.ReaderAt may report io.EOF along with a
// complete read at the end of its data; only a short read is an error.
// readGrow reads n bytes at off in pieces of readGrowStep, so that what it
// allocates follows what r actually holds, not what a header claims (r may
// be kernel memory read through a dump, whose size is only declared).
func readGrow(r io.ReaderAt, n, off int64) ([]byte, error) {
	if n <= readGrowStep {
		b := make([]byte, n)
		return b, readFull(r, b, off)
	}
	b := make([]byte, 0, readGrowStep)
	for int64(len(b)) < n {
		k := min(n-int64(len(b)), readGrowStep)
		b = slices.Grow(b, int(k))
		if err := readFull(r, b[len(b):len(b)+int(k)], off+int64(len(b))); err != nil {
			return nil, err
		}
		b = b[:len(b)+int(k)]
	}
	return b, nil
}

const readGrowStep = 1 << 20

func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// index walks the type section once, recording where each record starts and
// the hash of each name.
func (s *Spec) index() error {
	types := s.types
	// Real BTF averages ~30 bytes per record; guessing a little high saves
	// regrowing a 100k-entry slice.
	s.offsets = make([]uint32, 1, len(types)/24+1)
	s.names = make([]uint64, 0, len(types)/32+1)
	readable := len(types)
	if s.typesEnd > 0 {
		readable = int(s.typesEnd)
	}
	for off := 0; off < len(types); {
		id := int(s.startID) + len(s.offsets)
		if id > maxTypeID {
			return formatErr(s.typeOff+int64(off), "more than %d types", maxTypeID)
		}
		if readable-off < btfTypeLen && readable < len(types) {
			s.lose(TypeID(id), off)
			break
		}
		if len(types)-off < btfTypeLen {
			return formatErr(s.typeOff+int64(off), "type %d: record truncated", id)
		}
		nameOff := s.order.Uint32(types[off:])
		info := s.order.Uint32(types[off+4:])
		kind := infoKind(info)
		extra, ok := extraLen(kind, infoVlen(info))
		if !ok {
			return formatErr(s.typeOff+int64(off), "type %d: unknown kind %d", id, kind)
		}
		if extra > readable-off-btfTypeLen && readable < len(types) {
			s.lose(TypeID(id), off)
			break
		}
		if extra > len(types)-off-btfTypeLen {
			return formatErr(s.typeOff+int64(off), "type %d (%s): %d bytes of data run past the type section", id, kind, extra)
		}
		if int64(nameOff) >= s.strEnd() {
			return formatErr(s.typeOff+int64(off), "type %d (%s): name offset %#x past the string section", id, kind, nameOff)
		}
		s.offsets = append(s.offsets, uint32(off))
		// Tag "names" are attribute values, not names of types. A name that
		// touches a string hole is not indexed: its type is lost.
		if len(s.strHoles) > 0 {
			s.noteLostNames(kind, nameOff, types[off+btfTypeLen:off+btfTypeLen+extra], infoVlen(info))
		}
		if nameOff != 0 && kind != kindDeclTag && kind != kindTypeTag && !s.strLost(nameOff) {
			h := maphash.String(s.seed, s.str(nameOff))
			s.names = append(s.names, h&^0xffffffff|uint64(id))
		}
		off += btfTypeLen + extra
	}
	sortByHash(s.names)
	return nil
}

// lose records that the type records from id on, at off in the type
// section, could not be read.
func (s *Spec) lose(id TypeID, off int) {
	s.lostFrom = id
	s.loss = fmt.Errorf("types from ID %d on are lost: the BTF type section is unreadable from byte %#x of %#x (%d%% read): %w",
		id, s.typesEnd, len(s.types), int64(off)*100/int64(max(len(s.types), 1)), ktype.ErrLost)
}

// strLost reports whether the string at off touches a string hole.
func (s *Spec) strLost(off uint32) bool {
	if off < s.strBase {
		return s.base != nil && s.base.strLost(off)
	}
	if len(s.strHoles) == 0 {
		return false
	}
	if int64(off-s.strBase) >= int64(len(s.strings)) {
		return false // past the section: not a name at all (found by FuzzLoadDamagedSpec)
	}
	end := off
	if i := strings.IndexByte(s.strings[off-s.strBase:], 0); i >= 0 {
		end += uint32(i)
	}
	for _, h := range s.strHoles {
		if h[0] <= end && off < h[1] {
			return true
		}
	}
	return false
}

// namesLost reports whether own type id's name, or a name in its trailing
// data, touches a string hole.
func (s *Spec) namesLost(id TypeID) bool {
	if len(s.strHoles) == 0 {
		return false
	}
	nameOff, info, _ := s.record(id)
	kind := infoKind(info)
	if kind != kindDeclTag && kind != kindTypeTag && nameOff != 0 && s.strLost(nameOff) {
		return true
	}
	var step int
	switch kind {
	case kindStruct, kindUnion:
		step = btfMemberLen
	case kindEnum:
		step = btfEnumLen
	case kindEnum64:
		step = btfEnum64Len
	case kindFuncProto:
		step = btfParamLen
	default:
		return false
	}
	data := s.types[s.recOff(id)+btfTypeLen:]
	for i := range infoVlen(info) {
		if off := s.order.Uint32(data[i*step:]); off != 0 && s.strLost(off) {
			return true
		}
	}
	return false
}

// noteLostNames records which kinds of names a record lost to string
// holes: its own, or its enumerators'.
func (s *Spec) noteLostNames(kind btfKind, nameOff uint32, data []byte, vlen int) {
	if nameOff != 0 && s.strLost(nameOff) {
		s.lostKinds |= 1 << modelKind(kind)
	}
	if kind == kindEnum || kind == kindEnum64 {
		for i := range vlen {
			if off := s.order.Uint32(data[i*enumStep(kind):]); off != 0 && s.strLost(off) {
				s.enumsLost = true
			}
		}
	}
}

// damaged reports whether the spec lost types.
func (s *Spec) damaged() bool { return s.lostFrom != 0 || len(s.strHoles) > 0 }

// notFound is the error of a lookup of name (what names it, as "struct
// task_struct") that found nothing: ErrNotFound, unless a lost type may
// have had that name: a type lost with the records cut off (only a name
// absent from the string section rules that out), or one whose name is in
// a string hole (namesLost says whether a record of the kind asked for,
// an enumerator for enumerators, lost its name).
func (s *Spec) notFound(what, name string, namesLost bool) error {
	cut := s.lostFrom != 0 && (len(s.strHoles) > 0 || strings.Contains(s.strings, "\x00"+name+"\x00"))
	if cut || namesLost {
		_, loss := s.Lost()
		return fmt.Errorf("btf: %s: not among the types that could be read: %w", what, loss)
	}
	return fmt.Errorf("btf: %s: %w", what, ErrNotFound)
}

// sortByHash sorts hash<<32|id entries by hash with an LSD radix sort, a
// byte per pass. Being stable, it keeps the IDs of equal hashes in the
// ascending order they were appended in, so the whole value ends up sorted.
// It is several times faster than slices.Sort on a vmlinux's 100k names,
// which matters more under WebAssembly.
func sortByHash(a []uint64) {
	tmp := make([]uint64, len(a))
	src, dst := a, tmp
	for shift := 32; shift < 64; shift += 8 {
		var count [257]int
		for _, v := range src {
			count[v>>shift&0xff+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, v := range src {
			b := v >> shift & 0xff
			dst[count[b]] = v
			count[b]++
		}
		src, dst = dst, src
	}
	// Four passes leave the result back in a.
}

// str returns the string at off, which the caller has checked is inside the
// string section.
func (s *Spec) str(off uint32) string {
	if off < s.strBase {
		return s.base.str(off)
	}
	rest := s.strings[off-s.strBase:]
	if end := strings.IndexByte(rest, 0); end >= 0 {
		return rest[:end]
	}
	return rest // unreachable: the section ends in NUL
}

// strEnd is the end of the string offsets this spec resolves (its base's
// and its own).
func (s *Spec) strEnd() int64 { return int64(s.strBase) + int64(len(s.strings)) }

// NumTypes returns the number of type records, a split spec's base's
// included; valid IDs are 1..NumTypes().
func (s *Spec) NumTypes() int { return int(s.startID) + len(s.offsets) - 1 }

// StringsSize is the size of the string offsets the spec resolves: its
// base's string section and its own (a split spec's strings start there).
func (s *Spec) StringsSize() int64 { return s.strEnd() }

// StartID is the first type ID of the spec's own: 1 for a base spec, the
// base's NumTypes()+1 for split BTF.
func (s *Spec) StartID() TypeID { return s.startID + 1 }

// Base is the spec a split spec continues, nil for a base spec.
func (s *Spec) Base() *Spec { return s.base }

// own reports whether id is one of the spec's own records (not void, not
// its base's).
func (s *Spec) own(id TypeID) bool { return id > s.startID && int(id) <= s.NumTypes() }

// recOff is where own type id's record starts in the type section.
func (s *Spec) recOff(id TypeID) uint32 { return s.offsets[id-s.startID] }

// ByteOrder is the byte order the blob was written in.
func (s *Spec) ByteOrder() binary.ByteOrder { return s.order }

// TypeByID returns the type with the given ID, decoding it and everything it
// refers to on first use. ID 0 is void.
func (s *Spec) TypeByID(id TypeID) (ktype.Type, error) {
	if s.lostFrom != 0 && id >= s.lostFrom {
		return nil, fmt.Errorf("btf: type %d: %w", id, s.loss)
	}
	if int64(id) > int64(s.NumTypes()) {
		return nil, fmt.Errorf("btf: type %d: %w (the spec has %d types)", id, ErrNotFound, s.NumTypes())
	}
	if s.base != nil && id <= s.startID {
		return s.base.TypeByID(id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflate(id)
}

// All yields every type in ID order, stopping at the first that cannot be
// decoded; a split spec yields its own types only.
func (s *Spec) All() iter.Seq2[ktype.Type, error] {
	return func(yield func(ktype.Type, error) bool) {
		for id := int(s.StartID()); id <= s.NumTypes(); id++ {
			t, err := s.TypeByID(TypeID(id))
			if !yield(t, err) || err != nil {
				return
			}
		}
	}
}

// idsByName yields the IDs of all types called name, in ID order (a split
// spec's base's first).
func (s *Spec) idsByName(name string) iter.Seq[TypeID] {
	return func(yield func(TypeID) bool) {
		if name == "" {
			return
		}
		if s.base != nil {
			for id := range s.base.idsByName(name) {
				if !yield(id) {
					return
				}
			}
		}
		h := maphash.String(s.seed, name) &^ 0xffffffff
		i, _ := slices.BinarySearch(s.names, h)
		for ; i < len(s.names) && s.names[i]&^0xffffffff == h; i++ {
			id := TypeID(s.names[i] & 0xffffffff)
			if s.str(s.order.Uint32(s.types[s.recOff(id):])) == name && !yield(id) {
				return
			}
		}
	}
}

func (s *Spec) record(id TypeID) (nameOff, info, sizeType uint32) {
	if s.base != nil && id <= s.startID {
		return s.base.record(id)
	}
	off := s.recOff(id)
	return s.order.Uint32(s.types[off:]), s.order.Uint32(s.types[off+4:]), s.order.Uint32(s.types[off+8:])
}

// TypeIDsByName returns the IDs of every type called name, in ID order.
func (s *Spec) TypeIDsByName(name string) []TypeID {
	return slices.Collect(s.idsByName(name))
}

// TypesByName returns every type called name, of any kind, in ID order. It
// wraps ErrNotFound when there is none.
func (s *Spec) TypesByName(name string) ([]ktype.Type, error) {
	var types []ktype.Type
	for id := range s.idsByName(name) {
		t, err := s.TypeByID(id)
		if err != nil {
			return nil, err
		}
		types = append(types, t)
	}
	if len(types) == 0 {
		return nil, s.notFound(fmt.Sprintf("%q", name), name, s.lostKinds != 0)
	}
	return types, nil
}

// modelKind is the ktype kind a BTF kind decodes to.
func modelKind(k btfKind) ktype.Kind {
	switch k {
	case kindInt:
		return ktype.KindInt
	case kindPointer:
		return ktype.KindPointer
	case kindArray:
		return ktype.KindArray
	case kindStruct:
		return ktype.KindStruct
	case kindUnion:
		return ktype.KindUnion
	case kindEnum, kindEnum64:
		return ktype.KindEnum
	case kindFwd:
		return ktype.KindFwd
	case kindTypedef:
		return ktype.KindTypedef
	case kindVolatile:
		return ktype.KindVolatile
	case kindConst:
		return ktype.KindConst
	case kindRestrict:
		return ktype.KindRestrict
	case kindFunc:
		return ktype.KindFunc
	case kindFuncProto:
		return ktype.KindFuncProto
	case kindVar:
		return ktype.KindVar
	case kindDatasec:
		return ktype.KindDatasec
	case kindFloat:
		return ktype.KindFloat
	case kindDeclTag:
		return ktype.KindDeclTag
	case kindTypeTag:
		return ktype.KindTypeTag
	}
	return ktype.KindUnknown
}

// TypeByName returns the type of the given kind called name, such as
// ("task_struct", ktype.KindStruct) or ("long unsigned int", ktype.KindInt).
// When several types match, which happens when two files define different
// types of the same name, the one with the lowest ID wins; TypeIDsByName
// lists them all. It wraps ErrNotFound when none matches.
func (s *Spec) TypeByName(name string, kind ktype.Kind) (ktype.Type, error) {
	for id := range s.idsByName(name) {
		_, info, _ := s.record(id)
		if modelKind(infoKind(info)) == kind {
			return s.TypeByID(id)
		}
	}
	return nil, s.notFound(kind.String()+" "+name, name, s.lostKinds&(1<<kind) != 0)
}

// byName is TypeByName for a caller that wants a concrete type.
func byName[T ktype.Type](s *Spec, name string, kind ktype.Kind) (T, error) {
	var zero T
	t, err := s.TypeByName(name, kind)
	if err != nil {
		return zero, err
	}
	if l, ok := t.(*ktype.Lost); ok {
		return zero, fmt.Errorf("btf: %s %s: %w", kind, name, l.Err)
	}
	typed, ok := t.(T)
	if !ok { // cannot happen: the kind picked the record
		return zero, fmt.Errorf("btf: %s %s decoded as %s", kind, name, t.Kind())
	}
	return typed, nil
}

// StructByName returns struct name (the definition with the lowest type ID
// if there are several). It wraps ErrNotFound.
func (s *Spec) StructByName(name string) (*ktype.Struct, error) {
	return byName[*ktype.Struct](s, name, ktype.KindStruct)
}

// UnionByName returns union name. It wraps ErrNotFound.
func (s *Spec) UnionByName(name string) (*ktype.Union, error) {
	return byName[*ktype.Union](s, name, ktype.KindUnion)
}

// TypedefByName returns typedef name. It wraps ErrNotFound.
func (s *Spec) TypedefByName(name string) (*ktype.Typedef, error) {
	return byName[*ktype.Typedef](s, name, ktype.KindTypedef)
}

// EnumByName returns enum name (ENUM or ENUM64). It wraps ErrNotFound.
func (s *Spec) EnumByName(name string) (*ktype.Enum, error) {
	return byName[*ktype.Enum](s, name, ktype.KindEnum)
}

// VarByName returns the BTF variable called name. Kernel BTF describes only
// per-cpu variables (in the ".data..percpu" Datasec). It wraps ErrNotFound.
func (s *Spec) VarByName(name string) (*ktype.Var, error) {
	return byName[*ktype.Var](s, name, ktype.KindVar)
}

// VarLocation returns the data section that holds the variable called name
// and the variable's offset in it. For a vmlinux per-cpu variable that offset
// is the variable's per-cpu offset, to which __per_cpu_offset[cpu] is added.
// It wraps ErrNotFound when no variable has that name or none is placed.
func (s *Spec) VarLocation(name string) (section string, offset uint32, err error) {
	var varIDs []TypeID
	for id := range s.idsByName(name) {
		if _, info, _ := s.record(id); infoKind(info) == kindVar {
			varIDs = append(varIDs, id)
		}
	}
	if len(varIDs) == 0 {
		return "", 0, s.notFound("var "+name, name, s.lostKinds&(1<<ktype.KindVar) != 0)
	}
	if s.base != nil {
		if sec, off, err := s.base.VarLocation(name); err == nil {
			return sec, off, nil
		}
	}
	// A vmlinux has a handful of DATASECs at most, so a scan is cheap.
	for id := s.StartID(); int(id) <= s.NumTypes(); id++ {
		nameOff, info, _ := s.record(id)
		if infoKind(info) != kindDatasec {
			continue
		}
		base := int(s.recOff(id)) + btfTypeLen
		for i := range infoVlen(info) {
			rec := s.types[base+i*btfVarSecinfoLen:]
			if slices.Contains(varIDs, TypeID(s.order.Uint32(rec))) {
				return s.str(nameOff), s.order.Uint32(rec[4:]), nil
			}
		}
	}
	if s.lostFrom != 0 {
		// The data sections come last: a lost one may place it.
		_, loss := s.Lost()
		return "", 0, fmt.Errorf("btf: var %s: in no data section that could be read: %w", name, loss)
	}
	return "", 0, fmt.Errorf("btf: var %s: in no data section: %w", name, ErrNotFound)
}

// EnumValue returns the value of the enumerator called name, looked for in
// every enum, e.g. NR_FREE_PAGES. It wraps ErrNotFound when no enum has it
// and ktype.ErrMultipleMatches when two enums give it different values.
// Values of unsigned 64-bit enumerators come back as their bit pattern.
func (s *Spec) EnumValue(name string) (int64, error) {
	if s.base != nil {
		// The base's enumerators first, as its types come first.
		if v, err := s.base.EnumValue(name); !errors.Is(err, ErrNotFound) {
			return v, err
		}
	}
	s.enumOnce.Do(s.indexEnums)
	v, ok := s.enumIndex[name]
	switch {
	case !ok:
		return 0, s.notFound("enumerator "+name, name, s.enumsLost)
	case v.ambiguous:
		return 0, fmt.Errorf("btf: enumerator %s: %w", name, ktype.ErrMultipleMatches)
	}
	return v.value, nil
}

// indexEnums builds the enumerator index from the raw records, without
// decoding the enums: most callers need a few constants, not the types.
func (s *Spec) indexEnums() {
	// Sized first: growing a map of the vmlinux's 20,000-odd enumerators
	// rehashes every name again, a third of the index's time in wasm
	// (whose string hash is the slow portable one).
	n := 0
	for id := s.StartID(); int(id) <= s.NumTypes(); id++ {
		if _, info, _ := s.record(id); infoKind(info) == kindEnum || infoKind(info) == kindEnum64 {
			n += int(infoVlen(info))
		}
	}
	s.enumIndex = make(map[string]enumValue, n)
	for id := s.StartID(); int(id) <= s.NumTypes(); id++ {
		_, info, _ := s.record(id)
		kind := infoKind(info)
		if kind != kindEnum && kind != kindEnum64 {
			continue
		}
		base := int(s.recOff(id)) + btfTypeLen
		for i := range infoVlen(info) {
			name, value, ok := s.enumerator(kind, infoKflag(info), base, i)
			if !ok || name == "" || s.strLost(s.order.Uint32(s.types[base+i*enumStep(kind):])) {
				continue
			}
			old, seen := s.enumIndex[name]
			switch {
			case !seen:
				s.enumIndex[name] = enumValue{value: value}
			case old.value != value:
				s.enumIndex[name] = enumValue{value: old.value, ambiguous: true}
			}
		}
	}
}

// enumStep is the size of an ENUM or ENUM64 entry.
func enumStep(kind btfKind) int {
	if kind == kindEnum64 {
		return btfEnum64Len
	}
	return btfEnumLen
}

// enumerator decodes entry i of the ENUM or ENUM64 record whose entries start
// at base. It reports false for a name offset outside the string section.
func (s *Spec) enumerator(kind btfKind, signed bool, base, i int) (string, int64, bool) {
	var nameOff uint32
	var value int64
	if kind == kindEnum64 {
		rec := s.types[base+i*btfEnum64Len:]
		nameOff = s.order.Uint32(rec)
		value = int64(uint64(s.order.Uint32(rec[8:]))<<32 | uint64(s.order.Uint32(rec[4:])))
	} else {
		rec := s.types[base+i*btfEnumLen:]
		nameOff = s.order.Uint32(rec)
		raw := s.order.Uint32(rec[4:])
		// kind_flag marks a signed enum since Linux 6.0 (pahole 1.24). Older
		// BTF leaves it clear, so a negative enumerator there reads as its
		// unsigned 32-bit pattern, as libbpf's btf_dump prints it.
		if signed {
			value = int64(int32(raw))
		} else {
			value = int64(raw)
		}
	}
	if int64(nameOff) >= s.strEnd() {
		return "", 0, false
	}
	return s.str(nameOff), value, true
}
