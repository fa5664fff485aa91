package dump

import (
	"container/heap"
	"slices"
	"sort"
)

// span maps the address range [start, end) to data: for kind spanFile the
// byte at start is at file offset base; other kinds carry no data.
type span struct {
	start, end uint64
	base       int64
	kind       spanKind
	prio       int64 // overlay order: the higher wins where spans overlap
}

type spanKind uint8

const (
	spanFile     spanKind = iota // bytes in the file
	spanExcluded                 // memory that exists but whose bytes were left out
)

// overlay resolves overlapping spans into sorted, disjoint ones in which
// every address belongs to the highest-priority span that covered it, the
// way delve's SplicedMemory lets later regions overlay earlier ones.
// Neighbouring pieces of one span are merged back together.
func overlay(in []span) []span {
	spans := make([]span, 0, len(in))
	for _, s := range in {
		if s.end > s.start {
			spans = append(spans, s)
		}
	}
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	disjoint := true
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			disjoint = false
			break
		}
	}
	if disjoint {
		return spans
	}

	bounds := make([]uint64, 0, 2*len(spans))
	for _, s := range spans {
		bounds = append(bounds, s.start, s.end)
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)

	var out []span
	active := &spanHeap{}
	next := 0 // next span (by start) to activate
	for i := 0; i+1 < len(bounds); i++ {
		lo, hi := bounds[i], bounds[i+1]
		for next < len(spans) && spans[next].start <= lo {
			heap.Push(active, spans[next])
			next++
		}
		for active.Len() > 0 && (*active)[0].end <= lo {
			heap.Pop(active)
		}
		if active.Len() == 0 {
			continue
		}
		w := (*active)[0]
		piece := span{start: lo, end: hi, kind: w.kind, prio: w.prio, base: w.base + int64(lo-w.start)}
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.end == lo && last.prio == w.prio && last.kind == w.kind &&
				last.base+int64(last.end-last.start) == piece.base {
				last.end = hi
				continue
			}
		}
		out = append(out, piece)
	}
	return out
}

// spanHeap is a max-heap on priority whose top may have expired; overlay
// drops expired tops lazily.
type spanHeap []span

func (h spanHeap) Len() int           { return len(h) }
func (h spanHeap) Less(i, j int) bool { return h[i].prio > h[j].prio }
func (h spanHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *spanHeap) Push(x any)        { *h = append(*h, x.(span)) }
func (h *spanHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// findSpan returns the index of the span holding addr in sorted disjoint
// spans, or -1.
func findSpan(spans []span, addr uint64) int {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].end > addr })
	if i < len(spans) && spans[i].start <= addr {
		return i
	}
	return -1
}
