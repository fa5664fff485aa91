package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/kernel"
)

type logRA struct {
	name string
	r    io.ReaderAt
	log  *[]string
}

func (l logRA) ReadAt(p []byte, off int64) (int, error) {
	*l.log = append(*l.log, fmt.Sprintf("%s %d %d", l.name, off, len(p)))
	return l.r.ReadAt(p, off)
}

func TestReadLog(t *testing.T) {
	if os.Getenv("READLOG") == "" {
		t.Skip()
	}
	s := fixtures.All(t)[0]
	req := request(t, s, "lzo-d31", os.Getenv("READLOG") != "dump")
	if os.Getenv("READLOG") == "dwarf" {
		req.Types = kernel.TypesDWARF
	}
	var log []string
	for i := range req.Dump {
		req.Dump[i].R = logRA{"dump", req.Dump[i].R, &log}
	}
	if req.Vmlinux != nil {
		req.Vmlinux.R = logRA{"vmlinux", req.Vmlinux.R, &log}
	}
	if _, err := Analyze(context.Background(), req, Events{}); err != nil {
		t.Fatal(err)
	}
	for _, l := range log {
		fmt.Println(l)
	}
}
