package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/vmcore-report/vmcore-report/emitters"
	"github.com/vmcore-report/vmcore-report/kernel"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// Sharing a report between two runs. A browser worker has one thread, so
// a report in one worker uses one core whatever the machine has. Two
// runs on the same inputs, each in its own worker with its own wasm
// instance, can split its outputs: both open the kernel and plan the same
// jobs; the lead (Options.Share) runs them from the start, the helper
// (Help) from the end, and they meet in the middle. The lead writes every
// file, its own and those the helper sends, in plan order: the archive is
// the one the lead would write alone, byte for byte but for the times
// every run has (the manifest's durations, the log's stamps).
//
// Neither waits for the other to begin, and the lead never depends on
// the helper: a helper with another plan, one that stops answering or
// sends what the lead did not expect is dropped, and the lead makes the
// rest itself. Each side tells the other where it is every PollEvery;
// near the meeting point an output may be made by both (the lead keeps
// its own), which costs at most about two such intervals of work.

// Peer carries the messages of a shared report between its two runs.
type Peer interface {
	// Send delivers a message to the other run.
	Send(ShareMessage) error
	// Receive returns the messages that have arrived since the last call
	// (a browser worker first lets its event loop take them). With wait
	// it blocks until at least one has, ctx ends or the peer is gone.
	Receive(ctx context.Context, wait bool) ([]ShareMessage, error)
}

// ErrPeerGone is a Peer's error once the other run has ended (its worker
// stopped or crashed).
var ErrPeerGone = errors.New("the other run of the shared report has ended")

// Share makes a run the lead of a shared report (Options.Share). After
// the run it says how the sharing went.
type Share struct {
	Peer Peer
	// PollEvery spaces the looks at the peer's messages (0:
	// DefaultPollEvery); WaitFor bounds the wait for one output the helper
	// took on (0: the emitter deadline and 10 s).
	PollEvery, WaitFor time.Duration

	// Set by the run:
	Made    int    // outputs the helper made and the lead wrote
	Twice   int    // outputs both made (the lead wrote its own)
	Dropped string // why the lead stopped listening to the helper; "" if it did not
}

// DefaultPollEvery: a browser worker takes messages only when it yields
// to its event loop, 0.2–1 ms each in Chromium (at every 3 ms, the lead of
// the many-tasks report spent 70–130 ms of its 2 s there); two intervals
// of work is what the meeting point may cost twice.
const DefaultPollEvery = 10 * time.Millisecond

// ShareMessage is one message of a shared report. The lead sends At (and
// Stop); the helper sends Plan first, then Claim, Done and Results.
type ShareMessage struct {
	// Plan is the digest of the helper's jobs (planDigest), in its first
	// message: the lead listens only to a helper with its own plan.
	Plan string
	// At: the lead has made, or is making, every job up to this index.
	At int
	// Stop: the lead needs nothing more (it finished, or dropped the
	// helper).
	Stop bool
	// Claim: the helper has made, or is making, every job from this index
	// to the end, and will send each. The plan's length while it claims
	// none.
	Claim int
	// Done: the helper claims nothing more; every job it made is in this
	// message or an earlier one.
	Done bool
	// Results are outputs the helper made.
	Results []SharedResult
}

// SharedResult is one output the helper made.
type SharedResult struct {
	Index  int    // the job's index in the plan
	Output Output // its outcome; Size and SHA256 set when Data is written
	Data   []byte // nil when nothing is written
	Log    []string
	// Excluded: the slab page the dump lacks that failed the output, if
	// that is why (the lead lists it in the manifest).
	Excluded []linux.ExcludedKernelPage
}

