package block

import (
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fakekernel"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// diskStatsTypes is struct disk_stats as 6.1 lays it out
// (include/linux/part_stat.h): nsecs, sectors, ios, merges per stat
// group, io_ticks, local_t in_flight[2]. Offsets in bits.
func diskStatsTypes() fakekernel.Types {
	ulong := &ktype.Int{Name: "unsigned long", Size: 8}
	long := &ktype.Int{Name: "long", Size: 8, Encoding: ktype.Signed}
	arr := func(n uint64) *ktype.Array { return &ktype.Array{Elem: ulong, Count: n} }
	atomicLong := &ktype.Struct{Name: "", Size: 8, Members: []ktype.Member{{Name: "counter", Type: long}}}
	local := &ktype.Struct{Name: "", Size: 8, Members: []ktype.Member{{Name: "a", Type: atomicLong}}}
	ds := &ktype.Struct{Name: "disk_stats", Size: 152, Members: []ktype.Member{
		{Name: "nsecs", Type: arr(4)},
		{Name: "sectors", Type: arr(4), Offset: 32 * 8},
		{Name: "ios", Type: arr(4), Offset: 64 * 8},
		{Name: "merges", Type: arr(4), Offset: 96 * 8},
		{Name: "io_ticks", Type: ulong, Offset: 128 * 8},
		{Name: "in_flight", Type: &ktype.Array{Elem: local, Count: 2}, Offset: 136 * 8},
	}}
	return fakekernel.Types{"struct disk_stats": ds, "unsigned long": ulong}
}

// writeStats fills one CPU's copy: every counter of group g is base+g.
func writeStats(m fakekernel.Memory, at, base uint64, inFlight [2]int64) {
	for g := range uint64(4) {
		m.U64(at+8*g, base*1_000_000+g) // nsecs
		m.U64(at+32+8*g, base+10+g)     // sectors
		m.U64(at+64+8*g, base+20+g)     // ios
		m.U64(at+96+8*g, base+30+g)     // merges
	}
	m.U64(at+128, base+40)
	m.U64(at+136, uint64(inFlight[0]))
	m.U64(at+144, uint64(inFlight[1]))
}

func TestReadDiskStats(t *testing.T) {
	const offsets, stats = 0x1000, 0x100000
	m := fakekernel.Memory{}
	// Three CPUs' offsets; the stats are read for CPUs 0 and 2 only.
	for cpu, off := range []uint64{0, 0x10000, 0x20000} {
		m.U64(offsets+8*uint64(cpu), off)
	}
	writeStats(m, stats, 100, [2]int64{3, 1})
	writeStats(m, stats+0x10000, 5000, [2]int64{99, 99}) // CPU 1: not asked for
	writeStats(m, stats+0x20000, 200, [2]int64{-2, 0})   // a CPU that completed more than it issued
	p := &object.Program{Mem: m, Types: diskStatsTypes(), Syms: fakekernel.Symbols{"__per_cpu_offset": offsets}}

	st, err := readDiskStats(p, stats, []int{0, 2})
	if err != nil {
		t.Fatal(err)
	}
	for g := range 4 {
		gg := uint64(g)
		if st.nsecs[g] != 300_000_000+2*gg || st.sectors[g] != 320+2*gg || st.ios[g] != 340+2*gg || st.merges[g] != 360+2*gg {
			t.Errorf("group %d: nsecs %d sectors %d ios %d merges %d", g, st.nsecs[g], st.sectors[g], st.ios[g], st.merges[g])
		}
	}
	if st.ioTicks != 380 {
		t.Errorf("io_ticks %d, want 380", st.ioTicks)
	}
	// Both directions' per-cpu counts summed, signed.
	if st.inFlight != 2 {
		t.Errorf("in flight %d, want 2", st.inFlight)
	}

	// A CPU whose copy cannot be read fails the whole sum.
	if _, err := readDiskStats(p, stats, []int{0, 600}); err == nil {
		t.Error("an unreadable __per_cpu_offset entry gave a sum")
	}
	m.U64(offsets+8, 0x7000000)
	if _, err := readDiskStats(p, stats, []int{1}); err == nil {
		t.Error("an unmapped per-cpu copy gave a sum")
	}
}
