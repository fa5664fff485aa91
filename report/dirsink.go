//go:build !js

package report

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"
)

// DirSink writes the report as plain files under a folder (the folder
// holds the archive's top folder, as if the archive were unpacked there).
// Files get the mode given and, like every directory, the crash time as
// modification time; ownership stays the caller's. The browser has no
// file system, so this sink is native only.
type DirSink struct {
	root    string
	modTime time.Time
	dirs    map[string]bool
}

// NewDirSink writes under root, which must exist.
func NewDirSink(root string, modTime time.Time) (*DirSink, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", root)
	}
	return &DirSink{root: root, modTime: modTime, dirs: map[string]bool{}}, nil
}

// AddFile creates name under the root, with its parent directories.
func (s *DirSink) AddFile(name string, data []byte, mode fs.FileMode) error {
	if !validPath(name) {
		return fmt.Errorf("report file %q: not a clean relative path", name)
	}
	for d := path.Dir(name); d != "." && !s.dirs[d]; d = path.Dir(d) {
		s.dirs[d] = true
	}
	p := filepath.Join(s.root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, mode.Perm()); err != nil {
		return err
	}
	if err := os.Chmod(p, mode.Perm()); err != nil { // WriteFile's mode passes the umask
		return err
	}
	return os.Chtimes(p, s.modTime, s.modTime)
}

// Close sets the directories' times, deepest first (writing a file into a
// directory changes its time).
func (s *DirSink) Close() error {
	dirs := make([]string, 0, len(s.dirs))
	for d := range s.dirs {
		dirs = append(dirs, d)
	}
	slices.SortFunc(dirs, func(a, b string) int { return len(b) - len(a) })
	for _, d := range dirs {
		p := filepath.Join(s.root, filepath.FromSlash(d))
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
		if err := os.Chtimes(p, s.modTime, s.modTime); err != nil {
			return err
		}
	}
	return nil
}
