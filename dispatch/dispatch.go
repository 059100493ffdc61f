package dispatch

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/ratelimit"
	"github.com/stockgate/stockgate/store"
)

// Account is one connector account the Dispatcher writes to.
type Account struct {
	// Writer is the account's driver. Required.
	Writer Writer
	// Rule computes the account's channel quantity from the ledger.
	// Required and valid; Rule.Channel names the channel in explanations.
	Rule channel.Rule
	// Limiter is the account's rate budget. Accounts that share a
	// marketplace budget (two Shopify locations of one shop) must share
	// one Limiter; so should replicas (ratelimit/redislimit): only the
	// lease holder writes, but the lease moves, and the next holder then
	// starts from the marketplace's real budget. Nil: a ratelimit.Local
	// started at the Writer's InitialBudget (the Writer must then
	// implement InitialBudgeter).
	Limiter ratelimit.Limiter
}

// Options configure a Dispatcher; nil means every default. Each field's
// zero value is the default named.
type Options struct {
	// Window is how long a SKU must be quiet before its changes are
	// written (coalescing: the latest quantity wins). Zero: 250ms.
	Window time.Duration
	// MaxDelay caps how long a SKU that keeps changing is held. Zero: 1s.
	// Raised to Window when smaller.
	MaxDelay time.Duration
	// ReconcileInterval is how often every synced SKU of every account
	// this Dispatcher writes is written again from the ledger, to repair
	// what changed at the marketplace by hand or what a lost notification
	// missed (see the package doc, Durability). Zero: 5 minutes.
	// Negative: only on Resume and when a breaker closes.
	ReconcileInterval time.Duration
	// Concurrency is how many accounts write at once; each account has at
	// most one write in flight, and accounts take turns round-robin.
	// Zero: the number of accounts.
	Concurrency int
	// WriteTimeout bounds one Write (its budget waits included). Zero: 60s.
	WriteTimeout time.Duration
	// MaxItemAttempts is how many failed writes in a row one SKU may have
	// (a stale compare-and-set, an error only that item gets) before it is
	// dead-lettered, so one bad item cannot hold its account's batches
	// back for ever. Zero: 10.
	MaxItemAttempts int
	// DeadLetterDedupTTL is how long the dedup key of a dead letter is
	// remembered. Zero: 30 days.
	DeadLetterDedupTTL time.Duration
	// Backoff spaces retries after failures; see Backoff.
	Backoff Backoff
	// Breaker configures each account's circuit breaker.
	Breaker BreakerSettings
	// BreakerStore keeps each account's breaker state where every replica
	// reads it (gobreaker's SharedDataStore; dispatch/redisbreaker with
	// Redis). Nil: a MemoryBreakerStore of this Dispatcher's own.
	BreakerStore gobreaker.SharedDataStore
	// Leases decide which replica writes each account (see the package
	// doc, Replicas). Nil: this Dispatcher is the only one: it holds every
	// lease (a MemoryLeases of its own) and never polls the store's
	// queues.
	Leases Leases
	// LeaseTTL is how long a lease lasts unless renewed; the holder renews
	// it every LeaseTTL/3, and stops writing the moment it runs out
	// unrenewed. A replica that dies holding a lease is replaced LeaseTTL
	// after its last renewal at the latest. Zero: 10s.
	LeaseTTL time.Duration
	// PollInterval is how often the holder of a lease reads what other
	// replicas queued in the store for its account. Zero: Window.
	// Negative: never. Only with Leases.
	PollInterval time.Duration
	// Holder names this Dispatcher in the leases; unique among replicas.
	// Zero: random.
	Holder string
	// Clock is the Dispatcher's time. Nil: the system clock.
	Clock Clock
	// Logger receives failures and state changes. Nil: discarded.
	Logger *slog.Logger
}

// Dispatcher writes channel quantities to every connector account; see
// the package doc. It is safe for concurrent use; Run drives it.
type Dispatcher struct {
	st       *store.Store
	opts     Options
	clock    Clock
	log      *slog.Logger
	leases   Leases
	accounts []*account
	byKey    map[string]*account
	wake     chan struct{}

	routes  sync.RWMutex          // guards byLoc and every account's rule
	byLoc   map[string][]*account // location → accounts whose rule has it
	running atomic.Bool
}

