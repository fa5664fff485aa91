package dump

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/internal/allocbound"
)

// Regressions for issue 17: crafted dumps that made the readers hang or
// allocate far more than the file holds.

// TestIssue17ELFTerabyteSegment: one PT_LOAD claiming 4 TiB in a small
// file. What a scan may walk (DataRanges) is what the file holds.
func TestIssue17ELFTerabyteSegment(t *testing.T) {
	seg := elfSeg{paddr: 0x100000, data: bytes.Repeat([]byte{0xaa}, 64<<10)}
	b := buildELF(64, []elfSeg{seg}, nil, 0)
	// Claim 4 TiB of file bytes and memory for the segment.
	ph := b[64+56:]
	binary.LittleEndian.PutUint64(ph[32:], 1<<42)
	binary.LittleEndian.PutUint64(ph[40:], 1<<42)
	d := openBytes(t, "huge.elf", b)
	var total uint64
	for _, r := range d.DataRanges() {
		total += r.End - r.Start
	}
	if total > uint64(len(b)) {
		t.Errorf("DataRanges cover %#x bytes, more than the %#x-byte file", total, len(b))
	}
	if !d.Info().Truncated {
		t.Errorf("a segment past the end of the file must mark the dump truncated")
	}
}

// TestIssue17KdumpTerabyteBitmap: a kdump whose header claims 4 TiB of
// PFNs with nothing dumped has no data ranges, found without walking the
// claimed range.
func TestIssue17KdumpTerabyteBitmap(t *testing.T) {
	s := standardSpec()
	s.dumped = nil
	b := buildKdump(t, &s)
	l := layout64
	// max_mapnr_64 = 2^30 PFNs and bitmap_blocks far past the file.
	binary.LittleEndian.PutUint32(b[l.status+12:], 1<<20)
	binary.LittleEndian.PutUint64(b[4096+l.max.off:], 1<<30)
	start := time.Now()
	d := openBytes(t, "huge.kdump", b)
	if rs := d.DataRanges(); len(rs) != 0 {
		t.Errorf("DataRanges = %v, want none", rs)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
}

// TestIssue17EmptyNotes: a PT_NOTE of 20 MiB of empty notes must not turn
// into millions of Note values.
func TestIssue17EmptyNotes(t *testing.T) {
	notes := make([]byte, 20<<20)
	for i := 0; i+12 <= len(notes); i += 12 {
		binary.LittleEndian.PutUint32(notes[i+8:], 1) // namesz 0, descsz 0, type 1
	}
	b := buildELF(64, []elfSeg{{paddr: 0, data: make([]byte, 4096)}}, notes, 0)
	var d *Dump
	allocbound.Check(t, "opening a core of 20 MiB of empty notes", allocbound.Limit(int64(len(b)), 1.5, 8<<20), func() {
		d = openBytes(t, "notes.elf", b)
	})
	if n := len(d.Notes()); n > maxNotes {
		t.Errorf("%d notes kept, more than %d", n, maxNotes)
	}
	if d.Info().NotesProblem == "" {
		t.Errorf("NotesProblem empty for a note area that was not read whole")
	}
}

// TestIssue17NotesCut: a file cut inside its notes says so, rather than
// looking like a dump made without VMCOREINFO.
func TestIssue17NotesCut(t *testing.T) {
	notes := append(note("CORE", ntPRStatus, prstatusDesc(1, 0)), note(noteVMCOREINFO, 0, []byte(testVMCOREINFO))...)
	full := buildELF(64, nil, notes, 0)
	cut := full[:len(full)-20]
	d := openBytes(t, "cut.elf", cut)
	if p := d.Info().NotesProblem; !strings.Contains(p, "ends") {
		t.Errorf("NotesProblem = %q, want it to say the file ends inside the notes", p)
	}
	if len(d.VMCOREINFO()) != 0 {
		t.Errorf("VMCOREINFO read from a cut note")
	}
}

// TestIssue17FlatTinyRecords: millions of 1-byte records, reversed, so
// that every record overlaps the overlay's work. Memory stays a fraction
// of the file.
func TestIssue17FlatTinyRecords(t *testing.T) {
	inner := buildKdump(t, ptr(standardSpec()))
	recs := splitRecords(inner, 4096)
	const n = 3 << 20
	for i := range n {
		recs = append(recs, flatRec{off: int64(n - i), data: []byte{inner[(n-i)%len(inner)]}})
	}
	b := buildFlat(recs, true)
	var err error
	allocbound.Check(t, "indexing a flattened stream of tiny records", allocbound.Limit(int64(len(b)), 0.25, 32<<20), func() {
		_, err = Open("tiny.flat", bytes.NewReader(b), int64(len(b)))
	})
	if err != nil {
		t.Logf("Open: %v", err)
	}
}

// TestIssue17FlatRecordOutOfPlace: one record placed far beyond the inner
// file is skipped and counted; the rest of the stream still reads.
func TestIssue17FlatRecordOutOfPlace(t *testing.T) {
	s := standardSpec()
	inner := buildKdump(t, &s)
	recs := splitRecords(inner, 4096)
	recs = append(recs[:3:3], append([]flatRec{{off: 1 << 40, data: []byte("stray")}}, recs[3:]...)...)
	b := buildFlat(recs, true)
	d := openBytes(t, "stray.flat", b)
	checkPages(t, d, s.pageSize, s.maxPFN, func(pfn uint64) ([]byte, error) { return wantPage(&s, pfn) })
	if w := strings.Join(d.Info().Warnings, "\n"); !strings.Contains(w, "1 records") {
		t.Errorf("warnings %q do not count the skipped record", w)
	}
}

// TestIssue17KdumpHeaderMessages: a damaged machine string or block_size
// is repaired from the other fields, with a warning, instead of failing
// with a message about another field.
func TestIssue17KdumpHeaderMessages(t *testing.T) {
	t.Run("machine sparc", func(t *testing.T) {
		s := standardSpec()
		b := buildKdump(t, &s)
		copy(b[12+4*65:12+5*65], append([]byte("sparc"), make([]byte, 60)...))
		d := openBytes(t, "sparc.kdump", b)
		checkPages(t, d, s.pageSize, s.maxPFN, func(pfn uint64) ([]byte, error) { return wantPage(&s, pfn) })
		if w := strings.Join(d.Info().Warnings, "\n"); !strings.Contains(w, `"sparc"`) {
			t.Errorf("warnings %q do not name the machine", w)
		}
	})
	t.Run("block_size 8192", func(t *testing.T) {
		s := standardSpec()
		b := buildKdump(t, &s)
		binary.LittleEndian.PutUint32(b[layout64.status+4:], 8192)
		d := openBytes(t, "bs.kdump", b)
		checkPages(t, d, s.pageSize, s.maxPFN, func(pfn uint64) ([]byte, error) { return wantPage(&s, pfn) })
		if w := strings.Join(d.Info().Warnings, "\n"); !strings.Contains(w, "block_size 8192") {
			t.Errorf("warnings %q do not name the block size", w)
		}
	})
	t.Run("split start after end names block_size", func(t *testing.T) {
		s := standardSpec()
		s.machine = "" // no page size to repair from
		s.split, s.start, s.end = true, 60, 30
		b := buildKdump(t, &s)
		_, err := Open("split.kdump", bytes.NewReader(b), int64(len(b)))
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "block_size") {
			t.Errorf("Open = %v, want a FormatError that points at block_size too", err)
		}
	})
}

