// Package report runs the emitters of the registry over an opened crash
// dump and writes their files, with a manifest and a log, into a
// sosreport-style archive.
//
// The archive has one top folder, sosvmcore-<nodename>-<crash date>, named
// after the crashed machine. Inside are the emitters' files in path order
// (numbers compared by value: proc/2 before proc/10), then the tool's own
// files: sos_logs/vmcore-report.log, sos_reports/manifest.json and
// version.txt. The manifest comes last because it describes everything
// before it; writing files as they are produced keeps memory bounded.
// Entries are deterministic: the same inputs give the same entries, modes,
// times and data; only the manifest's timing fields and the log's times
// differ between runs.
//
// Each emitter runs isolated: a panic, an error or a run past its deadline
// is recorded in the manifest and the run goes on. See isolate for what a
// deadline can and cannot stop.
//
// The package does no file I/O (the browser worker uses it as is) apart
// from DirSink, which is native only.
package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// Defaults for the zero Options.
const (
	DefaultEmitterDeadline = 20 * time.Second
	DefaultDeadline        = 30 * time.Minute
)

// The tool's own files, written after the emitters' files.
const (
	LogPath      = "sos_logs/vmcore-report.log"
	ManifestPath = "sos_reports/manifest.json"
	VersionPath  = "version.txt"
)

// File modes in the archive.
const (
	fileMode fs.FileMode = 0o644
)

// Options configure a run. The zero value runs every registered emitter
// with the default deadlines.
type Options struct {
	Filter
	// EmitterDeadline bounds each emitter call (one per item for PerPID
	// emitters); 0 means DefaultEmitterDeadline.
	EmitterDeadline time.Duration
	// Deadline bounds the whole run; emitters not started by then are
	// recorded as failed. 0 means DefaultDeadline, < 0 no limit.
	Deadline time.Duration
	// ToolVersion goes into the manifest and version.txt; "" means
	// Version().
	ToolVersion string
	// PageCacheBytes, when > 0, bounds the dump's decoded-page cache
	// (Analyze; the browser keeps it small).
	PageCacheBytes int64
	// Emitters to run; nil means emitters.All().
	Emitters []*emitters.Emitter
	// Progress, when set, is called synchronously as the run advances.
	Progress func(Progress)
	// Outcome, when set, is called with each output as the manifest
	// records it, for a live view of the run.
	Outcome func(Output)
	// Share, when set, makes the run the lead of a report shared with a
	// helper run (Help) on the same inputs: see Share.
	Share *Share
}

// Progress is a report's advance, for a progress bar.
type Progress struct {
	Stage string // StageKernel, StageEnumerate, StageEmit, StageFinish, StageDone
	Done  int    // outputs finished
	Total int    // outputs planned (known from StageEmit on)
	Path  string // the output being written, during StageEmit
}

// Stages of a run, in order.
const (
	StageKernel    = "kernel"    // reading the crashed kernel's identity
	StageEnumerate = "enumerate" // computing the process list
	StageEmit      = "emit"      // running emitters
	StageFinish    = "finish"    // writing the log and manifest
	StageDone      = "done"
)

// job is one output to produce.
type job struct {
	e    *emitters.Emitter
	item int64
	path string
	pre  *Output // set when the output failed before running
}

// Run writes the report of k into sink and returns its manifest. It fails
// only when the sink fails or ctx ends; everything an emitter does wrong
// is recorded in the manifest instead. Run does not close the sink.
func Run(ctx context.Context, k *kernel.Kernel, opts Options, sink Sink) (*Manifest, error) {
	if err := opts.Filter.Validate(); err != nil {
		return nil, err
	}
	return run(ctx, k, Identify(k), opts, sink)
}

