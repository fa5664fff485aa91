//go:build !js && !linux

package report

import (
	"errors"
	"io/fs"
	"os"
)

// writeFile creates p (which must not exist) with data, permission perm
// (whatever the umask) and the sink's time, through the os package.
func (s *DirSink) writeFile(p string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Chtimes(p, s.modTime, s.modTime)
	}
	return err
}
