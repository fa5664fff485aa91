package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel"
)

// Regressions for issue 17 on the command line: inputs checked before they
// are opened, nothing destroyed, Ctrl-C honoured, exit statuses that tell.

// TestIssue17FIFO: a FIFO as the dump or as --vmlinux is refused at once
// with a sentence (opening it used to block forever).
func TestIssue17FIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "vmcore.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	regular := filepath.Join(dir, "vmcore")
	os.WriteFile(regular, []byte("not a dump"), 0o644)
	for _, args := range [][]string{{fifo}, {"--vmlinux", fifo, regular}} {
		done := make(chan struct{})
		var code int
		var stderr string
		go func() {
			code, _, stderr = runCLI(t, append([]string{"-o", filepath.Join(dir, "r.tar")}, args...)...)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: still running after 10 s", args)
		}
		if code != exitNoReport || !strings.Contains(stderr, "named pipe") {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// TestIssue17InterruptedHang: a crafted ELF core that once made the
// VMCOREINFO search run for minutes; cancelling the run's context ends it
// within a second, with no output left.
func TestIssue17InterruptedHang(t *testing.T) {
	dir := t.TempDir()
	le := binary.LittleEndian
	b := make([]byte, 1<<20)
	copy(b, "\x7fELF\x02\x01\x01")
	le.PutUint16(b[16:], uint16(elf.ET_CORE))
	le.PutUint16(b[18:], uint16(elf.EM_X86_64))
	le.PutUint64(b[32:], 64)
	le.PutUint16(b[54:], 56)
	le.PutUint16(b[56:], 1)
	le.PutUint32(b[64:], uint32(elf.PT_LOAD))
	le.PutUint64(b[64+8:], 4096)
	le.PutUint64(b[64+32:], 1<<42)
	le.PutUint64(b[64+40:], 1<<42)
	core := filepath.Join(dir, "huge.elf")
	os.WriteFile(core, b, 0o644)
	out := filepath.Join(dir, "r.tar")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	var o, e bytes.Buffer
	code := runContext(ctx, []string{"-o", out, core}, &o, &e)
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %v after the interrupt", el)
	}
	if code != exitNoReport {
		t.Errorf("exit %d, stderr %q", code, e.String())
	}
	// And without the interrupt it ends by itself, saying why.
	start = time.Now()
	code, _, stderr := runCLI(t, "-o", out, core)
	if code != exitNoReport || !strings.Contains(stderr, "VMCOREINFO") || time.Since(start) > 10*time.Second {
		t.Errorf("exit %d in %v, stderr %q", code, time.Since(start), stderr)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 {
		t.Errorf("files left: %v", left)
	}
}

// TestIssue17NothingDestroyed: -o naming an input, an existing archive or
// folder, two runs without -o, and a checksum that cannot be written.
func TestIssue17NothingDestroyed(t *testing.T) {
	s := fixtures.All(t)[0]
	dump, _ := aloneArgs(t, s, "lzo-d31")
	input := s.Parts("lzo-d31")[0].Path
	only := []string{"--only", "proc/version"}
	dir := t.TempDir()
	t.Chdir(dir)

	// -o naming the dump: refused, the dump untouched.
	link := filepath.Join(dir, "vmcore.tar")
	if err := os.Symlink(input, link); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(input)
	code, _, stderr := runCLI(t, append(append([]string{"-o", link, "--force"}, only...), dump...)...)
	after, _ := os.Stat(input)
	if code != exitUsage || !strings.Contains(stderr, "is the input") || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("-o the input: exit %d, stderr %q", code, stderr)
	}

	// An existing archive is kept without --force, replaced with it.
	out := filepath.Join(dir, "r.tar")
	if code, _, stderr := runCLI(t, append(append([]string{"-o", out}, only...), dump...)...); code != exitOK {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	first, _ := os.ReadFile(out)
	code, _, stderr = runCLI(t, append(append([]string{"-o", out, "--only", "proc/cmdline"}, only...), dump...)...)
	if now, _ := os.ReadFile(out); code != exitNoReport || !strings.Contains(stderr, "--force") || !bytes.Equal(now, first) {
		t.Errorf("second run without --force: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, append(append([]string{"-o", out, "--force", "--only", "proc/cmdline"}, only...), dump...)...); code != exitOK {
		t.Errorf("--force: exit %d: %s", code, stderr)
	} else if now, _ := os.ReadFile(out); bytes.Equal(now, first) {
		t.Errorf("--force did not replace the archive")
	}

	// Two runs without -o: two archives.
	var names []string
	for range 2 {
		code, stdout, stderr := runCLI(t, append(only, dump...)...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		names = append(names, strings.TrimSpace(stdout))
	}
	if names[0] == names[1] || !strings.HasSuffix(names[1], "-2.tar.xz") {
		t.Errorf("two runs without -o wrote %q", names)
	}

	// A report folder: written whole or not at all, kept without --force.
	dout := filepath.Join(dir, "reports") + "/"
	for i, want := range []int{exitOK, exitNoReport} {
		code, _, stderr := runCLI(t, append(append([]string{"-o", dout}, only...), dump...)...)
		if code != want {
			t.Errorf("folder run %d: exit %d: %s", i, code, stderr)
		}
	}
	if entries, _ := os.ReadDir(dout); len(entries) != 1 || strings.HasPrefix(entries[0].Name(), ".") {
		t.Errorf("reports/ holds %v, want the one report folder", entries)
	}

	// The checksum cannot be written: no archive either, and no empty
	// sidecar.
	blocked := filepath.Join(dir, "b.tar")
	os.Mkdir(blocked+".sha256", 0o755)
	os.WriteFile(filepath.Join(blocked+".sha256", "x"), nil, 0o644)
	code, _, stderr = runCLI(t, append(append([]string{"-o", blocked}, only...), dump...)...)
	if _, err := os.Stat(blocked); code != exitNoReport || err == nil {
		t.Errorf("sidecar blocked: exit %d, archive there: %v; stderr %q", code, err == nil, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestIssue17CoreAsVmlinux: an ELF core given as --vmlinux is named as one.
func TestIssue17CoreAsVmlinux(t *testing.T) {
	s := fixtures.All(t)[0]
	core := s.Role("elf-d31")
	if core == nil {
		fixtures.Missing(t, fmt.Errorf("set %s has no elf-d31 dump", s.Manifest.ID))
		return
	}
	code, _, stderr := runCLI(t, append([]string{"-o", filepath.Join(t.TempDir(), "r.tar"), "--vmlinux", core.Path}, dumpArgs(s, "lzo-d31")...)...)
	if code != exitNoReport || !strings.Contains(stderr, "ELF core dump") || strings.Contains(stderr, "not an ELF file") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestIssue17Signal runs the command as a process on the largest fixture
// dump and interrupts it: it must exit within a second of SIGINT (or
// SIGTERM), with status 1 and nothing left in the output directory.
func TestIssue17Signal(t *testing.T) {
	if os.Getenv("VMCORE_REPORT_MAIN") == "1" {
		os.Args = append([]string{"vmcore-report"}, strings.Split(os.Getenv("VMCORE_REPORT_ARGS"), "\n")...)
		main()
		return
	}
	s := fixtures.All(t)[0]
	f := s.Role("novmcoreinfo-elf")
	if f == nil {
		f = s.Role("qemu-elf")
	}
	if f == nil {
		fixtures.Missing(t, fmt.Errorf("set %s has no novmcoreinfo-elf or qemu-elf dump", s.Manifest.ID))
		return
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestIssue17Signal$")
		cmd.Env = append(os.Environ(), "VMCORE_REPORT_MAIN=1",
			"VMCORE_REPORT_ARGS="+strings.Join([]string{"--vmlinux", s.Manifest.Vmlinux.Path, "--dwarf", "-o", filepath.Join(dir, "r.tar.xz"), f.Path}, "\n"))
		// The signal goes at the run's first progress line: main has
		// installed its handler by then (a fixed sleep raced the child's
		// start under load: the default action killed it), and the DWARF
		// load still ahead takes seconds, so the run cannot finish first.
		pipe, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		first := make(chan struct{})
		copied := make(chan struct{})
		go func() {
			defer close(copied)
			sc := bufio.NewScanner(pipe)
			once := sync.OnceFunc(func() { close(first) })
			for sc.Scan() {
				stderr.WriteString(sc.Text() + "\n")
				if strings.HasPrefix(sc.Text(), "vmcore-report: ") {
					once()
				}
			}
		}()
		select {
		case <-first:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			<-copied
			cmd.Wait()
			t.Fatalf("%v: no progress line in a minute; stderr:\n%s", sig, stderr.String())
		}
		sent := time.Now()
		cmd.Process.Signal(sig)
		<-copied
		err = cmd.Wait()
		took := time.Since(sent)
		code := cmd.ProcessState.ExitCode()
		if code == exitOK || code == exitPartial {
			t.Errorf("%v: the run finished (%v) although the signal came before the vmlinux was read; stderr:\n%s", sig, err, stderr.String())
			continue
		}
		t.Logf("%v: exit %d %v after the signal", sig, code, took)
		if took > time.Second || code != exitNoReport {
			t.Errorf("%v: exit %d %v after the signal; stderr:\n%s", sig, code, took, stderr.String())
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%v: left %v", sig, left)
		}
	}
}

// TestIssue17HintOnlyForTruncation: "Is the dump complete?" follows an
// unreadable memory that is cut short, not one that is corrupt (issue 17:
// it was appended to corruption too).
func TestIssue17HintOnlyForTruncation(t *testing.T) {
	dumps := []string{"vmcore"}
	cut := unreadableWarning(dumps, fmt.Errorf("read phys 0x1000: %w", kernel.ErrTruncated))
	bad := unreadableWarning(dumps, fmt.Errorf("read phys 0x1000: %w", kernel.ErrCorrupt))
	if !strings.HasSuffix(cut, "Is the dump complete?") {
		t.Errorf("truncated: %q", cut)
	}
	if strings.Contains(bad, "complete?") || !strings.Contains(bad, "page data corrupt") {
		t.Errorf("corrupt: %q", bad)
	}
}
