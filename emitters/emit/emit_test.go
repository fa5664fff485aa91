package emit

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/vmcore-report/vmcore-report/kernel"
)

func TestOutput(t *testing.T) {
	var o Output
	o.WriteString("MemTotal: 1 kB\n")
	if len(o.PartialReasons()) != 0 {
		t.Errorf("a fresh output has reasons %q", o.PartialReasons())
	}
	o.Partial("%s: %v", "MemFree", errors.New("page missing"))
	o.Partial("no %d", 7)
	if want := []string{"MemFree: page missing", "no 7"}; !slices.Equal(o.PartialReasons(), want) {
		t.Errorf("reasons %q, want %q", o.PartialReasons(), want)
	}
	// Partial records why; it writes nothing into the file.
	if o.String() != "MemTotal: 1 kB\n" {
		t.Errorf("content %q", o.String())
	}
}

func TestExpand(t *testing.T) {
	e := &Emitter{Path: "proc/{pid}/stat", Each: PerPID}
	if got := e.Expand(1234); got != "proc/1234/stat" {
		t.Errorf("Expand = %q", got)
	}
	s := &Emitter{Path: "proc/meminfo"}
	if got := s.Expand(0); got != "proc/meminfo" {
		t.Errorf("single Expand = %q", got)
	}
}

func TestArea(t *testing.T) {
	var a Area
	x, y := &Emitter{Path: "b"}, &Emitter{Path: "a"}
	a.Register(x)
	a.Register(y)
	// Registration order, not path order.
	if got := a.Emitters(); len(got) != 2 || got[0] != x || got[1] != y {
		t.Errorf("emitters %v", got)
	}
}

func TestNotApplicable(t *testing.T) {
	err := fmt.Errorf("mountinfo of pid 7: %w", &NotApplicable{Reason: "a zombie has no mounts"})
	var na *NotApplicable
	if !errors.As(err, &na) || na.Reason != "a zombie has no mounts" {
		t.Fatalf("errors.As through a wrap: %v", na)
	}
	// The report recognises it by this method, whatever the error type.
	var marked interface{ NotApplicable() bool }
	if !errors.As(err, &marked) || !marked.NotApplicable() {
		t.Error("not marked not-applicable")
	}
	if err.Error() != "mountinfo of pid 7: a zombie has no mounts" {
		t.Errorf("message %q", err.Error())
	}
	if errors.As(errors.New("read failed"), &marked) {
		t.Error("a plain error is marked not-applicable")
	}
}

func TestMangle(t *testing.T) {
	for in, want := range map[string]string{
		"/mnt/plain":      "/mnt/plain",
		"/mnt/a b":        `/mnt/a\040b`,
		"tab\there":       `tab\011here`,
		"nl\n":            `nl\012`,
		`back\slash`:      `back\134slash`,
		"ünicode,#=:":     "ünicode,#=:",
		"  ":              `\040\040`,
		"":                "",
		"x\\ y\t\nz\x7f!": `x\134\040y\011\012z` + "\x7f!",
	} {
		if got := Mangle(in); got != want {
			t.Errorf("Mangle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOnce(t *testing.T) {
	// A context on an unopened kernel: Once needs none of it.
	c := NewContext(&kernel.Kernel{})
	calls := 0
	f := func() (int, error) { calls++; return 42, nil }
	for range 3 {
		if v, err := Once(c, "answer", f); v != 42 || err != nil {
			t.Fatalf("Once = %d, %v", v, err)
		}
	}
	if calls != 1 {
		t.Errorf("computed %d times, want once", calls)
	}
	// Errors are kept too: a failed read is not retried per emitter.
	bad := errors.New("no symbol")
	fails := 0
	for range 2 {
		_, err := Once(c, "broken", func() (string, error) { fails++; return "", bad })
		if !errors.Is(err, bad) {
			t.Errorf("Once error %v", err)
		}
	}
	if fails != 1 {
		t.Errorf("failing computation ran %d times", fails)
	}
	// Keys are separate.
	if v, _ := Once(c, "other", func() (int, error) { return 7, nil }); v != 7 {
		t.Errorf("another key gave %d", v)
	}
}
