package report

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ulikunitz/xz"
)

// Sink receives the report's files as they are produced, in archive
// order. Names are slash-separated and start with the archive's top
// folder; parent directories are implied.
type Sink interface {
	AddFile(name string, data []byte, mode fs.FileMode) error
	// Close finishes the report (the tar trailer, the compressor's end).
	// It does not close the writer the sink was made with.
	Close() error
}

// Compression of a tar sink.
type Compression int

// Archive formats.
const (
	TarXZ    Compression = iota // .tar.xz, sos's default
	TarGzip                     // .tar.gz
	TarPlain                    // .tar
)

// Ext is the usual file name suffix.
func (c Compression) Ext() string {
	switch c {
	case TarGzip:
		return ".tar.gz"
	case TarPlain:
		return ".tar"
	}
	return ".tar.xz"
}

// CompressionFor picks the format from an output name's suffix.
func CompressionFor(name string) (Compression, bool) {
	switch n := strings.ToLower(name); {
	case strings.HasSuffix(n, ".tar.xz"), strings.HasSuffix(n, ".txz"):
		return TarXZ, true
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return TarGzip, true
	case strings.HasSuffix(n, ".tar"):
		return TarPlain, true
	}
	return 0, false
}

// TarSink writes a tar stream, optionally compressed, entry by entry: only
// the current file is in memory. Entries are deterministic: directories
// 0755 and files as given (0644), owner root:root (0/0), the same
// modification time for every entry, no access or change times; the gzip
// header has no name and a zero time; the xz stream uses fixed settings.
type TarSink struct {
	tw      *tar.Writer
	w       io.Writer      // what tw writes to, for the entries written directly
	comp    io.WriteCloser // nil for a plain tar
	modTime time.Time
	dirs    map[string]bool
	files   map[string]bool
	err     error
	// templates are the headers directHeader patches, by type and mode.
	templates map[tmplKey]*ustarTemplate
	blk       [tarBlock]byte
}

// NewTarSink writes the archive to w. modTime is every entry's time (the
// crash time).
func NewTarSink(w io.Writer, c Compression, modTime time.Time) (*TarSink, error) {
	s := &TarSink{modTime: modTime.UTC().Truncate(time.Second), dirs: map[string]bool{}, files: map[string]bool{}}
	comp, err := NewCompressor(w, c)
	if err != nil {
		return nil, err
	}
	if c != TarPlain {
		// Compressing is most of an archive's cost: natively it runs on
		// another core while the report is written.
		if runtime.GOOS != "js" {
			comp = newBackgroundWriter(comp)
		}
		s.comp = comp
	}
	s.w = comp
	s.tw = tar.NewWriter(comp)
	return s, nil
}

// backgroundWriter hands what is written to a goroutine that writes it to
// w, in pieces of bgPiece bytes with at most bgPending of them waiting.
// The bytes reach w in order, so the output is what w would give alone. A
// write error is returned by the next Write or by Close.
type backgroundWriter struct {
	cur    []byte
	pieces chan []byte
	free   chan []byte
	done   chan error
	failed atomic.Pointer[error]
	closed bool
}

const (
	bgPiece   = 256 << 10
	bgPending = 16
)

func newBackgroundWriter(w io.WriteCloser) *backgroundWriter {
	b := &backgroundWriter{pieces: make(chan []byte, bgPending), free: make(chan []byte, bgPending+1), done: make(chan error, 1)}
	go func() {
		var err error
		for p := range b.pieces {
			if err == nil {
				if _, err = w.Write(p); err != nil {
					b.failed.Store(&err)
				}
			}
			select {
			case b.free <- p[:0]:
			default:
			}
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		b.done <- err
	}()
	return b
}

func (b *backgroundWriter) Write(p []byte) (int, error) {
	if e := b.failed.Load(); e != nil {
		return 0, *e
	}
	n := len(p)
	for len(p) > 0 {
		if b.cur == nil {
			select {
			case b.cur = <-b.free:
			default:
				b.cur = make([]byte, 0, bgPiece)
			}
		}
		k := copy(b.cur[len(b.cur):cap(b.cur)], p)
		b.cur, p = b.cur[:len(b.cur)+k], p[k:]
		if len(b.cur) == cap(b.cur) {
			b.pieces <- b.cur
			b.cur = nil
		}
	}
	return n, nil
}

// Close writes what is left, closes w and returns the first error.
func (b *backgroundWriter) Close() error {
	if b.closed {
		return errors.New("background writer closed twice")
	}
	b.closed = true
	if len(b.cur) > 0 {
		b.pieces <- b.cur
		b.cur = nil
	}
	close(b.pieces)
	return <-b.done
}

// NewCompressor is the compressor of format c writing to w, with the
// settings of a TarSink: a plain tar stream written through it gives the
// TarSink's archive byte for byte. (The browser packs in a second worker
// that way, while the report is still being written.) For TarPlain it
// passes bytes through. Close ends the compressed stream, not w.
func NewCompressor(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case TarXZ:
		xw, err := xz.WriterConfig{DictCap: xzDictCap}.NewWriter(w)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		return xw, nil
	case TarGzip:
		gw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return gw, nil
	case TarPlain:
		return nopCloser{w}, nil
	}
	return nil, fmt.Errorf("unknown archive format %d", c)
}

