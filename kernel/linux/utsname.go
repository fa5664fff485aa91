package linux

import (
	"fmt"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// UTS is init_uts_ns.name (struct new_utsname), what uname(2) returns.
type UTS struct {
	Sysname, Nodename, Release, Version, Machine, Domainname string
}

// Utsname reads init_uts_ns.name (include/linux/utsname.h).
func Utsname(p *object.Program) (UTS, error) {
	name := p.VarAs("init_uts_ns", "struct uts_namespace").Member("name")
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
}