// planDigest identifies a plan: the lead and the helper share only if
// they planned the same jobs in the same order.
func planDigest(jobs []job) string {
	h := sha256.New()
	for _, j := range jobs {
		h.Write([]byte(j.path))
		h.Write([]byte{0})
		if j.pre != nil {
			h.Write([]byte(j.pre.Status))
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// lead is the lead's view of the helper.
type lead struct {
	s      *Share
	jobs   []job
	plan   string
	last   time.Time
	joined bool // the helper's plan is the lead's
	gone   bool // the helper is dropped (or never came)
	from   int  // the lowest job the helper has claimed
	done   bool // the helper claims no more
	got    map[int]SharedResult
	at     int
}

// emitShared is emitJobs with a helper taking jobs from the end.
func (r *runner) emitShared(c *emitters.Context, jobs []job, m *Manifest, sink Sink) (int, error) {
	s := r.opts.Share
	l := &lead{s: s, jobs: jobs, plan: planDigest(jobs), from: len(jobs), got: map[int]SharedResult{}}
	if s.PollEvery <= 0 {
		s.PollEvery = DefaultPollEvery
	}
	if s.WaitFor <= 0 {
		s.WaitFor = r.opts.EmitterDeadline + 10*time.Second
	}
	// The helper stops when the lead does, whatever the reason.
	defer func() { _ = s.Peer.Send(ShareMessage{At: len(jobs), Stop: true}) }()
	for i := range jobs {
		r.progress(Progress{Stage: StageEmit, Done: i, Total: len(jobs), Path: jobs[i].path})
		l.at = i
		l.poll(r.ctx, false)
		if res, ok := l.take(r.ctx, i); ok {
			s.Made++
			if err := r.write(m, sink, res); err != nil {
				return i, err
			}
			continue
		}
		if err := r.emitJob(c, jobs[i], m, sink); err != nil {
			return i, err
		}
	}
	// Whether and how the report was shared is not in its log: the
	// archive is the one the lead would make alone. Share says it.
	return len(jobs), nil
}

// poll takes the helper's messages, at most every PollEvery unless wait,
// and tells the helper where the lead is.
func (l *lead) poll(ctx context.Context, wait bool) {
	if l.gone || l.done || (!wait && time.Since(l.last) < l.s.PollEvery) {
		return
	}
	l.last = time.Now()
	// Where the lead is goes first: a helper that has finished and gone
	// cannot be told, but what it sent is still to be taken.
	sendErr := l.s.Peer.Send(ShareMessage{At: l.at})
	wctx := ctx
	if wait && sendErr == nil {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, l.s.WaitFor)
		defer cancel()
	}
	msgs, err := l.s.Peer.Receive(wctx, wait && sendErr == nil)
	for _, msg := range msgs {
		l.handle(msg)
	}
	switch {
	case l.done || l.gone:
	case err == nil && sendErr != nil:
		l.drop(fmt.Sprintf("the helper could not be told: %v", sendErr))
	case err == nil:
	case ctx.Err() != nil:
		// The run itself ends: it says so at its next job.
	case errors.Is(err, context.DeadlineExceeded):
		l.drop(fmt.Sprintf("the helper sent nothing for %v", l.s.WaitFor))
	default:
		l.drop(fmt.Sprintf("the helper's messages stopped: %v", err))
	}
}

func (l *lead) handle(msg ShareMessage) {
	if l.gone {
		return
	}
	if msg.Plan != "" {
		if msg.Plan != l.plan {
			l.drop("the helper planned other outputs")
			return
		}
		l.joined = true
	}
	if !l.joined {
		l.drop("the helper's first message had no plan")
		return
	}
	for _, res := range msg.Results {
		if res.Index < 0 || res.Index >= len(l.jobs) || l.jobs[res.Index].path != res.Output.Path || l.jobs[res.Index].pre != nil {
			l.drop(fmt.Sprintf("the helper sent an output the lead did not expect (%q as job %d)", res.Output.Path, res.Index))
			return
		}
		if res.Index < l.at {
			l.s.Twice++ // the lead made it meanwhile
			continue
		}
		l.got[res.Index] = res
	}
	if msg.Claim < l.from {
		l.from = max(msg.Claim, 0)
	}
	if msg.Done {
		l.done = true
	}
}

func (l *lead) drop(why string) {
	if !l.gone {
		l.gone, l.s.Dropped = true, why
		l.got = map[int]SharedResult{}
		_ = l.s.Peer.Send(ShareMessage{At: len(l.jobs), Stop: true}) // spare its work
	}
}

// take returns the helper's result for job i if the helper has taken
// that job on, waiting for it if need be; false: the lead makes it.
func (l *lead) take(ctx context.Context, i int) (jobResult, bool) {
	if l.jobs[i].pre != nil {
		return jobResult{}, false
	}
	for !l.gone && i >= l.from {
		if res, ok := l.got[i]; ok {
			delete(l.got, i)
			return jobResult{o: res.Output, data: res.Data, log: res.Log, excluded: res.Excluded}, true
		}
		if l.done {
			// Done came with every output the helper made.
			l.drop(fmt.Sprintf("the helper ended without %s, which it had taken on", l.jobs[i].path))
			break
		}
		if ctx.Err() != nil {
			break
		}
		l.poll(ctx, true)
	}
	return jobResult{}, false
}

// Help is the helper's side of a shared report (see Share): it opens the
// kernel from the same inputs as the lead, plans the same jobs and makes
// them from the end, sending each to the lead, until it reaches the jobs
// the lead has made or the lead says stop. It writes nothing itself;
// s.Made says how many outputs it made. Its error says why it stopped
// early (the lead then makes the rest).
func Help(ctx context.Context, in Files, opts Options, s *Share) error {
	if err := opts.Filter.Validate(); err != nil {
		return err
	}
	k, err := kernel.Open(ctx, in.Dump, kernel.Options{Vmlinux: in.Vmlinux, Types: in.Types})
	if err != nil {
		if k != nil {
			k.Close()
		}
		// A degraded kernel fails every output the same way: nothing
		// worth sharing, and the lead says why.
		return err
	}
	defer k.Close()
	if opts.PageCacheBytes > 0 {
		k.SetCacheSize(opts.PageCacheBytes)
	}
	return HelpRun(ctx, k, opts, s)
}

// HelpRun is Help on a kernel already open (tests), as Run is to Analyze.
func HelpRun(ctx context.Context, k *kernel.Kernel, opts Options, s *Share) error {
	if err := opts.Filter.Validate(); err != nil {
		return err
	}
	if opts.EmitterDeadline <= 0 {
		opts.EmitterDeadline = DefaultEmitterDeadline
	}
	if opts.Deadline == 0 {
		opts.Deadline = DefaultDeadline
	}
	list := opts.Emitters
	if list == nil {
		list = emitters.All()
	}
	r := &runner{ctx: ctx, k: k, opts: opts, start: time.Now()}
	defer r.iso.close()
	r.checkExcludedKernelPages()
	c := emitters.NewContext(k)
	scratch := &Manifest{Enumerations: map[string]Enumeration{}}
	jobs := r.plan(c, list, scratch)
	if r.readErr != nil {
		return r.readErr
	}
	return r.help(c, jobs, scratch, s)
}

func (r *runner) help(c *emitters.Context, jobs []job, scratch *Manifest, s *Share) error {
	every, peer := s.PollEvery, s.Peer
	if every <= 0 {
		every = DefaultPollEvery
	}
	leadAt := -1
	stop := false
	take := func() error {
		msgs, err := peer.Receive(r.ctx, false)
		for _, m := range msgs {
			leadAt = max(leadAt, m.At)
			stop = stop || m.Stop
		}
		return err
	}
	if err := peer.Send(ShareMessage{Plan: planDigest(jobs), Claim: len(jobs)}); err != nil {
		return err
	}
	var batch []SharedResult
	lowest := len(jobs)
	last, first := time.Now(), true
	for j := len(jobs) - 1; j >= 0; j-- {
		if jobs[j].pre != nil {
			continue
		}
		if first || time.Since(last) >= every {
			first, last = false, time.Now()
			if err := take(); err != nil {
				return err
			}
			if stop || j <= leadAt {
				break
			}
			// Claimed before it is made: the lead waits for what the
			// helper has claimed rather than make it too.
			if err := peer.Send(ShareMessage{Claim: j, Results: batch}); err != nil {
				return err
			}
			batch = nil
		} else if j <= leadAt {
			break
		}
		res, err := r.runJob(c, jobs[j], scratch)
		if err != nil {
			// The run must stop (cancelled, an input unreadable): the
			// lead finds out for itself, or makes the rest.
			_ = peer.Send(ShareMessage{Claim: lowest, Done: true, Results: batch})
			return err
		}
		sr := SharedResult{Index: j, Output: res.o, Data: res.data, Log: res.log, Excluded: res.excluded}
		if res.data != nil {
			sr.Output.Size, sr.Output.SHA256 = int64(len(res.data)), sha256Hex(res.data)
		}
		batch = append(batch, sr)
		s.Made, lowest = s.Made+1, j
	}
	return peer.Send(ShareMessage{Claim: lowest, Done: true, Results: batch})
}
