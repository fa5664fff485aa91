// Command vmcore-report rebuilds what a crashed Linux machine's /proc, /sys
// and common commands would have shown, from its crash dump (and,
// optionally, the matching vmlinux), into a sosreport-style archive.
//
//	vmcore-report [--vmlinux FILE] [-o OUT] [--only PATHS] [--skip PATHS] [--list] VMCORE...
//
// Exit status: 0 when a complete report was written, 3 when a report was
// written but is partial (outputs failed, or the dump is truncated or
// incomplete: the manifest says which), 1 when no report could be made, 2
// on a usage error. Ctrl-C (or SIGTERM) stops the run within a moment,
// removes what it had written and exits 1.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/report"
)

const usage = `usage: vmcore-report [--vmlinux FILE [--dwarf]] [-o OUT [--force]] [--only PATHS] [--skip PATHS] [--json] [--list] VMCORE...

Rebuilds /proc, /sys and command outputs of a crashed Linux kernel from its
crash dump into a sosreport-style archive.

  VMCORE...       the crash dump (ELF, kdump-compressed or flattened); several
                  files are the parts of a split dump (makedumpfile --split)
  --vmlinux FILE  the crashed kernel's vmlinux with debug info; without it,
                  symbols and types come from the dump itself (kallsyms and
                  BTF, Linux >= 6.0)
  --dwarf         take types from the vmlinux's DWARF instead of its BTF
  -o OUT          NAME.tar.xz (the default format), NAME.tar.gz, NAME.tar, or a
                  directory (ending in / or existing) that receives the
                  report's top folder; by default
                  sosvmcore-<nodename>-<crash date>.tar.xz in the current directory
                  (with -2, -3… added when that name is taken)
  --force         replace an existing -o file or report folder (never an input)
  --only PATHS    write only these archive paths: comma-separated globs, a
                  directory selecting what is under it (proc, proc/*/status,
                  sos_commands/kernel)
  --skip PATHS    do not write these archive paths (same syntax)
  --json          print the triage summary (panic, culprit, task, CPU, first
                  frames, counts) as JSON on stdout instead of the archive's name
  --list          list every output with its tracker status and description

Exit status: 0 when a complete report was written; 3 when a report was
written but is partial: some outputs failed, or the dump is truncated or
incomplete (sos_reports/manifest.json says which); 1 when no report could be
made (or the run was interrupted); 2 on a usage error.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := runContext(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it directly.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// Exit statuses.
const (
	exitOK       = 0
	exitNoReport = 1
	exitUsage    = 2
	exitPartial  = 3 // a report was written, but it is partial
)

type config struct {
	vmlinux    string
	out        string
	only, skip []string
	list       bool
	dwarf      bool
	force      bool
	json       bool
	dumps      []string

	// Set by tests only.
	emitterList     []*emitters.Emitter
	emitterDeadline time.Duration
}

// failure is an error the user can act on; msg says what and what to do.
type failure struct {
	code int
	msg  string
}

func (f *failure) Error() string { return f.msg }

func fail(code int, format string, args ...any) error {
	return &failure{code, fmt.Sprintf(format, args...)}
}

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if err == nil {
		err = generate(ctx, cfg, stdout, stderr)
	}
	if err == nil {
		return exitOK
	}
	var f *failure
	if !errors.As(err, &f) {
		f = &failure{exitNoReport, err.Error()}
	}
	if f.msg == "" {
		return f.code // the summary has said it all
	}
	fmt.Fprintf(stderr, "vmcore-report: %s\n", f.msg)
	if f.code == exitUsage {
		fmt.Fprintln(stderr, "Run vmcore-report -h for help.")
	}
	return f.code
}

func parseArgs(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("vmcore-report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.vmlinux, "vmlinux", "", "")
	fs.StringVar(&c.out, "o", "", "")
	fs.Func("only", "", func(s string) error { c.only = append(c.only, splitList(s)...); return nil })
	fs.Func("skip", "", func(s string) error { c.skip = append(c.skip, splitList(s)...); return nil })
	fs.BoolVar(&c.list, "list", false, "")
	fs.BoolVar(&c.dwarf, "dwarf", false, "")
	fs.BoolVar(&c.force, "force", false, "")
	fs.BoolVar(&c.json, "json", false, "")
	// Flags may follow the dump names: parse, take one name, parse on.
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fail(exitUsage, "%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			c.dumps = append(c.dumps, rest...)
			break
		}
		c.dumps = append(c.dumps, rest[0])
		args = rest[1:]
	}
	if err := (report.Filter{Only: c.only, Skip: c.skip}).Validate(); err != nil {
		return nil, fail(exitUsage, "%v", err)
	}
	if c.list {
		return c, nil
	}
	if len(c.dumps) == 0 {
		return nil, fail(exitUsage, "no dump given: name the vmcore file (or every part of a split dump)")
	}
	if c.out != "" && !isDirOut(c.out) {
		if _, ok := report.CompressionFor(c.out); !ok {
			return nil, fail(exitUsage, "-o %s: unknown output format: name it .tar.xz, .tar.gz or .tar, or give a directory (ending in /)", c.out)
		}
	}
	if c.dwarf && c.vmlinux == "" {
		return nil, fail(exitUsage, "--dwarf needs --vmlinux: DWARF comes from the vmlinux")
	}
	if c.vmlinux == "" && flagSet(fs, "vmlinux") {
		return nil, fail(exitUsage, "--vmlinux needs a file name")
	}
	return c, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// isDirOut says whether -o names a directory.
func isDirOut(out string) bool {
	if strings.HasSuffix(out, "/") || strings.HasSuffix(out, string(filepath.Separator)) {
		return true
	}
	fi, err := os.Stat(out)
	return err == nil && fi.IsDir()
}

// listEmitters prints every output the filter selects.
func listEmitters(w io.Writer, list []*emitters.Emitter, filter report.Filter) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tTRACKER\tDESCRIPTION")
	for _, e := range list {
		if !filter.Selects(e.Path, e.Path) {
			continue
		}
		desc := e.Desc
		if e.Tracker == emitters.Partial && e.Note != "" {
			desc += " (missing: " + e.Note + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Path, e.Tracker, desc)
	}
	return tw.Flush()
}

// unreadableWarning says that the kernel's memory cannot be read from the
// dumps, asking whether the dump is complete only when it is cut short
// (issue 17: the question came after corruption too).
func unreadableWarning(dumps []string, err error) string {
	hint := ""
	if errors.Is(err, kernel.ErrTruncated) {
		hint = " Is the dump complete?"
	}
	return fmt.Sprintf("warning: the crashed kernel's memory cannot be read from %s (%v); "+
		"the report will hold only the manifest: every output fails.%s", strings.Join(dumps, ", "), err, hint)
}

// generate makes the report.
func generate(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	list := cfg.emitterList
	if list == nil {
		list = emitters.All()
	}
	filter := report.Filter{Only: cfg.only, Skip: cfg.skip}
	if cfg.list {
		return listEmitters(stdout, list, filter)
	}
	start := time.Now()
	prog := newProgress(stderr)

	in, closeInputs, err := openInputs(cfg)
	if err != nil {
		return err
	}
	defer closeInputs()
	var (
		out  *output
		keep *keepSys
	)
	m, err := report.Analyze(ctx, in, report.Options{
		Filter:          filter,
		EmitterDeadline: cfg.emitterDeadline,
		Emitters:        list,
		Progress:        prog.update,
	}, func(o report.Opened) (report.Sink, error) {
		prog.note(describeInputs(cfg, o.Kernel))
		if u := o.Kernel.Unreadable(); u != nil {
			prog.note(unreadableWarning(cfg.dumps, u))
		}
		var err error
		if out, err = newOutput(cfg, o.Identity); err != nil {
			return nil, err
		}
		keep = &keepSys{Sink: out.sink, top: o.Identity.TopDir()}
		return keep, nil
	})
	prog.clear()
	if err != nil {
		if out != nil {
			out.abort()
		}
		var f *failure
		switch {
		case ctx.Err() != nil:
			return fail(exitNoReport, "interrupted: no report written")
		case errors.As(err, &f):
			return f // the output could not be made: newOutput said why
		case out == nil:
			return explainOpenError(cfg, err)
		}
		return fail(exitNoReport, "writing the report to %s failed: %v (check the free space and permissions there, or choose another -o)", out.name, err)
	}
	if ctx.Err() != nil {
		out.abort()
		return fail(exitNoReport, "interrupted: no report written")
	}
	if err := out.finish(); err != nil {
		return err
	}
	t := triageOf(m, keep.sys, out)
	summarize(stderr, out, m, t, time.Since(start))
	if cfg.json {
		if err := writeJSON(stdout, t); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stdout, out.name)
	}
	if partial(m) {
		return &failure{code: exitPartial}
	}
	return nil
}

// partial says whether a written report is partial: exit status 3.
func partial(m *report.Manifest) bool {
	d := m.Inputs.Dump
	return m.Summary.Failed > 0 || len(d.MissingKernelPages) > 0 || d.Truncated || d.Incomplete || m.Kernel.Unreadable["memory"] != "" || m.Run.DeadlineExceeded
}

// output is where the report goes.
type output struct {
	name    string // what the user sees: the archive, or the report's folder
	sink    report.Sink
	archive bool
	// A folder report is written into tmpDir (beside the final folder) and
	// renamed to name when complete; replace is an existing folder that
	// --force allows to go once the new one is in place.
	tmpDir, replace string
	// Archives are written to a temporary file beside the final name and
	// renamed at the end, so a failed run leaves no half archive.
	tmp    *os.File
	buf    *bufio.Writer
	hasher interface {
		io.Writer
		Sum([]byte) []byte
	}
	size int64
}

func newOutput(cfg *config, id report.Identity) (*output, error) {
	out := cfg.out
	inputs := append([]string{cfg.vmlinux}, cfg.dumps...)
	top := id.TopDir()
	if out != "" && isDirOut(out) {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, fail(exitNoReport, "cannot create the output directory %s: %v (choose another -o)", out, err)
		}
		dest := filepath.Join(out, top)
		if err := checkNotInput(dest, inputs); err != nil {
			return nil, err
		}
		o := &output{name: dest}
		if exists(dest) {
			if !cfg.force {
				return nil, fail(exitNoReport, "%s already exists: remove it, choose another -o, or give --force to replace it", dest)
			}
			o.replace = dest
		}
		tmp, err := tempDirBeside(dest)
		if err != nil {
			return nil, fail(exitNoReport, "cannot write into %s: %v (choose another -o)", out, err)
		}
		o.tmpDir = tmp
		if o.sink, err = report.NewDirSink(tmp, id.CrashTime); err != nil {
			os.RemoveAll(tmp)
			return nil, fail(exitNoReport, "cannot write into %s: %v (choose another -o)", out, err)
		}
		return o, nil
	}
	if out == "" {
		out = freeName(top+report.TarXZ.Ext(), report.TarXZ.Ext())
	} else {
		if err := checkNotInput(out, inputs); err != nil {
			return nil, err
		}
		if exists(out) && !cfg.force {
			return nil, fail(exitNoReport, "%s already exists: choose another -o, or give --force to replace it", out)
		}
	}
	comp, _ := report.CompressionFor(out)
	if fi, err := os.Stat(out); err == nil && !fi.Mode().IsRegular() {
		return nil, fail(exitNoReport, "%s exists and is not a regular file: choose another -o", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return nil, fail(exitNoReport, "cannot create %s: %v (check that its directory exists and is writable, or choose another -o)", out, err)
	}
	o := &output{name: out, archive: true, tmp: tmp, hasher: sha256.New()}
	o.buf = bufio.NewWriterSize(io.MultiWriter(tmp, o.hasher, (*countWriter)(&o.size)), 1<<20)
	o.sink, err = report.NewTarSink(o.buf, comp, id.CrashTime)
	if err != nil {
		o.abort()
		return nil, err
	}
	return o, nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// abort removes what the run wrote.
func (o *output) abort() {
	if o.tmp != nil {
		o.tmp.Close()
		os.Remove(o.tmp.Name())
	}
	if o.tmpDir != "" {
		os.RemoveAll(o.tmpDir)
	}
}

// finish closes the sink and moves the report into place: for an archive,
// the <archive>.sha256 sidecar is written first, so that an archive in
// place always has its checksum; for a folder, the complete folder is
// renamed into place.
func (o *output) finish() error {
	if err := o.sink.Close(); err != nil {
		o.abort()
		return fail(exitNoReport, "finishing %s failed: %v", o.name, err)
	}
	if !o.archive {
		return o.finishDir()
	}
	err := o.buf.Flush()
	if err == nil {
		err = o.tmp.Chmod(0o644)
	}
	if err == nil {
		err = o.tmp.Close()
	}
	side := o.name + ".sha256"
	if err == nil {
		err = writeFileAtomic(side, []byte(report.Sidecar(o.hasher.Sum(nil), o.name)))
	}
	if err == nil {
		if err = os.Rename(o.tmp.Name(), o.name); err != nil {
			os.Remove(side)
		}
	}
	if err != nil {
		o.abort()
		return fail(exitNoReport, "writing %s failed: %v (check the free space and permissions there, or choose another -o)", o.name, err)
	}
	return nil
}

// finishDir renames the complete report folder into place, replacing the
// old one (with --force) only once the new one is there.
func (o *output) finishDir() error {
	src := filepath.Join(o.tmpDir, filepath.Base(o.name))
	var old string
	if o.replace != "" {
		old = o.tmpDir + ".old"
		if err := os.Rename(o.replace, old); err != nil {
			o.abort()
			return fail(exitNoReport, "cannot replace %s: %v", o.replace, err)
		}
	}
	if err := os.Rename(src, o.name); err != nil {
		if old != "" {
			os.Rename(old, o.replace)
		}
		o.abort()
		return fail(exitNoReport, "writing %s failed: %v (check the permissions there, or choose another -o)", o.name, err)
	}
	os.Remove(o.tmpDir)
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside name and renames
// it into place.
func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

func describeInputs(cfg *config, k *kernel.Kernel) string {
	s := "kernel " + k.Release()
	if k.Program() != nil {
		s += fmt.Sprintf(", types from %s, symbols from %s", k.TypesFrom(), k.SymbolsFrom())
	}
	if cfg.vmlinux == "" {
		s += " (no --vmlinux: the dump alone)"
	}
	return s
}

// maxListedFailures bounds the failure reasons the summary lists.
const maxListedFailures = 10

func summarize(w io.Writer, out *output, m *report.Manifest, t Triage, took time.Duration) {
	s := m.Summary
	what := out.name
	if out.archive {
		what = fmt.Sprintf("%s (%s)", out.name, humanBytes(out.size))
	}
	fmt.Fprintf(w, "vmcore-report: wrote %s in %.1fs\n", what, took.Seconds())
	printTriage(w, t)
	fmt.Fprintf(w, "  %d files written (%d ok, %d partial), %d failed, %d not applicable\n",
		s.FilesWritten, s.OK, s.Partial, s.Failed, s.NotApplicable)
	if s.Outputs == 0 {
		fmt.Fprintln(w, "  --only/--skip left nothing to write: vmcore-report --list shows the paths")
	}
	if d := m.Inputs.Dump; len(d.MissingKernelPages) > 0 {
		// The last warning is the advice that goes with the missing pages.
		fmt.Fprintf(w, "  the dump is missing kernel pages: %s\n", d.Warnings[len(d.Warnings)-1])
	}
	// The dump's state as the manifest records it, in the same words.
	if d := m.Inputs.Dump; d.Truncated || d.Incomplete {
		state := "truncated (the files end before data they describe)"
		if !d.Truncated {
			state = "incomplete (its producer did not finish it)"
		} else if d.Incomplete {
			state = "truncated and incomplete"
		}
		fmt.Fprintf(w, "  the dump is %s: a partial report\n", state)
	}
	for _, f := range m.Debug.Fallbacks {
		fmt.Fprintf(w, "  fallback: %s\n", f)
	}
	if m.Run.DeadlineExceeded {
		fmt.Fprintf(w, "  the run's deadline (%d s) was exceeded: later outputs were not run\n", m.Run.DeadlineMS/1000)
	}
	// Failures grouped by reason: one broken structure often fails many
	// outputs the same way.
	type group struct {
		reason string
		paths  []string
	}
	var groups []*group
	byReason := map[string]*group{}
	for _, o := range m.Outputs {
		if o.Status != report.StatusFailed {
			continue
		}
		r := strings.Join(o.Reasons, "; ")
		g := byReason[r]
		if g == nil {
			g = &group{reason: r}
			byReason[r] = g
			groups = append(groups, g)
		}
		g.paths = append(g.paths, o.Path)
	}
	for i, g := range groups {
		if i == maxListedFailures {
			fmt.Fprintf(w, "  … and %d more failure reasons\n", len(groups)-i)
			break
		}
		if i == 0 {
			fmt.Fprintln(w, "  failed:")
		}
		paths := strings.Join(g.paths[:min(len(g.paths), 3)], ", ")
		if len(g.paths) > 3 {
			paths += fmt.Sprintf(" and %d more", len(g.paths)-3)
		}
		fmt.Fprintf(w, "    %s: %s\n", paths, g.reason)
	}
	if s.Failed+s.Partial > 0 {
		fmt.Fprintf(w, "  details: %s and %s in the report\n", report.ManifestPath, report.LogPath)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
