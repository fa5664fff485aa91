package process

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// psAlign is how procps pads a column (the CF_* justification of
// ps/output.c's format table).
type psAlign int

const (
	psRight psAlign = iota // CF_RIGHT
	psLeft                 // CF_LEFT, and CF_USER/CF_WCHAN with names
)

// psCol is one output column: header, width and alignment.
type psCol struct {
	head  string
	width int
	align psAlign
}

// psSpaceMax is SPACE_AMOUNT, the most padding procps writes at once.
const psSpaceMax = 144

// psLine lays a row (or, with the headers as values, the header line) out
// as show_one_proc() in procps' ps/output.c does: each column right- or
// left-aligned in its width, one space between columns, a column that
// overflows pushing the next ones right until the line catches up with
// where it should be. The last column is not padded.
func psLine(b *strings.Builder, cols []psCol, vals []string) {
	correct, actual, dospace := 0, 0, 0
	for i, col := range cols {
		text := vals[i]
		amount := utf8.RuneCountInString(text)
		leftpad := 0
		if col.align == psRight {
			leftpad = max(col.width-amount, 0)
		}
		space := correct - actual + leftpad
		if space < 1 {
			space = dospace
		}
		space = min(space, psSpaceMax)
		b.WriteString(strings.Repeat(" ", space))
		b.WriteString(text)
		if i == len(cols)-1 {
			b.WriteByte('\n')
			return
		}
		actual += space + amount
		correct += col.width + 1
		dospace = 1
	}
}

// psName mirrors do_pr_name(): a user name cut to the column with a '+'
// when it does not fit. With no passwd file to read, procps (like us) has
// only the number to show.
func psName(uid uint64, width int) string {
	s := fmt.Sprint(uid)
	if len(s) > width {
		return s[:width-1] + "+"
	}
	return s
}

// psEscape mirrors escape_str() in the C locale: bytes that are not
// printable ASCII become '?'.
func psEscape(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// psArgs is procps' args as procps-ng 4.0.4 makes them (fill_cmdline_cvt()
// in library/readproc.c): read_unvectored() turns the NULs and newlines
// before the trailing NULs into spaces and drops the last byte read when it
// is then a space (a trailing NUL ends the string instead, so "a \0"
// keeps its space), escape_str() escapes, and an empty result reads "?";
// an empty command line gives escape_command()'s "[name]", plus
// " <defunct>" for a zombie.
func psArgs(cmdline []byte, name string, state byte) string {
	n := len(cmdline)
	if n == 0 {
		s := "[" + psEscape(name) + "]"
		if state == 'Z' {
			s += " <defunct>"
		}
		return s
	}
	b := []byte(string(cmdline))
	end := n
	for end > 0 && b[end-1] == 0 {
		end--
	}
	for i, c := range b[:end] {
		if c == 0 || c == '\n' {
			b[i] = ' '
		}
	}
	if b[n-1] == ' ' {
		b = b[:n-1]
	}
	b = b[:min(end, len(b))]
	if len(b) == 0 {
		return "?"
	}
	return psEscape(string(b))
}

// psStime mirrors pr_stime(): the start time as "%H:%M" when the process
// started on the day of now, "%b%d" in the same year, "%Y" before. Times
// are in UTC: the crashed machine's time zone is userspace configuration.
//
// It runs for every row of ps, so it spells the fields itself: through
// time.Format the browser compiled its layout parser anew in every report.
func psStime(start, now time.Time) string {
	two := func(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	switch y := start.Year(); {
	case y != now.Year():
		if y < 0 || y > 9999 {
			return start.Format("2006")
		}
		return string(two(two(nil, y/100), y%100))
	case start.YearDay() != now.YearDay():
		return string(two([]byte(start.Month().String()[:3]), start.Day()))
	}
	return string(two(append(two(nil, start.Hour()), ':'), start.Minute()))
}

// psTTY is procps' tty name for a tty->name: "?" without a controlling
// terminal, "pts/N" for pseudo-terminals (whose kernel name is "ptsN").
func psTTY(name string) string {
	switch {
	case name == "":
		return "?"
	case strings.HasPrefix(name, "pts") && len(name) > 3:
		return "pts/" + name[3:]
	}
	return name
}
