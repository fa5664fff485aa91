package vmcoreinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// fakeMemory is sparse physical memory of 4 KiB pages; a missing page reads
// as an error, like a page excluded from a dump.
type fakeMemory struct {
	pages map[uint64][]byte
	reads int
}

var errExcluded = errors.New("page excluded")

func (m *fakeMemory) write(pa uint64, b []byte) {
	for len(b) > 0 {
		p, ok := m.pages[pa>>12]
		if !ok {
			p = make([]byte, scanPage)
			m.pages[pa>>12] = p
		}
		n := copy(p[pa&(scanPage-1):], b)
		b, pa = b[n:], pa+uint64(n)
	}
}

func (m *fakeMemory) ReadPhysAt(p []byte, pa uint64) (int, error) {
	m.reads++
	n := 0
	for n < len(p) {
		pg, ok := m.pages[(pa+uint64(n))>>12]
		if !ok {
			return n, fmt.Errorf("phys %#x: %w", pa+uint64(n), errExcluded)
		}
		n += copy(p[n:], pg[(pa+uint64(n))&(scanPage-1):])
	}
	return n, nil
}

// filled returns memory with every page of [0, size) present and holding
// noise, so that scans run over real data.
func filled(size uint64) *fakeMemory {
	m := &fakeMemory{pages: map[uint64][]byte{}}
	for pa := uint64(0); pa < size; pa += scanPage {
		p := make([]byte, scanPage)
		for i := range p {
			p[i] = byte(pa>>12) ^ byte(i)
		}
		m.pages[pa>>12] = p
	}
	return m
}

func TestFindInMemoryDataPage(t *testing.T) {
	const size = 24 << 20
	m := filled(size)
	const at = 13<<20 + 5*scanPage // not chunk-aligned
	m.write(at, append([]byte(sample61), make([]byte, scanPage-len(sample61))...))
	// Decoys: "OSRELEASE=" not at a page start, and a page-start copy that
	// fails validation.
	m.write(3<<20+100, []byte(sample61+"\x00"))
	m.write(5<<20, []byte("OSRELEASE=6.1\nnothing else\x00"))
	// Excluded pages before the match: skipped, not fatal.
	delete(m.pages, 7<<20>>12)
	delete(m.pages, (9<<20+scanPage)>>12)

	text, pa, err := FindInMemory(m, []Range{{0, size}})
	if err != nil {
		t.Fatal(err)
	}
	if pa != at || string(text) != sample61 {
		t.Errorf("found at %#x (%d bytes); want %#x", pa, len(text), at)
	}
	if m.reads > 200 {
		t.Errorf("%d reads; reading should be in large chunks", m.reads)
	}
}

func TestFindInMemoryNote(t *testing.T) {
	const size = 8 << 20
	m := filled(size)
	// vmcoreinfo_note: Elf64_Nhdr, "VMCOREINFO\0" padded to 12, the text.
	const at = 6<<20 + 3*scanPage
	var note []byte
	note = binary.LittleEndian.AppendUint32(note, uint32(len(noteName)))
	note = binary.LittleEndian.AppendUint32(note, uint32(len(sample61)))
	note = binary.LittleEndian.AppendUint32(note, 0)
	note = append(note, "VMCOREINFO\x00\x00"...)
	note = append(note, sample61...)
	note = append(note, make([]byte, 2*scanPage)...) // zero tail, crossing a page
	m.write(at, note)
	text, pa, err := FindInMemory(m, []Range{{0, 4 << 20}, {4 << 20, size}})
	if err != nil {
		t.Fatal(err)
	}
	if pa != at+noteDescOff || string(text) != sample61 {
		t.Errorf("found at %#x; want %#x", pa, at+noteDescOff)
	}
}

// A text that crosses the end of a read chunk is read on to its NUL.
func TestFindInMemoryAcrossChunk(t *testing.T) {
	m := filled(12 << 20)
	const at = scanChunk - scanPage    // last page of the first chunk
	long := sample61 + sample61[:2000] // ends past the page
	m.write(at, append([]byte(long), 0))
	text, pa, err := FindInMemory(m, []Range{{0, 12 << 20}})
	if err != nil || pa != at || string(text) != long {
		t.Errorf("FindInMemory = %d bytes at %#x, %v", len(text), pa, err)
	}
}

func TestFindInMemoryNotFound(t *testing.T) {
	m := filled(4 << 20)
	delete(m.pages, 1)
	if _, _, err := FindInMemory(m, []Range{{0, 4 << 20}, {1 << 40, 1<<40 + 1<<20}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v; want ErrNotFound", err)
	}
	if _, _, err := FindInMemory(m, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("no ranges: %v", err)
	}
	// An unterminated text filling the rest of memory is not accepted.
	full := filled(1 << 20)
	for pa := uint64(0); pa < 1<<20; pa += scanPage {
		full.write(pa, []byte("OSRELEASE=x\nPAGESIZE=4096\nKERNELOFFSET=0\n"))
		for i := 40; i < scanPage; i++ {
			full.pages[pa>>12][i] = 'A'
		}
	}
	if _, _, err := FindInMemory(full, []Range{{0, 1 << 20}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unterminated: %v", err)
	}
}

func TestFindInMemoryUnalignedRange(t *testing.T) {
	m := filled(2 << 20)
	m.write(0x10000, []byte(sample61+"\x00"))
	text, pa, err := FindInMemory(m, []Range{{0x0f123, 0x1fffff}})
	if err != nil || pa != 0x10000 || string(text) != sample61 {
		t.Errorf("FindInMemory = %d bytes at %#x, %v", len(text), pa, err)
	}
}

// allOrNothing fails a whole read when any page in it is missing, as an
// io.ReaderAt may.
type allOrNothing struct{ *fakeMemory }

func (a allOrNothing) ReadPhysAt(p []byte, pa uint64) (int, error) {
	n, err := a.fakeMemory.ReadPhysAt(p, pa)
	if err != nil {
		return 0, err
	}
	return n, nil
}

func TestFindInMemoryAllOrNothingReader(t *testing.T) {
	const size = 16 << 20
	m := filled(size)
	const at = 5<<20 + 7*scanPage
	m.write(at, []byte(sample61+"\x00"))
	for _, pa := range []uint64{1 << 20, 5<<20 + 2*scanPage, 9 << 20} {
		delete(m.pages, pa>>12)
	}
	text, pa, err := FindInMemory(allOrNothing{m}, []Range{{0, size}})
	if err != nil || pa != at || string(text) != sample61 {
		t.Fatalf("FindInMemory = %d bytes at %#x, %v", len(text), pa, err)
	}
	if m.reads > 100 {
		t.Errorf("%d reads", m.reads)
	}
	t.Logf("%d reads", m.reads)
}
