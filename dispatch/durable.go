package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// restorePage is how many queued items one store read returns when a
// queue is restored or polled.
const restorePage = 1000

// Enqueue queues the SKUs that changes concern, for every account whose
// rule includes the change's location and that syncs the SKU, in the
// store's durable queues (one store write for all of them), and then in
// memory for the accounts this Dispatcher writes. When it returns nil the
// changes survive a crash: whichever replica holds an account's lease
// writes them. On an error nothing was queued.
func (d *Dispatcher) Enqueue(ctx context.Context, changes ...event.Availability) error {
	now := d.clock.Now()
	items, targets := d.route(changes, now)
	if len(items) == 0 {
		return nil
	}
	tokens, err := d.st.Enqueue(ctx, items)
	if err != nil {
		return fmt.Errorf("dispatch: enqueue: %w", err)
	}
	d.note(items, targets, tokens, now)
	return nil
}

// Notify is Enqueue for callers with no context to give: it waits for the
// store at most a few seconds. When the store fails it logs the error and
// queues the changes in memory only, as a Dispatcher without a durable
// queue would (the periodic reconcile covers them after a crash). It
// never blocks on the marketplaces; Run may or may not be running.
func (d *Dispatcher) Notify(changes ...event.Availability) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	err := d.Enqueue(ctx, changes...)
	if err == nil {
		return
	}
	d.log.Error("dispatch: changes queued in memory only", "err", err)
	now := d.clock.Now()
	items, targets := d.route(changes, now)
	d.note(items, targets, make([]uint64, len(items)), now)
}

// route lists the queue items changes make, one per account and SKU.
func (d *Dispatcher) route(changes []event.Availability, now time.Time) ([]store.QueueItem, []*account) {
	var items []store.QueueItem
	var targets []*account
	seen := map[[2]string]bool{}
	d.routes.RLock()
	defer d.routes.RUnlock()
	for i := range changes {
		c := &changes[i]
		for _, a := range d.byLoc[c.Location] {
			k := [2]string{a.key, c.SKU}
			if seen[k] || !a.w.Syncs(c.SKU) {
				continue
			}
			seen[k] = true
			items = append(items, store.QueueItem{Account: a.key, SKU: c.SKU, Since: now})
			targets = append(targets, a)
		}
	}
	return items, targets
}

// note adds queued items to the queues in memory of the accounts this
// Dispatcher may write.
func (d *Dispatcher) note(items []store.QueueItem, targets []*account, tokens []uint64, now time.Time) {
	wake := false
	for i, it := range items {
		a := targets[i]
		if a.tracking() && a.q.add(it.SKU, now, tokens[i]) {
			wake = true
		}
	}
	if wake {
		d.poke()
	}
}

// enqueueBatch makes one Source batch durable, retrying with backoff
// until the store takes it or ctx ends: the Source is not read again (and
// so does not acknowledge the batch) before.
func (d *Dispatcher) enqueueBatch(ctx context.Context, changes []event.Availability) error {
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := d.Enqueue(sctx, changes...)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.log.Warn("dispatch: queuing changes failed; retrying", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.clock.After(d.opts.Backoff.Delay(attempt)):
		}
	}
}

// restore fills a's queue in memory from the store when a's lease is
// taken: the first time ever it seeds the store's queue with every SKU a
// syncs; after that only what is queued is written.
func (d *Dispatcher) restore(ctx context.Context, a *account, now time.Time) error {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	seeded, err := d.st.SeedQueue(sctx, a.key, a.w.SKUs(), now)
	if err != nil {
		return err
	}
	if seeded {
		d.log.Info("dispatch: first run for the account: every synced SKU queued", "account", a.key)
	}
	a.cursor = 0
	n, err := d.readQueue(sctx, a)
	if err != nil {
		return err
	}
	d.log.Info("dispatch: queue restored", "account", a.key, "pending", n)
	return nil
}

// poll adds what other replicas queued for a since the last read.
func (d *Dispatcher) poll(ctx context.Context, a *account) {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if _, err := d.readQueue(sctx, a); err != nil && ctx.Err() == nil {
		d.log.Warn("dispatch: reading the queue failed", "account", a.key, "err", err)
	}
}

// readQueue adds a's items in the store with a token above a.cursor to
// its queue in memory, and moves the cursor past them.
func (d *Dispatcher) readQueue(ctx context.Context, a *account) (int, error) {
	n := 0
	for {
		items, err := d.st.Pending(ctx, a.key, a.cursor, restorePage)
		if err != nil {
			return n, err
		}
		for _, it := range items {
			a.q.restore(it.SKU, it.Since, it.Token)
			a.cursor = it.Token
		}
		n += len(items)
		if len(items) < restorePage {
			return n, nil
		}
	}
}

// dequeue removes the finished items of a turn from the store's queue. A
// failure leaves them queued: they are written again after a restart, a
// no-op or the ledger's newer value.
func (d *Dispatcher) dequeue(ctx context.Context, a *account, items []store.QueueItem) {
	if len(items) == 0 {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := d.st.Dequeue(sctx, items); err != nil && !errors.Is(err, store.ErrClosed) {
		d.log.Warn("dispatch: dequeuing written SKUs failed", "account", a.key, "n", len(items), "err", err)
	}
}

// queueStatus adds to the queue figures of Status what the store's queue
// holds for a and a's queue in memory does not: for an account this
// Dispatcher does not write, or not yet.
func (d *Dispatcher) queueStatus(a *account, now time.Time, depth, due *int, oldest *time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), observeTimeout)
	defer cancel()
	var after uint64
	for {
		items, err := d.st.Pending(ctx, a.key, after, restorePage)
		if err != nil {
			return err
		}
		for _, it := range items {
			after = it.Token
			if a.q.has(it.SKU) {
				continue
			}
			*depth++
			if !it.Since.Add(d.opts.Window).After(now) {
				*due++
			}
			if oldest.IsZero() || it.Since.Before(*oldest) {
				*oldest = it.Since
			}
		}
		if len(items) < restorePage {
			return nil
		}
	}
}