// run is Run of a kernel already identified (Analyze names the sink from
// the same identity).
func run(ctx context.Context, k *kernel.Kernel, id Identity, opts Options, sink Sink) (*Manifest, error) {
	start := time.Now()
	if opts.EmitterDeadline <= 0 {
		opts.EmitterDeadline = DefaultEmitterDeadline
	}
	if opts.Deadline == 0 {
		opts.Deadline = DefaultDeadline
	}
	if opts.ToolVersion == "" {
		opts.ToolVersion = Version()
	}
	list := opts.Emitters
	if list == nil {
		list = emitters.All()
	}
	r := &runner{ctx: ctx, k: k, opts: opts, sink: sink, start: start}
	defer r.iso.close()
	r.progress(Progress{Stage: StageKernel})
	r.top = id.TopDir()
	r.logf("vmcore-report %s: %s", opts.ToolVersion, r.top)
	m := &Manifest{
		Schema: SchemaVersion,
		Tool:   Tool{Name: "vmcore-report", Version: opts.ToolVersion},
		Run: RunInfo{
			Started:           start.UTC().Format(time.RFC3339),
			EmitterDeadlineMS: opts.EmitterDeadline.Milliseconds(),
			DeadlineMS:        max(opts.Deadline.Milliseconds(), -1),
			Only:              nonNil(opts.Only),
			Skip:              nonNil(opts.Skip),
		},
		Inputs: Inputs{Vmlinux: vmlinuxInput(k), Dump: DumpInput{
			CompressionsSeen: []string{}, Parts: []Part{}, Warnings: []string{},
		}},
		Kernel:       crashedKernel(k, id),
		Debug:        debugInfo(k),
		Enumerations: map[string]Enumeration{},
		Outputs:      []Output{},
		Skipped:      []string{},
	}
	if ku := k.Unreadable(); ku != nil {
		m.Kernel.Unreadable["memory"] = ku.Error()
	}
	r.logKernel(m)
	r.checkExcludedKernelPages()

	r.progress(Progress{Stage: StageEnumerate})
	c := emitters.NewContext(k)
	panicFacts(c, &m.Kernel)
	jobs := r.plan(c, list, m)
	if r.readErr != nil {
		return m, fmt.Errorf("report stopped at the process list: %w", r.readErr)
	}
	m.Summary.Emitters = len(list) - len(m.Skipped)

	total := len(jobs)
	emit := r.emitJobs
	if opts.Share != nil && opts.Share.Peer != nil {
		emit = r.emitShared
	}
	done, err := emit(c, jobs, m, sink)
	if err != nil {
		return m, err
	}
	r.progress(Progress{Stage: StageFinish, Done: done, Total: total})
	m.Inputs.Dump = dumpInput(k)
	// A degraded kernel's dump facts are its headers': what the reads
	// that failed found is in the reason.
	if ku := k.Unreadable(); ku != nil && errors.Is(ku, kernel.ErrTruncated) {
		m.Inputs.Dump.Truncated = true
	}
	for _, e := range r.excluded {
		m.Inputs.Dump.MissingKernelPages = append(m.Inputs.Dump.MissingKernelPages, fmt.Sprintf("%s at %#x", e.What, e.Addr))
	}
	if len(r.excluded) > 0 {
		m.Inputs.Dump.Warnings = append(m.Inputs.Dump.Warnings, linux.ExcludedKernelPagesAdvice(r.excluded))
	}
	m.Summary.Outputs = len(m.Outputs)
	m.Run.DurationMS = ms(time.Since(start))
	r.logf("done: %d outputs, %d files written (%d ok, %d partial, %d failed, %d not applicable)",
		m.Summary.Outputs, m.Summary.FilesWritten, m.Summary.OK, m.Summary.Partial, m.Summary.Failed, m.Summary.NotApplicable)

	man, err := marshalManifest(m)
	if err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	for _, f := range []struct {
		path string
		data []byte
	}{
		{LogPath, r.log.Bytes()},
		{ManifestPath, append(man, '\n')},
		{VersionPath, []byte("vmcore-report: " + opts.ToolVersion + "\n")},
	} {
		if err := sink.AddFile(r.top+"/"+f.path, f.data, fileMode); err != nil {
			return m, fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	r.progress(Progress{Stage: StageDone, Done: done, Total: total})
	return m, nil
}

// emitJobs runs the jobs in order, and says how many it did. The loop is
// a function of its own, and each job another: a browser compiles a
// function whose loop runs hundreds of times with its optimising compiler,
// at a cost that grows with the function's size (run's was 13 KB).
func (r *runner) emitJobs(c *emitters.Context, jobs []job, m *Manifest, sink Sink) (int, error) {
	for i := range jobs {
		r.progress(Progress{Stage: StageEmit, Done: i, Total: len(jobs), Path: jobs[i].path})
		if err := r.emitJob(c, jobs[i], m, sink); err != nil {
			return i, err
		}
	}
	return len(jobs), nil
}

// emitJob runs one job (or records its outcome decided beforehand) and
// writes its file.
func (r *runner) emitJob(c *emitters.Context, j job, m *Manifest, sink Sink) error {
	if j.pre != nil {
		r.record(m, *j.pre)
		return nil
	}
	res, err := r.runJob(c, j, m)
	if err != nil {
		return err
	}
	return r.write(m, sink, res)
}

// jobResult is what running a job gave: its outcome, the data to write
// (nil when nothing is written) and the lines it adds to the log.
type jobResult struct {
	o    Output
	data []byte
	log  []string
	// excluded: the slab page the dump lacks that failed the output, if
	// that is why (excludedSlabPage).
	excluded []linux.ExcludedKernelPage
}

// write logs, writes and records a job's result, its own or one a helper
// made (Share).
func (r *runner) write(m *Manifest, sink Sink, res jobResult) error {
	for _, l := range res.log {
		r.logf("%s", l)
	}
	r.addExcluded(res.excluded)
	o := res.o
	if res.data != nil {
		if err := sink.AddFile(r.top+"/"+o.Path, res.data, fileMode); err != nil {
			return fmt.Errorf("write %s: %w", o.Path, err)
		}
		if o.SHA256 == "" { // a helper's output comes with its hash
			o.Size, o.SHA256 = int64(len(res.data)), sha256Hex(res.data)
		}
		m.Summary.FilesWritten++
		m.Summary.BytesWritten += o.Size
	}
	r.record(m, o)
	return nil
}

// TopDir is the archive top folder Run would use for k.
func TopDir(k *kernel.Kernel) string { return Identify(k).TopDir() }

type runner struct {
	ctx   context.Context
	k     *kernel.Kernel
	opts  Options
	sink  Sink
	start time.Time
	top   string
	log   bytes.Buffer
	// iso runs the emitters' calls.
	iso isolator
	// overtime is set once the global deadline has passed.
	overtime bool
	// excluded lists the slab objects the dump lacks though every dump
	// level keeps them: its makedumpfile did not know the kernel. The
	// probe before the emitters finds the first; outputs that fail on
	// another slab page add it (write).
	excluded []linux.ExcludedKernelPage
	// probeFound: the probe before the emitters found some, and every
	// output failing on an excluded page is put down to them.
	probeFound bool
	// slab answers PageSlab for the outputs that fail on an excluded page
	// when the probe found none (nil: not probed yet; slabErr: cannot be).
	slab    *linux.SlabPages
	slabErr error
	// readErr is the front end's reader failing (an input it can no
	// longer read): the run stops, as it would at the open.
	readErr error
}

// excludedByStaleMakedumpfile is the reason of every output that failed
// on an excluded page of such a dump.
const excludedByStaleMakedumpfile = "page excluded from the dump by a makedumpfile that does not know this kernel " +
	"(inputs.dump.missing_kernel_pages): re-make the dump with a makedumpfile that supports this kernel, or with -d 1"

// checkExcludedKernelPages finds out, before any emitter runs, whether the
// dump lacks kernel pages a correct makedumpfile keeps at any dump level.
func (r *runner) checkExcludedKernelPages() {
	prog := r.k.Program()
	if prog == nil {
		return
	}
	res := isolate(r.ctx, kernelFactDeadline, func() error {
		var err error
		r.excluded, err = linux.ExcludedKernelPages(prog)
		return err
	})
	if err := res.err(); err != nil {
		r.logf("check for excluded kernel pages: %v", err)
		return
	}
	if len(r.excluded) > 0 {
		r.probeFound = true
		r.logf("%s", linux.ExcludedKernelPagesAdvice(r.excluded))
	}
}

// excludedSlabPage says whether err, an output's failure, is a read of a
// slab page the dump lacks: the probe before the emitters reads only the
// first tasks and caches, so a makedumpfile that drops a few slab pages
// (7.2's elf-d31 by sid's 1.7.8 lacked one workqueue_struct) can pass it.
// The kernel's struct page of the page, which every dump level keeps,
// tells (linux.SlabPages); any failure on an excluded page is asked, so
// every output failing on a slab page says why, whichever fails first.
func (r *runner) excludedSlabPage(err error, path string) (linux.ExcludedKernelPage, bool) {
	f, ok := kernel.FaultOf(err)
	prog := r.k.Program()
	if !ok || prog == nil || !errors.Is(err, kernel.ErrExcluded) {
		return linux.ExcludedKernelPage{}, false
	}
	if r.slab == nil && r.slabErr == nil {
		if r.slab, r.slabErr = linux.NewSlabPages(prog); r.slabErr != nil {
			r.logf("struct page of excluded pages: %v", r.slabErr)
		}
	}
	if r.slabErr != nil {
		return linux.ExcludedKernelPage{}, false
	}
	slab, serr := r.slab.PageSlab(f.Phys >> linux.PageShift)
	if serr != nil || !slab {
		return linux.ExcludedKernelPage{}, false
	}
	if f.HasVirt {
		return linux.ExcludedKernelPage{What: "slab page of " + path, Addr: f.Virt}, true
	}
	return linux.ExcludedKernelPage{What: "slab page (physical address) of " + path, Addr: f.Phys}, true
}

// addExcluded records the slab pages an output found the dump lacks, one
// entry per page: the first output in the report's order names it.
func (r *runner) addExcluded(found []linux.ExcludedKernelPage) {
	for _, e := range found {
		pfn := func(a uint64) uint64 { return a >> linux.PageShift }
		if !slices.ContainsFunc(r.excluded, func(x linux.ExcludedKernelPage) bool { return pfn(x.Addr) == pfn(e.Addr) }) {
			r.excluded = append(r.excluded, e)
		}
	}
}

func (r *runner) progress(p Progress) {
	if r.opts.Progress != nil {
		r.opts.Progress(p)
	}
}

// logf appends a line to the log, stamped with the time since the start
// (the only part of the log that changes between runs).
func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(&r.log, "[%8.3fs] ", time.Since(r.start).Seconds())
	fmt.Fprintf(&r.log, format, args...)
	r.log.WriteByte('\n')
}

func (r *runner) logKernel(m *Manifest) {
	kc := m.Kernel
	r.logf("kernel %s build-id %s nodename %q crash time %s (%s)", kc.Release, kc.BuildID, kc.Nodename, kc.CrashTime, kc.CrashTimeFrom)
	r.logf("types from %s, symbols from %s, VMCOREINFO from %s", m.Debug.Types, m.Debug.Symbols, m.Debug.VMCOREINFO)
	for _, f := range sortedKeys(kc.Unreadable) {
		r.logf("kernel %s unreadable: %s", f, kc.Unreadable[f])
	}
}

// plan expands the emitters into jobs in archive order, applying the
// filter. A job whose output fails before running (no process list, a bad
// registry entry) carries that output in pre.
func (r *runner) plan(c *emitters.Context, list []*emitters.Emitter, m *Manifest) []job {
	var (
		jobs    []job
		pids    []int64
		pidErr  error
		pidDone bool
	)
	reserved := map[string]bool{LogPath: true, ManifestPath: true, VersionPath: true}
	for _, e := range list {
		preFail := func(status, reason string) {
			jobs = append(jobs, job{e: e, path: e.Path, pre: &Output{
				Path: e.Path, Emitter: e.Path, Status: status, Reasons: []string{reason},
			}})
		}
		selected := r.opts.Selects(e.Path, e.Path)
		if ku := r.k.Unreadable(); ku != nil {
			if selected {
				preFail(StatusFailed, "the crashed kernel's memory cannot be read: "+ku.Error())
			} else {
				m.Skipped = append(m.Skipped, e.Path)
			}
			continue
		}
		switch e.Each {
		case emitters.Single:
			switch {
			case !selected:
				m.Skipped = append(m.Skipped, e.Path)
			case !validPath(e.Path) || e.Run == nil || reserved[e.Path]:
				preFail(StatusFailed, "bad registry entry: the path must be clean, relative and not one of the report's own files, and Run set")
			default:
				jobs = append(jobs, job{e: e, path: e.Path})
			}
		case emitters.PerPID:
			if !pidDone {
				pidDone = true
				pids, pidErr = r.processList(c)
				en := Enumeration{Count: len(pids)}
				if pidErr != nil {
					en.Error = pidErr.Error()
					r.logf("process list: %d processes, then: %v", len(pids), pidErr)
				} else {
					r.logf("process list: %d processes", len(pids))
				}
				m.Enumerations["pid"] = en
			}
			var sel []job
			for _, pid := range pids {
				if p := e.Expand(pid); r.opts.Selects(p, e.Path) {
					sel = append(sel, job{e: e, item: pid, path: p})
				}
			}
			bad := !strings.Contains(e.Path, "{pid}") || !validPath(e.Expand(1)) || e.Run == nil
			switch {
			case len(sel) > 0 && bad:
				preFail(StatusFailed, "bad registry entry: a per-process path must hold {pid} and be clean and relative, and Run set")
			case len(sel) > 0:
				jobs = append(jobs, sel...)
			case !selected:
				m.Skipped = append(m.Skipped, e.Path)
			case pidErr != nil:
				preFail(StatusFailed, "process list: "+pidErr.Error())
			case len(pids) == 0:
				preFail(StatusNotApplicable, "the task list holds no process")
			default:
				m.Skipped = append(m.Skipped, e.Path)
			}
		default:
			if selected {
				preFail(StatusFailed, fmt.Sprintf("bad registry entry: unknown enumeration %q", e.Each))
			} else {
				m.Skipped = append(m.Skipped, e.Path)
			}
		}
	}
	sort.SliceStable(jobs, func(i, j int) bool { return pathLess(jobs[i].path, jobs[j].path) })
	// A path two emitters write: the later one in registry order fails.
	seen := map[string]bool{}
	for i := range jobs {
		j := &jobs[i]
		if j.pre == nil && seen[j.path] {
			j.pre = &Output{Path: j.path, Emitter: j.e.Path, Status: StatusFailed,
				Reasons: []string{"bad registry entry: another emitter writes the same path"}}
		}
		seen[j.path] = true
	}
	return jobs
}

// processList lists the processes' pids (thread-group leaders, whose pid
// is their tgid), sorted: the table the per-process emitters look tasks up
// in, read once per run. A walk that breaks off keeps the pids found
// before.
func (r *runner) processList(c *emitters.Context) ([]int64, error) {
	if r.k.Program() == nil {
		return nil, errors.New("no kernel program")
	}
	var t *linux.Processes
	o := isolate(r.ctx, r.opts.EmitterDeadline, func() error {
		t = c.Processes()
		return t.Err
	})
	var found []int64
	if !o.TimedOut && o.Canceled == nil && t != nil {
		found = t.PIDs
	}
	err := o.err()
	if err != nil {
		err = fmt.Errorf("task list (init_task.tasks): %w", err)
	}
	if readFailed(err) {
		r.readErr = err
	}
	return found, err
}

// runJob runs one emitter call in isolation. It returns an error only when
// the run must stop.
func (r *runner) runJob(c *emitters.Context, j job, m *Manifest) (jobResult, error) {
	var res jobResult
	o := &res.o
	*o = Output{Path: j.path, Emitter: j.e.Path, Reasons: []string{}}
	if err := r.ctx.Err(); err != nil {
		return res, fmt.Errorf("report interrupted at %s: %w", j.path, context.Cause(r.ctx))
	}
	deadline := r.opts.EmitterDeadline
	if r.opts.Deadline > 0 {
		left := r.opts.Deadline - time.Since(r.start)
		if left <= 0 {
			if !r.overtime {
				r.overtime = true
				m.Run.DeadlineExceeded = true
				res.log = append(res.log, fmt.Sprintf("run deadline of %v exceeded: the remaining outputs are not run", r.opts.Deadline))
			}
			o.Status, o.Reasons = StatusFailed, []string{fmt.Sprintf("not run: the run's deadline of %v was exceeded", r.opts.Deadline)}
			return res, nil
		}
		deadline = min(deadline, left)
	}
	out := new(emitters.Output)
	t0 := time.Now()
	var undecided0 int64
	if r.k.Program() != nil {
		undecided0, _ = r.k.Program().Undecided()
	}
	iso := r.iso.run(r.ctx, deadline, func() error { return j.e.Run(c, j.item, out) })
	o.DurationMS = ms(time.Since(t0))
	if iso.Canceled != nil {
		return res, fmt.Errorf("report interrupted at %s: %w", j.path, iso.Canceled)
	}
	if err := iso.err(); readFailed(err) {
		// Not the dump's fault, nor this output's: every later read would
		// fail the same way.
		return res, fmt.Errorf("report stopped at %s: %w", j.path, err)
	}
	if r.k.Program() != nil && iso.err() == nil {
		// A probe of the kernel (a type, member, enumerator or symbol)
		// that could not be answered, what would answer it lost, answered
		// no, which may have picked the wrong layout: the output is not
		// to be trusted.
		if n, why := r.k.Program().Undecided(); n > undecided0 {
			iso = outcome{Err: fmt.Errorf("a probe of what the kernel has could not be answered: %w", why)}
		}
	}
	switch err := iso.err(); {
	case err == nil:
		reasons := out.PartialReasons()
		if len(reasons) == 0 {
			o.Status = StatusOK
		} else {
			o.Status, o.Reasons = StatusPartial, slices.Clone(reasons)
		}
		res.data = out.Bytes()
		if res.data == nil {
			res.data = []byte{} // an empty file is still a file
		}
		return res, nil
	case notApplicable(err):
		o.Status, o.Reasons = StatusNotApplicable, []string{err.Error()}
	case iso.TimedOut:
		o.Status, o.Reasons = StatusFailed, []string{fmt.Sprintf("deadline exceeded (%v); the emitter was abandoned", deadline)}
	case r.probeFound && errors.Is(err, kernel.ErrExcluded):
		// One reason for all: the dump lacks kernel pages (see the
		// manifest's inputs.dump), not one failure per page.
		o.Status, o.Reasons = StatusFailed, []string{excludedByStaleMakedumpfile}
		res.log = append(res.log, fmt.Sprintf("%s: %v", j.path, err))
	case r.isExcludedSlab(err, j.path, &res):
		o.Status, o.Reasons = StatusFailed, []string{excludedByStaleMakedumpfile}
		res.log = append(res.log, fmt.Sprintf("%s: %v", j.path, err))
	default:
		o.Status, o.Reasons = StatusFailed, []string{err.Error()}
		if iso.Stack != "" {
			res.log = append(res.log, fmt.Sprintf("%s: %v\n%s", j.path, err, strings.TrimRight(iso.Stack, "\n")))
		}
	}
	return res, nil
}

// isExcludedSlab is excludedSlabPage for runJob: the page found goes with
// the job's result.
func (r *runner) isExcludedSlab(err error, path string, res *jobResult) bool {
	e, ok := r.excludedSlabPage(err, path)
	if ok {
		res.excluded = append(res.excluded, e)
	}
	return ok
}

// notApplicable says whether an emitter's error means "nothing to write on
// this kernel" (a subsystem not built in, a module not loaded). An error
// says so with a method NotApplicable() bool, which errors.As finds
// through wrapping; emitters can define one such error type.
func notApplicable(err error) bool {
	var na interface{ NotApplicable() bool }
	return errors.As(err, &na) && na.NotApplicable()
}

// record adds an output to the manifest, its counts and the log.
func (r *runner) record(m *Manifest, o Output) {
	if o.Reasons == nil {
		o.Reasons = []string{}
	}
	switch o.Status {
	case StatusOK:
		m.Summary.OK++
	case StatusPartial:
		m.Summary.Partial++
	case StatusFailed:
		m.Summary.Failed++
	case StatusNotApplicable:
		m.Summary.NotApplicable++
	}
	if o.Status != StatusOK {
		r.logf("%s: %s: %s", o.Path, o.Status, strings.Join(o.Reasons, "; "))
	}
	m.Outputs = append(m.Outputs, o)
	if r.opts.Outcome != nil {
		r.opts.Outcome(o)
	}
}

// debugInfo says where symbols and types came from; the mode is
// "vmlinux" when one was given (even if a source fell back to the dump).
func debugInfo(k *kernel.Kernel) DebugInfo {
	d := DebugInfo{Mode: "dump-only", Types: k.TypesFrom(), Symbols: k.SymbolsFrom(), VMCOREINFO: k.VMCOREINFOFrom(),
		Fallbacks: nonNil(k.Warnings())}
	if k.Vmlinux() != nil {
		d.Mode = "vmlinux"
	}
	return d
}

// vmlinuxInput names the vmlinux given, nil when the dump is read alone.
func vmlinuxInput(k *kernel.Kernel) *FileInput {
	v := k.Vmlinux()
	if v == nil {
		return nil
	}
	return &FileInput{Name: v.Name, Size: v.Size}
}

func dumpInput(k *kernel.Kernel) DumpInput {
	info := k.DumpInfo()
	d := DumpInput{
		Format: info.Format, Inner: info.Inner,
		Compression: info.Compression, CompressionsSeen: nonNil(slices.Sorted(slices.Values(info.CompressionsSeen))),
		DumpLevel: info.DumpLevel, Incomplete: info.Incomplete, Truncated: info.Truncated,
		DumpedPages: info.DumpedPages, PageSize: info.PageSize, HeaderVersion: info.HeaderVersion,
		Machine: info.Machine, NrCPUs: info.NrCPUs, Split: info.Split,
		Parts: []Part{}, Warnings: nonNil(info.Warnings),
	}
	if !info.Timestamp.IsZero() && info.Timestamp.Unix() > 0 {
		d.Timestamp = info.Timestamp.UTC().Format(time.RFC3339)
	}
	for _, p := range info.Parts {
		d.Parts = append(d.Parts, Part{
			Name: p.Name, Size: p.Size, StartPFN: p.StartPFN, EndPFN: p.EndPFN,
			Split: p.Split, Flattened: p.Flattened, Truncated: p.Truncated, WantSize: p.WantSize,
		})
	}
	return d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 {
	return math.Round(float64(d.Microseconds())) / 1000
}

// panicFacts adds the culprit and the panicking CPU's first frames, from
// the unwinder (the traces are shared with the emitters of the run).
func panicFacts(c *emitters.Context, kc *Crashed) {
	kc.PanicFrames = []string{}
	if c.Prog == nil {
		// Without a program (the kernel's memory unreadable) there is no
		// stack to walk: say so rather than run the unwinder into nil.
		kc.Unreadable["culprit"] = "no kernel program"
		return
	}
	var pf emitters.PanicFacts
	r := isolate(context.Background(), kernelFactDeadline, func() error {
		var err error
		pf, err = emitters.Panic(c)
		return err
	})
	if err := r.err(); err != nil {
		kc.Unreadable["culprit"] = err.Error()
		return
	}
	kc.Culprit, kc.PanicFrames = pf.Culprit, pf.Frames
}
