package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters"
	"github.com/vmcore-report/vmcore-report/kernel"
)

// memSink keeps the files in memory, in the order written.
type memSink struct {
	names  []string
	files  map[string][]byte
	closed bool
}

func newMemSink() *memSink { return &memSink{files: map[string][]byte{}} }

func (s *memSink) AddFile(name string, data []byte, mode fs.FileMode) error {
	if mode != 0o644 {
		return fmt.Errorf("%s: mode %v", name, mode)
	}
	if _, dup := s.files[name]; dup {
		return fmt.Errorf("%s written twice", name)
	}
	s.names = append(s.names, name)
	s.files[name] = append([]byte(nil), data...)
	return nil
}

func (s *memSink) Close() error { s.closed = true; return nil }

// notApplicableErr is how an emitter says "nothing to write here".
type notApplicableErr struct{}

func (notApplicableErr) Error() string       { return "no such subsystem in this kernel" }
func (notApplicableErr) NotApplicable() bool { return true }

// testEmitters has one emitter per way of ending, and ok ones around them
// to show the run goes on.
func testEmitters(hang <-chan struct{}) []*emitters.Emitter {
	write := func(s string) func(*emitters.Context, int64, *emitters.Output) error {
		return func(_ *emitters.Context, _ int64, out *emitters.Output) error {
			out.WriteString(s)
			return nil
		}
	}
	return []*emitters.Emitter{
		{Path: "a/ok", Desc: "ok", Tracker: emitters.Done, Run: write("fine\n")},
		{Path: "a/partial", Desc: "partial", Tracker: emitters.Partial, Note: "half", Run: func(_ *emitters.Context, _ int64, out *emitters.Output) error {
			out.WriteString("half\n")
			out.Partial("field %s unreadable", "x")
			return nil
		}},
		{Path: "b/fail", Run: func(_ *emitters.Context, _ int64, out *emitters.Output) error {
			out.WriteString("junk that must not be written")
			return fmt.Errorf("read thing: %w", errors.New("page excluded from dump"))
		}},
		{Path: "b/panic", Run: func(*emitters.Context, int64, *emitters.Output) error {
			var m map[string]int
			m["x"]++ // assignment to entry in nil map
			return nil
		}},
		{Path: "c/hang", Run: func(*emitters.Context, int64, *emitters.Output) error {
			<-hang
			return nil
		}},
		{Path: "c/goexit", Run: func(*emitters.Context, int64, *emitters.Output) error {
			runtime.Goexit()
			return nil
		}},
		{Path: "d/not-applicable", Run: func(*emitters.Context, int64, *emitters.Output) error {
			return fmt.Errorf("wrapped: %w", notApplicableErr{})
		}},
		{Path: "d/empty", Run: write("")},
		{Path: "sos_reports/manifest.json", Run: write("clash")},
		{Path: "z/last", Run: write("still here\n")},
	}
}

// emptyKernel is a kernel with nothing in it: every fact is unreadable.
func emptyKernel() *kernel.Kernel { return &kernel.Kernel{} }

