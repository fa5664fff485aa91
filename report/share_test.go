package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters"
	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// costlyEmitters are n outputs that each take about cost and write
// something of their own, with every way of ending among them (partial,
// failed with a log line, a panic, not applicable) and an empty file.
func costlyEmitters(n int, cost time.Duration) []*emitters.Emitter {
	var list []*emitters.Emitter
	for i := range n {
		list = append(list, &emitters.Emitter{Path: fmt.Sprintf("out/%04d", i), Run: func(_ *emitters.Context, _ int64, out *emitters.Output) error {
			time.Sleep(cost)
			switch i % 7 {
			case 1:
				out.WriteString("half\n")
				out.Partial("field %d unreadable", i)
			case 2:
				return fmt.Errorf("read %d: %w", i, errors.New("page excluded from dump"))
			case 3:
				var m map[string]int
				m["x"]++ // a panic, logged with its stack
			case 4:
				return notApplicableErr{}
			case 5: // an empty file
			default:
				fmt.Fprintf(out, "output %d\n%s", i, strings.Repeat("x", i))
			}
			return nil
		}})
	}
	return list
}

// sharedRun runs the report of list with a helper running helperList
// (nil: the same) on another goroutine, and returns the lead's files and
// manifest, and the Share.
func sharedRun(t *testing.T, list, helperList []*emitters.Emitter, helperPeer func(*PipePeer) Peer) (*memSink, *Manifest, *Share) {
	t.Helper()
	if helperList == nil {
		helperList = list
	}
	a, b := Pipe()
	var hp Peer = b
	if helperPeer != nil {
		hp = helperPeer(b)
	}
	s := &Share{Peer: a, WaitFor: 5 * time.Second}
	hs := &Share{Peer: hp}
	var wg sync.WaitGroup
	var herr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer b.Close()
		herr = HelpRun(context.Background(), emptyKernel(), Options{Emitters: helperList, ToolVersion: "t"}, hs)
	}()
	sink := newMemSink()
	m, err := Run(context.Background(), emptyKernel(), Options{Emitters: list, ToolVersion: "t", Share: s}, sink)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	t.Logf("helper made %d (error %v), lead wrote %d of them, both made %d, dropped: %q", hs.Made, herr, s.Made, s.Twice, s.Dropped)
	return sink, m, s
}

// sameReport fails unless two runs' files are the same: every file byte
// for byte, in the same order, but for the manifest's times and the log's
// stamps.
func sameReport(t *testing.T, a, b *memSink) {
	t.Helper()
	if !reflect.DeepEqual(a.names, b.names) {
		t.Fatalf("files differ:\n%v\n%v", a.names, b.names)
	}
	for _, name := range a.names {
		x, y := a.files[name], b.files[name]
		switch {
		case strings.HasSuffix(name, "/"+ManifestPath):
			x, y = untimedManifest(t, x), untimedManifest(t, y)
		case strings.HasSuffix(name, "/"+LogPath):
			x, y = unstamped(x), unstamped(y)
		}
		if !bytes.Equal(x, y) {
			xl, yl := strings.Split(string(x), "\n"), strings.Split(string(y), "\n")
			for i := range max(len(xl), len(yl)) {
				if i >= len(xl) || i >= len(yl) || xl[i] != yl[i] {
					t.Errorf("%s differs at line %d:\n%.300q\n%.300q", name, i+1, xl[min(i, len(xl)-1)], yl[min(i, len(yl)-1)])
					break
				}
			}
		}
	}
}

// The log's stamps, and the goroutine numbers of the panics' stacks in it.
var logStamp = regexp.MustCompile(`(?m)^\[ *[0-9.]+s\] | in goroutine [0-9]+ `)

func unstamped(b []byte) []byte { return logStamp.ReplaceAll(b, nil) }

