// Command vmcore-report rebuilds what a crashed Linux machine's /proc, /sys
// and common commands would have shown, from its crash dump (and,
// optionally, the matching vmlinux), into a sosreport-style archive.
//
//	vmcore-report [--vmlinux FILE] [-o OUT] [--only PATHS] [--skip PATHS] [--list] VMCORE...
//
// Exit status: 0 when a report was written (even if some outputs failed:
// the manifest lists them), 1 when no report could be made, 2 on a usage
// error.
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
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/report"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = "devel"

const usage = `usage: vmcore-report [--vmlinux FILE [--dwarf]] [-o OUT] [--only PATHS] [--skip PATHS] [--list] VMCORE...

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
  --only PATHS    write only these archive paths: comma-separated globs, a
                  directory selecting what is under it (proc, proc/*/status,
                  sos_commands/kernel)
  --skip PATHS    do not write these archive paths (same syntax)
  --list          list every output with its tracker status and description

Exit status: 0 when a report was written (failed outputs are listed in its
sos_reports/manifest.json), 1 when no report could be made, 2 on a usage error.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
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
)

type config struct {
	vmlinux    string
	out        string
	only, skip []string
	list       bool
	dwarf      bool
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

func toolVersion() string {
	if version != "devel" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
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

	k, inputs, closeInputs, err := openInputs(cfg)
	if err != nil {
		return err
	}
	defer closeInputs()
	prog.note(describeInputs(cfg, k))
	if inputs.unreadable != nil {
		prog.note(fmt.Sprintf("warning: the crashed kernel's memory cannot be read from %s (%v); "+
			"the report will hold only the manifest: every output fails. Is the dump complete?", strings.Join(cfg.dumps, ", "), inputs.unreadable))
	}

	id := report.Identify(k)
	out, err := newOutput(cfg.out, id)
	if err != nil {
		return err
	}
	m, err := report.Run(ctx, k, report.Options{
		Filter:          filter,
		EmitterDeadline: cfg.emitterDeadline,
		ToolVersion:     toolVersion(),
		Vmlinux:         inputs.vmlinux,
		Emitters:        list,
		Progress:        prog.update,

		KernelUnreadable: inputs.unreadable,
	}, out.sink)
	prog.clear()
	if err != nil {
		out.abort()
		if ctx.Err() != nil {
			return fail(exitNoReport, "interrupted: no report written")
		}
		return fail(exitNoReport, "writing the report to %s failed: %v (check the free space and permissions there, or choose another -o)", out.name, err)
	}
	if err := out.finish(); err != nil {
		return err
	}
	summarize(stderr, out, m, time.Since(start))
	fmt.Fprintln(stdout, out.name)
	return nil
}

// output is where the report goes.
type output struct {
	name    string // what the user sees: the archive, or the report's folder
	sink    report.Sink
	archive bool
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

func newOutput(out string, id report.Identity) (*output, error) {
	top := id.TopDir()
	if out != "" && isDirOut(out) {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, fail(exitNoReport, "cannot create the output directory %s: %v (choose another -o)", out, err)
		}
		dest := filepath.Join(out, top)
		if _, err := os.Lstat(dest); err == nil {
			return nil, fail(exitNoReport, "%s already exists: remove it, or choose another -o", dest)
		}
		s, err := report.NewDirSink(out, id.CrashTime)
		if err != nil {
			return nil, fail(exitNoReport, "cannot write into %s: %v (choose another -o)", out, err)
		}
		return &output{name: dest, sink: s}, nil
	}
	if out == "" {
		out = top + report.TarXZ.Ext()
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

func (o *output) abort() {
	if o.tmp != nil {
		o.tmp.Close()
		os.Remove(o.tmp.Name())
	}
}

// finish closes the sink and, for an archive, moves it into place and
// writes the <archive>.sha256 sidecar.
func (o *output) finish() error {
	if err := o.sink.Close(); err != nil {
		o.abort()
		return fail(exitNoReport, "finishing %s failed: %v", o.name, err)
	}
	if !o.archive {
		return nil
	}
	err := o.buf.Flush()
	if err == nil {
		err = o.tmp.Chmod(0o644)
	}
	if err == nil {
		err = o.tmp.Close()
	}
	if err == nil {
		err = os.Rename(o.tmp.Name(), o.name)
	}
	if err != nil {
		o.abort()
		return fail(exitNoReport, "writing %s failed: %v (check the free space and permissions there, or choose another -o)", o.name, err)
	}
	side := o.name + ".sha256"
	if err := os.WriteFile(side, []byte(report.Sidecar(o.hasher.Sum(nil), o.name)), 0o644); err != nil {
		return fail(exitNoReport, "the report %s was written, but its checksum file %s was not: %v", o.name, side, err)
	}
	return nil
}

func describeInputs(cfg *config, k *kernel.Kernel) string {
	s := "kernel " + k.Info.OSRelease
	if k.Prog != nil {
		s += fmt.Sprintf(", types from %s, symbols from %s", k.TypesFrom, k.SymbolsFrom)
	}
	if cfg.vmlinux == "" {
		s += " (no --vmlinux: the dump alone)"
	}
	return s
}

// maxListedFailures bounds the failure reasons the summary lists.
const maxListedFailures = 10

func summarize(w io.Writer, out *output, m *report.Manifest, took time.Duration) {
	s := m.Summary
	what := out.name
	if out.archive {
		what = fmt.Sprintf("%s (%s)", out.name, humanBytes(out.size))
	}
	fmt.Fprintf(w, "vmcore-report: wrote %s in %.1fs\n", what, took.Seconds())
	fmt.Fprintf(w, "  %d files written (%d ok, %d partial), %d failed, %d not applicable\n",
		s.FilesWritten, s.OK, s.Partial, s.Failed, s.NotApplicable)
	if s.Outputs == 0 {
		fmt.Fprintln(w, "  --only/--skip left nothing to write: vmcore-report --list shows the paths")
	}
	if d := m.Inputs.Dump; len(d.MissingKernelPages) > 0 {
		// The last warning is the advice that goes with the missing pages.
		fmt.Fprintf(w, "  the dump is missing kernel pages: %s\n", d.Warnings[len(d.Warnings)-1])
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
	return fmt.Sprintf("%d bytes", n)
}
