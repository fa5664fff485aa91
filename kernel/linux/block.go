package linux

import (
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
			// dev_to_disk(): dev_to_bdev(dev)->bd_disk.
			da, _ := dev.Address()
			disk := p.ContainerOf(da, "struct block_device", "bd_device").Member("bd_disk").Deref()
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
