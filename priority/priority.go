// Package priority lets the ledger yield the CPU to the webhook endpoint
// during a burst.
//
// A webhook is acknowledged once its event is durable in the store's
// outbox; the ledger applies it afterwards. When webhooks arrive faster
// than the whole pipeline can go, the two compete for the same cores, and
// the marketplaces wait for their answers, retrying those that time out.
// A [Pacer] watches how long the endpoint takes to answer
// ([Pacer.Observe]). While more than 1 % of the answers in a window are
// slower than the target (and at least a few: a stall of the whole
// process at a low rate is not the ledger's doing), it paces the ledger
// ([Pacer.Wait]): the ledger's workers pass in batches of a fixed size,
// one batch per period. The period doubles while answers stay slow
// (grows fourfold while more than 10 % are) and shrinks by a quarter per
// window once they are fast again, down to no pacing; with no answers at
// all the ledger is not paced. The backlog waits, durable, in the outbox,
// and the ledger drains it at full speed once the burst is over.
//
// When answers stay slow with the ledger held far back (a period of at
// least half the longest, for a second), something else slows them, a
// slow disk say, and holding the ledger back would only grow its backlog
// without end: the pacer then stops pacing until answers have been fast,
// or absent, for a second.
//
// The ledger falls behind during such a burst rather than the
// marketplaces' deliveries (BENCHMARKS.md §1 measures both).
package priority

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune a Pacer. Zero fields take the defaults.
type Options struct {
	// Target is the answer time above which an answer counts as slow;
	// zero means 10ms.
	Target time.Duration
	// Window is how often the pace is adjusted from the answers observed
	// since the last adjustment; zero means 25ms.
	Window time.Duration
	// Tick is how often a batch may be let through, the shortest period;
	// zero means 5ms.
	Tick time.Duration
	// MaxPeriod is the longest period between batches; zero means 200ms.
	MaxPeriod time.Duration
	// Batch is how many waiters each opening lets through; zero means
	// 128.
	Batch int
	// GiveUp is how long the pacer holds the ledger far back (a period
	// of at least half MaxPeriod) before it judges whether that helps:
	// if more than 1 % of the answers in that time were still slow, the
	// ledger is not what slows them (a slow disk, say), and pacing stops
	// until answers have been fast, or absent, for as long again. Zero
	// means 1s.
	GiveUp time.Duration
}

// minSlow is the fewest slow answers in a window that start or lengthen
// pacing: a stall of the whole process (a collection, a slow fsync) slows
// a few answers at a low rate, and there the ledger is not the cause.
const minSlow = 8

// Pacer paces background work by the answer times of foreground work.
// Observe and Wait are safe for concurrent use; Run drives the pace.
type Pacer struct {
	o Options

	answers, slow atomic.Int64 // since the last adjustment

	// Run's own: since when the ledger has been held far back, and the
	// answers (all, slow) since; whether pacing gave up, and since when
	// answers have been fast since.
	heldSince       time.Time
	heldN, heldSlow int64
	gaveUp          bool
	fastSince       time.Time

	mu      sync.Mutex
	period  time.Duration // zero: not pacing
	tokens  chan struct{} // passes for the current batch
	unpaced chan struct{} // closed when pacing stops
}

// New returns a pacer that does not pace until Run sees slow answers.
func New(opts *Options) *Pacer {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Target <= 0 {
		o.Target = 10 * time.Millisecond
	}
	if o.Window <= 0 {
		o.Window = 25 * time.Millisecond
	}
	if o.Tick <= 0 {
		o.Tick = 5 * time.Millisecond
	}
	if o.MaxPeriod < o.Tick {
		o.MaxPeriod = max(200*time.Millisecond, o.Tick)
	}
	if o.Batch <= 0 {
		o.Batch = 128
	}
	if o.GiveUp <= 0 {
		o.GiveUp = time.Second
	}
	return &Pacer{o: o, tokens: make(chan struct{}, o.Batch)}
}