// account is the Dispatcher's state of one connector account.
type account struct {
	key  string
	w    Writer
	rule channel.Rule
	lim  ratelimit.Limiter
	br   *breaker
	q    *queue

	// Owned by the scheduler goroutine.
	inFlight, queued bool
	notBefore        time.Time
	restored         uint64    // lease epoch whose queue is in q; 0: none
	restoreAt        time.Time // retry a failed restore then
	cursor           uint64    // highest store token read into q

	// Owned by the account's turn (one at a time), and by the scheduler
	// between turns.
	failures int               // consecutive failed writes, for backoff
	attempts map[string]int    // SKU → failed attempts in a row
	dead     map[string]uint64 // SKU → version dead-lettered
	written  map[string]uint64 // SKU → version last written

	mu          sync.Mutex
	lease       lease
	retry       map[string]bool // SKUs to write although dead-lettered (Retry)
	paused      bool
	lastErr     string
	lastCode    errcode.Code
	lastErrAt   time.Time
	lastWriteAt time.Time
	stats       counters
}

// New checks the accounts, reporting every problem at once, and returns a
// Dispatcher over the store st.
func New(st *store.Store, accounts []Account, opts *Options) (*Dispatcher, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Window <= 0 {
		o.Window = 250 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = time.Second
	}
	o.MaxDelay = max(o.MaxDelay, o.Window)
	if o.ReconcileInterval == 0 {
		o.ReconcileInterval = 5 * time.Minute
	}
	if o.Concurrency <= 0 {
		o.Concurrency = max(1, len(accounts))
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = time.Minute
	}
	if o.MaxItemAttempts <= 0 {
		o.MaxItemAttempts = 10
	}
	if o.DeadLetterDedupTTL <= 0 {
		o.DeadLetterDedupTTL = 30 * 24 * time.Hour
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BreakerStore == nil {
		o.BreakerStore = &MemoryBreakerStore{}
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 10 * time.Second
	}
	if o.PollInterval == 0 {
		o.PollInterval = o.Window
	}
	if o.Holder == "" {
		o.Holder = rand.Text()
	}
	leases := o.Leases
	if leases == nil {
		leases = &MemoryLeases{Now: o.Clock.Now}
		o.PollInterval = -1 // nobody else queues
	}
	d := &Dispatcher{
		st: st, opts: o, clock: o.Clock, log: o.Logger, leases: leases,
		byKey: make(map[string]*account), byLoc: make(map[string][]*account),
		wake: make(chan struct{}, 1),
	}
	var errs []error
	if st == nil {
		errs = append(errs, errors.New("store: required"))
	}
	for i, ac := range accounts {
		p := fmt.Sprintf("accounts[%d]", i)
		if ac.Writer == nil {
			errs = append(errs, fmt.Errorf("%s.writer: required", p))
			continue
		}
		key := ac.Writer.Key()
		switch {
		case key == "":
			errs = append(errs, fmt.Errorf("%s.writer: empty key", p))
		case d.byKey[key] != nil:
			errs = append(errs, fmt.Errorf("%s.writer: key %q is used twice", p, key))
		}
		if ac.Writer.MaxBatch() < 1 {
			errs = append(errs, fmt.Errorf("%s.writer: MaxBatch %d is below 1", p, ac.Writer.MaxBatch()))
		}
		if err := ac.Rule.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s.rule: %w", p, err))
		}
		lim := ac.Limiter
		if lim == nil {
			ib, ok := ac.Writer.(InitialBudgeter)
			if !ok {
				errs = append(errs, fmt.Errorf("%s.limiter: required (the writer has no InitialBudget)", p))
				continue
			}
			l, err := ratelimit.NewLocal(ib.InitialBudget())
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.limiter: %w", p, err))
				continue
			}
			lim = l
		}
		a := &account{
			key: key, w: ac.Writer, rule: ac.Rule, lim: lim,
			br:       newBreaker(key, o.Breaker, o.BreakerStore),
			q:        newQueue(o.Window, o.MaxDelay),
			attempts: make(map[string]int), dead: make(map[string]uint64),
			written: make(map[string]uint64),
		}
		d.accounts = append(d.accounts, a)
		d.byKey[key] = a
		for _, loc := range ac.Rule.Locations {
			d.byLoc[loc] = append(d.byLoc[loc], a)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("dispatch: %w", errors.Join(errs...))
	}
	return d, nil
}

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Reconcile queues every synced SKU of the account (all accounts when
// account is empty) to be written again from the ledger, even those the
// ledger did not move since their last write. It is a repair made in
// memory, by the replica that writes the account: it does nothing for an
// account whose lease another replica holds.
func (d *Dispatcher) Reconcile(account string) error {
	now := d.clock.Now()
	if account == "" {
		for _, a := range d.accounts {
			a.reconcile(now)
		}
		d.poke()
		return nil
	}
	a := d.byKey[account]
	if a == nil {
		return fmt.Errorf("%w %q", ErrUnknownAccount, account)
	}
	a.reconcile(now)
	d.poke()
	return nil
}

func (a *account) reconcile(now time.Time) {
	if !a.tracking() {
		return
	}
	for _, sku := range a.w.SKUs() {
		a.q.addDue(sku, now, now, true)
	}
}

// Resume restarts a paused account (after its credentials were fixed) and
// reconciles it.
func (d *Dispatcher) Resume(account string) error {
	a := d.byKey[account]
	if a == nil {
		return fmt.Errorf("%w %q", ErrUnknownAccount, account)
	}
	a.mu.Lock()
	a.paused = false
	a.mu.Unlock()
	d.log.Info("dispatch: account resumed", "account", account)
	return d.Reconcile(account)
}

// Explain computes the account's channel quantity of sku from the ledger
// now, with every step (which locations, which buffer, which rule).
func (d *Dispatcher) Explain(ctx context.Context, account, sku string) (channel.Quantity, error) {
	a := d.byKey[account]
	if a == nil {
		return channel.Quantity{}, fmt.Errorf("%w %q", ErrUnknownAccount, account)
	}
	if !a.w.Syncs(sku) {
		return channel.Quantity{}, fmt.Errorf("%w: %q on %q", ErrUnsynced, sku, account)
	}
	rule := d.ruleOf(a)
	ps, err := d.projections(ctx, a, rule, sku)
	if err != nil {
		return channel.Quantity{}, err
	}
	return rule.Compute(ps), nil
}

// Run writes until ctx is done, then waits for the writes in flight,
// releases its leases and returns nil. It takes the lease of every
// account no other replica holds and restores each one's queue from the
// store (the first run ever queues every synced SKU), then feeds src's
// changes to Enqueue, one store write per batch; src may be nil (changes
// then come only through Enqueue and Notify). It returns src's error if
// src fails (other than io.EOF), and ErrRunning if the Dispatcher is
// already running.
func (d *Dispatcher) Run(ctx context.Context, src Source) error {
	if !d.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer d.running.Store(false)

	leaseCtx, stopLeases := context.WithCancel(ctx)
	for _, a := range d.accounts {
		d.renew(leaseCtx, a)
	}
	var keeper sync.WaitGroup
	keeper.Go(func() { d.keepLeases(leaseCtx) })

	srcCtx, stopSrc := context.WithCancel(ctx)
	defer stopSrc()
	srcErr := make(chan error, 1)
	var reader sync.WaitGroup
	if src != nil {
		reader.Go(func() { srcErr <- d.read(srcCtx, src) })
	}
	err := d.schedule(ctx, srcErr)
	stopSrc()
	reader.Wait()
	stopLeases()
	keeper.Wait()
	d.releaseAll()
	for _, a := range d.accounts {
		d.forget(a)
	}
	return err
}

// read feeds src to Enqueue until it ends. It reads the next batch only
// once the last one is durable.
func (d *Dispatcher) read(ctx context.Context, src Source) error {
	for {
		cs, err := src.Next(ctx)
		if len(cs) > 0 {
			if d.enqueueBatch(ctx, cs) != nil {
				return nil // ctx is done
			}
		}
		switch {
		case err == nil:
		case ctx.Err() != nil, errors.Is(err, io.EOF):
			return nil
		default:
			return fmt.Errorf("dispatch: source: %w", err)
		}
	}
}

// turnDone is the end of one account's turn.
type turnDone struct {
	a         *account
	notBefore time.Time
}

// schedule is the scheduler loop: it hands due accounts to at most
// Concurrency turns, round-robin, and sleeps until the next account can
// go.
func (d *Dispatcher) schedule(ctx context.Context, srcErr <-chan error) error {
	done := make(chan turnDone, len(d.accounts))
	active := 0
	var runq []*account
	var reconcileTick, pollTick <-chan time.Time
	if d.opts.ReconcileInterval > 0 {
		reconcileTick = d.clock.After(d.opts.ReconcileInterval)
	}
	if d.opts.PollInterval > 0 {
		pollTick = d.clock.After(d.opts.PollInterval)
	}
	for {
		now := d.clock.Now()
		var wakeAt time.Time
		for _, a := range d.accounts {
			if a.br.takeClosed() {
				d.log.Info("dispatch: breaker closed, reconciling", "account", a.key)
				a.reconcile(now)
			}
			if a.inFlight || a.queued {
				continue
			}
			if ok, retry := d.prepare(ctx, a, now); !ok {
				if !retry.IsZero() && (wakeAt.IsZero() || retry.Before(wakeAt)) {
					wakeAt = retry
				}
				continue
			}
			t, ok := d.readyAt(ctx, a, now)
			switch {
			case !ok:
			case !t.After(now):
				a.queued = true
				runq = append(runq, a)
			case wakeAt.IsZero() || t.Before(wakeAt):
				wakeAt = t
			}
		}
		for active < d.opts.Concurrency && len(runq) > 0 {
			a := runq[0]
			runq = runq[1:]
			a.queued, a.inFlight = false, true
			active++
			go func() { done <- turnDone{a: a, notBefore: d.turn(ctx, a)} }()
		}
		var timer <-chan time.Time
		if !wakeAt.IsZero() {
			timer = d.clock.After(wakeAt.Sub(now))
		}
		select {
		case <-ctx.Done():
			for ; active > 0; active-- {
				<-done
			}
			return nil
		case r := <-done:
			active--
			r.a.inFlight, r.a.notBefore = false, r.notBefore
		case <-d.wake:
		case <-timer:
		case <-reconcileTick:
			_ = d.Reconcile("")
			reconcileTick = d.clock.After(d.opts.ReconcileInterval)
		case <-pollTick:
			for _, a := range d.accounts {
				if _, epoch, held := a.holds(d.clock.Now()); held && a.restored == epoch {
					d.poll(ctx, a)
				}
			}
			pollTick = d.clock.After(d.opts.PollInterval)
		case err := <-srcErr:
			if err != nil {
				for ; active > 0; active-- {
					<-done
				}
				return err
			}
			srcErr = nil
		}
	}
}

// prepare readies a for a turn, between turns: it restores a's queue from
// the store when a's lease was taken, and forgets it when the lease was
// lost. It reports whether a is this Dispatcher's to write, and when to
// try again a restore that failed.
func (d *Dispatcher) prepare(ctx context.Context, a *account, now time.Time) (ok bool, retry time.Time) {
	_, epoch, held := a.holds(now)
	if !held {
		if a.restored != 0 {
			d.forget(a)
		}
		return false, time.Time{}
	}
	if a.restored == epoch {
		return true, time.Time{}
	}
	if a.restored != 0 { // lost and taken again: what q holds is stale
		d.forget(a)
	}
	if now.Before(a.restoreAt) {
		return false, a.restoreAt
	}
	if err := d.restore(ctx, a, now); err != nil {
		if ctx.Err() == nil {
			d.log.Warn("dispatch: restoring the queue failed", "account", a.key, "err", err)
		}
		a.restoreAt = now.Add(time.Second)
		return false, a.restoreAt
	}
	a.restored = epoch
	return true, time.Time{}
}

// forget drops what a holds in memory for writing, once another replica
// writes it (or this Dispatcher stops): the store's queue keeps every SKU
// still to write. Callers own a's turn state (no turn in flight).
func (d *Dispatcher) forget(a *account) {
	a.q.reset()
	a.restored, a.cursor = 0, 0
	clear(a.written)
	clear(a.attempts)
	a.failures = 0
}

// readyAt is the earliest time a turn of a could start: something is due,
// the backoff has passed, the breaker is not open, and the budget holds
// the batch's cost. ok is false when a has nothing to do or is paused.
func (d *Dispatcher) readyAt(ctx context.Context, a *account, now time.Time) (time.Time, bool) {
	a.mu.Lock()
	paused := a.paused
	a.mu.Unlock()
	if paused {
		return time.Time{}, false
	}
	t, ok := a.q.next()
	if !ok {
		return time.Time{}, false
	}
	t = later(t, a.notBefore)
	if open := a.br.openFor(); open > 0 {
		t = later(t, now.Add(open))
	}
	n := max(1, a.q.dueCount(later(t, now), a.w.MaxBatch()))
	b, err := a.lim.State(ctx, now)
	if err != nil {
		return later(t, now.Add(time.Second)), true
	}
	t = later(t, b.HoldUntil)
	need := min(a.w.Cost(n), b.Burst)
	if b.Tokens < need {
		if b.Limit <= 0 {
			return later(t, now.Add(time.Second)), true
		}
		wait := time.Duration((need - b.Tokens) / b.Limit * float64(time.Second))
		t = later(t, now.Add(wait.Truncate(time.Millisecond)+time.Millisecond))
	}
	return t, true
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