// xzDictCap is the LZMA dictionary. The encoder holds back a dictionary's
// worth of input before it starts, so the 8 MiB default compressed a
// whole report at Close, after 50 MB of match tables were cleared: with
// 64 KiB it works as the tar is written (the browser's packer keeps pace
// with the report) and takes a third less time, for archives 1–2 % larger
// (the neighbouring per-process files it matches against are that close).
const xzDictCap = 64 << 10

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (s *TarSink) header(name string, typ byte, mode fs.FileMode, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: typ, Name: name, Mode: int64(mode.Perm()), Size: size,
		ModTime: s.modTime, Uname: "root", Gname: "root",
	}
}

// AddFile writes one file entry, after the entries of any parent
// directory not written yet.
func (s *TarSink) AddFile(name string, data []byte, mode fs.FileMode) error {
	if s.err != nil {
		return s.err
	}
	if !validPath(name) {
		return fmt.Errorf("archive entry %q: not a clean relative path", name)
	}
	if s.files[name] || s.dirs[name] {
		return fmt.Errorf("archive entry %q written twice", name)
	}
	if err := s.addParents(path.Dir(name)); err != nil {
		s.err = err
		return err
	}
	s.files[name] = true
	if err := s.entry(name, tar.TypeReg, mode, data); err != nil {
		s.err = fmt.Errorf("archive entry %s: %w", name, err)
	}
	return s.err
}

func (s *TarSink) addParents(dir string) error {
	if dir == "." || s.dirs[dir] {
		return nil
	}
	if s.files[dir] {
		return fmt.Errorf("archive entry %q is a file and a directory", dir)
	}
	if err := s.addParents(path.Dir(dir)); err != nil {
		return err
	}
	s.dirs[dir] = true
	if err := s.entry(dir+"/", tar.TypeDir, 0o755, nil); err != nil {
		return fmt.Errorf("archive entry %s/: %w", dir, err)
	}
	return nil
}

// entry writes one entry: the header and data archive/tar writes, byte
// for byte and in the same writes. archive/tar's WriteHeader (choosing a
// format, then filling and checking every field) was a fifth of the
// fixed cost of a browser's report (BenchmarkRunOverhead under node);
// every entry of a report is the same header but for its name and size,
// so when archive/tar would write them as they are (a plain USTAR
// header: a name of at most 100 ASCII bytes, a size of at most 11 octal
// digits) they are patched into a header archive/tar wrote once.
// Anything else goes through archive/tar, whose writer is then flushed
// (the padding of its entry written) so that the next direct entry
// follows it as its own would.
func (s *TarSink) entry(name string, typ byte, mode fs.FileMode, data []byte) error {
	size := int64(len(data))
	blk, ok := s.directHeader(name, typ, int64(mode.Perm()), size)
	if !ok {
		if err := s.tw.WriteHeader(s.header(name, typ, mode, size)); err != nil {
			return err
		}
		if _, err := s.tw.Write(data); err != nil {
			return err
		}
		return s.tw.Flush()
	}
	if _, err := s.w.Write(blk); err != nil {
		return err
	}
	if size == 0 {
		return nil
	}
	if _, err := s.w.Write(data); err != nil {
		return err
	}
	if pad := -size & (tarBlock - 1); pad > 0 {
		_, err := s.w.Write(zeroBlock[:pad])
		return err
	}
	return nil
}

const tarBlock = 512

var zeroBlock [tarBlock]byte

