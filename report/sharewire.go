package report

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// The wire form of a ShareMessage, as it goes between two browser workers
// (one ArrayBuffer each): a version byte, then varints, length-prefixed
// strings and the outputs' data. Reflection-based encodings cost a browser
// worker more than the outputs they carry.

const shareWireVersion = 2

// ErrShareWire is DecodeShareMessage's error for bytes that are not a
// message of this version.
var ErrShareWire = errors.New("not a shared-report message")

// AppendShareMessage appends m's wire form to b.
func AppendShareMessage(b []byte, m ShareMessage) []byte {
	b = append(b, shareWireVersion)
	b = appendString(b, m.Plan)
	b = binary.AppendVarint(b, int64(m.At))
	b = binary.AppendVarint(b, int64(m.Claim))
	b = append(b, flags(m.Stop, m.Done))
	b = binary.AppendUvarint(b, uint64(len(m.Results)))
	for _, r := range m.Results {
		o := r.Output
		b = binary.AppendUvarint(b, uint64(r.Index))
		b = appendString(b, o.Path)
		b = appendString(b, o.Emitter)
		b = appendString(b, o.Status)
		b = appendStrings(b, o.Reasons)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(o.DurationMS))
		b = binary.AppendVarint(b, o.Size)
		b = appendString(b, o.SHA256)
		b = appendStrings(b, r.Log)
		b = binary.AppendUvarint(b, uint64(len(r.Excluded)))
		for _, e := range r.Excluded {
			b = appendString(b, e.What)
			b = binary.AppendUvarint(b, e.Addr)
		}
		b = append(b, flags(r.Data != nil, false))
		if r.Data != nil {
			b = binary.AppendUvarint(b, uint64(len(r.Data)))
			b = append(b, r.Data...)
		}
	}
	return b
}

func flags(a, b bool) byte {
	var f byte
	if a {
		f |= 1
	}
	if b {
		f |= 2
	}
	return f
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

// DecodeShareMessage reads a message AppendShareMessage wrote. Every
// count and length is checked against the bytes left before anything is
// allocated for it; the outputs' data are slices of b.
func DecodeShareMessage(b []byte) (ShareMessage, error) {
	d := wireReader{b: b}
	var m ShareMessage
	if v := d.byte(); v != shareWireVersion {
		return m, fmt.Errorf("%w: version %d", ErrShareWire, v)
	}
	m.Plan = d.string()
	m.At = d.int()
	m.Claim = d.int()
	f := d.byte()
	m.Stop, m.Done = f&1 != 0, f&2 != 0
	n := d.count(1)
	for i := 0; i < n && d.err == nil; i++ {
		var r SharedResult
		r.Index = int(d.uint())
		r.Output.Path = d.string()
		r.Output.Emitter = d.string()
		r.Output.Status = d.string()
		r.Output.Reasons = d.strings()
		r.Output.DurationMS = math.Float64frombits(d.uint64())
		r.Output.Size = int64(d.int())
		r.Output.SHA256 = d.string()
		r.Log = d.strings()
		ne := d.count(2)
		for k := 0; k < ne && d.err == nil; k++ {
			r.Excluded = append(r.Excluded, linux.ExcludedKernelPage{What: d.string(), Addr: d.uint()})
		}
		if d.byte()&1 != 0 {
			r.Data = d.bytes()
		}
		m.Results = append(m.Results, r)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d bytes after the message", ErrShareWire, len(d.b))
	}
	return m, d.err
}

// wireReader consumes b; its first error sticks.
type wireReader struct {
	b   []byte
	err error
}

func (d *wireReader) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s runs past its end", ErrShareWire, what)
	}
	d.b = nil
}

func (d *wireReader) byte() byte {
	if len(d.b) < 1 {
		d.fail("a byte")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *wireReader) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("a number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *wireReader) int() int {
	v, n := binary.Varint(d.b)
	if n <= 0 || v > math.MaxInt32 || v < math.MinInt32 {
		d.fail("a number")
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *wireReader) uint64() uint64 {
	if len(d.b) < 8 {
		d.fail("a float")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// count reads a count of items of at least min bytes each.
func (d *wireReader) count(min int) int {
	n := d.uint()
	if n > uint64(len(d.b)/min) {
		d.fail("a count")
		return 0
	}
	return int(n)
}

func (d *wireReader) bytes() []byte {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *wireReader) string() string { return string(d.bytes()) }

func (d *wireReader) strings() []string {
	n := d.count(1)
	ss := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		ss = append(ss, d.string())
	}
	return ss
}

// Pipe returns two connected Peers in one process, for a report shared
// between two goroutines (tests, native runs): every message goes through
// the wire form, as between browser workers. Close one end to make the
// other's Receive fail with ErrPeerGone.
func Pipe() (a, b *PipePeer) {
	ab, ba := &pipeQueue{ready: make(chan struct{}, 1)}, &pipeQueue{ready: make(chan struct{}, 1)}
	return &PipePeer{in: ba, out: ab}, &PipePeer{in: ab, out: ba}
}

// PipePeer is one end of a Pipe.
type PipePeer struct{ in, out *pipeQueue }

type pipeQueue struct {
	mu     sync.Mutex
	msgs   [][]byte
	closed bool
	ready  chan struct{}
}

// Send queues m for the other end (never blocks).
func (p *PipePeer) Send(m ShareMessage) error {
	q := p.out
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrPeerGone
	}
	q.msgs = append(q.msgs, AppendShareMessage(nil, m))
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return nil
}

// Receive takes what the other end sent.
func (p *PipePeer) Receive(ctx context.Context, wait bool) ([]ShareMessage, error) {
	q := p.in
	for {
		q.mu.Lock()
		raw, closed := q.msgs, q.closed
		q.msgs = nil
		q.mu.Unlock()
		if len(raw) > 0 || !wait || closed {
			var out []ShareMessage
			for _, b := range raw {
				m, err := DecodeShareMessage(b)
				if err != nil {
					return out, err
				}
				out = append(out, m)
			}
			if len(out) == 0 && closed {
				return nil, ErrPeerGone
			}
			return out, nil
		}
		select {
		case <-q.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close ends this end: the other's Receive fails with ErrPeerGone once it
// has taken what was sent, and its Send fails.
func (p *PipePeer) Close() {
	for _, q := range []*pipeQueue{p.in, p.out} {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
}
