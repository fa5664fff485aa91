package emitters

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// UTS is init_uts_ns.name (struct new_utsname), what uname(2) returned for
// every task of the initial UTS namespace.
type UTS struct {
	Sysname, Nodename, Release, Version, Machine, Domainname string
}

// Utsname reads init_uts_ns once per run.
func Utsname(c *Context) (UTS, error) {
	return Once(c, "utsname", func() (UTS, error) {
		name := c.Prog.VarAs("init_uts_ns", "struct uts_namespace").Member("name")
		var u UTS
		for _, f := range []struct {
			member string
			dst    *string
		}{
			{"sysname", &u.Sysname}, {"nodename", &u.Nodename}, {"release", &u.Release},
			{"version", &u.Version}, {"machine", &u.Machine}, {"domainname", &u.Domainname},
		} {
			s, err := name.Member(f.member).CString()
			if err != nil {
				return UTS{}, fmt.Errorf("utsname: %w", err)
			}
			*f.dst = s
		}
		return u, nil
	})
}

// kernelString reads the char array or char * variable symbol.
func kernelString(p *object.Program, symbol string) (string, error) {
	if s, err := p.VarAs(symbol, "char *").CString(); err == nil {
		return s, nil
	}
	return "", fmt.Errorf("%s: not readable as a string", symbol)
}