// TestIssue17SplitPartsOfDifferentDumps: parts of two dumps (another
// kernel release) are refused with a sentence naming both.
func TestIssue17SplitPartsOfDifferentDumps(t *testing.T) {
	var parts []Part
	for k, release := range []string{"6.1.0-test", "6.12.0-other"} {
		s := standardSpec()
		s.split, s.start, s.end = true, uint64(k*40), uint64(40+k*40)
		b := buildKdump(t, &s)
		copy(b[12+2*65:12+3*65], append([]byte(release), make([]byte, 65-len(release))...))
		parts = append(parts, Part{Name: release, R: bytes.NewReader(b), Size: int64(len(b))})
	}
	_, err := OpenParts(parts)
	if err == nil || !strings.Contains(err.Error(), "different dumps") || !strings.Contains(err.Error(), "6.12.0-other") {
		t.Errorf("OpenParts = %v, want a refusal naming both kernels", err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestWithContext: a cancelled run's reads fail with the context's error,
// through the dump's own errors.
func TestWithContext(t *testing.T) {
	s := standardSpec()
	b := buildKdump(t, &s)
	ctx, cancel := context.WithCancel(context.Background())
	r := WithContext(ctx, bytes.NewReader(b))
	d, err := Open("ctx.kdump", r, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	buf := make([]byte, 4096)
	if _, err := d.ReadPhysAt(buf, 4096); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel = %v, want context.Canceled", err)
	}
	if _, err := Open("ctx.kdump", r, int64(len(b))); !errors.Is(err, context.Canceled) {
		t.Errorf("open after cancel = %v", err)
	}
}
