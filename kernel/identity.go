package kernel

import (
	"debug/elf"
	"io"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/dump"
	"github.com/vmcore-report/vmcore-report/kernel/vmcoreinfo"
)

// DumpIdentity reads OSRELEASE and BUILD-ID from a dump's VMCOREINFO (the
// note, or the copy in memory), for messages about a dump Open refused.
// Empty strings mean unknown.
func DumpIdentity(parts []File) (release, buildID string) {
	dp := make([]dump.Part, len(parts))
	for i, p := range parts {
		dp[i] = dump.Part{Name: p.Name, R: p.R, Size: p.Size}
	}
	d, err := dump.OpenParts(dp)
	if err != nil {
		return "", ""
	}
	defer d.Close()
	raw := d.VMCOREINFO()
	if len(raw) == 0 {
		var ranges []vmcoreinfo.Range
		for _, r := range d.PhysRanges() {
			ranges = append(ranges, vmcoreinfo.Range{Start: r.Start, End: r.End})
		}
		raw, _, _ = vmcoreinfo.FindInMemory(d, ranges)
	}
	info, err := vmcoreinfo.Parse(raw)
	if err != nil {
		return "", ""
	}
	return info.OSRelease, info.BuildID
}

// VmlinuxIdentity reads a vmlinux's release (from linux_banner) and
// build-id. Empty strings mean unknown.
func VmlinuxIdentity(r io.ReaderAt) (release, id string) {
	f, err := elf.NewFile(r)
	if err != nil {
		return "", ""
	}
	id = buildID(f)
	if rest, ok := strings.CutPrefix(elfString(f, "linux_banner"), "Linux version "); ok {
		release, _, _ = strings.Cut(rest, " ")
	}
	return release, id
}
