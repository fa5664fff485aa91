package vmcoreinfo

import (
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that what it
// returns is consistent: a nil error means at least one entry, and every
// kept line is in the input.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample61))
	f.Add([]byte(sample61[:1000]))
	f.Add([]byte("OSRELEASE=6.1\x00garbage"))
	f.Add([]byte("SYMBOL(x)=zz\nNUMBER(y)=0x\nSIZE()=1\nOFFSET(a.b)=-9223372036854775809\n"))
	f.Add([]byte("CONFIG_=y\nKERNELOFFSET=0x\nCRASHTIME=\nPAGESIZE=0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := Parse(b)
		if err != nil {
			if info != nil {
				t.Fatalf("error %v with non-nil info", err)
			}
			return
		}
		if len(info.Lines) == 0 {
			t.Fatalf("success with no lines")
		}
		s := string(b)
		for _, l := range info.Lines {
			if !strings.Contains(s, l) {
				t.Fatalf("line %q not in input", l)
			}
		}
		if info.PageSize&(info.PageSize-1) != 0 {
			t.Fatalf("PAGESIZE %d is not a power of two", info.PageSize)
		}
		_ = info.String()
	})
}
