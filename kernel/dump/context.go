package dump

import (
	"context"
	"io"
)

// WithContext returns r with reads that fail with ctx's error once ctx is
// done. Every reader in this module reads its files through an
// io.ReaderAt, so wrapping the inputs makes the whole pipeline — dump
// headers, pages, the DWARF index scan, kallsyms, BTF — stop at its next
// read when a run is cancelled; loops that do not read are bounded by what
// the files hold.
func WithContext(ctx context.Context, r io.ReaderAt) io.ReaderAt {
	if ctx.Done() == nil {
		return r // a context that is never done
	}
	if s, ok := r.(sizer); ok {
		if p, ok := r.(prefetcher); ok {
			return ctxPrefetchReaderAt{ctxSizedReaderAt{ctxReaderAt{ctx, r}, s}, p}
		}
		return ctxSizedReaderAt{ctxReaderAt{ctx, r}, s}
	}
	return ctxReaderAt{ctx, r}
}

// sizer is a reader that knows its size (see internal/elfcheck.Sizer): the
// wrapper keeps telling it, so that a check of a section's extent needs
// no read.
type sizer interface{ Size() int64 }

type ctxSizedReaderAt struct {
	ctxReaderAt
	s sizer
}

func (c ctxSizedReaderAt) Size() int64 { return c.s.Size() }

type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}

// prefetcher is a reader that takes hints to read a range ahead of need
// (the browser's File cache): the wrapper passes them on.
type prefetcher interface{ Prefetch(off, n int64) }

type ctxPrefetchReaderAt struct {
	ctxSizedReaderAt
	p prefetcher
}

func (c ctxPrefetchReaderAt) Prefetch(off, n int64) {
	if c.ctx.Err() == nil {
		c.p.Prefetch(off, n)
	}
}