func untimedManifest(t *testing.T, b []byte) []byte {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m.Run.Started, m.Run.DurationMS = "", 0
	for i := range m.Outputs {
		m.Outputs[i].DurationMS = 0
	}
	out, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func soloRun(t *testing.T, list []*emitters.Emitter) *memSink {
	t.Helper()
	sink := newMemSink()
	if _, err := Run(context.Background(), emptyKernel(), Options{Emitters: list, ToolVersion: "t"}, sink); err != nil {
		t.Fatal(err)
	}
	return sink
}

// TestShareSameReport: a report shared with a helper is the report made
// alone, and both runs made outputs of it.
func TestShareSameReport(t *testing.T) {
	list := costlyEmitters(300, 200*time.Microsecond)
	shared, m, s := sharedRun(t, list, nil, nil)
	sameReport(t, soloRun(t, list), shared)
	if s.Dropped != "" || s.Made == 0 || s.Made >= len(list)-10 {
		t.Errorf("helper wrote %d of %d outputs (dropped: %q): both should make a good part", s.Made, len(list), s.Dropped)
	}
	if m.Summary.Outputs != len(list) || m.Summary.Failed == 0 || m.Summary.Partial == 0 || m.Summary.NotApplicable == 0 {
		t.Errorf("summary %+v", m.Summary)
	}
}

// TestShareOtherPlan: a helper that planned other outputs is not
// listened to.
func TestShareOtherPlan(t *testing.T) {
	list := costlyEmitters(100, 100*time.Microsecond)
	shared, _, s := sharedRun(t, list, list[:99], nil)
	sameReport(t, soloRun(t, list), shared)
	if s.Made != 0 || !strings.Contains(s.Dropped, "other outputs") {
		t.Errorf("helper with another plan: made %d, dropped %q", s.Made, s.Dropped)
	}
}

// dyingPeer stops delivering after n messages, as a helper whose worker
// crashed.
type dyingPeer struct {
	*PipePeer
	mu   sync.Mutex
	left int
}

func (d *dyingPeer) Send(m ShareMessage) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.left == 0 {
		d.PipePeer.Close()
		return ErrPeerGone
	}
	d.left--
	return d.PipePeer.Send(m)
}

// TestShareHelperDies: a helper that stops midway leaves the rest,
// including what it had taken on, to the lead.
func TestShareHelperDies(t *testing.T) {
	list := costlyEmitters(200, 200*time.Microsecond)
	shared, _, s := sharedRun(t, list, nil, func(p *PipePeer) Peer { return &dyingPeer{PipePeer: p, left: 4} })
	sameReport(t, soloRun(t, list), shared)
	if s.Dropped == "" {
		t.Error("the lead did not notice the helper had gone")
	}
}

// stallingPeer sends its first messages, then holds the rest back: a
// helper that claimed outputs and then hung.
type stallingPeer struct {
	*PipePeer
	mu   sync.Mutex
	left int
}

func (d *stallingPeer) Send(m ShareMessage) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.left == 0 {
		return nil
	}
	d.left--
	return d.PipePeer.Send(m)
}

func TestShareHelperStalls(t *testing.T) {
	list := costlyEmitters(100, 200*time.Microsecond)
	a, b := Pipe()
	s := &Share{Peer: a, WaitFor: 300 * time.Millisecond}
	defer b.Close() // the helper's worker lives on, silent
	go func() {
		_ = HelpRun(context.Background(), emptyKernel(), Options{Emitters: list, ToolVersion: "t"}, &Share{Peer: &stallingPeer{PipePeer: b, left: 3}})
	}()
	sink := newMemSink()
	if _, err := Run(context.Background(), emptyKernel(), Options{Emitters: list, ToolVersion: "t", Share: s}, sink); err != nil {
		t.Fatal(err)
	}
	sameReport(t, soloRun(t, list), sink)
	if !strings.Contains(s.Dropped, "sent nothing") {
		t.Errorf("dropped %q", s.Dropped)
	}
}

