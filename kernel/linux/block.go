package linux

import (
	"errors"
	"fmt"
	"iter"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// ClassSubsys finds the struct subsys_private of a device class (the
// global symbol class, e.g. "block_class"): class->p until 6.3, then the
// class_kset entry whose ->class is it (class_to_subsys() in
// drivers/base/class.c).
func ClassSubsys(p *object.Program, class string) (object.Object, error) {
	if p.HasMember("struct class", "p") {
		sp := p.VarAs(class, "struct class").Member("p").Deref()
		return sp, sp.Err()
	}
	want, err := p.Syms.Addr(class)
	if err != nil {
		return object.Object{}, err
	}
	kset := p.VarAs("class_kset", "struct kset *").Deref()
	for kobj, err := range ListForEachEntry(kset.Member("list"), "struct kobject", "entry") {
		if err != nil {
			return object.Object{}, err
		}
		ka, _ := kobj.Address()
		sp := p.ContainerOf(ka, "struct subsys_private", "subsys.kobj")
		if c, err := sp.Member("class").Uint(); err == nil && c == want {
			return sp, nil
		}
	}
	return object.Object{}, fmt.Errorf("class %s: not registered in class_kset", class)
}

// ClassForEachDevice yields the struct device objects of a class in
// registration order (class_dev_iter over klist_devices, skipping dead
// nodes).
func ClassForEachDevice(p *object.Program, class string) iter.Seq2[object.Object, error] {
	return func(yield func(object.Object, error) bool) {
		sp, err := ClassSubsys(p, class)
		if err != nil {
			yield(object.Object{}, err)
			return
		}
		for kn, err := range ListForEachEntry(sp.Member("klist_devices.k_list"), "struct klist_node", "n_node") {
			if err != nil {
				yield(object.Object{}, err)
				return
			}
			owner, err := kn.Member("n_klist").Uint()
			if err != nil {
				yield(object.Object{}, err)
				return
			}
			if owner&1 != 0 { // knode_dead()
				continue
			}
			ka, _ := kn.Address()
			dev := p.ContainerOf(ka, "struct device_private", "knode_class").Member("device").Deref()
			if !yield(dev, dev.Err()) {
				return
			}
		}
	}
}

// ForEachDisk yields every struct gendisk, in block_class order, as
// disk_seqf_start() iterates them (devices of type disk_type).
func ForEachDisk(p *object.Program) iter.Seq2[object.Object, error] {
	return func(yield func(object.Object, error) bool) {
		diskType, err := p.Syms.Addr("disk_type")
		if err != nil {
			yield(object.Object{}, err)
			return
		}
		for dev, err := range ClassForEachDevice(p, "block_class") {
			if err != nil {
				yield(object.Object{}, err)
				return
			}
			t, err := dev.Member("type").Uint()
			if err != nil {
				yield(object.Object{}, err)
				return
			}
			if t != diskType {
				continue
			}
			// dev_to_disk(): dev_to_bdev(dev)->bd_disk; before v5.11
			// the device is embedded in the disk's part0 hd_struct.
			da, _ := dev.Address()
			var disk object.Object
			if hasHdStruct(p) {
				disk = p.ContainerOf(da, "struct gendisk", "part0.__dev")
			} else {
				disk = p.ContainerOf(da, "struct block_device", "bd_device").Member("bd_disk").Deref()
			}
			if !yield(disk, disk.Err()) {
				return
			}
		}
	}
}

// BdevPartno is the partition number of a struct block_device (bd_partno
// until 6.10, the low byte of __bd_flags since).
func BdevPartno(bdev object.Object) (uint64, error) {
	if bdev.HasMember("bd_partno") {
		return bdev.Member("bd_partno").Uint()
	}
	f, err := bdev.Member("__bd_flags.counter").Uint()
	return f & 0xff, err
}

// BdevName is the name %pg prints (bdev_name() in lib/vsprintf.c): the
// disk name, then "p" if it ends in a digit, and the partition number.
func BdevName(bdev object.Object) (string, error) {
	name, err := bdev.Member("bd_disk").Member("disk_name").CString()
	if err != nil {
		return "", err
	}
	partno, err := BdevPartno(bdev)
	if err != nil {
		return "", err
	}
	if partno == 0 {
		return name, nil
	}
	if n := len(name); n > 0 && name[n-1] >= '0' && name[n-1] <= '9' {
		name += "p"
	}
	return fmt.Sprintf("%s%d", name, partno), nil
}

// hasHdStruct reports whether partitions are struct hd_struct (in the
// disk's disk_part_tbl, part0 embedded in the gendisk), as before v5.11
// ("block: merge struct block_device and struct hd_struct") made them
// struct block_device in an xarray. The type's presence decides; the
// helpers below are the only place that looks.
func hasHdStruct(p *object.Program) bool {
	return p.HasMember("struct hd_struct", "nr_sects")
}

// BlockPart is one entry of a disk's partition table: the whole disk
// (Partno 0) first, then the partitions.
type BlockPart struct {
	Obj     object.Object // struct block_device, or struct hd_struct before 5.11
	Partno  uint64
	Sectors uint64 // bdev_nr_sectors() / part_nr_sects_read()
	Dev     uint64 // dev_t, MAJOR << 20 | MINOR
	Stats   uint64 // the __percpu struct disk_stats *
}

// maxParts bounds a disk_part_tbl (DISK_MAX_PARTS is 256).
const maxParts = 256

// DiskCapacity mirrors get_capacity(): the whole disk's size in sectors.
func DiskCapacity(disk object.Object) (uint64, error) {
	if hasHdStruct(disk.Prog()) {
		return disk.Member("part0.nr_sects").Uint()
	}
	return disk.Member("part0").Member("bd_nr_sectors").Uint()
}

// DiskForEachPart yields the disk's table entries in index order, as
// disk_part_iter_next() (before 5.11) and xa_for_each(&disk->part_tbl)
// do; empty slots are left out, empty partitions are not (callers decide).
func DiskForEachPart(disk object.Object) iter.Seq2[BlockPart, error] {
	return func(yield func(BlockPart, error) bool) {
		p := disk.Prog()
		if !hasHdStruct(p) {
			bdevT, err := p.Type("struct block_device")
			if err != nil {
				yield(BlockPart{}, err)
				return
			}
			for e, err := range XArrayForEach(disk.Member("part_tbl")) {
				if err != nil {
					yield(BlockPart{}, err)
					return
				}
				b := p.Object(bdevT, e.Entry, fmt.Sprintf("part_tbl[%d]", e.Index))
				bp := BlockPart{Obj: b}
				var err1, err2, err3, err4 error
				bp.Partno, err1 = BdevPartno(b)
				bp.Sectors, err2 = b.Member("bd_nr_sectors").Uint()
				bp.Dev, err3 = b.Member("bd_dev").Uint()
				bp.Stats, err4 = b.Member("bd_stats").Uint()
				if err := errors.Join(err1, err2, err3, err4); err != nil {
					yield(BlockPart{}, err)
					return
				}
				if !yield(bp, nil) {
					return
				}
			}
			return
		}
		tbl := disk.Member("part_tbl").Deref()
		n, err := tbl.Member("len").Int()
		if err != nil {
			yield(BlockPart{}, err)
			return
		}
		if n < 0 || n > maxParts {
			yield(BlockPart{}, fmt.Errorf("%s: len %d, not plausible", tbl.Path(), n))
			return
		}
		for i := range n {
			ptr := tbl.Member(fmt.Sprintf("part[%d]", i))
			a, err := ptr.Uint()
			if err != nil {
				yield(BlockPart{}, err)
				return
			}
			if a == 0 {
				continue
			}
			hd := ptr.Deref()
			bp := BlockPart{Obj: hd}
			var err1, err2, err3, err4 error
			bp.Partno, err1 = hd.Member("partno").Uint()
			bp.Sectors, err2 = hd.Member("nr_sects").Uint()
			bp.Dev, err3 = hd.Member("__dev.devt").Uint()
			bp.Stats, err4 = hd.Member("dkstats").Uint()
			if err := errors.Join(err1, err2, err3, err4); err != nil {
				yield(BlockPart{}, err)
				return
			}
			if !yield(bp, nil) {
				return
			}
		}
	}
}

// DiskName mirrors disk_name() in block/genhd.c (and %pg's bdev_name()):
// the disk's name for partition 0, else the name, "p" if it ends in a
// digit, and the partition number.
func DiskName(disk object.Object, partno uint64) (string, error) {
	name, err := disk.Member("disk_name").CString()
	if err != nil || partno == 0 {
		return name, err
	}
	if n := len(name); n > 0 && name[n-1] >= '0' && name[n-1] <= '9' {
		name += "p"
	}
	return fmt.Sprintf("%s%d", name, partno), nil
}

// GenhdShown mirrors the tests show_partition() makes before printing a
// disk (block/genhd.c). With struct block_device partitions (6.x): a
// capacity and not GENHD_FL_HIDDEN (1 << 1). With struct hd_struct (5.10):
// a capacity, not a removable disk (GENHD_FL_REMOVABLE, 1) that cannot
// have partitions (disk_max_parts(): minors, or DISK_MAX_PARTS with
// GENHD_FL_EXT_DEVT, 64), and not GENHD_FL_SUPPRESS_PARTITION_INFO (32).
// The flags are #defines, renumbered between the two: the layout decides.
func GenhdShown(disk object.Object) (bool, error) {
	capacity, err := DiskCapacity(disk)
	if err != nil || capacity == 0 {
		return false, err
	}
	flags, err := disk.Member("flags").Uint()
	if err != nil {
		return false, err
	}
	if !hasHdStruct(disk.Prog()) {
		return flags&(1<<1) == 0, nil
	}
	minors, err := disk.Member("minors").Int()
	if err != nil {
		return false, err
	}
	maxParts := minors != 0 || flags&64 != 0
	return !(flags&1 != 0 && !maxParts) && flags&32 == 0, nil
}
