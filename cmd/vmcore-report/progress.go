package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vmcore-report/vmcore-report/report"
)

// progress shows a run's advance on stderr: a bar redrawn in place when
// stderr is a terminal, a few plain lines otherwise (logs, CI).
type progress struct {
	w        io.Writer
	tty      bool
	last     time.Time
	shown    bool // a bar is on screen
	lastTen  int  // last tenth reported in plain mode
	lastStep string
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, tty: isTerminal(w), lastTen: -1}
}

// isTerminal says whether w is a character device (a terminal), without
// x/term: os.File.Stat's ModeCharDevice.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// note prints a line (above the bar, if any).
func (p *progress) note(s string) {
	p.clear()
	fmt.Fprintf(p.w, "vmcore-report: %s\n", s)
}

// redrawEvery throttles the bar.
const redrawEvery = 100 * time.Millisecond

const barWidth = 30

func (p *progress) update(u report.Progress) {
	if u.Stage != p.lastStep {
		p.lastStep = u.Stage
		switch u.Stage {
		case report.StageKernel:
			p.note("reading the crashed kernel's identity")
		case report.StageEnumerate:
			p.note("listing processes and outputs")
		case report.StageFinish:
			p.note("writing the manifest and log")
		}
	}
	if u.Stage != report.StageEmit || u.Total == 0 {
		return
	}
	if !p.tty {
		if ten := u.Done * 10 / u.Total; ten != p.lastTen {
			p.lastTen = ten
			fmt.Fprintf(p.w, "vmcore-report: %3d%% (%d/%d outputs) %s\n", ten*10, u.Done, u.Total, u.Path)
		}
		return
	}
	if now := time.Now(); now.Sub(p.last) >= redrawEvery {
		p.last = now
		fill := u.Done * barWidth / u.Total
		path := u.Path
		if len(path) > 40 {
			path = "…" + path[len(path)-39:]
		}
		fmt.Fprintf(p.w, "\r\x1b[K[%s%s] %d/%d %s", strings.Repeat("=", fill), strings.Repeat(" ", barWidth-fill), u.Done, u.Total, path)
		p.shown = true
	}
}

// clear removes the bar.
func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}
