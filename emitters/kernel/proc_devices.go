package kernel

import (
	"fmt"
	"sort"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/devices",
		Mirrors: "devinfo_show() in fs/proc/devices.c: chrdev_show() (fs/char_dev.c) and blkdev_show() (block/genhd.c)",
		Desc:    "registered character and block device majors",
		Tracker: emit.Done,
		Run:     procDevices,
	})
}

// Both tables hash majors into 255 chains (CHRDEV_MAJOR_HASH_SIZE,
// BLKDEV_MAJOR_HASH_SIZE) and are shown for majors below 512.
const (
	majorHashSize = 255
	majorMax      = 512
)

type majorName struct {
	major int64
	name  string
}

// majorTable reads every chain of a major hash table (an array of pointers
// to structs linked by next) into per-major lists, chain order kept.
func majorTable(p *object.Program, symbol, typ, nameMember string) (map[int64][]string, error) {
	base, err := p.Syms.Addr(symbol)
	if err != nil {
		return nil, err
	}
	ptrT, err := p.Type(typ + " *")
	if err != nil {
		return nil, err
	}
	out := map[int64][]string{}
	for i := 0; i < majorHashSize; i++ {
		cur := p.Object(ptrT, base+8*uint64(i), fmt.Sprintf("%s[%d]", symbol, i))
		for n := 0; ; n++ {
			v, err := cur.Uint()
			if err != nil {
				return nil, err
			}
			if v == 0 {
				break
			}
			if n > 4096 {
				return nil, fmt.Errorf("%s[%d]: %w", symbol, i, linux.ErrTooLong)
			}
			e := cur.Deref()
			var rd object.Reader
			major := rd.Int(e.Member("major"))
			name := rd.CString(e.Member(nameMember))
			if err := rd.Err(); err != nil {
				return nil, err
			}
			out[major] = append(out[major], name)
			cur = e.Member("next")
		}
	}
	return out, nil
}

func procDevices(c *emit.Context, _ int64, out *emit.Output) error {
	chr, err := majorTable(c.Prog, "chrdevs", "struct char_device_struct", "name")
	if err != nil {
		return err
	}
	blk, err := majorTable(c.Prog, "major_names", "struct blk_major_name", "name")
	if err != nil {
		return err
	}
	out.WriteString("Character devices:\n")
	printMajors(out, chr)
	out.WriteString("\nBlock devices:\n")
	printMajors(out, blk)
	return nil
}

func printMajors(out *emit.Output, t map[int64][]string) {
	majors := make([]int64, 0, len(t))
	for m := range t {
		if m >= 0 && m < majorMax {
			majors = append(majors, m)
		}
	}
	sort.Slice(majors, func(i, j int) bool { return majors[i] < majors[j] })
	for _, m := range majors {
		for _, name := range t[m] {
			fmt.Fprintf(out, "%3d %s\n", m, name)
		}
	}
}
