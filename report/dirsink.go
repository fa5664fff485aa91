//go:build !js

package report

import (
	"errors"
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
//
// A report holds thousands of small files, so the cost per file is the
// cost of the sink: each directory is made once (the sink remembers
// them), and on Linux a file is one open, one write, one time stamp on
// the open descriptor and one close (writeFile) where os.WriteFile,
// Chmod and Chtimes took eleven system calls. A name given twice, or an
// existing file, is an error rather than an overwrite, as the tar sink
// refuses a name written twice.
type DirSink struct {
	root    string
	modTime time.Time
	dirs    map[string]bool
	// umaskOK says, per permission, whether a file created with it was
	// found to have it (the umask and any default ACL let it through), so
	// that later files with it need no chmod.
	umaskOK map[fs.FileMode]bool
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
	return &DirSink{root: root, modTime: modTime, dirs: map[string]bool{}, umaskOK: map[fs.FileMode]bool{}}, nil
}

// AddFile creates name under the root, with its parent directories.
func (s *DirSink) AddFile(name string, data []byte, mode fs.FileMode) error {
	if !validPath(name) {
		return fmt.Errorf("report file %q: not a clean relative path", name)
	}
	if err := s.mkdirs(path.Dir(name)); err != nil {
		return err
	}
	return s.writeFile(filepath.Join(s.root, filepath.FromSlash(name)), data, mode.Perm())
}

// mkdirs makes dir and its parents below the root, each once; their mode
// and time are set by Close, after their last file.
func (s *DirSink) mkdirs(dir string) error {
	if dir == "." || s.dirs[dir] {
		return nil
	}
	if err := s.mkdirs(path.Dir(dir)); err != nil {
		return err
	}
	p := filepath.Join(s.root, filepath.FromSlash(dir))
	if err := os.Mkdir(p, 0o755); err != nil {
		// A folder already there (the root is the caller's) is used as
		// it is; a file there is the tar sink's "a file and a directory".
		if fi, serr := os.Stat(p); !errors.Is(err, fs.ErrExist) || serr != nil || !fi.IsDir() {
			return err
		}
	}
	s.dirs[dir] = true
	return nil
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
