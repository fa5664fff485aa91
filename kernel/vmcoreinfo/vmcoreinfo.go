// Package vmcoreinfo parses the VMCOREINFO text a Linux kernel writes for
// crash-dump tools, and finds that text in physical memory when a dump
// carries no VMCOREINFO note.
//
// The format is defined by the kernel itself: crash_save_vmcoreinfo_init()
// in kernel/crash_core.c (kernel/vmcore_info.c since 6.9) and the
// VMCOREINFO_* macros in include/linux/crash_core.h, plus per-architecture
// additions (arch_crash_save_vmcoreinfo() in
// arch/x86/kernel/crash_core_64.c for x86_64) and a few subsystems
// (log_buf_vmcoreinfo_setup() in kernel/printk/printk.c). Each entry is one
// "KEY=value\n" line:
//
//	OSRELEASE=6.1.0-56-cloud-amd64      release string
//	BUILD-ID=<40 hex digits>            vmlinux build id (5.9+)
//	PAGESIZE=4096                       decimal
//	SYMBOL(init_uts_ns)=ffffffff9a613e00 hex, no 0x, KASLR-relocated
//	SIZE(page)=64                       decimal (%lu)
//	OFFSET(list_head.next)=0            decimal (%lu)
//	LENGTH(mem_section)=2048            decimal (%lu)
//	NUMBER(phys_base)=-1946157056       decimal and signed (%ld); a few
//	                                    architectures and newer kernels
//	                                    write 0x-prefixed hex instead
//	CONFIG_KALLSYMS=y
//	KERNELOFFSET=19000000               hex, no 0x (x86_64)
//	CRASHTIME=1700000000                decimal, added at crash time by kdump
//
// Security: the text comes from the dump and is untrusted. Parse never
// panics, bounds the number of lines it keeps, and reports what it could not
// understand instead of guessing.
package vmcoreinfo

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits on untrusted input. The kernel writes at most one page (a few
// pages in the newest kernels); anything far larger is not VMCOREINFO.
const (
	maxTextBytes = 1 << 20
	maxLines     = 1 << 15
)

// ErrEmpty is returned by Parse when the input holds no text at all.
var ErrEmpty = errors.New("vmcoreinfo: empty")

// ErrNoEntries is wrapped by Parse's error when text is present but not one
// line is a recognisable VMCOREINFO entry.
var ErrNoEntries = errors.New("vmcoreinfo: no recognisable entries")

// LineError describes one line Parse could not understand.
type LineError struct {
	Line int    // 1-based line number in the text
	Text string // the line as written (cut to 120 bytes)
	Msg  string // what is wrong with it
}

func (e *LineError) Error() string {
	return fmt.Sprintf("vmcoreinfo line %d: %s: %q", e.Line, e.Msg, e.Text)
}

// Info is a parsed VMCOREINFO text.
//
// The typed maps hold the entries that parsed; Raw holds every KEY=value
// pair exactly as written (known keys included, so callers can read entries
// this package does not interpret, such as s390's SDMA or arm64's
// KERNELPACMASK). When a key appears twice the later line wins, as it does
// for the kernel's own readers (CRASHTIME is appended at crash time).
type Info struct {
	OSRelease string // OSRELEASE
	BuildID   string // BUILD-ID, lower-case hex as written

	PageSize uint64 // PAGESIZE; 0 when absent

	KernelOffset    uint64 // KERNELOFFSET: the KASLR text offset
	HasKernelOffset bool

	CrashTime    int64 // CRASHTIME, seconds since the epoch
	HasCrashTime bool

	Symbols map[string]uint64 // SYMBOL(name), already KASLR-relocated
	Sizes   map[string]int64  // SIZE(type)
	Offsets map[string]int64  // OFFSET(type.member)
	Numbers map[string]int64  // NUMBER(name); hex values keep their bits
	Lengths map[string]int64  // LENGTH(name)
	Configs map[string]string // CONFIG_X=y, keyed by "X"

	Raw   map[string]string // every KEY=value pair as written
	Lines []string          // every non-empty line, in the original order

	// Malformed lists the lines that could not be parsed. They do not make
	// Parse fail as long as some line parses.
	Malformed []*LineError

	// Truncated is set when the text fills its buffer and its last line has
	// no newline: the kernel cut it (vmcoreinfo_append_str stops at
	// VMCOREINFO_BYTES), so that line was not trusted.
	Truncated bool
}

// Parse parses VMCOREINFO text. It tolerates trailing NULs (the text ends at
// the first NUL, as in the kernel's zero-filled buffer), CRLF line ends,
// blank lines and unknown keys. It fails only when there is no text or when
// no line at all is a recognisable entry; the error then names the first bad
// line.
func Parse(b []byte) (*Info, error) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) > maxTextBytes {
		return nil, fmt.Errorf("vmcoreinfo: text is %d bytes, more than the %d allowed", len(b), maxTextBytes)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, ErrEmpty
	}
	info := &Info{
		Symbols: map[string]uint64{},
		Sizes:   map[string]int64{},
		Offsets: map[string]int64{},
		Numbers: map[string]int64{},
		Lengths: map[string]int64{},
		Configs: map[string]string{},
		Raw:     map[string]string{},
	}
	// A last line without its newline in a text that exactly fills a page
	// is the kernel's truncation, not a short value we could trust.
	lastCut := len(b)%4096 == 0 && b[len(b)-1] != '\n'

	text := string(b)
	parsed := 0
	lineNo := 0
	for len(text) > 0 {
		lineNo++
		var line string
		nl := strings.IndexByte(text, '\n')
		last := nl < 0
		if last {
			line, text = text, ""
		} else {
			line, text = text[:nl], text[nl+1:]
		}
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(info.Lines) >= maxLines {
			info.addMalformed(lineNo, line, fmt.Sprintf("more than %d lines; rest ignored", maxLines))
			break
		}
		info.Lines = append(info.Lines, line)
		if last && lastCut {
			info.Truncated = true
			info.addMalformed(lineNo, line, "truncated by the kernel's buffer limit")
			continue
		}
		ok, msg := info.parseLine(line)
		if ok {
			parsed++
		} else if msg != "" {
			info.addMalformed(lineNo, line, msg)
		}
	}
	if parsed == 0 {
		if len(info.Malformed) > 0 {
			return nil, fmt.Errorf("%w: %w", ErrNoEntries, info.Malformed[0])
		}
		return nil, ErrNoEntries
	}
	return info, nil
}

