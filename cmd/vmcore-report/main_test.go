package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/vmcore-report/vmcore-report/emitters"
	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/report"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "no dump given"},
		{[]string{"--bogus", "x"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"-o", "out.zip", "vmcore"}, exitUsage, "-o out.zip: unknown output format"},
		{[]string{"--only", "[", "vmcore"}, exitUsage, `bad path pattern "["`},
		{[]string{"--vmlinux=", "vmcore"}, exitUsage, "--vmlinux needs a file name"},
		{[]string{"vmcore", "-o"}, exitUsage, "flag needs an argument: -o"},
		{[]string{"-h"}, exitOK, ""},
		{[]string{"/nonexistent/vmcore"}, exitNoReport, "cannot read the dump file /nonexistent/vmcore: stat /nonexistent/vmcore: no such file or directory (check the path"},
		{[]string{t.TempDir()}, exitNoReport, "it is a directory"},
		{[]string{"-"}, exitNoReport, "standard input cannot be read at random offsets"},
	} {
		code, stdout, stderr := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d with %q", tc.args, code, stderr, tc.code, tc.want)
		}
		if code == exitOK && !strings.HasPrefix(stdout, "usage: vmcore-report") {
			t.Errorf("-h printed %q", stdout)
		}
	}
}

func TestNotADump(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.vmcore")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not a dump "), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{junk}, []string{junk + ": not a crash dump vmcore-report can read", "decompress"}},
		{[]string{empty}, []string{"cannot read the dump file " + empty, "empty"}},
		{[]string{"--vmlinux", junk, junk}, []string{"--vmlinux " + junk + " is not an ELF file", "not the compressed vmlinuz"}},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != exitNoReport {
			t.Errorf("%q: exit %d, want 1", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%q: stderr %q lacks %q", tc.args, stderr, w)
			}
		}
	}
	if entries, _ := os.ReadDir("."); slices.ContainsFunc(entries, func(e os.DirEntry) bool { return strings.Contains(e.Name(), ".tmp") }) {
		t.Errorf("a failed run left a temporary file in the working directory")
	}
}

func TestList(t *testing.T) {
	code, stdout, _ := runCLI(t, "--list")
	if code != exitOK || !strings.HasPrefix(stdout, "PATH") {
		t.Fatalf("--list: exit %d, %q", code, stdout)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")[1:]
	all := emitters.All()
	if len(lines) != len(all) {
		t.Errorf("--list printed %d emitters, the registry has %d", len(lines), len(all))
	}
	for i, e := range all {
		if i < len(lines) && (!strings.HasPrefix(lines[i], e.Path+" ") || !strings.Contains(lines[i], string(e.Tracker)) || !strings.Contains(lines[i], e.Desc)) {
			t.Errorf("--list line %q, want %s %s %s", lines[i], e.Path, e.Tracker, e.Desc)
		}
	}
	_, stdout, _ = runCLI(t, "--list", "--only", "proc/sys", "--skip", "proc/sys/vm")
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
		if !strings.HasPrefix(l, "proc/sys/") || strings.HasPrefix(l, "proc/sys/vm/") {
			t.Errorf("--list --only proc/sys --skip proc/sys/vm printed %q", l)
		}
	}
}

// entry is one archive member.
type entry struct {
	name    string
	typ     byte
	mode    int64
	modTime time.Time
	owner   string
	data    []byte
}

// readReport reads an archive (any format) or a report directory.
func readReport(t *testing.T, p string) []entry {
	t.Helper()
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		var es []entry
		err := filepath.Walk(p, func(f string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(filepath.Dir(p), f)
			e := entry{name: filepath.ToSlash(rel), mode: int64(fi.Mode().Perm()), modTime: fi.ModTime(), typ: tar.TypeReg}
			if fi.IsDir() {
				e.typ, e.name = tar.TypeDir, e.name+"/"
			} else if e.data, err = os.ReadFile(f); err != nil {
				return err
			}
			es = append(es, e)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	switch c, _ := report.CompressionFor(p); c {
	case report.TarGzip:
		if r, err = gzip.NewReader(f); err != nil {
			t.Fatal(err)
		}
	case report.TarXZ:
		if r, err = xz.NewReader(f); err != nil {
			t.Fatal(err)
		}
	}
	tr := tar.NewReader(r)
	var es []entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return es
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, entry{h.Name, h.Typeflag, h.Mode, h.ModTime, h.Uname + ":" + h.Gname + ":" + strconv.Itoa(h.Uid) + ":" + strconv.Itoa(h.Gid), data})
	}
}

