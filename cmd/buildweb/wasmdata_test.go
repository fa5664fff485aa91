package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// memoryImage is what the data segments put in memory.
func memoryImage(t *testing.T, mod []byte) ([]byte, int) {
	t.Helper()
	for p := 8; p < len(mod); {
		id := mod[p]
		size, n, err := uleb(mod[p+1:])
		if err != nil {
			t.Fatal(err)
		}
		body, end := p+1+n, p+1+n+int(size)
		if id == 11 {
			segs, err := parseSegments(mod[body:end])
			if err != nil {
				t.Fatal(err)
			}
			var mem []byte
			for _, s := range segs {
				if e := int(s.addr) + len(s.data); e > len(mem) {
					mem = append(mem, make([]byte, e-len(mem))...)
				}
				copy(mem[s.addr:], s.data)
			}
			return mem, len(segs)
		}
		p = end
	}
	t.Fatal("no data section")
	return nil, 0
}

// module is a minimal module: a memory section and a data section.
func module(segs ...segment) []byte {
	mod := []byte("\x00asm\x01\x00\x00\x00")
	mod = append(mod, 5, 3, 1, 0, 1) // memory section: one memory, min 1 page
	var sec []byte
	sec = appendUleb(sec, uint64(len(segs)))
	for _, s := range segs {
		sec = append(sec, 0, 0x41)
		sec = appendSleb(sec, int64(int32(s.addr)))
		sec = append(sec, 0x0b)
		sec = appendUleb(sec, uint64(len(s.data)))
		sec = append(sec, s.data...)
	}
	mod = append(mod, 11)
	mod = appendUleb(mod, uint64(len(sec)))
	return append(mod, sec...)
}

func TestMergeDataSegments(t *testing.T) {
	in := module(
		segment{0x1000, []byte{1, 2}},
		segment{0x1010, []byte{3}},       // 14-byte gap: merged
		segment{0x3000, []byte{4, 5, 6}}, // too far: a new segment
		segment{0x0800, []byte{7}},       // out of order: kept apart
		segment{0x0805, []byte{8}},
	)
	out, err := mergeDataSegments(in, 64)
	if err != nil {
		t.Fatal(err)
	}
	memIn, nIn := memoryImage(t, in)
	memOut, nOut := memoryImage(t, out)
	if nIn != 5 || nOut != 3 {
		t.Errorf("segments %d -> %d, want 5 -> 3", nIn, nOut)
	}
	if !bytes.Equal(memIn, memOut) {
		t.Error("the merged segments put other bytes in memory")
	}
	if !bytes.Equal(out[:13], in[:13]) {
		t.Error("sections before the data section changed")
	}
	for _, bad := range [][]byte{
		[]byte("\x00asm\x01\x00\x00\x00"),                                                // no data section
		[]byte("\x7fELF\x01\x00\x00\x00"),                                                // not wasm
		append(module(segment{0x10, []byte{1}}), 12, 1, 1),                               // data count section
		append([]byte("\x00asm\x01\x00\x00\x00"), 11, 9, 1, 0, 0x41, 0x10, 0x0b, 200, 1), // segment past the end
	} {
		if _, err := mergeDataSegments(bad, 64); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestMergeGoModule merges the segments of a real Go js/wasm build: the
// memory the instance starts with must not change.
func TestMergeGoModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a js/wasm program")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\", 42) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wasm := filepath.Join(dir, "main.wasm")
	cmd := exec.Command("go", "build", "-o", wasm, src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GO111MODULE=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	in, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	out, err := mergeDataSegments(in, mergeGap)
	if err != nil {
		t.Fatal(err)
	}
	memIn, nIn := memoryImage(t, in)
	memOut, nOut := memoryImage(t, out)
	if !bytes.Equal(memIn, memOut) {
		t.Fatal("the merged segments put other bytes in memory")
	}
	if nOut >= nIn/100 {
		t.Errorf("segments %d -> %d: expected far fewer", nIn, nOut)
	}
	t.Logf("segments %d -> %d, %d -> %d bytes", nIn, nOut, len(in), len(out))
	// And it still runs, where node is there to run it.
	node, err := exec.LookPath("node")
	if err != nil {
		t.Log("no node: the merged module is not run")
		return
	}
	merged := filepath.Join(dir, "merged.wasm")
	if err := os.WriteFile(merged, out, 0o644); err != nil {
		t.Fatal(err)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	run := exec.Command(node, filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec_node.js"), merged)
	b, err := run.CombinedOutput()
	if err != nil || strings.TrimSpace(string(b)) != "hello 42" {
		t.Errorf("merged module: %v, printed %q", err, b)
	}
}