func (i *Info) addMalformed(n int, line, msg string) {
	if len(line) > 120 {
		line = line[:120]
	}
	i.Malformed = append(i.Malformed, &LineError{Line: n, Text: line, Msg: msg})
}

// parseLine records one line. It reports whether the line was a known,
// well-formed entry, and otherwise why not ("" for a well-formed unknown
// key, which is kept in Raw only).
func (i *Info) parseLine(line string) (bool, string) {
	eq := strings.IndexByte(line, '=')
	if eq <= 0 {
		return false, "no KEY=value"
	}
	key, val := line[:eq], line[eq+1:]
	i.Raw[key] = val

	if name, ok := wrapped(key, "SYMBOL("); ok {
		v, err := parseHex(val)
		if err != nil {
			return false, "bad SYMBOL value: " + err.Error()
		}
		i.Symbols[name] = v
		return true, ""
	}
	for _, k := range [...]struct {
		prefix string
		m      map[string]int64
	}{
		{"SIZE(", i.Sizes},
		{"OFFSET(", i.Offsets},
		{"LENGTH(", i.Lengths},
		{"NUMBER(", i.Numbers},
	} {
		if name, ok := wrapped(key, k.prefix); ok {
			v, err := parseNumber(val)
			if err != nil {
				return false, "bad " + strings.TrimSuffix(k.prefix, "(") + " value: " + err.Error()
			}
			k.m[name] = v
			return true, ""
		}
	}
	if name, ok := strings.CutPrefix(key, "CONFIG_"); ok && name != "" {
		i.Configs[name] = val
		return true, ""
	}
	switch key {
	case "OSRELEASE":
		if val == "" {
			return false, "empty OSRELEASE"
		}
		i.OSRelease = val
	case "BUILD-ID":
		if val == "" || !isHex(val) {
			return false, "BUILD-ID is not hex"
		}
		i.BuildID = strings.ToLower(val)
	case "PAGESIZE":
		v, err := strconv.ParseUint(val, 10, 64)
		if err != nil || v == 0 || v&(v-1) != 0 {
			return false, "PAGESIZE is not a power of two"
		}
		i.PageSize = v
	case "KERNELOFFSET":
		v, err := parseHex(val)
		if err != nil {
			return false, "bad KERNELOFFSET: " + err.Error()
		}
		i.KernelOffset, i.HasKernelOffset = v, true
	case "CRASHTIME":
		v, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return false, "bad CRASHTIME"
		}
		i.CrashTime, i.HasCrashTime = v, true
	default:
		if !isKeyName(key) {
			return false, "unrecognised key"
		}
		return false, "" // unknown but well-formed: kept in Raw
	}
	return true, ""
}

