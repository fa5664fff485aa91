package kdwarf

import (
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"sync"
)

// Lines maps code addresses to source lines, reading only what one lookup
// needs: .debug_aranges and .debug_line_str once (a few hundred KB), then
// for each compile unit asked about the first bytes of its header and of its
// abbreviations, its line program, and the .debug_str strings it names
// (none for DWARF 5, whose names are in .debug_line_str), kept for later
// lookups. Nothing reads the whole .debug_info, .debug_line or .debug_str
// (3.5 MiB of a distribution vmlinux: a tenth of a browser report's reads
// for the few strings a trace needs).
type Lines struct {
	r                  io.ReaderAt
	info, abbrev, line *elf.Section
	lineStr            []byte
	// str is .debug_str, read in memory only when it is compressed;
	// strSec, when set, is read a string at a time.
	str     []byte
	strSec  *elf.Section
	aranges []arange
	mu      sync.Mutex
	units   map[uint64]*lineTable // by .debug_info offset
}

type arange struct{ lo, hi, cu uint64 }

// lineRow is one row of a line program: code from addr on is line of file
// (file is endFile for the row that ends a sequence).
type lineRow struct {
	addr uint64
	file uint32
	line uint32
}

type lineTable struct {
	rows  []lineRow // sorted by address
	files []string
	err   error
}

// ErrNoLines is wrapped when the vmlinux has no line information.
var ErrNoLines = errors.New("no DWARF line information")

// maxLineProgram bounds one unit's line program (the largest of a
// distribution vmlinux is a few hundred KB).
const maxLineProgram = 64 << 20

// OpenLines prepares line lookups on a vmlinux.
func OpenLines(r io.ReaderAt) (*Lines, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("kdwarf lines: %w", err)
	}
	l := &Lines{r: r, units: map[uint64]*lineTable{}}
	l.info, l.abbrev, l.line = f.Section(".debug_info"), f.Section(".debug_abbrev"), f.Section(".debug_line")
	ar := f.Section(".debug_aranges")
	if l.info == nil || l.abbrev == nil || l.line == nil || ar == nil {
		return nil, fmt.Errorf("%w (.debug_info, .debug_abbrev, .debug_line and .debug_aranges needed)", ErrNoLines)
	}
	for _, s := range []*elf.Section{l.info, l.abbrev, l.line, ar} {
		if compressed(s) || s.Type == elf.SHT_NOBITS {
			return nil, fmt.Errorf("%w: %s is compressed or empty", ErrNoLines, s.Name)
		}
	}
	str := f.Section(".debug_str")
	whole := []*elf.Section{ar, f.Section(".debug_line_str"), nil}
	if str != nil && (compressed(str) || str.Type == elf.SHT_NOBITS) {
		whole[2] = str // no string can be read from the file on its own
	} else {
		l.strSec = str
	}
	small, err := readSmall(r, whole)
	if err != nil {
		return nil, err
	}
	l.lineStr, l.str = small[1], small[2]
	if err := l.parseAranges(small[0]); err != nil {
		return nil, err
	}
	return l, nil
}

// parseAranges reads every address range of .debug_aranges (DWARF 2–5).
func (l *Lines) parseAranges(b []byte) error {
	le := binary.LittleEndian
	for len(b) >= 16 {
		n := uint64(le.Uint32(b))
		if n == 0xffffffff || n+4 > uint64(len(b)) || n < 12 {
			return fmt.Errorf("kdwarf: .debug_aranges set of %d bytes", n)
		}
		set := b[4 : 4+n]
		b = b[4+n:]
		cu := uint64(le.Uint32(set[2:]))
		if set[6] != 8 || set[7] != 0 {
			continue // not 64-bit addresses, or segmented
		}
		// Tuples start at a multiple of their size (16) from the set start.
		for off := 16 - 4; off+16 <= len(set); off += 16 {
			lo, size := le.Uint64(set[off:]), le.Uint64(set[off+8:])
			if lo == 0 && size == 0 {
				break
			}
			l.aranges = append(l.aranges, arange{lo, lo + size, cu})
		}
	}
	// A sort without reflection: 10,000 ranges, once per run, before a
	// browser has optimised the code.
	slices.SortFunc(l.aranges, func(a, b arange) int { return cmp.Compare(a.lo, b.lo) })
	return nil
}

