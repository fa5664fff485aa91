package object

import (
	"errors"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
)

// A Reader gives the values of reads that succeed and keeps the first
// error: the reads after it give zeros, and Check does not replace it.
func TestReaderKeepsFirstError(t *testing.T) {
	p, mem := testProgram()
	mem.Write(0x10000, []byte{42, 0, 0, 0})
	mem.Write(0x10004, []byte("swapper\x00"))
	task := p.VarAs("init_task", "struct task")

	var rd Reader
	pid := rd.Int(task.Member("pid"))
	comm := rd.CString(task.Member("comm"))
	if err := rd.Err(); err != nil || pid != 42 || comm != "swapper" {
		t.Fatalf("pid %d comm %q err %v", pid, comm, err)
	}
	missing := rd.Uint(task.Member("nosuch"))
	later := rd.Int(task.Member("pid"))
	rd.Check(errors.New("a later error"))
	if err := rd.Err(); !errors.Is(err, ktype.ErrNotFound) || missing != 0 || later != 0 {
		t.Errorf("after a failed read: %d, %d, err %v; want zeros and the first error", missing, later, err)
	}
}