func TestIsolation(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	list := testEmitters(hang)
	list = append(list, &emitters.Emitter{Path: "proc/{pid}/x", Each: emitters.PerPID, Run: func(*emitters.Context, int64, *emitters.Output) error { return nil }})
	sink := newMemSink()
	var stages []string
	start := time.Now()
	m, err := Run(context.Background(), emptyKernel(), Options{
		Emitters: list, EmitterDeadline: 300 * time.Millisecond, ToolVersion: "test",
		Progress: func(p Progress) {
			if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
				stages = append(stages, p.Stage)
			}
		},
	}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("run took %v; the hanging emitter should cost its deadline only", d)
	}
	want := map[string]struct {
		status, reason string
	}{
		"a/ok":                      {StatusOK, ""},
		"a/partial":                 {StatusPartial, "field x unreadable"},
		"b/fail":                    {StatusFailed, "read thing: page excluded from dump"},
		"b/panic":                   {StatusFailed, "panic: assignment to entry in nil map (at report/run_test.go:"},
		"c/hang":                    {StatusFailed, "deadline exceeded"},
		"c/goexit":                  {StatusFailed, "runtime.Goexit"},
		"d/not-applicable":          {StatusNotApplicable, "no such subsystem"},
		"d/empty":                   {StatusOK, ""},
		"sos_reports/manifest.json": {StatusFailed, "bad registry entry"},
		"z/last":                    {StatusOK, ""},
		"proc/{pid}/x":              {StatusFailed, "process list: no kernel program"},
	}
	var paths []string
	for _, o := range m.Outputs {
		paths = append(paths, o.Path)
		w, ok := want[o.Path]
		if !ok {
			t.Errorf("unexpected output %q", o.Path)
			continue
		}
		if o.Status != w.status || w.reason != "" && !strings.Contains(strings.Join(o.Reasons, "; "), w.reason) {
			t.Errorf("%s: status %s, reasons %q; want %s with %q", o.Path, o.Status, o.Reasons, w.status, w.reason)
		}
		if o.Status == StatusOK && len(o.Reasons) != 0 {
			t.Errorf("%s: ok with reasons %q", o.Path, o.Reasons)
		}
		top := "sosvmcore-unknown/"
		data, written := sink.files[top+o.Path]
		if o.Path == ManifestPath {
			continue
		}
		switch o.Status {
		case StatusOK, StatusPartial:
			if !written || int64(len(data)) != o.Size || sha256Hex(data) != o.SHA256 {
				t.Errorf("%s: written %v, %d bytes, sha %s; manifest says %d bytes, %s", o.Path, written, len(data), sha256Hex(data), o.Size, o.SHA256)
			}
		default:
			if written || o.Size != 0 || o.SHA256 != "" {
				t.Errorf("%s: %s but written (%v) or sized (%d, %q)", o.Path, o.Status, written, o.Size, o.SHA256)
			}
		}
	}
	if len(m.Outputs) != len(want) {
		t.Errorf("outputs %q, want %d", paths, len(want))
	}
	if !slices.IsSortedFunc(paths, func(a, b string) int {
		if pathLess(a, b) {
			return -1
		}
		return 1
	}) {
		t.Errorf("outputs not in path order: %q", paths)
	}
	s := m.Summary
	if s.OK != 3 || s.Partial != 1 || s.Failed != 6 || s.NotApplicable != 1 || s.FilesWritten != 4 || s.Outputs != 11 || s.Emitters != 11 {
		t.Errorf("summary %+v", s)
	}
	wantNames := []string{"a/ok", "a/partial", "d/empty", "z/last", LogPath, ManifestPath, VersionPath}
	for i := range wantNames {
		wantNames[i] = "sosvmcore-unknown/" + wantNames[i]
	}
	if !slices.Equal(sink.names, wantNames) {
		t.Errorf("files written %q, want %q", sink.names, wantNames)
	}
	if sink.closed {
		t.Errorf("Run closed the sink")
	}
	log := string(sink.files["sosvmcore-unknown/"+LogPath])
	if !strings.Contains(log, "b/panic: panic: assignment to entry in nil map") || !strings.Contains(log, "run_test.go:") {
		t.Errorf("the log lacks the panic and its stack:\n%s", log)
	}
	if !slices.Equal(stages, []string{StageKernel, StageEnumerate, StageEmit, StageFinish, StageDone}) {
		t.Errorf("progress stages %q", stages)
	}
	var back Manifest
	if err := json.Unmarshal(sink.files["sosvmcore-unknown/"+ManifestPath], &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != SchemaVersion || back.Tool.Version != "test" || back.Kernel.CrashTimeFrom != "unknown" ||
		back.Kernel.Unreadable["nodename"] == "" || back.Kernel.Unreadable["panic_message"] == "" || back.Inputs.Vmlinux != nil {
		t.Errorf("manifest %+v", back)
	}
	if v := string(sink.files["sosvmcore-unknown/"+VersionPath]); v != "vmcore-report: test\n" {
		t.Errorf("version.txt %q", v)
	}
}

func TestRunDeadline(t *testing.T) {
	slow := func(*emitters.Context, int64, *emitters.Output) error { time.Sleep(120 * time.Millisecond); return nil }
	var list []*emitters.Emitter
	for i := range 6 {
		list = append(list, &emitters.Emitter{Path: fmt.Sprintf("slow/%d", i), Run: slow})
	}
	m, err := Run(context.Background(), emptyKernel(), Options{Emitters: list, Deadline: 300 * time.Millisecond}, newMemSink())
	if err != nil {
		t.Fatal(err)
	}
	if !m.Run.DeadlineExceeded || m.Summary.Failed == 0 || m.Summary.OK == 0 {
		t.Fatalf("deadline not applied: %+v", m.Summary)
	}
	last := m.Outputs[len(m.Outputs)-1]
	if last.Status != StatusFailed || !strings.Contains(last.Reasons[0], "not run") {
		t.Errorf("last output %+v", last)
	}
}

func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	list := []*emitters.Emitter{
		{Path: "a", Run: func(*emitters.Context, int64, *emitters.Output) error { cancel(); time.Sleep(time.Second); return nil }},
		{Path: "b", Run: func(*emitters.Context, int64, *emitters.Output) error { return nil }},
	}
	sink := newMemSink()
	if _, err := Run(ctx, emptyKernel(), Options{Emitters: list}, sink); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if len(sink.names) != 0 {
		t.Errorf("written after cancel: %q", sink.names)
	}
}