// LineForPC finds the source file and line of the instruction at pc (a
// link-time address: subtract the KASLR offset first).
func (l *Lines) LineForPC(pc uint64) (file string, line int, err error) {
	cu, ok := l.unitOf(pc)
	if !ok {
		return "", 0, fmt.Errorf("%w for %#x", ErrNoLines, pc)
	}
	t := l.table(cu)
	if t.err != nil {
		return "", 0, t.err
	}
	j := sort.Search(len(t.rows), func(j int) bool { return t.rows[j].addr > pc }) - 1
	if j < 0 || t.rows[j].file == endFile || int(t.rows[j].file) >= len(t.files) {
		return "", 0, fmt.Errorf("%w for %#x in its unit", ErrNoLines, pc)
	}
	return t.files[t.rows[j].file], int(t.rows[j].line), nil
}

// unitOf is the .debug_info offset of the unit whose ranges hold pc.
func (l *Lines) unitOf(pc uint64) (uint64, bool) {
	i := sort.Search(len(l.aranges), func(i int) bool { return l.aranges[i].lo > pc }) - 1
	// A unit's ranges do not overlap another's; a few steps back cover
	// the rare nested range.
	for k := 0; i >= 0 && k < 8 && pc >= l.aranges[i].hi; k++ {
		i--
	}
	if i < 0 || pc >= l.aranges[i].hi {
		return 0, false
	}
	return l.aranges[i].cu, true
}

// Prefetch reads ahead, when the reader takes such hints (a browser File,
// where each read costs a round trip), what LineForPC will read for pcs:
// the first bytes of each unit not yet read, then their abbreviations,
// then the heads and bodies of their line programs, each step for all the
// units at once. A trace's lookups then wait for four rounds of reads
// rather than three reads per unit in turn. Nothing is decoded for good
// here; LineForPC reads the same ranges, from memory.
func (l *Lines) Prefetch(pcs []uint64) {
	p, ok := l.r.(interface{ Prefetch(off, n int64) })
	if !ok {
		return
	}
	var cus []uint64
	l.mu.Lock()
	for _, pc := range pcs {
		if cu, ok := l.unitOf(pc); ok && l.units[cu] == nil && !slices.Contains(cus, cu) {
			cus = append(cus, cu)
		}
	}
	l.mu.Unlock()
	if len(cus) < 2 {
		return // one unit: its reads in turn cost what the rounds would
	}
	ahead := func(s *elf.Section, off, n uint64) {
		if off < s.Size {
			p.Prefetch(int64(s.Offset+off), int64(min(n, s.Size-off)))
		}
	}
	for _, cu := range cus {
		ahead(l.info, cu, unitHeadRead)
	}
	abbrevs := make([]uint64, len(cus))
	for i, cu := range cus {
		var err error
		if abbrevs[i], err = l.abbrevOffset(cu); err == nil {
			ahead(l.abbrev, abbrevs[i], abbrevHeadRead)
		}
	}
	// A unit whose DIE lies beyond the first bytes read is read again with
	// more (readUnit): those reads too.
	var stmts, again []uint64
	for i, cu := range cus {
		stmt, _, err := l.unitStmt(cu, unitHeadRead, abbrevHeadRead)
		switch {
		case err == nil:
			stmts = append(stmts, stmt)
			ahead(l.line, stmt, 4)
		case errors.Is(err, io.ErrUnexpectedEOF):
			again = append(again, cu)
			ahead(l.info, cu, unitHeadMax)
			ahead(l.abbrev, abbrevs[i], abbrevHeadMax)
		}
	}
	for _, cu := range again {
		if stmt, _, err := l.unitStmt(cu, unitHeadMax, abbrevHeadMax); err == nil {
			stmts = append(stmts, stmt)
			ahead(l.line, stmt, 4)
		}
	}
	for _, stmt := range stmts {
		if head, err := l.read(l.line, stmt, 4); err == nil && len(head) == 4 {
			if n := uint64(binary.LittleEndian.Uint32(head)); n <= maxLineProgram {
				ahead(l.line, stmt+4, n)
			}
		}
	}
}

