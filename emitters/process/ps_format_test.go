package process

import (
	"strings"
	"testing"
	"time"
)

// TestPsLine lays out rows the way procps does on a machine whose pid_max
// has 7 digits (4194304): the header and init's row of ps aux and ps -elfL
// as procps-ng prints them.
func TestPsLine(t *testing.T) {
	aux := []psCol{
		{"USER", 8, psLeft}, {"PID", 7, psRight}, {"%CPU", 4, psRight}, {"%MEM", 4, psRight},
		{"VSZ", 6, psRight}, {"RSS", 5, psRight}, {"TTY", 8, psLeft}, {"STAT", 4, psLeft},
		{"START", 5, psRight}, {"TIME", 6, psRight}, {"COMMAND", 27, psLeft},
	}
	elf := []psCol{
		{"F", 1, psRight}, {"S", 1, psLeft}, {"UID", 8, psLeft}, {"PID", 7, psRight},
		{"PPID", 7, psRight}, {"LWP", 7, psRight}, {"C", 2, psRight}, {"NLWP", 4, psRight},
		{"PRI", 3, psRight}, {"NI", 3, psRight}, {"ADDR", 1, psLeft}, {"SZ", 5, psRight},
		{"WCHAN", 6, psLeft}, {"STIME", 5, psRight}, {"TTY", 8, psLeft}, {"TIME", 8, psRight},
		{"CMD", 27, psLeft},
	}
	for _, tc := range []struct {
		cols []psCol
		vals []string
		want string
	}{
		{aux, nil, "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"},
		{aux, strings.Split("root|1|0.0|0.1|167744|13012|?|Ss|Nov20|0:12|/sbin/init splash", "|"),
			"root           1  0.0  0.1 167744 13012 ?        Ss   Nov20   0:12 /sbin/init splash"},
		// A value wider than its column pushes the rest right until the
		// line catches up.
		{aux, strings.Split("root|1|0.0|0.1|16774400|1301200|?|Ss|Nov20|0:12|x", "|"),
			"root           1  0.0  0.1 16774400 1301200 ?    Ss   Nov20   0:12 x"},
		{elf, nil, "F S UID          PID    PPID     LWP  C NLWP PRI  NI ADDR SZ WCHAN  STIME TTY          TIME CMD"},
		{elf, strings.Split("4|S|root|1|0|1|0|1|80|0|-|41936|-|Nov20|?|00:00:12|/sbin/init", "|"),
			"4 S root           1       0       1  0    1  80   0 - 41936 -      Nov20 ?        00:00:12 /sbin/init"},
	} {
		vals := tc.vals
		if vals == nil {
			for _, c := range tc.cols {
				vals = append(vals, c.head)
			}
		}
		var b strings.Builder
		psLine(&b, tc.cols, vals)
		if got := strings.TrimSuffix(b.String(), "\n"); got != tc.want {
			t.Errorf("got\n%q\nwant\n%q", got, tc.want)
		}
	}
}

func TestPsFields(t *testing.T) {
	if got := psArgs([]byte("/bin/sh\x00-c\x00echo a\nb\x00\x00"), "sh", 'S'); got != "/bin/sh -c echo a b" {
		t.Errorf("psArgs = %q", got)
	}
	if got := psArgs(nil, "lived", 'Z'); got != "[lived] <defunct>" {
		t.Errorf("psArgs zombie = %q", got)
	}
	// procps-ng 4.0.4's corners: a space before the trailing NUL stays, a
	// last byte read that is a space (setproctitle's title, no NUL) goes,
	// an empty argv[0] reads "?".
	for in, want := range map[string]string{"a \x00": "a ", "a\n\x00": "a ", "title ": "title", "\x00": "?", "\x00\x00": "?"} {
		if got := psArgs([]byte(in), "x", 'S'); got != want {
			t.Errorf("psArgs(%q) = %q, want %q", in, got, want)
		}
	}
	if got := psName(4294967294, 8); got != "4294967+" {
		t.Errorf("psName = %q", got)
	}
	now := time.Date(2026, 11, 25, 18, 31, 0, 0, time.UTC)
	for start, want := range map[time.Time]string{
		now.Add(-time.Minute):                         "18:30",
		now.Add(-24 * time.Hour):                      "Nov24",
		now.AddDate(-1, 0, 0):                         "2025",
		now.Add(-18*time.Hour - 31*time.Minute):       "00:00",
		time.Date(2026, 1, 5, 9, 7, 0, 0, time.UTC):   "Jan05",
		time.Date(2026, 11, 25, 9, 7, 0, 0, time.UTC): "09:07",
		time.Date(987, 11, 25, 9, 7, 0, 0, time.UTC):  "0987",
	} {
		if got := psStime(start, now); got != want {
			t.Errorf("psStime(%v) = %q, want %q", start, got, want)
		}
	}
	if got := psTime(2*86400 + 3*3600 + 4*60 + 5); got != "2-03:04:05" {
		t.Errorf("psTime = %q", got)
	}
}

func TestBitmapString(t *testing.T) {
	for _, tc := range []struct {
		set  []int
		n    int
		want string
	}{
		{[]int{0, 1}, 2, "3"},
		{[]int{0, 33}, 64, "00000002,00000001"},
		{[]int{4, 33}, 36, "2,00000010"},
		{[]int{0}, 1024, strings.Repeat("00000000,", 31) + "00000001"},
	} {
		if got := bitmapString(tc.set, tc.n); got != tc.want {
			t.Errorf("bitmapString(%v, %d) = %q, want %q", tc.set, tc.n, got, tc.want)
		}
	}
}