func TestShareWire(t *testing.T) {
	m := ShareMessage{Plan: "abc", At: 7, Claim: 12, Stop: true, Done: true, Results: []SharedResult{
		{Index: 3, Output: Output{Path: "proc/1/stat", Emitter: "proc/{pid}/stat", Status: StatusOK, Reasons: []string{}, DurationMS: 1.25, Size: 3, SHA256: "ff"}, Data: []byte("1 (")},
		{Index: 4, Output: Output{Path: "x", Emitter: "x", Status: StatusFailed, Reasons: []string{"a", "b"}}, Log: []string{"x: a\nstack"},
			Excluded: []linux.ExcludedKernelPage{{What: "slab page of x", Addr: 0xffff888001234567}}},
		{Index: 5, Output: Output{Path: "e", Emitter: "e", Status: StatusOK, Reasons: []string{}}, Data: []byte{}},
	}}
	b := AppendShareMessage(nil, m)
	got, err := DecodeShareMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Results[1].Log == nil || got.Results[1].Data != nil || got.Results[2].Data == nil {
		t.Errorf("nil and empty not kept apart: %+v", got.Results)
	}
	got.Results[0].Log, got.Results[2].Log = nil, nil // empty lists decode as empty, not nil
	m.Results[1].Output.Reasons = got.Results[1].Output.Reasons
	if !reflect.DeepEqual(got, m) {
		t.Errorf("round trip:\n%+v\n%+v", got, m)
	}
	for n := range len(b) {
		if _, err := DecodeShareMessage(b[:n]); !errors.Is(err, ErrShareWire) {
			t.Fatalf("%d of %d bytes: %v", n, len(b), err)
		}
	}
	if _, err := DecodeShareMessage(append(b, 0)); !errors.Is(err, ErrShareWire) {
		t.Errorf("a byte too many: %v", err)
	}
}

func FuzzDecodeShareMessage(f *testing.F) {
	f.Add(AppendShareMessage(nil, ShareMessage{Plan: "p", Results: []SharedResult{{Index: 1, Output: Output{Path: "a"}, Data: []byte("x")}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeShareMessage(b)
		if err != nil {
			return
		}
		if again := AppendShareMessage(nil, m); !bytes.Equal(again, b) && len(again) > len(b) {
			t.Errorf("decoded %d bytes into a message of %d", len(b), len(again))
		}
	})
}

// TestShareRealKernel shares the report of real dumps between two
// kernels opened from the same files, as two browser workers do: the
// archive is the one made alone. 7.2's elf-d31 (by sid's 1.7.8) may lack
// slab pages the probe before the emitters does not meet: those the
// helper's outputs find go to the lead's manifest.
func TestShareRealKernel(t *testing.T) {
	sets := fixtures.All(t)
	for _, s := range sets {
		roles := map[string][]string{"bookworm-6.1": {"lzo-d31"}, "sid-7.2": {"lzo-d31", "elf-d31"}}[s.Manifest.ID]
		for _, role := range roles {
			t.Run(s.Manifest.ID+"/"+role, func(t *testing.T) { shareRealKernel(t, s, role, false) })
			// The helper makes every output before the lead starts: the
			// whole report in reverse order, so that no value two outputs
			// share (a task's trace, its stat) reaches an output through
			// another path than when made alone.
			t.Run(s.Manifest.ID+"/"+role+"/helper-first", func(t *testing.T) { shareRealKernel(t, s, role, true) })
		}
	}
}

func shareRealKernel(t *testing.T, s *fixtures.Set, role string, helperFirst bool) {
	open := func() *kernel.Kernel { return openFixture(t, s, role, true) }
	solo := newMemSink()
	k := open()
	if _, err := Run(context.Background(), k, Options{ToolVersion: "t"}, solo); err != nil {
		t.Fatal(err)
	}
	a, b := Pipe()
	hs := &Share{Peer: b}
	done := make(chan error, 1)
	hk := open()
	go func() {
		defer b.Close()
		done <- HelpRun(context.Background(), hk, Options{ToolVersion: "t"}, hs)
	}()
	if helperFirst {
		if err := <-done; err != nil {
			t.Fatalf("helper: %v", err)
		}
		done <- nil
	}
	ls := &Share{Peer: a}
	shared := newMemSink()
	if _, err := Run(context.Background(), open(), Options{ToolVersion: "t", Share: ls}, shared); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("helper: %v", err)
	}
	sameReport(t, solo, shared)
	t.Logf("%d files; the helper made %d, the lead wrote %d of them; both made %d", len(shared.names), hs.Made, ls.Made, ls.Twice)
	if ls.Dropped != "" || ls.Made == 0 || helperFirst && ls.Made != hs.Made {
		t.Errorf("the helper made %d outputs, the lead wrote %d of them (dropped: %q)", hs.Made, ls.Made, ls.Dropped)
	}
}
