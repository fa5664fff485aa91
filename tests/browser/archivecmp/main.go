// Command archivecmp compares two report archives (.tar.xz or .tar.gz)
// entry by entry: names, order, types, modes, owners, times and contents,
// except what differs between runs by design: the manifest's timing fields
// (run.started, run.duration_ms, outputs[].duration_ms) and the log's
// content. It prints every difference and exits 1 if there is one.
//
//	archivecmp A B
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"github.com/ulikunitz/xz"
)

const (
	manifestPath = "sos_reports/manifest.json"
	logPath      = "sos_logs/vmcore-report.log"
)

type entry struct {
	hdr  tar.Header
	data string
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: archivecmp A B")
		os.Exit(2)
	}
	a, err := read(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "archivecmp:", err)
		os.Exit(2)
	}
	b, err := read(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "archivecmp:", err)
		os.Exit(2)
	}
	diffs := compare(a, b)
	for _, d := range diffs {
		fmt.Println(d)
	}
	if len(diffs) > 0 {
		os.Exit(1)
	}
	fmt.Printf("same: %d entries\n", len(a))
}

func read(name string) ([]entry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	head, _ := br.Peek(6)
	var r io.Reader
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		r = zr
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		xr, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		r = xr
	default:
		r = br
	}
	tr := tar.NewReader(r)
	var out []entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, h.Name, err)
		}
		e := entry{hdr: *h, data: string(data)}
		switch {
		case strings.HasSuffix(h.Name, "/"+logPath):
			e.data, e.hdr.Size = "(log: not compared)", 0
		case strings.HasSuffix(h.Name, "/"+manifestPath):
			s, err := stripTiming(data)
			if err != nil {
				return nil, fmt.Errorf("%s: manifest: %w", name, err)
			}
			e.data, e.hdr.Size = s, 0
		}
		out = append(out, e)
	}
}

// stripTiming removes the manifest's run-dependent fields.
func stripTiming(b []byte) (string, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return "", err
	}
	if run, ok := m["run"].(map[string]any); ok {
		delete(run, "started")
		delete(run, "duration_ms")
	}
	if outs, ok := m["outputs"].([]any); ok {
		for _, o := range outs {
			if om, ok := o.(map[string]any); ok {
				delete(om, "duration_ms")
			}
		}
	}
	s, err := json.MarshalIndent(m, "", "  ")
	return string(s), err
}

// compare lists the differences: entries only in one archive, entries out
// of order, then headers and contents of the entries in both. At most
// maxDiffs are listed.
func compare(a, b []entry) []string {
	var diffs []string
	add := func(format string, args ...any) {
		if len(diffs) == maxDiffs {
			diffs = append(diffs, "… (more differences)")
		}
		if len(diffs) < maxDiffs {
			diffs = append(diffs, fmt.Sprintf(format, args...))
		}
	}
	inB := map[string]int{}
	for i, e := range b {
		inB[e.hdr.Name] = i
	}
	inA := map[string]int{}
	for i, e := range a {
		inA[e.hdr.Name] = i
	}
	for _, e := range a {
		if _, ok := inB[e.hdr.Name]; !ok {
			add("only in A: %s", e.hdr.Name)
		}
	}
	for _, e := range b {
		if _, ok := inA[e.hdr.Name]; !ok {
			add("only in B: %s", e.hdr.Name)
		}
	}
	last := -1
	for _, x := range a {
		j, ok := inB[x.hdr.Name]
		if !ok {
			continue
		}
		if j < last {
			add("%s: in another order (B has it before %s)", x.hdr.Name, b[last].hdr.Name)
		}
		last = j
		y := b[j]
		if !reflect.DeepEqual(x.hdr, y.hdr) {
			add("%s: headers differ:\n  A %+v\n  B %+v", x.hdr.Name, x.hdr, y.hdr)
		}
		if x.data != y.data {
			add("%s: contents differ%s", x.hdr.Name, firstDiff(x.data, y.data))
		}
	}
	return diffs
}

const maxDiffs = 30

func firstDiff(x, y string) string {
	xl, yl := strings.Split(x, "\n"), strings.Split(y, "\n")
	for i := 0; i < max(len(xl), len(yl)); i++ {
		var l1, l2 string
		if i < len(xl) {
			l1 = xl[i]
		}
		if i < len(yl) {
			l2 = yl[i]
		}
		if l1 != l2 {
			return fmt.Sprintf(" at line %d:\n  A: %.200q\n  B: %.200q", i+1, l1, l2)
		}
	}
	return ""
}