// abbrevOffset reads the abbreviation table offset from a unit's header.
func (l *Lines) abbrevOffset(cu uint64) (uint64, error) {
	hdr, err := l.read(l.info, cu, unitHeadRead)
	if err != nil {
		return 0, err
	}
	c := &cursor{b: hdr}
	c.u32()
	switch ver := c.u16(); {
	case ver == 5:
		c.u8()
		c.u8()
		return uint64(c.u32()), c.err
	case ver >= 2 && ver <= 4:
		return uint64(c.u32()), c.err
	default:
		return 0, fmt.Errorf("kdwarf: unit at %#x has DWARF version %d", cu, ver)
	}
}

func (l *Lines) table(cu uint64) *lineTable {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.units[cu]; ok {
		return t
	}
	t := &lineTable{}
	t.err = l.readUnit(cu, t)
	l.units[cu] = t
	return t
}

func (l *Lines) read(s *elf.Section, off, n uint64) ([]byte, error) {
	if off > s.Size {
		return nil, fmt.Errorf("kdwarf: %s offset %#x past its end", s.Name, off)
	}
	n = min(n, s.Size-off)
	b := make([]byte, n)
	if _, err := s.ReadAt(b, int64(off)); err != nil && err != io.EOF {
		return nil, fmt.Errorf("kdwarf: %s at %#x: %w", s.Name, off, err)
	}
	return b, nil
}

// cursor decodes little-endian DWARF values with a sticky error.
type cursor struct {
	b   []byte
	err error
}

