package report

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// MemorySink keeps a report's files in memory, for previews and for
// archives packed later in either format (the browser's). Its files are
// the report's data (kilobytes to tens of MB), not the dump.
type MemorySink struct {
	top     string
	modTime time.Time
	files   []memFile // in archive order
	index   map[string]int
}

type memFile struct {
	name string // with the top folder
	data []byte
	mode fs.FileMode
}

// NewMemorySink keeps the files of the report whose top folder is top;
// modTime is every entry's time in the archives it packs.
func NewMemorySink(top string, modTime time.Time) *MemorySink {
	return &MemorySink{top: top, modTime: modTime, index: map[string]int{}}
}

// AddFile keeps a copy of data.
func (s *MemorySink) AddFile(name string, data []byte, mode fs.FileMode) error {
	rel, ok := strings.CutPrefix(name, s.top+"/")
	if !ok {
		return fmt.Errorf("archive entry %q is outside the top folder %s", name, s.top)
	}
	if _, dup := s.index[rel]; dup {
		return fmt.Errorf("archive entry %q written twice", name)
	}
	s.index[rel] = len(s.files)
	s.files = append(s.files, memFile{name: name, data: bytes.Clone(data), mode: mode})
	return nil
}

// Close does nothing: the files stay.
func (*MemorySink) Close() error { return nil }

// File returns the file at rel (relative to the top folder).
func (s *MemorySink) File(rel string) ([]byte, bool) {
	i, ok := s.index[rel]
	if !ok {
		return nil, false
	}
	return s.files[i].data, true
}

// Paths lists the files in archive order, relative to the top folder.
func (s *MemorySink) Paths() []string {
	out := make([]string, len(s.files))
	for i, f := range s.files {
		out[i] = strings.TrimPrefix(f.name, s.top+"/")
	}
	return out
}

// Archive packs the files through a TarSink: the same entries in the same
// order as a run straight into a TarSink, so the same bytes.
func (s *MemorySink) Archive(c Compression) ([]byte, error) {
	var buf bytes.Buffer
	ts, err := NewTarSink(&buf, c, s.modTime)
	if err != nil {
		return nil, err
	}
	for _, f := range s.files {
		if err := ts.AddFile(f.name, f.data, f.mode); err != nil {
			return nil, err
		}
	}
	if err := ts.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
