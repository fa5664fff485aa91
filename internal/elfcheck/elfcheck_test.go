package elfcheck

import (
	"bytes"
	"io"
	"testing"
)

// plain is a reader without a Size method, counting its reads.
type plain struct {
	b     []byte
	reads int
}

func (p *plain) ReadAt(b []byte, off int64) (int, error) {
	p.reads++
	if off >= int64(len(p.b)) {
		return 0, io.EOF
	}
	n := copy(b, p.b[off:])
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// TestHasBytes: a Sizer is answered from its size without a read, any
// other reader by reading the last byte; both say the same.
func TestHasBytes(t *testing.T) {
	data := make([]byte, 100)
	for _, c := range []struct {
		off, n uint64
		ok     bool
	}{{0, 100, true}, {99, 1, true}, {0, 0, true}, {100, 0, true}, {0, 101, false}, {100, 1, false}, {1 << 63, 1 << 63, false}, {1, 1 << 62, false}} {
		p := &plain{b: data}
		errPlain := HasBytes(p, c.off, c.n)
		errSized := HasBytes(bytes.NewReader(data), c.off, c.n)
		if (errPlain == nil) != c.ok || (errSized == nil) != c.ok {
			t.Errorf("HasBytes(%d, %d): plain %v, sized %v, want ok %v", c.off, c.n, errPlain, errSized, c.ok)
		}
	}
	p := &plain{b: data}
	if err := HasBytes(io.NewSectionReader(p, 0, 100), 10, 90); err != nil || p.reads != 0 {
		t.Errorf("a Sizer was read %d times (%v)", p.reads, err)
	}
}