// Observe records how long one answer of the foreground work took.
func (p *Pacer) Observe(d time.Duration) {
	p.answers.Add(1)
	if d > p.o.Target {
		p.slow.Add(1)
	}
}

// Wait returns at once while the pacer is not pacing; while it is, Wait
// returns when the caller is let through with a batch, when pacing stops,
// or when ctx is done.
func (p *Pacer) Wait(ctx context.Context) {
	p.mu.Lock()
	if p.period == 0 {
		p.mu.Unlock()
		return
	}
	unpaced := p.unpaced
	p.mu.Unlock()
	select {
	case <-p.tokens:
	case <-unpaced:
	case <-ctx.Done():
	}
}

// Period returns the time between batches; zero when not pacing.
func (p *Pacer) Period() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.period
}

// Run adjusts the pace and lets the batches through until ctx is done;
// then it stops pacing, releasing every waiter. It wakes every Tick while
// pacing and every Window otherwise.
func (p *Pacer) Run(ctx context.Context) {
	t := time.NewTimer(p.o.Window)
	defer t.Stop()
	var adjusted, opened time.Time
	for {
		select {
		case <-ctx.Done():
			p.setPeriod(0)
			return
		case now := <-t.C:
			// Not pacing, the timer was set for a window.
			if p.Period() == 0 || now.Sub(adjusted) >= p.o.Window {
				adjusted = now
				p.adjust(now)
			}
			next := p.o.Window
			if period := p.Period(); period > 0 {
				next = p.o.Tick
				if now.Sub(opened) >= period {
					opened = now
					p.open()
				}
			}
			t.Reset(next)
		}
	}
}

// adjust sets the period from the answers observed since the last call,
// at now: none, nothing to yield to; more than 1 % slow, twice as long (at
// least two ticks), four times over 10 %; else a quarter shorter, down to
// not pacing. Holding the ledger far back for GiveUp with answers still
// slow stops pacing until they have been fast for GiveUp.
func (p *Pacer) adjust(now time.Time) {
	answers, slow := p.answers.Swap(0), p.slow.Swap(0)
	slowWindow := slow >= minSlow && slow*100 > answers
	if p.gaveUp {
		switch {
		case slowWindow:
			p.fastSince = time.Time{}
		case p.fastSince.IsZero():
			p.fastSince = now
		case now.Sub(p.fastSince) >= p.o.GiveUp:
			p.gaveUp, p.fastSince = false, time.Time{}
		}
		p.setPeriod(0)
		return
	}
	period := p.Period()
	switch {
	case answers == 0:
		period = 0
	case slowWindow && slow*10 > answers:
		period = min(max(4*period, 4*p.o.Tick), p.o.MaxPeriod)
	case slowWindow:
		period = min(max(2*period, 2*p.o.Tick), p.o.MaxPeriod)
	default:
		if period = period * 3 / 4; period < p.o.Tick {
			period = 0
		}
	}
	switch {
	case period < p.o.MaxPeriod/2:
		p.heldSince = time.Time{}
	case p.heldSince.IsZero():
		p.heldSince, p.heldN, p.heldSlow = now, answers, slow
	default:
		p.heldN, p.heldSlow = p.heldN+answers, p.heldSlow+slow
		if now.Sub(p.heldSince) >= p.o.GiveUp {
			if p.heldSlow >= minSlow && p.heldSlow*100 > p.heldN {
				p.gaveUp, period = true, 0
			}
			p.heldSince = time.Time{}
		}
	}
	p.setPeriod(period)
}

// setPeriod starts, changes or stops pacing.
func (p *Pacer) setPeriod(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case d > 0 && p.period == 0:
		p.unpaced = make(chan struct{})
	case d == 0 && p.period > 0:
		close(p.unpaced)
	}
	p.period = d
}

// open lets the next batch through: it tops the passes up to Batch.
func (p *Pacer) open() {
	for range p.o.Batch - len(p.tokens) {
		select {
		case p.tokens <- struct{}{}:
		default:
			return
		}
	}
}