func manifestOf(t *testing.T, es []entry) *report.Manifest {
	t.Helper()
	for _, e := range es {
		if strings.HasSuffix(e.name, "/"+report.ManifestPath) {
			var m report.Manifest
			if err := json.Unmarshal(e.data, &m); err != nil {
				t.Fatal(err)
			}
			return &m
		}
	}
	t.Fatal("no manifest in the report")
	return nil
}

// wantTop is the top folder a fixture's report must have.
func wantTop(t *testing.T, s *fixtures.Set) string {
	t.Helper()
	host, err := s.Truth("commands/hostname")
	if err != nil {
		t.Fatal(err)
	}
	end, err := s.Truth("meta/capture_end")
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := strconv.ParseInt(strings.TrimSpace(string(end)), 10, 64)
	// The crash follows the capture within seconds; the date is the same
	// unless the capture ended just before midnight.
	return "sosvmcore-" + strings.TrimSpace(string(host)) + "-" + time.Unix(sec, 0).UTC().Format("2006-01-02")
}

// aloneArgs returns the arguments that read the dump of role alone where
// its kernel allows it, and says whether they do. A kernel whose VMCOREINFO
// has no kallsyms tables (before v6.0: the set's note, read with
// debug/elf, says so) is first run alone and must be refused (exit 1, the
// sentence naming the VMCOREINFO entry the note lacks and --vmlinux); the
// arguments then give its vmlinux.
func aloneArgs(t *testing.T, s *fixtures.Set, role string) ([]string, bool) {
	t.Helper()
	missing := s.NeedsVmlinux(t)
	if missing == "" {
		return dumpArgs(s, role), true
	}
	checkNeedsVmlinux(t, s, missing, dumpArgs(s, role))
	return append([]string{"--vmlinux", s.KernelFile(t, "vmlinux")}, dumpArgs(s, role)...), false
}

// checkNeedsVmlinux runs the CLI on the dump alone, which must be refused
// for the VMCOREINFO symbol missing: exit 1, no report, and the one
// sentence that says why and what to give.
func checkNeedsVmlinux(t *testing.T, s *fixtures.Set, missing string, dump []string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "refused.tar")
	code, stdout, stderr := runCLI(t, append([]string{"-o", out}, dump...)...)
	want := "alone: a vmlinux is needed for this kernel: its VMCOREINFO has no SYMBOL(" + missing + ") "
	if _, err := os.Stat(out); code != exitNoReport || stdout != "" || err == nil || !strings.Contains(stderr, want) ||
		!strings.Contains(stderr, "with --vmlinux") || strings.Contains(stderr, "check that the dump is complete") {
		t.Fatalf("%s dump alone: exit %d, stdout %q, report written %v, stderr %q; want exit %d and %q", s.Manifest.ID, code, stdout, err == nil, stderr, exitNoReport, want)
	}
}

func dumpArgs(s *fixtures.Set, role string) []string {
	var args []string
	for _, f := range s.Parts(role) {
		args = append(args, f.Path)
	}
	return args
}

