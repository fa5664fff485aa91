package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestMarshalManifest checks the manifest's own encoder against
// encoding/json on outputs with everything encoding/json escapes or
// formats specially.
func TestMarshalManifest(t *testing.T) {
	base := Manifest{Schema: SchemaVersion, Tool: Tool{Name: "vmcore-report", Version: "t"},
		Enumerations: map[string]Enumeration{"pid": {Count: 3}}, Skipped: []string{"a"},
		Kernel: Crashed{Unreadable: map[string]string{"x": "y"}, PanicFrames: []string{}}}
	outputs := []Output{
		{Path: "proc/1/status", Emitter: "proc/{pid}/status", Status: StatusOK, Reasons: []string{}, DurationMS: 0.123, Size: 42, SHA256: "ab"},
		{Path: "a<b>&c", Emitter: "q\"uo\\te", Status: StatusPartial, Reasons: []string{"x\ny\tz\x01", "é ✓ \u2028 \xff"}, DurationMS: 1234567.891},
		{Path: "zero", Reasons: nil, DurationMS: 0},
		{Path: "tiny", Reasons: []string{""}, DurationMS: 1e-7},
		{Path: "huge", DurationMS: 1e22, Size: -1},
		{Path: "neg", DurationMS: -0.001, Size: math.MaxInt64},
	}
	for _, n := range []int{0, 1, len(outputs)} {
		m := base
		m.Outputs = outputs[:n]
		if n == 0 {
			m.Outputs = []Output{}
		}
		want, err := json.MarshalIndent(&m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshalManifest(&m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d outputs:\n%s\nwant\n%s", n, got, want)
		}
	}
	m := base
	m.Outputs = []Output{{DurationMS: math.NaN()}}
	if _, err := marshalManifest(&m); err == nil {
		t.Error("NaN encoded")
	}
}

// BenchmarkMarshalManifest compares the manifest's encoder with
// encoding/json on a report of 660 outputs (the 6.1 fixture's count).
func BenchmarkMarshalManifest(b *testing.B) {
	m := Manifest{Enumerations: map[string]Enumeration{}, Skipped: []string{}, Kernel: Crashed{Unreadable: map[string]string{}}}
	for i := range 660 {
		o := Output{Path: fmt.Sprintf("proc/%d/status", i), Emitter: "proc/{pid}/status", Status: StatusOK, Reasons: []string{},
			DurationMS: 0.123, Size: 1234, SHA256: strings.Repeat("ab", 32)}
		if i%9 == 0 {
			o.Status, o.Reasons = StatusPartial, []string{"task->mm unreadable: page excluded from the dump"}
		}
		m.Outputs = append(m.Outputs, o)
	}
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.MarshalIndent(&m, "", "  "); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("marshalManifest", func(b *testing.B) {
		for b.Loop() {
			if _, err := marshalManifest(&m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
