package main

import (
	"bytes"
	"errors"
	"os/exec"
	"reflect"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

func fixtureSet(id string, vmlinux string, files ...fixtures.File) *fixtures.Set {
	return &fixtures.Set{Manifest: fixtures.Manifest{ID: id, KernelRelease: "6.1.0-x-amd64", Vmlinux: fixtures.File{Path: vmlinux}, Files: files}}
}

func TestPathsOf(t *testing.T) {
	crash := &fixtures.Crash{Kind: "oom", PanicCPU: 1}
	s := fixtureSet("bookworm-6.1", "/v/vmlinux",
		fixtures.File{Role: "split", Path: "/d/part3", SplitPart: 3},
		fixtures.File{Role: "elf", Path: "/d/elf"},
		fixtures.File{Role: "split", Path: "/d/part1", SplitPart: 1},
		fixtures.File{Role: "split", Path: "/d/part2", SplitPart: 2},
	)
	s.Manifest.Crash = crash
	got := pathsOf(s)
	want := set{
		ID: "bookworm-6.1", KernelRelease: "6.1.0-x-amd64", Vmlinux: "/v/vmlinux", Crash: crash,
		Roles: map[string][]string{"split": {"/d/part1", "/d/part2", "/d/part3"}, "elf": {"/d/elf"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pathsOf:\n got %+v\nwant %+v", got, want)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/plain/path":   "'/plain/path'",
		"it's":          `'it'\''s'`,
		"a b;$(rm -rf)": "'a b;$(rm -rf)'",
	} {
		got := quote(in)
		if got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
		// The shell gives back the string itself.
		out, err := exec.Command("sh", "-c", "printf %s "+got).Output()
		if err != nil || string(out) != in {
			t.Errorf("sh reads %s as %q, %v", got, out, err)
		}
	}
}

func TestPrintSample(t *testing.T) {
	sets := []*fixtures.Set{
		fixtureSet("bullseye-5.10", "/v510", fixtures.File{Role: "lzo-d31", Path: "/d/510"}),
		fixtureSet("bookworm-6.1", "/v/it's", fixtures.File{Role: "elf", Path: "/d/elf"}, fixtures.File{Role: "lzo-d31", Path: "/d/lzo"}),
	}
	var b bytes.Buffer
	printSample(&b, sets, nil)
	want := `-sample '/d/lzo' -sample '/v/it'\''s' -sample-title 'Linux 6.1.0-x-amd64, a sysrq-triggered panic, with its vmlinux'` + "\n"
	if b.String() != want {
		t.Errorf("sample args:\n got %s\nwant %s", b.String(), want)
	}
	// Nothing when the fixtures are not built, the 6.1 set lacks the dump
	// or its vmlinux.
	for name, c := range map[string]struct {
		sets []*fixtures.Set
		err  error
	}{
		"not built":  {sets, errors.New("no fixtures")},
		"no dump":    {[]*fixtures.Set{fixtureSet("bookworm-6.1", "/v", fixtures.File{Role: "elf", Path: "/d/elf"})}, nil},
		"no vmlinux": {[]*fixtures.Set{fixtureSet("bookworm-6.1", "", fixtures.File{Role: "lzo-d31", Path: "/d/lzo"})}, nil},
		"no 6.1":     {sets[:1], nil},
	} {
		var b bytes.Buffer
		printSample(&b, c.sets, c.err)
		if b.Len() != 0 {
			t.Errorf("%s: printed %q", name, b.String())
		}
	}
}