// checkReport checks what every report must satisfy and returns its
// manifest.
func checkReport(t *testing.T, s *fixtures.Set, es []entry, withVmlinux bool) *report.Manifest {
	t.Helper()
	top := wantTop(t, s)
	m := manifestOf(t, es)
	degraded := m.Kernel.Unreadable["memory"] != ""
	if m.Kernel.CrashTimeFrom == "unknown" { // e.g. the clock's page was cut off: no date in the name
		top = top[:len(top)-len("-2006-01-02")]
	}
	for _, e := range es {
		if e.name != top+"/" && !strings.HasPrefix(e.name, top+"/") {
			t.Errorf("entry %q outside the top folder %s", e.name, top)
		}
	}
	if m.Schema != report.SchemaVersion || m.Tool.Name != "vmcore-report" || m.Run.Started == "" {
		t.Errorf("manifest header: schema %d, tool %+v, run %+v", m.Schema, m.Tool, m.Run)
	}
	if m.Kernel.Release != s.Manifest.KernelRelease || m.Kernel.BuildID != s.Manifest.BuildID {
		t.Errorf("manifest kernel %+v, want %s %s", m.Kernel, s.Manifest.KernelRelease, s.Manifest.BuildID)
	}
	if (m.Inputs.Vmlinux != nil) != withVmlinux || (m.Debug.Mode == "vmlinux") != withVmlinux || !degraded && (m.Debug.Types == "" || m.Debug.Symbols == "") || m.Debug.VMCOREINFO == "" {
		t.Errorf("inputs.vmlinux %+v, debug_info %+v (vmlinux given: %v)", m.Inputs.Vmlinux, m.Debug, withVmlinux)
	}
	seen := map[string]bool{}
	names := map[string]bool{}
	for _, e := range es {
		names[e.name] = true
	}
	for _, o := range m.Outputs {
		seen[o.Emitter] = true
		written := names[top+"/"+o.Path]
		if (o.Status == report.StatusOK || o.Status == report.StatusPartial) != written {
			t.Errorf("%s: status %s, in archive: %v", o.Path, o.Status, written)
		}
		for _, r := range o.Reasons {
			if strings.HasPrefix(r, "panic:") {
				t.Errorf("%s panicked: %s", o.Path, r)
			}
		}
	}
	for _, e := range emitters.All() {
		if !seen[e.Path] {
			t.Errorf("emitter %s missing from the manifest", e.Path)
		}
	}
	return m
}

// TestEveryFixture runs the CLI on every dump of every fixture kernel
// (split parts together), with the vmlinux and from the dump alone.
func TestEveryFixture(t *testing.T) {
	for _, s := range fixtures.All(t) {
		roles := []string{}
		for _, f := range s.Manifest.Files {
			if !slices.Contains(roles, f.Role) {
				roles = append(roles, f.Role)
			}
		}
		for _, role := range roles {
			for _, withVmlinux := range []bool{true, false} {
				name := s.Manifest.ID + "/" + role + map[bool]string{true: "/vmlinux", false: "/dump-only"}[withVmlinux]
				t.Run(name, func(t *testing.T) {
					if missing := s.NeedsVmlinux(t); !withVmlinux && missing != "" {
						// Before v6.0 the dump alone is refused, whatever
						// its format (the /vmlinux run reads it).
						checkNeedsVmlinux(t, s, missing, dumpArgs(s, role))
						return
					}
					out := filepath.Join(t.TempDir(), "r.tar")
					args := []string{"-o", out}
					if withVmlinux {
						args = append(args, "--vmlinux", s.Manifest.Vmlinux.Path)
					}
					args = append(args, dumpArgs(s, role)...)
					code, stdout, stderr := runCLI(t, args...)
					if strings.TrimSpace(stdout) != out {
						t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
					}
					m := checkReport(t, s, readReport(t, out), withVmlinux)
					// A -d 31 file by a makedumpfile that does not know the
					// kernel may lack slab pages (7.2 by sid's 1.7.8: its
					// kdump formats lack many, its ELF none or a few, from
					// one build of the fixtures to the next); the report
					// then names them and is partial.
					mayLack := s.Role(role).MayLackKernelPages()
					missing := m.Inputs.Dump.MissingKernelPages
					want := exitOK
					if strings.Contains(role, "truncated") || len(missing) > 0 {
						want = exitPartial
					}
					if code != want {
						t.Fatalf("exit %d (want %d; missing kernel pages %v), stderr:\n%s", code, want, missing, stderr)
					}
					if n := len(s.Parts(role)); len(m.Inputs.Dump.Parts) != n {
						t.Errorf("manifest lists %d dump parts, want %d", len(m.Inputs.Dump.Parts), n)
					}
					if strings.Contains(role, "truncated") {
						if !m.Inputs.Dump.Truncated && !m.Inputs.Dump.Incomplete {
							t.Errorf("the truncated dump is not marked truncated: %+v", m.Inputs.Dump)
						}
						if len(emitters.All()) >= 5 && m.Summary.Failed+m.Summary.Partial == 0 {
							t.Errorf("nothing failed or was partial on a dump cut at 60%%")
						}
					}
					switch {
					case !mayLack && len(missing) > 0:
						t.Errorf("missing kernel pages %v, but makedumpfile %v knows this kernel (or the dump level keeps every kernel page)", missing, s.Role(role).Makedumpfile)
					case len(missing) > 0 && (!strings.Contains(stderr, "the dump is missing kernel pages: ") || !strings.Contains(stderr, "makedumpfile")):
						t.Errorf("missing kernel pages %v without the advice on stderr:\n%s", missing, stderr)
					case len(missing) > 0:
						t.Logf("made at -d 31 by makedumpfile %s (%s), which does not know the kernel: missing kernel pages %v", s.Role(role).Makedumpfile.Version, s.Role(role).Makedumpfile.Suite, missing)
					}
					if mayLack && !strings.Contains(role, "truncated") {
						for _, o := range m.Outputs {
							if o.Status == report.StatusFailed && (len(missing) == 0 || !slices.ContainsFunc(o.Reasons, func(r string) bool { return strings.Contains(r, "missing_kernel_pages") })) {
								t.Errorf("%s failed (missing kernel pages %v): %v", o.Path, missing, o.Reasons)
							}
						}
					}
					if !strings.Contains(stderr, "files written") {
						t.Errorf("no summary on stderr:\n%s", stderr)
					}
					t.Logf("%+v", m.Summary)
				})
			}
		}
	}
}

