package report

import (
	"io/fs"
	"syscall"
	"unsafe"
)

// writeFile creates p (which must not exist) with data, permission perm
// and the sink's time, without the os package's per-file work: os.OpenFile
// registers every descriptor with the poller (refused for a regular
// file) and toggles O_NONBLOCK, four fcntl calls and an epoll_ctl per
// file, and Chmod and Chtimes look the path up again. Here a file is
// openat, write, utimensat on the descriptor, close; fstat and fchmod
// only for the first file of each permission, or every file of one the
// umask (or a default ACL) narrows.
func (s *DirSink) writeFile(p string, data []byte, perm fs.FileMode) error {
	fd, err := ignoringEINTR(func() (int, error) {
		return syscall.Open(p, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_CLOEXEC, uint32(perm))
	})
	if err != nil {
		return &fs.PathError{Op: "open", Path: p, Err: err}
	}
	err = s.fill(fd, data, perm)
	if cerr := syscall.Close(fd); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return &fs.PathError{Op: "write", Path: p, Err: err}
	}
	return nil
}

func (s *DirSink) fill(fd int, data []byte, perm fs.FileMode) error {
	for len(data) > 0 {
		n, err := ignoringEINTR(func() (int, error) { return syscall.Write(fd, data) })
		if err != nil {
			return err
		}
		if n == 0 {
			return syscall.EIO // a regular file takes at least a byte or says why
		}
		data = data[n:]
	}
	ok, known := s.umaskOK[perm]
	if !known {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			return err
		}
		ok = fs.FileMode(st.Mode)&fs.ModePerm == perm
		s.umaskOK[perm] = ok
	}
	if !ok {
		if err := syscall.Fchmod(fd, uint32(perm)); err != nil {
			return err
		}
	}
	if s.modTime.IsZero() {
		return nil // no crash time: the file keeps its own, as os.Chtimes leaves it
	}
	// utimensat(fd, NULL, times, 0) is futimens: the descriptor's file,
	// no path lookup. It comes after the write, which sets the time.
	ts := [2]syscall.Timespec{syscall.NsecToTimespec(s.modTime.UnixNano()), syscall.NsecToTimespec(s.modTime.UnixNano())}
	if _, _, e := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// ignoringEINTR retries a call a signal interrupted, as the os package does.
func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
