package dump

import (
	"errors"
	"fmt"
	"io"

	"github.com/vmcore-report/vmcore-report/internal/lru"
)

// makedumpfile --split writes N kdump-compressed files. Each has the full
// headers (split = 1 and its [start_pfn, end_pfn) in the sub header), the
// full 1st bitmap, and descriptors and data for its own PFN range only; its
// 2nd bitmap may have bits outside the range, so ranks count from
// start_pfn.

func openSplit(parts []Part) (*Dump, error) {
	meta := lru.New[metaKey](defaultMetaCache)
	var kps []*kdumpPart
	for i, pt := range parts {
		if pt.Size < 0 {
			return nil, fmt.Errorf("open %s: negative size %d", pt.Name, pt.Size)
		}
		var r io.ReaderAt = io.NewSectionReader(pt.R, 0, pt.Size)
		size := pt.Size
		fr, err := openFlat(r, size)
		switch {
		case err == nil:
			r, size = fr, fr.size
		case !errors.Is(err, ErrNotThisFormat):
			return nil, fmt.Errorf("open %s as flattened dump: %w", pt.Name, err)
		}
		kp, err := openKdumpPart(pt.Name, r, size, i, meta)
		if errors.Is(err, ErrNotThisFormat) {
			return nil, fmt.Errorf("open %s: a split dump part must be a kdump-compressed file: %w", pt.Name, err)
		}
		if err != nil {
			return nil, fmt.Errorf("open %s as kdump dump: %w", pt.Name, err)
		}
		if !kp.split {
			return nil, fmt.Errorf("open %s: not a --split part (sub header split = 0)", pt.Name)
		}
		kps = append(kps, kp)
	}
	sortParts(kps)
	first := kps[0]
	var warnings []string
	next := uint64(0)
	for _, kp := range kps {
		if kp.blockSize != first.blockSize || kp.maxPFN != first.maxPFN {
			return nil, fmt.Errorf("split parts %s and %s disagree: block size %d/%d, max_mapnr %#x/%#x",
				first.name, kp.name, first.blockSize, kp.blockSize, first.maxPFN, kp.maxPFN)
		}
		// makedumpfile writes the same disk_dump_header into every part
		// (only the sub header's PFN range differs): parts whose kernel
		// or time differ come from different dumps.
		if kp.utsname() != first.utsname() || kp.hdr.Timestamp != first.hdr.Timestamp {
			return nil, fmt.Errorf("split parts %s and %s come from different dumps: %s %s at %v, and %s %s at %v",
				first.name, kp.name, first.utsname().Nodename, first.utsname().Release, first.hdr.Timestamp[0],
				kp.utsname().Nodename, kp.utsname().Release, kp.hdr.Timestamp[0])
		}
		if kp.startPFN < next {
			return nil, fmt.Errorf("split part %s (pfn %#x-%#x) overlaps the part before it", kp.name, kp.startPFN, kp.endPFN)
		}
		if kp.startPFN > next {
			warnings = append(warnings, fmt.Sprintf("no part covers pfn %#x-%#x", next, kp.startPFN))
		}
		next = kp.endPFN
	}
	if next < first.maxPFN {
		warnings = append(warnings, fmt.Sprintf("no part covers pfn %#x-%#x", next, first.maxPFN))
	}
	d := kdumpDump(kps, meta)
	d.info.Format = "kdump-split"
	d.info.Warnings = append(d.info.Warnings, warnings...)
	return d, nil
}
