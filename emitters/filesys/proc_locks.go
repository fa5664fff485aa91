package filesys

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/locks",
		Mirrors: "locks_show() and lock_get_status() in fs/locks.c",
		Desc:    "file locks (POSIX, OFD, flock, leases)",
		Tracker: emit.Done,
		Note:    "waiters blocked on a lock (the \" ->\" lines) are not walked; a file that has them is marked partial",
		Run:     procLocks,
	})
}

// Lock flags, include/linux/filelock.h (fs.h before 6.9); F_RDLCK/F_WRLCK
// from the uapi fcntl.h.
const (
	flPosix  = 1
	flFlock  = 2
	flDeleg  = 4
	flAccess = 8
	flLease  = 32
	flOFD    = 1024
	flLayout = 2048
	fRdlck   = 0
	fWrlck   = 1
)

// procLocks walks the per-cpu file_lock_list of every possible CPU, as
// seq_hlist_start_percpu does; the position counts from 1.
func procLocks(c *emit.Context, _ int64, out *emit.Output) error {
	p := c.Prog
	// struct file_lock_core split off struct file_lock in 6.9.
	core, prefix := "struct file_lock", "fl_"
	if p.HasMember("struct file_lock", "c.flc_flags") {
		core, prefix = "struct file_lock_core", "flc_"
	}
	possible, err := linux.CPUMask(p, "__cpu_possible_mask")
	if err != nil {
		return err
	}
	id := 0
	for _, cpu := range possible {
		head := linux.PerCPU(p, "file_lock_list", "struct file_lock_list_struct", cpu).Member("hlist")
		for flc, err := range linux.HlistForEachEntry(head, core, prefix+"link") {
			if err != nil {
				return err
			}
			id++
			if err := lockStatus(c, flc, prefix, id, out); err != nil {
				return err
			}
		}
	}
	return nil
}

func lockStatus(c *emit.Context, flc object.Object, pf string, id int, out *emit.Output) error {
	var rd object.Reader
	flags := rd.Uint(flc.Member(pf + "flags"))
	typ := rd.Uint(flc.Member(pf + "type"))
	pid := rd.Int(flc.Member(pf + "pid"))
	file := rd.Uint(flc.Member(pf + "file"))
	if err := rd.Err(); err != nil {
		return err
	}
	if empty, err := listEmpty(flc.Member(pf + "blocked_requests")); err != nil {
		return err
	} else if !empty {
		out.Partial("lock %d has blocked waiters, not listed", id)
	}
	fmt.Fprintf(out, "%d: ", id)
	switch {
	case flags&flPosix != 0:
		kind := "POSIX "
		if flags&flAccess != 0 {
			kind = "ACCESS"
		} else if flags&flOFD != 0 {
			kind = "OFDLCK"
		}
		adv := "ADVISORY "
		if file == 0 {
			adv = "*NOINODE*"
		}
		fmt.Fprintf(out, "%s %s ", kind, adv)
	case flags&flFlock != 0:
		out.WriteString("FLOCK  ADVISORY  ")
	case flags&(flLease|flDeleg|flLayout) != 0:
		out.Partial("lease %d: lease state not decoded", id)
		return nil
	default:
		out.WriteString("UNKNOWN UNKNOWN  ")
	}
	switch typ {
	case fWrlck:
		out.WriteString("WRITE ")
	case fRdlck:
		out.WriteString("READ ")
	default:
		out.WriteString("UNLCK ")
	}
	// locks_translate_pid() for the initial pid namespace.
	if flags&flOFD != 0 {
		pid = -1
	}
	if file != 0 {
		inode := flc.Member(pf + "file").Member("f_inode").Deref()
		var rd object.Reader
		dev := rd.Uint(inode.Member("i_sb").Member("s_dev"))
		ino := rd.Uint(inode.Member("i_ino"))
		if err := rd.Err(); err != nil {
			return err
		}
		fmt.Fprintf(out, "%d %02x:%02x:%d ", pid, dev>>20, dev&0xfffff, ino)
	} else {
		fmt.Fprintf(out, "%d <none>:0 ", pid)
	}
	if flags&flPosix == 0 {
		out.WriteString("0 EOF\n")
		return nil
	}
	// fl_start/fl_end stay in struct file_lock (outside the core).
	fl := flc
	if pf == "flc_" {
		a, _ := flc.Address()
		fl = c.Prog.ContainerOf(a, "struct file_lock", "c")
	}
	start := rd.Int(fl.Member("fl_start"))
	end := rd.Int(fl.Member("fl_end"))
	if err := rd.Err(); err != nil {
		return err
	}
	if end == 1<<63-1 { // OFFSET_MAX
		fmt.Fprintf(out, "%d EOF\n", start)
	} else {
		fmt.Fprintf(out, "%d %d\n", start, end)
	}
	return nil
}

// listEmpty is list_empty(): head->next == head.
func listEmpty(head object.Object) (bool, error) {
	next, err := head.Member("next").Uint()
	if err != nil {
		return false, err
	}
	a, _ := head.Address()
	return next == a, nil
}