// TestFormatsAndDeterminism: every output format holds the same files;
// two runs give identical entries and data; the sidecar holds the
// archive's SHA-256.
func TestFormatsAndDeterminism(t *testing.T) {
	sets := fixtures.All(t)
	s := sets[0]
	dir := t.TempDir()
	var reports [][]entry
	for _, out := range []string{"a.tar.gz", "b.tar.gz", "c.tar.xz", "d.tar", "dir/"} {
		out = filepath.Join(dir, out)
		if strings.HasSuffix(out, "dir") {
			out += "/"
		}
		code, stdout, stderr := runCLI(t, append([]string{"-o", out, "--vmlinux", s.Manifest.Vmlinux.Path}, dumpArgs(s, "lzo-d31")...)...)
		if code != exitOK {
			t.Fatalf("%s: exit %d:\n%s", out, code, stderr)
		}
		p := strings.TrimSpace(stdout)
		reports = append(reports, readReport(t, p))
		if strings.HasSuffix(out, "/") {
			if p != filepath.Join(dir, "dir", wantTop(t, s)) {
				t.Errorf("directory report at %s", p)
			}
			continue
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		side, err := os.ReadFile(out + ".sha256")
		if want := hex.EncodeToString(sum[:]) + "  " + filepath.Base(out) + "\n"; err != nil || string(side) != want {
			t.Errorf("%s.sha256 = %q (%v), want %q", out, side, err, want)
		}
	}
	first := reports[0]
	checkReport(t, s, first, true)
	crash, _ := time.Parse(time.RFC3339, manifestOf(t, first).Kernel.CrashTime)
	for _, e := range first {
		wantMode := int64(0o644)
		if e.typ == tar.TypeDir {
			wantMode = 0o755
		}
		if e.mode != wantMode || !e.modTime.Equal(crash) || e.owner != "root:root:0:0" {
			t.Errorf("%s: mode %o, time %v, owner %s; want %o, %v, root:root:0:0", e.name, e.mode, e.modTime, e.owner, wantMode, crash)
		}
	}
	for i, r := range reports[1:] {
		if i+1 == len(reports)-1 {
			// The directory: no owner to compare, and the walk's order.
			slices.SortFunc(r, func(a, b entry) int { return strings.Compare(a.name, b.name) })
		}
		sorted := slices.Clone(first)
		if i+1 == len(reports)-1 {
			slices.SortFunc(sorted, func(a, b entry) int { return strings.Compare(a.name, b.name) })
		}
		if len(r) != len(sorted) {
			t.Fatalf("report %d has %d entries, the first %d", i+1, len(r), len(sorted))
		}
		for j := range r {
			a, b := sorted[j], r[j]
			if a.name != b.name || a.typ != b.typ || a.mode != b.mode || !a.modTime.Equal(b.modTime) {
				t.Errorf("report %d entry %d: %s %c %o %v, first report: %s %c %o %v", i+1, j, b.name, b.typ, b.mode, b.modTime, a.name, a.typ, a.mode, a.modTime)
			}
			switch {
			case strings.HasSuffix(a.name, "/"+report.ManifestPath):
				if x, y := stripTiming(t, a.data), stripTiming(t, b.data); x != y {
					t.Errorf("manifests differ beyond timing:\n%s\n%s", x, y)
				}
			case strings.HasSuffix(a.name, "/"+report.LogPath):
				if x, y := stripLogTimes(a.data), stripLogTimes(b.data); x != y {
					t.Errorf("logs differ beyond timing:\n%s\n%s", x, y)
				}
			case !bytes.Equal(a.data, b.data):
				t.Errorf("report %d: %s differs", i+1, a.name)
			}
		}
	}
}

// stripTiming zeroes the manifest's timing fields.
func stripTiming(t *testing.T, b []byte) string {
	var m report.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m.Run.Started, m.Run.DurationMS = "", 0
	for i := range m.Outputs {
		m.Outputs[i].DurationMS = 0
	}
	out, _ := json.MarshalIndent(m, "", " ")
	return string(out)
}

func stripLogTimes(b []byte) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "[") {
			if i := strings.Index(l, "] "); i > 0 {
				l = l[i+2:]
			}
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func TestDefaultName(t *testing.T) {
	s := fixtures.All(t)[0]
	dir := t.TempDir()
	t.Chdir(dir)
	args, alone := aloneArgs(t, s, "lzo-d31")
	code, stdout, stderr := runCLI(t, append([]string{"--only", "proc/version"}, args...)...)
	want := wantTop(t, s) + ".tar.xz"
	if code != exitOK || strings.TrimSpace(stdout) != want {
		t.Fatalf("exit %d, stdout %q, want %s; stderr:\n%s", code, stdout, want, stderr)
	}
	for _, f := range []string{want, want + ".sha256"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if strings.Contains(stderr, "no --vmlinux: the dump alone") != alone {
		t.Errorf("stderr does not say whether the dump was read alone (%v):\n%s", alone, stderr)
	}
}

// TestWrongVmlinux: the 6.1 dump with the 6.12 vmlinux is refused, naming
// both kernels.
func TestWrongVmlinux(t *testing.T) {
	sets := fixtures.All(t)
	if len(sets) < 2 {
		fixtures.Missing(t, fmt.Errorf("needs two fixture kernels, have %d", len(sets)))
	}
	a, b := sets[0], sets[1]
	out := filepath.Join(t.TempDir(), "r.tar")
	code, stdout, stderr := runCLI(t, append([]string{"-o", out, "--vmlinux", b.Manifest.Vmlinux.Path}, dumpArgs(a, "lzo-d31")...)...)
	if code != exitNoReport || stdout != "" {
		t.Fatalf("exit %d, stdout %q; want 1", code, stdout)
	}
	for _, w := range []string{
		a.Manifest.KernelRelease, a.Manifest.BuildID, b.Manifest.KernelRelease, b.Manifest.BuildID,
		b.Manifest.Vmlinux.Path, "leave out --vmlinux",
	} {
		if !strings.Contains(stderr, w) {
			t.Errorf("the message lacks %q:\n%s", w, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a report was written")
	}
}

func TestOnlySkip(t *testing.T) {
	s := fixtures.All(t)[0]
	args, _ := aloneArgs(t, s, "lzo-d31")
	dir := t.TempDir()
	for _, tc := range []struct {
		flags []string
		keep  func(string) bool
	}{
		{[]string{"--only", "proc/sys,sos_commands/kernel/uname_-a"}, func(p string) bool {
			return strings.HasPrefix(p, "proc/sys/") || p == "sos_commands/kernel/uname_-a"
		}},
		{[]string{"--skip", "proc", "--skip", "sys"}, func(p string) bool {
			return !strings.HasPrefix(p, "proc/") && !strings.HasPrefix(p, "sys/")
		}},
	} {
		out := filepath.Join(dir, "r.tar")
		code, _, stderr := runCLI(t, append(append([]string{"-o", out}, tc.flags...), args...)...)
		if code != exitOK {
			t.Fatalf("%q: exit %d:\n%s", tc.flags, code, stderr)
		}
		m := manifestOf(t, readReport(t, out))
		kept := map[string]bool{}
		for _, o := range m.Outputs {
			kept[o.Emitter] = true
			if !tc.keep(o.Path) {
				t.Errorf("%q: %s in the report", tc.flags, o.Path)
			}
		}
		for _, e := range emitters.All() {
			if want := tc.keep(strings.ReplaceAll(e.Path, "{pid}", "1")); want != kept[e.Path] || want == slices.Contains(m.Skipped, e.Path) {
				t.Errorf("%q: %s kept %v, skipped %v; want kept %v", tc.flags, e.Path, kept[e.Path], slices.Contains(m.Skipped, e.Path), want)
			}
		}
		os.Remove(out)
		os.Remove(out + ".sha256")
	}
}

func TestArgsAfterDump(t *testing.T) {
	cfg, err := parseArgs([]string{"a", "--vmlinux", "v", "b", "-o", "x.tar", "--", "-c"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.dumps, []string{"a", "b", "-c"}) || cfg.vmlinux != "v" || cfg.out != "x.tar" {
		t.Errorf("parsed %+v", cfg)
	}
}

// TestDWARFTypes: --dwarf reads types from the vmlinux's DWARF and gives the
// same data files as BTF.
func TestDWARFTypes(t *testing.T) {
	s := fixtures.All(t)[0]
	files := map[string]map[string]string{}
	for _, mode := range []string{"btf", "dwarf"} {
		out := filepath.Join(t.TempDir(), "r.tar")
		args := []string{"-o", out, "--vmlinux", s.Manifest.Vmlinux.Path}
		if mode == "dwarf" {
			args = append(args, "--dwarf")
		}
		args = append(args, dumpArgs(s, "lzo-d31")...)
		if code, _, stderr := runCLI(t, args...); code != exitOK {
			t.Fatalf("%s: exit %d:\n%s", mode, code, stderr)
		}
		es := readReport(t, out)
		m := manifestOf(t, es)
		if got := strings.HasPrefix(m.Debug.Types, "DWARF"); got != (mode == "dwarf") {
			t.Errorf("%s: types from %q", mode, m.Debug.Types)
		}
		files[mode] = map[string]string{}
		for _, e := range es {
			if !strings.Contains(e.name, "sos_reports/") && !strings.Contains(e.name, "sos_logs/") {
				files[mode][e.name] = string(e.data)
			}
		}
	}
	if len(files["btf"]) != len(files["dwarf"]) {
		t.Errorf("%d files with BTF, %d with DWARF", len(files["btf"]), len(files["dwarf"]))
	}
	for name, b := range files["btf"] {
		if d, ok := files["dwarf"][name]; !ok || d != b {
			t.Errorf("%s differs between BTF and DWARF types", name)
		}
	}
	if code, _, _ := runCLI(t, "--dwarf", dumpArgs(s, "lzo-d31")[0]); code != exitUsage {
		t.Errorf("--dwarf without --vmlinux: exit %d, want %d", code, exitUsage)
	}
}
