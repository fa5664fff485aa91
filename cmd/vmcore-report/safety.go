package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Input and output safety (issue 17): inputs are checked before they are
// opened, since opening a FIFO blocks until a writer comes; outputs never
// replace an input, nor an existing file or folder unless --force.

// checkInput says why path cannot be read as a dump or vmlinux, from its
// metadata alone. Regular files and block devices can be read at random
// offsets; pipes, sockets and character devices cannot.
func checkInput(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w (check the path and your permission to read it)", err)
	}
	m := fi.Mode()
	switch {
	case m.IsRegular():
		if fi.Size() == 0 {
			return errors.New("the file is empty (was the dump saved completely?)")
		}
		return nil
	case m.IsDir():
		return errors.New("it is a directory: name the file inside (often vmcore)")
	case m&fs.ModeNamedPipe != 0:
		return errors.New("it is a named pipe (FIFO), which can only be read once from the start: save the dump to a file first")
	case m&fs.ModeSocket != 0:
		return errors.New("it is a socket: save the dump to a file first")
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0:
		return nil // a block device (a dump on a raw partition)
	case m&fs.ModeCharDevice != 0:
		return errors.New("it is a character device, which cannot be read at random offsets: copy the dump to a file first")
	}
	return errors.New("not a regular file: copy the dump to a file first")
}

// inputSize is the size of an opened input: a block device's by seeking.
func inputSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Mode().IsRegular() {
		return fi.Size(), nil
	}
	n, err := f.Seek(0, io.SeekEnd)
	if err == nil && n == 0 {
		err = errors.New("the device is empty")
	}
	return n, err
}

// checkNotInput refuses an output path that names one of the inputs.
func checkNotInput(out string, inputs []string) error {
	ofi, err := os.Stat(out)
	if err != nil {
		return nil // nothing there yet
	}
	for _, in := range inputs {
		if ifi, err := os.Stat(in); err == nil && os.SameFile(ofi, ifi) {
			return fail(exitUsage, "-o %s is the input %s: the report would replace it; choose another -o", out, in)
		}
	}
	return nil
}

// freeName returns path, or, when something is there already, the first
// of path-2, path-3… (before the extension) that is free, so that runs
// without -o never replace an earlier report.
func freeName(path, ext string) string {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return path
	}
	stem := strings.TrimSuffix(path, ext)
	for i := 2; ; i++ {
		p := fmt.Sprintf("%s-%d%s", stem, i, ext)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p
		}
	}
}

// exists says whether path names anything (a dangling link included).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// tempDirBeside makes an empty folder next to dest for a report written
// as files, renamed to dest once complete.
func tempDirBeside(dest string) (string, error) {
	return os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.tmp")
}
