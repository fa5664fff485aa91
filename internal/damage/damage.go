// Package damage makes damaged views of real input files for tests: a cut
// (truncation) and overwritten bytes laid over the original io.ReaderAt,
// so that hundreds of damaged dumps cost no copies of gigabyte files.
package damage

import (
	"io"
	"slices"
)

// File is an io.ReaderAt that reads Base with some bytes overwritten and
// cut after Size bytes. Its methods return new Files; the receiver is left
// as it is.
type File struct {
	Base    io.ReaderAt
	Size    int64
	patches []patch
}

type patch struct {
	off  int64
	data []byte
}

// New views the size bytes of r as a File.
func New(r io.ReaderAt, size int64) *File { return &File{Base: r, Size: size} }

// Cut keeps the first n bytes.
func (f *File) Cut(n int64) *File {
	g := f.clone()
	g.Size = max(0, min(n, f.Size))
	return g
}

// Write overwrites the bytes at off with b (within the file's size).
func (f *File) Write(off int64, b []byte) *File {
	g := f.clone()
	g.patches = append(g.patches, patch{off, slices.Clone(b)})
	return g
}

// Flip inverts the bits of mask in the byte at off.
func (f *File) Flip(off int64, mask byte) *File {
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return f.clone()
	}
	return f.Write(off, []byte{b[0] ^ mask})
}

func (f *File) clone() *File {
	return &File{Base: f.Base, Size: f.Size, patches: slices.Clone(f.patches)}
}

// ReadAt reads the damaged file.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if off >= f.Size {
		return 0, io.EOF
	}
	want := p
	if int64(len(p)) > f.Size-off {
		p = p[:f.Size-off]
	}
	n, err := f.Base.ReadAt(p, off)
	if n == len(p) {
		err = nil
	}
	// Later patches win where they overlap earlier ones.
	for _, pt := range f.patches {
		lo, hi := max(off, pt.off), min(off+int64(n), pt.off+int64(len(pt.data)))
		if lo < hi {
			copy(p[lo-off:hi-off], pt.data[lo-pt.off:hi-pt.off])
		}
	}
	if err == nil && len(p) < len(want) {
		err = io.EOF
	}
	return n, err
}
