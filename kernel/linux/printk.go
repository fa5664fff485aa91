package linux

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// PrintkRecord is one record of the kernel log (struct printk_info and its
// text).
type PrintkRecord struct {
	Seq      uint64
	TsNsec   uint64
	Facility uint8
	Level    uint8
	CallerID uint32
	Text     string
}

// Descriptor states, kernel/printk/printk_ringbuffer.h (enum desc_state).
const (
	descCommitted = 1
	descFinalized = 2
)

// maxPrintkRingBytes bounds the text ring read whole: CONFIG_LOG_BUF_SHIFT
// is at most 25 (32 MiB), log_buf_len= could ask more, which we refuse.
const maxPrintkRingBytes = 64 << 20

// PrintkRecords reads the lockless printk ring buffer (Linux >= 5.10,
// kernel/printk/printk_ringbuffer.c) through the pointer prb, oldest record
// first. Records whose descriptor is not committed or finalized, or whose
// text block is invalid, are skipped, as prb_read_valid would.
func PrintkRecords(p *object.Program) ([]PrintkRecord, error) {
	rb := p.VarAs("prb", "struct printk_ringbuffer *").Deref()
	if rb.Err() != nil {
		return nil, rb.Err()
	}
	dr := rb.Member("desc_ring")
	countBits, err := dr.Member("count_bits").Uint()
	if err != nil {
		return nil, err
	}
	if countBits == 0 || countBits > 24 {
		return nil, fmt.Errorf("printk: desc_ring.count_bits = %d, not plausible", countBits)
	}
	count := uint64(1) << countBits
	descs, err1 := dr.Member("descs").Uint()
	infos, err2 := dr.Member("infos").Uint()
	headID, err3 := dr.Member("head_id.counter").Uint()
	tailID, err4 := dr.Member("tail_id.counter").Uint()
	tr := rb.Member("text_data_ring")
	sizeBits, err5 := tr.Member("size_bits").Uint()
	data, err6 := tr.Member("data").Uint()
	for _, e := range []error{err1, err2, err3, err4, err5, err6} {
		if e != nil {
			return nil, e
		}
	}
	if sizeBits == 0 || uint64(1)<<sizeBits > maxPrintkRingBytes {
		return nil, fmt.Errorf("printk: text_data_ring.size_bits = %d, not plausible", sizeBits)
	}

	descT, err := p.Type("struct prb_desc")
	if err != nil {
		return nil, err
	}
	infoT, err := p.Type("struct printk_info")
	if err != nil {
		return nil, err
	}
	descSize, _ := ktype.Sizeof(descT)
	infoSize, _ := ktype.Sizeof(infoT)
	off := func(t ktype.Type, path string) uint64 {
		o, e := ktype.MemberOffset(t, path)
		if e != nil && err == nil {
			err = e
		}
		return o
	}
	svOff, beginOff, nextOff := off(descT, "state_var"), off(descT, "text_blk_lpos.begin"), off(descT, "text_blk_lpos.next")
	seqOff, tsOff, lenOff := off(infoT, "seq"), off(infoT, "ts_nsec"), off(infoT, "text_len")
	facOff, callerOff := off(infoT, "facility"), off(infoT, "caller_id")
	levelM, lerr := ktype.FindMember(infoT, "level")
	if err != nil || lerr != nil {
		return nil, fmt.Errorf("printk: layout: %v %v", err, lerr)
	}

	descBuf := make([]byte, count*descSize)
	if _, err := p.Mem.ReadVirtAt(descBuf, descs); err != nil {
		return nil, fmt.Errorf("printk: descriptors at %#x: %w", descs, err)
	}
	infoBuf := make([]byte, count*infoSize)
	if _, err := p.Mem.ReadVirtAt(infoBuf, infos); err != nil {
		return nil, fmt.Errorf("printk: infos at %#x: %w", infos, err)
	}
	ringSize := uint64(1) << sizeBits
	ring := make([]byte, ringSize)
	if _, err := p.Mem.ReadVirtAt(ring, data); err != nil {
		return nil, fmt.Errorf("printk: text ring at %#x: %w", data, err)
	}

	le := binary.LittleEndian
	const idMask = ^(uint64(3) << 62)
	var out []PrintkRecord
	for id, n := tailID&idMask, uint64(0); n < count; id, n = (id+1)&idMask, n+1 {
		idx := id & (count - 1)
		d := descBuf[idx*descSize : (idx+1)*descSize]
		sv := le.Uint64(d[svOff:])
		state := sv >> 62
		if sv&idMask == id && (state == descCommitted || state == descFinalized) {
			in := infoBuf[idx*infoSize : (idx+1)*infoSize]
			textLen := uint64(le.Uint16(in[lenOff:]))
			text, ok := blockText(ring, sizeBits, le.Uint64(d[beginOff:]), le.Uint64(d[nextOff:]))
			if ok {
				text = text[:min(uint64(len(text)), textLen)]
				bitpos := uint64(levelM.Offset)
				lv := (uint64(in[bitpos/8]) >> (bitpos % 8)) & (1<<uint64(levelM.BitfieldSize) - 1)
				out = append(out, PrintkRecord{
					Seq: le.Uint64(in[seqOff:]), TsNsec: le.Uint64(in[tsOff:]),
					Facility: in[facOff], Level: uint8(lv), CallerID: le.Uint32(in[callerOff:]),
					Text: string(text),
				})
			}
		}
		if id == headID&idMask {
			break
		}
	}
	return out, nil
}

// blockText mirrors get_data(): the text of the data block [begin, next) of
// a ring of 1<<sizeBits bytes, after the block's leading id word.
func blockText(ring []byte, sizeBits, begin, next uint64) ([]byte, bool) {
	size := uint64(1) << sizeBits
	if begin&1 != 0 && next&1 != 0 { // data-less: an empty line or a failed reservation
		return nil, true
	}
	var start, n uint64
	switch {
	case begin>>sizeBits == next>>sizeBits && begin < next:
		start, n = begin&(size-1), next-begin
	case (begin+size)>>sizeBits == next>>sizeBits:
		start, n = 0, next&(size-1)
	default:
		return nil, false
	}
	if n < 8 || start+n > size {
		return nil, false
	}
	return ring[start+8 : start+n], true
}

// FormatDmesg renders records as dmesg prints the kernel's syslog buffer:
// every line of a record prefixed with its "[%5lu.%06lu] " timestamp
// (record_print_text and print_time in kernel/printk/printk.c).
func FormatDmesg(recs []PrintkRecord) string {
	var b strings.Builder
	for _, r := range recs {
		prefix := fmt.Sprintf("[%5d.%06d] ", r.TsNsec/1e9, r.TsNsec%1e9/1000)
		for line := range strings.SplitSeq(r.Text, "\n") {
			b.WriteString(prefix)
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
