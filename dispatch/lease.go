package dispatch

import (
	"context"
	"sync"
	"time"
)

// Leases make one Dispatcher, among replicas, the only writer of each
// connector account. A lease is held by a holder (a Dispatcher's
// Options.Holder) for a time to live, renewed by the holder before it
// runs out; whoever asks once it has run out or been released gets it.
// Implementations are safe for concurrent use; dispatch/redislease is the
// one replicas share, MemoryLeases the one for Dispatchers in one process.
type Leases interface {
	// Acquire takes account's lease for holder for ttl when nobody holds
	// it, or extends it by ttl from now when holder holds it, and reports
	// whether holder holds it now. On an error the answer is unknown.
	Acquire(ctx context.Context, account, holder string, ttl time.Duration) (bool, error)
	// Release ends holder's lease of account, if holder holds it, so that
	// another replica takes it at once instead of when it runs out.
	Release(ctx context.Context, account, holder string) error
}

// MemoryLeases are Leases in memory, for Dispatchers in one process. The
// zero value is ready to use and reads the system clock.
type MemoryLeases struct {
	// Now reads the clock. Nil: time.Now.
	Now func() time.Time

	mu     sync.Mutex
	leases map[string]memoryLease
}

type memoryLease struct {
	holder string
	until  time.Time
}

var _ Leases = (*MemoryLeases)(nil)

func (m *MemoryLeases) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Acquire implements Leases.
func (m *MemoryLeases) Acquire(ctx context.Context, account, holder string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	l, ok := m.leases[account]
	if ok && l.holder != holder && now.Before(l.until) {
		return false, nil
	}
	if m.leases == nil {
		m.leases = map[string]memoryLease{}
	}
	m.leases[account] = memoryLease{holder: holder, until: now.Add(ttl)}
	return true, nil
}

// Release implements Leases.
func (m *MemoryLeases) Release(ctx context.Context, account, holder string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[account]; ok && l.holder == holder {
		delete(m.leases, account)
	}
	return nil
}

// leaseState is where an account's lease stands for this Dispatcher.
type leaseState int

const (
	leaseUnknown leaseState = iota // not running: nobody asked
	leaseHeld                      // held until lease.until
	leaseLost                      // another replica holds it, or may
)

// lease is an account's lease as this Dispatcher holds it; guarded by
// account.mu.
type lease struct {
	state  leaseState
	until  time.Time // while held: when it runs out unless renewed
	epoch  uint64    // counts the times it was taken
	ctx    context.Context
	cancel context.CancelFunc // ends the writes of this holding
}

// holds reports whether a may write at now, and with which context.
func (a *account) holds(now time.Time) (context.Context, uint64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lease.state != leaseHeld || !now.Before(a.lease.until) {
		return nil, 0, false
	}
	return a.lease.ctx, a.lease.epoch, true
}

// tracking reports whether a's changes go to its queue in memory: not
// while another replica holds its lease.
func (a *account) tracking() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lease.state != leaseLost
}

// gained records that a holds its lease until until, as asked at asked;
// it reports whether a did not hold it before. A lease that had run out
// when it was asked for is a new holding, even if nobody noticed: another
// replica may have written meanwhile.
func (a *account) gained(parent context.Context, asked, until time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lease.state == leaseHeld && asked.Before(a.lease.until) {
		a.lease.until = until
		return false
	}
	if a.lease.cancel != nil {
		a.lease.cancel()
	}
	a.lease.state, a.lease.until = leaseHeld, until
	a.lease.epoch++
	a.lease.ctx, a.lease.cancel = context.WithCancel(parent)
	return true
}

// lost records that a no longer holds its lease (to is leaseLost, or
// leaseUnknown when the Dispatcher stops) and cancels the write in flight;
// it reports whether a held it.
func (a *account) lost(to leaseState) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	held := a.lease.state == leaseHeld
	a.lease.state, a.lease.until = to, time.Time{}
	if a.lease.cancel != nil {
		a.lease.cancel()
		a.lease.ctx, a.lease.cancel = nil, nil
	}
	return held
}

// leaseUntil returns when a's lease runs out; ok is false unless held.
func (a *account) leaseUntil() (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lease.until, a.lease.state == leaseHeld
}

// renew asks for a's lease once, measuring its time to live from before
// the call: the holder stops writing no later than the store lets it
// lapse.
func (d *Dispatcher) renew(ctx context.Context, a *account) {
	start := d.clock.Now()
	actx, cancel := context.WithTimeout(ctx, min(d.opts.LeaseTTL/3, storeTimeout))
	ok, err := d.leases.Acquire(actx, a.key, d.opts.Holder, d.opts.LeaseTTL)
	cancel()
	switch {
	case err != nil:
		// Unknown: keep writing until the lease would run out.
		if ctx.Err() == nil {
			d.log.Warn("dispatch: renewing a lease failed", "account", a.key, "err", err)
		}
	case ok:
		if a.gained(ctx, start, start.Add(d.opts.LeaseTTL)) {
			d.log.Info("dispatch: lease taken", "account", a.key, "holder", d.opts.Holder)
			d.poke()
		}
	default:
		if a.lost(leaseLost) {
			d.log.Warn("dispatch: lease lost to another replica", "account", a.key, "holder", d.opts.Holder)
			d.poke()
		}
	}
}

// keepLeases renews every account's lease each LeaseTTL/3 until ctx is
// done, and gives up a lease the moment it runs out unrenewed.
func (d *Dispatcher) keepLeases(ctx context.Context) {
	every := d.opts.LeaseTTL / 3
	next := d.clock.Now().Add(every) // Run renewed them all just now
	for {
		now := d.clock.Now()
		if !now.Before(next) {
			for _, a := range d.accounts {
				d.renew(ctx, a)
			}
			now = d.clock.Now()
			next = now.Add(every)
		}
		wake := next
		for _, a := range d.accounts {
			until, held := a.leaseUntil()
			switch {
			case !held:
			case !now.Before(until):
				if a.lost(leaseLost) {
					d.log.Warn("dispatch: lease ran out unrenewed; stopped writing", "account", a.key)
					d.poke()
				}
			case until.Before(wake):
				wake = until
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-d.clock.After(wake.Sub(now)):
		}
	}
}

// releaseAll ends every lease this Dispatcher holds, for a Run that ends.
func (d *Dispatcher) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	for _, a := range d.accounts {
		if a.lost(leaseUnknown) {
			if err := d.leases.Release(ctx, a.key, d.opts.Holder); err != nil {
				d.log.Warn("dispatch: releasing a lease failed", "account", a.key, "err", err)
			}
		}
	}
}