// USTAR header fields patched by directHeader (offset, length).
const (
	ustarName, ustarNameLen     = 0, 100
	ustarSize, ustarSizeLen     = 124, 12
	ustarChksum, ustarChksumLen = 148, 8
)

// directHeader is the header archive/tar would write for the entry, or
// false when it would not write a plain USTAR header with these fields as
// they are (then archive/tar writes it).
func (s *TarSink) directHeader(name string, typ byte, mode, size int64) ([]byte, bool) {
	if len(name) > ustarNameLen || size >= 1<<33 {
		return nil, false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == 0 || c >= 0x80 {
			return nil, false
		}
	}
	key := tmplKey{typ, mode}
	t, ok := s.templates[key]
	if !ok {
		t = s.template(typ, mode)
		if s.templates == nil {
			s.templates = map[tmplKey]*ustarTemplate{}
		}
		s.templates[key] = t
	}
	if t == nil {
		return nil, false
	}
	blk := s.blk[:]
	copy(blk, t.blk)
	copy(blk[ustarName:ustarName+ustarNameLen], name) // the rest is zeros
	// Octal, zero-padded, NUL-terminated, as archive/tar's formatOctal.
	field := blk[ustarSize : ustarSize+ustarSizeLen-1]
	v := size
	for i := len(field) - 1; i >= 0; i-- {
		field[i] = byte('0' + v&7)
		v >>= 3
	}
	blk[ustarSize+ustarSizeLen-1] = 0
	// The checksum: the bytes' sum with its own field as spaces (the
	// template's sum, then the name's and the size's), six octal digits,
	// NUL, space.
	sum := t.sum
	for i := 0; i < len(name); i++ {
		sum += int64(name[i])
	}
	for _, c := range field {
		sum += int64(c)
	}
	ck := blk[ustarChksum : ustarChksum+6]
	for i := len(ck) - 1; i >= 0; i-- {
		ck[i] = byte('0' + sum&7)
		sum >>= 3
	}
	blk[ustarChksum+6], blk[ustarChksum+7] = 0, ' '
	return blk, true
}

// ustarTemplate is a header with its name and size zeroed, and the sum of
// its bytes with the checksum field as spaces.
type ustarTemplate struct {
	blk []byte
	sum int64
}

type tmplKey struct {
	typ  byte
	mode int64
}

// template is the header archive/tar writes for an empty entry of this
// type and mode named "x", with the name and size fields zeroed; nil if
// that is not a USTAR header (then every such entry goes through
// archive/tar).
func (s *TarSink) template(typ byte, mode int64) *ustarTemplate {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(s.header("x", typ, fs.FileMode(mode), 0)); err != nil || tw.Flush() != nil || buf.Len() != tarBlock {
		return nil
	}
	t := buf.Bytes()
	if string(t[257:265]) != "ustar\x0000" || t[0] != 'x' || t[1] != 0 {
		return nil
	}
	clear(t[ustarName : ustarName+ustarNameLen])
	clear(t[ustarSize : ustarSize+ustarSizeLen])
	sum := int64(0)
	for i, c := range t {
		if i >= ustarChksum && i < ustarChksum+ustarChksumLen {
			c = ' '
		}
		sum += int64(c)
	}
	return &ustarTemplate{t, sum}
}

// Close writes the tar trailer and ends the compressed stream.
func (s *TarSink) Close() error {
	err := s.tw.Close()
	if s.comp != nil {
		err = errors.Join(err, s.comp.Close())
	}
	if err != nil {
		return fmt.Errorf("finish archive: %w", err)
	}
	return s.err
}

// Sidecar is the <archive>.sha256 line sos writes: the archive's SHA-256
// in hex, two spaces and the archive's base name.
func Sidecar(sum []byte, archiveName string) string {
	return hex.EncodeToString(sum) + "  " + path.Base(strings.ReplaceAll(archiveName, "\\", "/")) + "\n"
}

// sha256Hex is the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Tee gives every file to both sinks (the browser keeps the files and
// streams the tar to its packer).
func Tee(a, b Sink) Sink { return teeSink{a, b} }

type teeSink struct{ a, b Sink }

func (t teeSink) AddFile(name string, data []byte, mode fs.FileMode) error {
	if err := t.a.AddFile(name, data, mode); err != nil {
		return err
	}
	return t.b.AddFile(name, data, mode)
}

func (t teeSink) Close() error { return errors.Join(t.a.Close(), t.b.Close()) }