// wrapped returns the name in "PREFIX(name)".
func wrapped(key, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok || len(rest) < 2 || rest[len(rest)-1] != ')' {
		return "", false
	}
	return rest[:len(rest)-1], true
}

// parseHex reads a %lx value; a 0x prefix is tolerated.
func parseHex(s string) (uint64, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	return strconv.ParseUint(s, 16, 64)
}

// parseNumber reads %ld / %lu values, and the 0x-prefixed hex that some
// NUMBER entries use (arm64's kimage_voffset, VMALLOC_START in newer
// kernels). Unsigned values above MaxInt64 keep their bits.
func parseNumber(s string) (int64, error) {
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		v, err := strconv.ParseUint(h, 16, 64)
		return int64(v), err
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errors.New("not a number")
	}
	return int64(v), nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// isKeyName accepts the shapes the kernel uses for keys: upper-case words
// with digits, '_' and '-', optionally followed by "(...)".
func isKeyName(k string) bool {
	name, arg, hasArg := strings.Cut(k, "(")
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	if hasArg {
		if len(arg) < 2 || arg[len(arg)-1] != ')' {
			return false
		}
		for _, c := range arg[:len(arg)-1] {
			if c <= ' ' || c == '(' || c == ')' || c == '=' {
				return false
			}
		}
	}
	return true
}

// Symbol returns SYMBOL(name): the symbol's address, KASLR offset included.
func (i *Info) Symbol(name string) (uint64, bool) {
	v, ok := i.Symbols[name]
	return v, ok
}

// Number returns NUMBER(name).
func (i *Info) Number(name string) (int64, bool) {
	v, ok := i.Numbers[name]
	return v, ok
}

// Offset returns OFFSET(name), e.g. Offset("list_head.next").
func (i *Info) Offset(name string) (int64, bool) {
	v, ok := i.Offsets[name]
	return v, ok
}

// Size returns SIZE(name), e.g. Size("page").
func (i *Info) Size(name string) (int64, bool) {
	v, ok := i.Sizes[name]
	return v, ok
}

// Length returns LENGTH(name), e.g. Length("mem_section").
func (i *Info) Length(name string) (int64, bool) {
	v, ok := i.Lengths[name]
	return v, ok
}

// Config returns the value of CONFIG_name; name may be given with or
// without its "CONFIG_" prefix.
func (i *Info) Config(name string) (string, bool) {
	v, ok := i.Configs[strings.TrimPrefix(name, "CONFIG_")]
	return v, ok
}

// String returns the text in its original line order.
func (i *Info) String() string {
	var sb strings.Builder
	for _, l := range i.Lines {
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	return sb.String()
}
