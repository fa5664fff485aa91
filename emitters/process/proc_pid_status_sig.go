package process

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

const (
	rlimitRSS        = 5  // RLIMIT_RSS, include/uapi/asm-generic/resource.h
	rlimitSigpending = 11 // RLIMIT_SIGPENDING
	nSig             = 64 // _NSIG on x86_64
)

// sigActions mirrors collect_sigign_sigcatch(): the signals whose handler
// is SIG_IGN (1) and those with a handler of their own (not SIG_DFL, 0), as
// bit masks (bit i-1 for signal i).
//
// The threads of a process share their sighand: its masks are computed
// once per run and sighand.
func sigActions(c *emit.Context, task object.Object) (ign, cgt uint64, err error) {
	sighand, err := task.Member("sighand").Uint()
	if err != nil {
		return 0, 0, err
	}
	type masks struct {
		ign, cgt uint64
		ok       bool
	}
	m, _ := emit.Once(c, "emitters/sigactions/"+strconv.FormatUint(sighand, 16), func() (masks, error) {
		ign, cgt, err := readSigActions(task)
		return masks{ign, cgt, err == nil}, nil
	})
	if !m.ok {
		// Read again for this task's own error (its path in the message).
		return readSigActions(task)
	}
	return m.ign, m.cgt, nil
}

func readSigActions(task object.Object) (ign, cgt uint64, err error) {
	action := task.Member("sighand").Member("action")
	raw, err := action.Bytes()
	if err != nil {
		return 0, 0, err
	}
	m, ok := ktype.As[*ktype.Array](action.Type())
	if !ok || m.Count != nSig {
		return 0, 0, fmt.Errorf("%s: not an array of %d actions", action.Path(), nSig)
	}
	size := uint64(len(raw)) / nSig
	off, err := ktype.MemberOffset(m.Elem, "sa.sa_handler")
	if err != nil {
		return 0, 0, err
	}
	for i := uint64(0); i < nSig; i++ {
		switch binary.LittleEndian.Uint64(raw[i*size+off:]) {
		case 0:
		case 1:
			ign |= 1 << i
		default:
			cgt |= 1 << i
		}
	}
	return ign, cgt, nil
}

// taskSig mirrors task_sig(): thread count, queued signals against their
// limit, and the pending, shared pending, blocked, ignored and caught sets.
func taskSig(c *emit.Context, task object.Object) (string, error) {
	var threads, qsize, qlim, pend, shpend, blocked, ign, cgt uint64
	sighand, err := task.Member("sighand").Uint()
	if err != nil {
		return "", err
	}
	if sighand != 0 { // lock_task_sighand() fails once the task is released
		sig := task.Member("signal").Settle()
		// Queued signals are counted in the credentials' ucounts since
		// v5.11 ("Reimplement RLIMIT_SIGPENDING on top of ucounts"), in
		// user_struct.sigpending before; the enumerator decides.
		// The member is looked up only on the kernel that has it: a failed
		// lookup spells its path into an error, once per process.
		var queued object.Object
		if i, err := task.Prog().Types.EnumValue("UCOUNT_RLIMIT_SIGPENDING"); err == nil {
			queued = task.Member("real_cred").Member("ucounts").Member(fmt.Sprintf("rlimit[%d].counter", i))
		} else {
			if errors.Is(err, ktype.ErrLost) {
				task.Prog().NoteUndecided(err)
			}
			queued = task.Member("real_cred").Member("user").Member("sigpending.counter")
		}
		for _, f := range []struct {
			o   object.Object
			dst *uint64
		}{
			{task.Member("pending.signal.sig[0]"), &pend},
			{sig.Member("shared_pending.signal.sig[0]"), &shpend},
			{task.Member("blocked.sig[0]"), &blocked},
			{sig.Member("nr_threads"), &threads},
			{queued, &qsize},
			{sig.Member(fmt.Sprintf("rlim[%d].rlim_cur", rlimitSigpending)), &qlim},
		} {
			if *f.dst, err = f.o.Uint(); err != nil {
				return "", err
			}
		}
		if ign, cgt, err = sigActions(c, task); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("Threads:\t%d\nSigQ:\t%d/%d\nSigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		threads, qsize, qlim, pend, shpend, blocked, ign, cgt), nil
}

// taskCtxtSwitches mirrors task_context_switch_counts().
func taskCtxtSwitches(task object.Object) (string, error) {
	v, err := task.Member("nvcsw").Uint()
	if err != nil {
		return "", err
	}
	nv, err := task.Member("nivcsw").Uint()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("voluntary_ctxt_switches:\t%d\nnonvoluntary_ctxt_switches:\t%d\n", v, nv), nil
}

// threadFeatures mirrors the x86 arch_proc_pid_thread_features()
// (arch/x86/kernel/cpu/proc.c, CONFIG_X86_USER_SHADOW_STACK, which adds
// thread.features).
func threadFeatures(task object.Object) (string, error) {
	if !task.HasMember("thread.features") {
		return "", nil
	}
	var b strings.Builder
	for _, l := range []struct{ name, member string }{
		{"x86_Thread_features", "thread.features"}, {"x86_Thread_features_locked", "thread.features_locked"},
	} {
		f, err := task.Member(l.member).Uint()
		if err != nil {
			return "", err
		}
		b.WriteString(l.name + ":\t")
		if f&1 != 0 { // ARCH_SHSTK_SHSTK
			b.WriteString("shstk ")
		}
		if f&2 != 0 { // ARCH_SHSTK_WRSS
			b.WriteString("wrss ")
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}