func TestFilterRun(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	list := testEmitters(hang)
	m, err := Run(context.Background(), emptyKernel(), Options{
		Emitters: list, Filter: Filter{Only: []string{"a", "d/*", "z/last"}, Skip: []string{"d/empty"}},
	}, newMemSink())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range m.Outputs {
		got = append(got, o.Path)
	}
	if want := []string{"a/ok", "a/partial", "d/not-applicable", "z/last"}; !slices.Equal(got, want) {
		t.Errorf("outputs %q, want %q", got, want)
	}
	if want := []string{"b/fail", "b/panic", "c/hang", "c/goexit", "d/empty", "sos_reports/manifest.json"}; !slices.Equal(m.Skipped, want) {
		t.Errorf("skipped %q, want %q", m.Skipped, want)
	}
	if _, err := Run(context.Background(), emptyKernel(), Options{Emitters: list, Filter: Filter{Only: []string{"[x"}}}, newMemSink()); err == nil {
		t.Errorf("a bad pattern was accepted")
	}
}

func TestPathLess(t *testing.T) {
	in := []string{"sys/a", "proc/10/status", "proc/meminfo", "proc/2/status", "proc/2/cmdline", "proc/1", "proc/1/x", "proc", "a/b/c", "a/b"}
	slices.SortFunc(in, func(a, b string) int {
		switch {
		case pathLess(a, b):
			return -1
		case pathLess(b, a):
			return 1
		}
		return 0
	})
	want := []string{"a/b", "a/b/c", "proc", "proc/1", "proc/1/x", "proc/2/cmdline", "proc/2/status", "proc/10/status", "proc/meminfo", "sys/a"}
	if !slices.Equal(in, want) {
		t.Errorf("sorted %q\nwant   %q", in, want)
	}
}

func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		f        Filter
		path     string
		template string
		want     bool
	}{
		{Filter{}, "proc/meminfo", "proc/meminfo", true},
		{Filter{Only: []string{"proc"}}, "proc/1/status", "proc/{pid}/status", true},
		{Filter{Only: []string{"proc/"}}, "proc/1/status", "proc/{pid}/status", true},
		{Filter{Only: []string{"proc/*"}}, "proc/1/status", "proc/{pid}/status", true},
		{Filter{Only: []string{"proc/*/status"}}, "proc/1/status", "proc/{pid}/status", true},
		{Filter{Only: []string{"proc/*/status"}}, "proc/1/cmdline", "proc/{pid}/cmdline", false},
		{Filter{Only: []string{"proc/{pid}/status"}}, "proc/7/status", "proc/{pid}/status", true},
		{Filter{Only: []string{"sys"}}, "proc/meminfo", "proc/meminfo", false},
		{Filter{Only: []string{"./proc/meminfo"}}, "proc/meminfo", "proc/meminfo", true},
		{Filter{Skip: []string{"proc/sys"}}, "proc/sys/vm/swappiness", "proc/sys/vm/swappiness", false},
		{Filter{Only: []string{"proc"}, Skip: []string{"proc/1"}}, "proc/1/status", "proc/{pid}/status", false},
		{Filter{Only: []string{"proc"}, Skip: []string{"proc/1"}}, "proc/12/status", "proc/{pid}/status", true},
		{Filter{Only: []string{"sos_commands/*/dmesg"}}, "sos_commands/kernel/dmesg", "sos_commands/kernel/dmesg", true},
	} {
		if got := tc.f.Selects(tc.path, tc.template); got != tc.want {
			t.Errorf("%+v selects %s: %v, want %v", tc.f, tc.path, got, tc.want)
		}
	}
	for _, bad := range []string{"[", "", "/"} {
		if err := (Filter{Skip: []string{bad}}).Validate(); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}

func TestPanicSite(t *testing.T) {
	o := isolate(context.Background(), time.Second, func() error {
		var p *struct{ x int }
		return errors.New(fmt.Sprint(p.x))
	})
	if o.Panic == "" || !strings.HasPrefix(o.Where, "report/run_test.go:") || !strings.Contains(o.Stack, "TestPanicSite") {
		t.Errorf("outcome %+v", o)
	}
	if strings.Contains(o.Stack, "0x") {
		t.Errorf("stack keeps per-run addresses:\n%s", o.Stack)
	}
}

func TestFileNamePart(t *testing.T) {
	for in, want := range map[string]string{"": "unknown", "web-1.example.com": "web-1.example.com", "a/b c": "a_b_c", "..": "unknown"} {
		if got := fileNamePart(in); got != want {
			t.Errorf("fileNamePart(%q) = %q, want %q", in, got, want)
		}
	}
}