func (c *cursor) need(n int) bool {
	if c.err == nil && len(c.b) < n {
		c.err = io.ErrUnexpectedEOF
	}
	return c.err == nil
}
func (c *cursor) u8() uint8 {
	if !c.need(1) {
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}
func (c *cursor) u16() uint16 {
	if !c.need(2) {
		return 0
	}
	v := binary.LittleEndian.Uint16(c.b)
	c.b = c.b[2:]
	return v
}
func (c *cursor) u32() uint32 {
	if !c.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(c.b)
	c.b = c.b[4:]
	return v
}
func (c *cursor) u64() uint64 {
	if !c.need(8) {
		return 0
	}
	v := binary.LittleEndian.Uint64(c.b)
	c.b = c.b[8:]
	return v
}
func (c *cursor) skip(n uint64) {
	if c.err == nil && n > uint64(len(c.b)) {
		c.err = io.ErrUnexpectedEOF
	}
	if c.err == nil {
		c.b = c.b[n:]
	}
}
func (c *cursor) uleb() uint64 {
	var v uint64
	for shift := 0; ; shift += 7 {
		b := c.u8()
		if c.err != nil {
			return 0
		}
		if shift < 64 {
			v |= uint64(b&0x7f) << shift
		}
		if b&0x80 == 0 {
			return v
		}
	}
}
func (c *cursor) sleb() int64 {
	var v int64
	shift := 0
	for {
		b := c.u8()
		if c.err != nil {
			return 0
		}
		if shift < 64 {
			v |= int64(b&0x7f) << shift
		}
		shift += 7
		if b&0x80 == 0 {
			if shift < 64 && b&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
}
func (c *cursor) cstr() string {
	i := bytes.IndexByte(c.b, 0)
	if i < 0 {
		c.err = io.ErrUnexpectedEOF
		return ""
	}
	s := string(c.b[:i])
	c.b = c.b[i+1:]
	return s
}

func lineCstr(b []byte, off uint64) string {
	v, _ := cstrAt(b, off)
	return string(v)
}

// maxStrRead bounds one string read from .debug_str (a path).
const maxStrRead = 64 << 10

// debugStr is the .debug_str string at off ("" when there is none).
func (l *Lines) debugStr(off uint64) string {
	if l.strSec == nil {
		return lineCstr(l.str, off)
	}
	for n := uint64(256); ; n *= 4 {
		b, err := l.read(l.strSec, off, n)
		if err != nil {
			return ""
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return string(b[:i])
		}
		if uint64(len(b)) < n || n >= maxStrRead {
			return ""
		}
	}
}

// Read sizes for a unit's first DIE and its abbreviations: enough for the
// unit DIE GCC writes (about 40 bytes) and for the abbreviations up to its
// own (GCC puts it 2–3 KB into a kernel unit's table); a unit that needs
// more is read again with the larger sizes.
const (
	unitHeadRead   = 512
	unitHeadMax    = 4096
	abbrevHeadRead = 4096
	abbrevHeadMax  = 1 << 16
)

// DWARF constants used here.
const (
	lAtStmtList  = 0x10
	lAtCompDir   = 0x1b
	lnctPath     = 0x1
	lnctDirIndex = 0x2
)

// readUnit reads the unit's DW_AT_stmt_list and runs its line program.
// It reads the first bytes of the unit and of its abbreviations, and
// again with more when they end too soon.
func (l *Lines) readUnit(cuOff uint64, t *lineTable) error {
	stmt, compDir, err := l.unitStmt(cuOff, unitHeadRead, abbrevHeadRead)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		stmt, compDir, err = l.unitStmt(cuOff, unitHeadMax, abbrevHeadMax)
	}
	if err != nil {
		return err
	}
	return l.runProgram(stmt, compDir, t)
}

// unitStmt reads the unit DIE's DW_AT_stmt_list and, for DWARF before 5
// (whose line header does not name it), DW_AT_comp_dir, from the first
// headN bytes of the unit and abbrevN of its abbreviations.
func (l *Lines) unitStmt(cuOff, headN, abbrevN uint64) (stmt uint64, compDir string, err error) {
	hdr, err := l.read(l.info, cuOff, headN)
	if err != nil {
		return 0, "", err
	}
	c := &cursor{b: hdr}
	if n := c.u32(); n == 0xffffffff {
		return 0, "", fmt.Errorf("kdwarf: 64-bit DWARF unit at %#x", cuOff)
	}
	ver := c.u16()
	var abbrevOff uint64
	switch {
	case ver == 5:
		c.u8() // unit_type
		if c.u8() != 8 {
			return 0, "", fmt.Errorf("kdwarf: unit at %#x: address size not 8", cuOff)
		}
		abbrevOff = uint64(c.u32())
	case ver >= 2 && ver <= 4:
		abbrevOff = uint64(c.u32())
		c.u8()
	default:
		return 0, "", fmt.Errorf("kdwarf: unit at %#x has DWARF version %d", cuOff, ver)
	}
	code := c.uleb()
	ab, err := l.read(l.abbrev, abbrevOff, abbrevN)
	if err != nil {
		return 0, "", err
	}
	a := &cursor{b: ab}
	if !skipToAbbrev(a, code) {
		if a.err != nil {
			return 0, "", fmt.Errorf("kdwarf: unit at %#x: abbreviation %d: %w", cuOff, code, a.err)
		}
		return 0, "", fmt.Errorf("kdwarf: unit at %#x: abbreviation %d not found", cuOff, code)
	}
	var haveStmt bool
	for a.err == nil && c.err == nil {
		name, form := a.uleb(), a.uleb()
		var implicit int64
		if form == lFormImplicitConst {
			implicit = a.sleb()
		}
		if name == 0 && form == 0 {
			break
		}
		v, s, err := l.formValue(c, form, ver, implicit, name == lAtCompDir && ver < 5)
		if err != nil {
			return 0, "", fmt.Errorf("kdwarf: unit at %#x: %w", cuOff, err)
		}
		switch name {
		case lAtStmtList:
			stmt, haveStmt = v, true
		case lAtCompDir:
			compDir = s
		}
	}
	if err := errors.Join(a.err, c.err); err != nil {
		return 0, "", fmt.Errorf("kdwarf: unit at %#x: %w", cuOff, err)
	}
	if !haveStmt {
		return 0, "", fmt.Errorf("%w: unit at %#x has no line program", ErrNoLines, cuOff)
	}
	return stmt, compDir, nil
}

// skipToAbbrev moves a past the abbreviation declarations before code's
// and past its tag and children flag; false when a ends first or the
// table does without it. A loop of its own: in unitStmt, each of the
// hundreds of declarations skipped spent V8's tier-up budget at unitStmt's
// size, and a browser compiled all of it with TurboFan in every report.
func skipToAbbrev(a *cursor, code uint64) bool {
	for a.err == nil {
		ac := a.uleb()
		if a.err != nil || ac == 0 {
			return false
		}
		a.uleb() // tag
		a.u8()   // children
		if ac == code {
			return a.err == nil
		}
		for a.err == nil {
			name, form := a.uleb(), a.uleb()
			if form == lFormImplicitConst {
				a.sleb()
			}
			if name == 0 && form == 0 {
				break
			}
		}
	}
	return false
}

// DWARF forms.
const (
	lFormAddr          = 0x01
	lFormBlock2        = 0x03
	lFormBlock4        = 0x04
	lFormData2         = 0x05
	lFormData4         = 0x06
	lFormData8         = 0x07
	lFormString        = 0x08
	lFormBlock         = 0x09
	lFormBlock1        = 0x0a
	lFormData1         = 0x0b
	lFormFlag          = 0x0c
	lFormSdata         = 0x0d
	lFormStrp          = 0x0e
	lFormUdata         = 0x0f
	lFormRefAddr       = 0x10
	lFormRef1          = 0x11
	lFormRef2          = 0x12
	lFormRef4          = 0x13
	lFormRef8          = 0x14
	lFormRefUdata      = 0x15
	lFormIndirect      = 0x16
	lFormSecOffset     = 0x17
	lFormExprloc       = 0x18
	lFormFlagPresent   = 0x19
	lFormStrx          = 0x1a
	lFormRefSup4       = 0x1c
	lFormStrpSup       = 0x1d
	lFormData16        = 0x1e
	lFormLineStrp      = 0x1f
	lFormRefSig8       = 0x20
	lFormImplicitConst = 0x21
	lFormLoclistx      = 0x22
	lFormRnglistx      = 0x23
	lFormStrx1         = 0x25
	lFormStrx2         = 0x26
	lFormStrx3         = 0x27
	lFormStrx4         = 0x28
	lFormAddrx         = 0x1b
	lFormAddrx1        = 0x29
	lFormAddrx2        = 0x2a
	lFormAddrx3        = 0x2b
	lFormAddrx4        = 0x2c
)

// formValue reads one attribute value: a number, or a string for string
// forms (strx forms are skipped: their offsets table is not read here); a
// .debug_str string is read only when wantStr.
func (l *Lines) formValue(c *cursor, form uint64, ver uint16, implicit int64, wantStr bool) (uint64, string, error) {
	switch form {
	case lFormAddr, lFormData8, lFormRef8, lFormRefSig8:
		return c.u64(), "", nil
	case lFormData1, lFormRef1, lFormFlag, lFormStrx1, lFormAddrx1:
		return uint64(c.u8()), "", nil
	case lFormData2, lFormRef2, lFormStrx2, lFormAddrx2:
		return uint64(c.u16()), "", nil
	case lFormStrx3, lFormAddrx3:
		c.skip(3)
		return 0, "", nil
	case lFormData4, lFormRef4, lFormRefSup4, lFormStrx4, lFormAddrx4:
		return uint64(c.u32()), "", nil
	case lFormSecOffset, lFormRefAddr, lFormStrpSup:
		if form == lFormRefAddr && ver == 2 {
			return c.u64(), "", nil
		}
		return uint64(c.u32()), "", nil
	case lFormStrp:
		off := uint64(c.u32())
		if !wantStr || c.err != nil {
			return off, "", nil
		}
		return off, l.debugStr(off), nil
	case lFormLineStrp:
		off := uint64(c.u32())
		return off, lineCstr(l.lineStr, off), nil
	case lFormString:
		s := c.cstr()
		return 0, s, nil
	case lFormUdata, lFormRefUdata, lFormStrx, lFormAddrx, lFormLoclistx, lFormRnglistx:
		return c.uleb(), "", nil
	case lFormSdata:
		return uint64(c.sleb()), "", nil
	case lFormFlagPresent:
		return 1, "", nil
	case lFormImplicitConst:
		return uint64(implicit), "", nil
	case lFormData16:
		c.skip(16)
		return 0, "", nil
	case lFormBlock1:
		c.skip(uint64(c.u8()))
	case lFormBlock2:
		c.skip(uint64(c.u16()))
	case lFormBlock4:
		c.skip(uint64(c.u32()))
	case lFormBlock, lFormExprloc:
		c.skip(c.uleb())
	case lFormIndirect:
		return l.formValue(c, c.uleb(), ver, implicit, wantStr)
	default:
		return 0, "", fmt.Errorf("unknown form %#x", form)
	}
	return 0, "", nil
}

// runProgram decodes the line program at off in .debug_line (versions
// 2–5) into rows.
func (l *Lines) runProgram(off uint64, compDir string, t *lineTable) error {
	lp, err := l.program(off, compDir, t)
	if err != nil {
		return err
	}
	if t.rows, err = lp.rows(); err != nil {
		return fmt.Errorf("kdwarf: line program at %#x: %w", off, err)
	}
	return nil
}

// program reads the line program at off and its header, whose file names
// it puts in t.
func (l *Lines) program(off uint64, compDir string, t *lineTable) (*lineProgram, error) {
	head, err := l.read(l.line, off, 4)
	if err != nil {
		return nil, err
	}
	if len(head) < 4 {
		return nil, fmt.Errorf("kdwarf: line program at %#x: %w", off, io.ErrUnexpectedEOF)
	}
	n := uint64(binary.LittleEndian.Uint32(head))
	if n == 0xffffffff || n > maxLineProgram {
		return nil, fmt.Errorf("kdwarf: line program at %#x of %d bytes", off, n)
	}
	b, err := l.read(l.line, off+4, n)
	if err != nil {
		return nil, err
	}
	c := &cursor{b: b}
	ver := c.u16()
	if ver < 2 || ver > 5 {
		return nil, fmt.Errorf("kdwarf: line program at %#x has version %d", off, ver)
	}
	if ver == 5 {
		c.u8() // address_size
		c.u8() // segment_selector_size
	}
	hlen := uint64(c.u32())
	if c.err != nil || hlen > uint64(len(c.b)) {
		return nil, fmt.Errorf("kdwarf: line program at %#x: header of %d bytes", off, hlen)
	}
	prog := c.b[hlen:]
	minInst := uint64(c.u8())
	if ver >= 4 {
		c.u8() // maximum_operations_per_instruction (1 on x86)
	}
	defaultStmt := c.u8()
	_ = defaultStmt
	lineBase := int64(int8(c.u8()))
	lineRange := uint64(c.u8())
	opBase := c.u8()
	if lineRange == 0 {
		return nil, fmt.Errorf("kdwarf: line program at %#x: line_range 0", off)
	}
	stdLens := make([]uint8, opBase)
	for i := 1; i < int(opBase); i++ {
		stdLens[i] = c.u8()
	}
	var dirs []string
	if ver == 5 {
		dirs, err = l.entries(c, nil)
		if err != nil {
			return nil, err
		}
		t.files, err = l.entries(c, dirs)
		if err != nil {
			return nil, err
		}
	} else {
		dirs = []string{compDir}
		for c.err == nil {
			d := c.cstr()
			if d == "" {
				break
			}
			dirs = append(dirs, d)
		}
		t.files = []string{""} // file 0 is unused before DWARF 5
		for c.err == nil {
			f := c.cstr()
			if f == "" {
				break
			}
			di := c.uleb()
			c.uleb()
			c.uleb()
			if di < uint64(len(dirs)) && !path.IsAbs(f) {
				f = path.Join(dirs[di], f)
			}
			t.files = append(t.files, f)
		}
	}
	if c.err != nil {
		return nil, fmt.Errorf("kdwarf: line program header at %#x: %w", off, c.err)
	}

	return &lineProgram{prog: prog, minInst: minInst, lineBase: lineBase, lineRange: lineRange, opBase: opBase, stdLens: stdLens}, nil
}

// lineProgram is a unit's line program and the header fields its state
// machine needs.
type lineProgram struct {
	prog      []byte
	minInst   uint64
	lineBase  int64
	lineRange uint64
	opBase    uint8
	stdLens   []uint8
}

// lineSeq is one sequence of a line program: its rows are the n from the
// program's row first on, and start is the address of the first. dest is
// where its rows go in the sorted table.
type lineSeq struct {
	start       uint64
	first, n    int
	dest        int
	programRank int
}

// rows runs the program twice: once to count each sequence's rows, once
// to write them where they belong in address order. Sequences are placed
// by their start (a unit has a few: its .text, .init.text, cold parts) and
// rows within one only go up, so the table needs no sort of its rows, and
// no growing: a kernel unit has tens of thousands of rows, and sorting and
// appending them were most of a bt's line lookups. The table is the stable
// sort of the rows by address, as a program that breaks those rules gets
// (checked, and then sorted so).
func (lp *lineProgram) rows() ([]lineRow, error) {
	seqs, total, err := lp.run(nil, nil)
	if err != nil {
		return nil, err
	}
	order := make([]*lineSeq, len(seqs))
	for i := range seqs {
		seqs[i].programRank = i
		order[i] = &seqs[i]
	}
	// Insertion sort: a handful of sequences, in program order when equal.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && order[j].start < order[j-1].start; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	dest := 0
	for _, q := range order {
		q.dest = dest
		dest += q.n
	}
	rows := make([]lineRow, total)
	if _, _, err := lp.run(seqs, rows); err != nil {
		return nil, err
	}
	if stableSorted(rows, order) {
		return rows, nil
	}
	// Rows out of order: program order, then a stable sort.
	for i := range seqs {
		seqs[i].dest = seqs[i].first
	}
	if _, _, err := lp.run(seqs, rows); err != nil {
		return nil, err
	}
	slices.SortStableFunc(rows, func(a, b lineRow) int { return cmp.Compare(a.addr, b.addr) })
	return rows, nil
}

// stableSorted says whether rows, placed sequence by sequence in order,
// are what a stable sort of the program's rows by address gives: sorted,
// and where two sequences meet at one address, the one first in the
// program first.
func stableSorted(rows []lineRow, order []*lineSeq) bool {
	for i := 1; i < len(rows); i++ {
		if rows[i].addr < rows[i-1].addr {
			return false
		}
	}
	for k := 1; k < len(order); k++ {
		prev, q := order[k-1], order[k]
		if prev.n == 0 || q.n == 0 {
			continue
		}
		if rows[q.dest].addr == rows[prev.dest+prev.n-1].addr && prev.programRank > q.programRank {
			return false
		}
	}
	return true
}

// endFile marks a row that ends a sequence: no code from its address on.
const endFile = ^uint32(0)

// run executes the state machine (DWARF 5 §6.2.2). Without rows it counts:
// it returns the sequences and the number of rows. With rows, it writes
// sequence i's rows from seqs[i].dest on.
func (lp *lineProgram) run(seqs []lineSeq, rows []lineRow) ([]lineSeq, int, error) {
	var addr uint64
	file, line := uint32(1), int64(1)
	count := rows == nil
	seq, k, total := 0, 0, 0 // the sequence, its row, all rows so far
	emit := func(end bool) {
		if count {
			if k == 0 {
				seqs = append(seqs, lineSeq{start: addr, first: total})
			}
			seqs[seq].n++
		} else if seq < len(seqs) && k < seqs[seq].n {
			r := lineRow{addr: addr, file: file, line: uint32(line)}
			if end {
				r.file = endFile
			}
			rows[seqs[seq].dest+k] = r
		}
		k++
		total++
		if end {
			seq, k = seq+1, 0
		}
	}
	// The opcodes are decoded by index rather than through a cursor, and a
	// one-byte operand (nearly all) without a call: this loop runs over
	// every byte of a unit's program, twice.
	b := lp.prog
	opBase, lineRange, minInst := lp.opBase, lp.lineRange, lp.minInst
	i := 0
	for i < len(b) {
		op := b[i]
		i++
		if op >= opBase {
			adj := uint64(op - opBase)
			addr += adj / lineRange * minInst
			line += lp.lineBase + int64(adj%lineRange)
			emit(false)
			continue
		}
		var v uint64
		switch op {
		case 0: // extended
			v, i = uleb128(b, i)
			if i < 0 || v == 0 || v > uint64(len(b)-i) {
				return seqs, total, io.ErrUnexpectedEOF
			}
			ext := b[i : i+int(v)]
			i += int(v)
			switch ext[0] {
			case 1: // end_sequence
				emit(true)
				addr, file, line = 0, 1, 1
			case 2: // set_address
				if len(ext) >= 9 {
					addr = binary.LittleEndian.Uint64(ext[1:])
				}
			}
		case 1: // copy
			emit(false)
		case 2: // advance_pc
			if v, i = uleb128(b, i); i < 0 {
				return seqs, total, io.ErrUnexpectedEOF
			}
			addr += v * minInst
		case 3: // advance_line
			if i < len(b) && b[i] < 0x40 {
				line += int64(b[i])
				i++
				break
			}
			var d int64
			if d, i = sleb128(b, i); i < 0 {
				return seqs, total, io.ErrUnexpectedEOF
			}
			line += d
		case 4: // set_file
			if v, i = uleb128(b, i); i < 0 {
				return seqs, total, io.ErrUnexpectedEOF
			}
			file = uint32(v)
		case 5, 12: // set_column, set_isa
			if i < len(b) && b[i] < 0x80 {
				i++
			} else if _, i = uleb128(b, i); i < 0 {
				return seqs, total, io.ErrUnexpectedEOF
			}
		case 6, 7, 10, 11: // negate_stmt, basic_block, prologue_end, epilogue_begin
		case 8: // const_add_pc
			addr += uint64(255-opBase) / lineRange * minInst
		case 9: // fixed_advance_pc
			if i+2 > len(b) {
				return seqs, total, io.ErrUnexpectedEOF
			}
			addr += uint64(binary.LittleEndian.Uint16(b[i:]))
			i += 2
		default: // opcodes this reader does not know: skipped
			for range lp.stdLens[op] {
				if i < len(b) && b[i] < 0x80 {
					i++
					continue
				}
				if _, i = uleb128(b, i); i < 0 {
					return seqs, total, io.ErrUnexpectedEOF
				}
			}
		}
	}
	return seqs, total, nil
}

// uleb128 decodes the unsigned LEB128 number at b[i:]: its value and the
// index after it, or i < 0 when b ends first.
func uleb128(b []byte, i int) (uint64, int) {
	var v uint64
	for shift := 0; i < len(b); shift += 7 {
		c := b[i]
		i++
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		if c&0x80 == 0 {
			return v, i
		}
	}
	return 0, -1
}

// sleb128 is uleb128 for a signed LEB128 number.
func sleb128(b []byte, i int) (int64, int) {
	var v int64
	for shift := 0; i < len(b); {
		c := b[i]
		i++
		if shift < 64 {
			v |= int64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, i
		}
	}
	return 0, -1
}

// entries reads a DWARF 5 directory or file name table; with dirs, each
// file's directory is joined to its name.
func (l *Lines) entries(c *cursor, dirs []string) ([]string, error) {
	nfmt := int(c.u8())
	type fmtEnt struct{ ct, form uint64 }
	fmts := make([]fmtEnt, 0, nfmt)
	for range nfmt {
		fmts = append(fmts, fmtEnt{c.uleb(), c.uleb()})
	}
	count := c.uleb()
	if count > 1<<20 {
		return nil, fmt.Errorf("kdwarf: %d line table entries", count)
	}
	var out []string
	for range count {
		var name string
		var dir uint64
		for _, f := range fmts {
			// The forms GCC writes here are decoded in place (as formValue
			// would), the rest by formValue: called for each of a unit's
			// hundreds of files, it was compiled with TurboFan in every report.
			var v uint64
			var s string
			switch f.form {
			case lFormLineStrp:
				v = uint64(c.u32())
				s = lineCstr(l.lineStr, v)
			case lFormUdata:
				v = c.uleb()
			case lFormData16:
				c.skip(16)
			default:
				var err error
				if v, s, err = l.formValue(c, f.form, 5, 0, f.ct == lnctPath); err != nil {
					return nil, err
				}
			}
			switch f.ct {
			case lnctPath:
				name = s
			case lnctDirIndex:
				dir = v
			}
		}
		if dirs != nil && dir < uint64(len(dirs)) && !path.IsAbs(name) {
			name = path.Join(dirs[dir], name)
		}
		out = append(out, name)
	}
	return out, c.err
}
