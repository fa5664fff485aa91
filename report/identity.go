package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Identity is what names the report: the crashed machine and the time of
// the crash, never the machine doing the analysis.
type Identity struct {
	Nodename      string    // init_uts_ns.name.nodename, else the kdump header's; "" if neither
	Release       string    // VMCOREINFO OSRELEASE
	BuildID       string    // VMCOREINFO BUILD-ID
	CrashTime     time.Time // UTC; the Unix epoch when unknown
	CrashTimeFrom string    // "VMCOREINFO CRASHTIME", "kernel timekeeper", "kdump header" or "unknown"
	// NodenameErr is why init_uts_ns could not be read, if it could not.
	NodenameErr error
}

// Identify reads the crashed kernel's nodename, release and crash time. It
// is cheap (one string read) and never fails: what is missing is recorded.
func Identify(k *kernel.Kernel) Identity {
	id := Identity{CrashTime: time.Unix(0, 0).UTC(), CrashTimeFrom: "unknown"}
	id.Release, id.BuildID = k.Release(), k.BuildID()
	if sec, ok := k.CrashTime(); ok {
		id.CrashTime, id.CrashTimeFrom = time.Unix(sec, 0).UTC(), "VMCOREINFO CRASHTIME"
	}
	var hdr struct {
		node string
		ts   time.Time
	}
	info := k.DumpInfo()
	hdr.node, hdr.ts = info.Utsname.Nodename, info.Timestamp
	prog := k.Program()
	if id.CrashTimeFrom == "unknown" && prog != nil {
		var sec int64
		r := isolate(context.Background(), kernelFactDeadline, func() error {
			var err error
			// Dumps not taken by kdump have no VMCOREINFO CRASHTIME
			// (crash_save_vmcoreinfo() adds it in __crash_kexec()), and the
			// kdump header's time is when the dump file was written, which
			// may be long after.
			sec, err = linux.KtimeGetRealSeconds(prog)
			return err
		})
		if r.err() == nil && sec > 0 {
			id.CrashTime, id.CrashTimeFrom = time.Unix(sec, 0).UTC(), "kernel timekeeper"
		}
	}
	if id.CrashTimeFrom == "unknown" && !hdr.ts.IsZero() && hdr.ts.Unix() > 0 {
		id.CrashTime, id.CrashTimeFrom = hdr.ts.UTC().Truncate(time.Second), "kdump header"
	}
	if prog == nil {
		id.NodenameErr = errors.New("no kernel program")
	} else {
		r := isolate(context.Background(), kernelFactDeadline, func() error {
			var err error
			id.Nodename, err = prog.VarAs("init_uts_ns", "struct uts_namespace").Member("name.nodename").CString()
			return err
		})
		id.NodenameErr = r.err()
	}
	if id.NodenameErr != nil {
		id.Nodename = hdr.node
	}
	return id
}

// TopDir is the archive's top folder: sosvmcore-<nodename>-<crash date>,
// or sosvmcore-<nodename> when the crash time is unknown (no date is made
// up: a 1970-01-01 in a file name reads as a fact).
func (id Identity) TopDir() string {
	if id.CrashTime.IsZero() || id.CrashTime.Unix() == 0 {
		return "sosvmcore-" + fileNamePart(id.Nodename)
	}
	return "sosvmcore-" + fileNamePart(id.Nodename) + "-" + id.CrashTime.Format("2006-01-02")
}

// fileNamePart makes a nodename safe as part of a file name: it keeps
// letters, digits, '.', '_' and '-' and replaces anything else with '_'.
func fileNamePart(s string) string {
	if s == "" || s == "." || s == ".." {
		return "unknown"
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

// kernelFactDeadline bounds each read of the manifest's kernel facts.
const kernelFactDeadline = 10 * time.Second

// crashedKernel fills the manifest's kernel section. Each fact is read in
// isolation; one that cannot be read is left empty and explained.
func crashedKernel(k *kernel.Kernel, id Identity) Crashed {
	c := Crashed{
		Release: id.Release, BuildID: id.BuildID, Nodename: id.Nodename,
		CrashTimeFrom: id.CrashTimeFrom, Unreadable: map[string]string{},
	}
	if id.CrashTimeFrom != "unknown" {
		c.CrashTime = id.CrashTime.Format(time.RFC3339)
	} else {
		c.Unreadable["crash_time"] = "VMCOREINFO has no CRASHTIME and the dump header no time stamp"
	}
	if id.NodenameErr != nil {
		what := "init_uts_ns: " + id.NodenameErr.Error()
		if c.Nodename != "" {
			what += " (nodename taken from the kdump header)"
		}
		c.Unreadable["nodename"] = what
	}
	prog := k.Program()
	if prog == nil {
		c.Unreadable["panic_message"] = "no kernel program"
		c.Unreadable["taint"] = "no kernel program"
		return c
	}
	r := isolate(context.Background(), kernelFactDeadline, func() error {
		var err error
		c.PanicMessage, err = linux.PanicMessage(prog)
		if err != nil && !errors.Is(err, linux.ErrNoPanicMessage) {
			err = fmt.Errorf("kernel log: %w", err)
		}
		return err
	})
	if err := r.err(); err != nil {
		c.Unreadable["panic_message"] = err.Error()
	}
	r = isolate(context.Background(), kernelFactDeadline, func() error {
		mask, err := linux.TaintedMask(prog)
		if err == nil {
			c.Taint = &Taint{Mask: mask, Letters: linux.TaintLetters(mask)}
		}
		return err
	})
	if err := r.err(); err != nil {
		c.Unreadable["taint"] = "tainted_mask: " + err.Error()
	}
	r = isolate(context.Background(), kernelFactDeadline, func() error {
		var err error
		c.CPUs, err = crashCPUs(prog)
		return err
	})
	if err := r.err(); err != nil {
		c.Unreadable["cpus"] = err.Error()
	}
	return c
}

// crashCPUs reads panic_cpu (atomic_t, PANIC_CPU_INVALID = -1) and the
// online and active masks: a CPU still active but no longer online was
// stopped by panic() (see linux.CPUsRunningBeforePanic).
func crashCPUs(prog *object.Program) (*CPUs, error) {
	online, err := linux.CPUMask(prog, "__cpu_online_mask")
	if err != nil {
		return nil, err
	}
	running, err := linux.CPUsRunningBeforePanic(prog)
	if err != nil {
		return nil, err
	}
	var stopped []int
	for _, c := range running {
		if !slices.Contains(online, c) {
			stopped = append(stopped, c)
		}
	}
	cpus := &CPUs{OnlineInDump: linux.BitmapList(online), RunningBeforePanic: linux.BitmapList(running), StoppedByPanic: linux.BitmapList(stopped)}
	if v, err := prog.VarAs("panic_cpu", "int").Int(); err == nil && v >= 0 {
		cpus.PanicCPU = &v
	}
	return cpus, nil
}
