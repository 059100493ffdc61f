package dispatch

import (
	"context"
	"errors"
	"fmt"
	"github.com/stockgate/stockgate/channel"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/store"
)

// turn writes one batch of account a: take the due SKUs, read their
// quantities from the ledger, pass the breaker, Write, and sort the
// outcomes. It returns the time before which a must not go again (zero:
// as soon as something is due).
func (d *Dispatcher) turn(ctx context.Context, a *account) time.Time {
	now := d.clock.Now()
	lctx, _, held := a.holds(now)
	if !held {
		return time.Time{}
	}
	batch := a.q.take(now, a.w.MaxBatch())
	if len(batch) == 0 {
		return time.Time{}
	}
	defer a.q.done(batch)
	var fin finished
	defer func() { d.dequeue(ctx, a, fin.items) }() // before done: a SKU in flight is not polled back

	if open := a.br.openFor(); open > 0 {
		d.putBack(a, batch)
		return now.Add(open)
	}

	// Read the latest quantities: whatever changed while the SKU waited is
	// in the ledger now, so the write carries the latest value.
	ups := make([]Update, 0, len(batch))
	ts := make([]taken, 0, len(batch))
	rule := d.ruleOf(a)
	for _, t := range batch {
		ps, err := d.projections(ctx, a, rule, t.sku)
		if err != nil {
			d.putBack(a, batch)
			return d.fail(a, classifyStore(ctx), fmt.Errorf("reading the ledger: %w", err), now)
		}
		q := rule.Compute(ps)
		v := q.Explanation.Version()
		if dv, ok := a.dead[t.sku]; ok && dv == v && !a.takeRetry(t.sku) {
			fin.add(a, t) // dead-lettered as it is; written again when the ledger moves
			continue
		}
		if wv, ok := a.written[t.sku]; ok && wv == v && !t.force {
			fin.add(a, t) // written as it is (a change heard twice, or from two replicas)
			continue
		}
		ups = append(ups, Update{SKU: t.sku, Quantity: q.Value, Version: v})
		ts = append(ts, t)
	}
	if len(ups) == 0 {
		return time.Time{}
	}

	var outs []Outcome
	var werr error
	code := errcode.OK
	ran, berr := a.br.execute(func() errcode.Code {
		// The lease may have run out while the ledger was read or the
		// breaker's lock awaited: only the holder writes.
		if _, _, held := a.holds(d.clock.Now()); !held {
			werr, code = errLeaseLost, errcode.Canceled
			return code
		}
		wctx, cancel := context.WithTimeout(lctx, d.opts.WriteTimeout)
		outs, werr = a.w.Write(wctx, &pacer{a: a, clock: d.clock}, ups)
		cancel()
		if werr == nil && len(outs) != len(ups) {
			werr = fmt.Errorf("driver returned %d outcomes for %d updates", len(outs), len(ups))
			code = errcode.Unknown
			return code
		}
		// The lease's context ends with Run's or when the lease is lost:
		// this Dispatcher's doing, not the marketplace's.
		code = classify(lctx, a.w, werr)
		if lctx.Err() == nil && (code == errcode.Canceled || code == errcode.DeadlineExceeded) {
			code = errcode.Unavailable // WriteTimeout: the marketplace did not answer in time
		}
		return code
	})
	if !ran {
		d.putBack(a, ts)
		if errors.Is(berr, gobreaker.ErrOpenState) || errors.Is(berr, gobreaker.ErrTooManyRequests) {
			return now.Add(max(a.br.openFor(), 10*time.Millisecond))
		}
		return d.fail(a, errcode.Unavailable, berr, now) // the breaker's shared state is out of reach
	}
	if werr != nil {
		return d.callFailed(ctx, a, ups, ts, code, werr, &fin)
	}
	return d.sortOutcomes(ctx, a, ups, ts, outs, &fin)
}

// errLeaseLost is the error of a write not made because the lease ran out.
var errLeaseLost = errors.New("dispatch: lease lost before the write")

// finished collects the SKUs of a turn that are done with (written or
// dead-lettered), to remove from the store's queue.
type finished struct{ items []store.QueueItem }

func (f *finished) add(a *account, t taken) {
	if t.token != 0 {
		f.items = append(f.items, store.QueueItem{Account: a.key, SKU: t.sku, Token: t.token})
	}
}

// putBack makes taken SKUs due again at once.
func (d *Dispatcher) putBack(a *account, ts []taken) {
	now := d.clock.Now()
	for _, t := range ts {
		a.q.putBack(t, now)
	}
}

// classifyStore is the code of a failed ledger read.
func classifyStore(ctx context.Context) errcode.Code {
	if ctx.Err() != nil {
		return errcode.Canceled
	}
	return errcode.Unavailable
}

// callFailed handles a Write that failed as a whole.
func (d *Dispatcher) callFailed(ctx context.Context, a *account, ups []Update, ts []taken, code errcode.Code, err error, fin *finished) time.Time {
	now := d.clock.Now()
	switch code {
	case errcode.InvalidArgument:
		// The request as a whole was refused: every update in it is.
		for i, u := range ups {
			d.deadLetter(ctx, a, u, code, err)
			fin.add(a, ts[i])
		}
		d.record(a, code, err, now)
		return time.Time{}
	case errcode.Unauthenticated, errcode.NotFound:
		d.putBack(a, ts)
		d.pause(ctx, a, code, err)
		return time.Time{}
	case errcode.Canceled, errcode.DeadlineExceeded:
		d.putBack(a, ts)
		return time.Time{}
	case errcode.ResourceExhausted:
		d.putBack(a, ts)
		d.record(a, code, err, now)
		return now.Add(max(a.w.RetryAfter(err), time.Millisecond))
	}
	d.putBack(a, ts)
	return d.fail(a, code, err, now)
}

// fail records a retryable failure and returns the end of its backoff.
// A Retry-After is honoured only for throttling (the rate-limit contract);
// for 5xx, outages are left to backoff and the breaker.
func (d *Dispatcher) fail(a *account, code errcode.Code, err error, now time.Time) time.Time {
	if code == errcode.Canceled || code == errcode.DeadlineExceeded {
		return time.Time{}
	}
	a.failures++
	d.record(a, code, err, now)
	return now.Add(d.opts.Backoff.Delay(a.failures))
}

// sortOutcomes handles the per-update outcomes of a Write that answered.
func (d *Dispatcher) sortOutcomes(ctx context.Context, a *account, ups []Update, ts []taken, outs []Outcome, fin *finished) time.Time {
	now := d.clock.Now()
	var written uint64
	var retry error
	retryCode := errcode.OK
	for i, u := range ups {
		o := outs[i]
		switch o.Code {
		case errcode.OK:
			written++
			delete(a.attempts, u.SKU)
			delete(a.dead, u.SKU)
			a.written[u.SKU] = u.Version
			fin.add(a, ts[i])
			continue
		case errcode.InvalidArgument:
			delete(a.attempts, u.SKU)
			d.deadLetter(ctx, a, u, o.Code, o.Err)
			fin.add(a, ts[i])
			continue
		case errcode.Aborted:
			// Not applied for another update's sake: not this SKU's fault.
			a.q.putBack(ts[i], now)
			continue
		}
		err := o.Err
		if err == nil {
			err = errors.New(o.Code.String())
		}
		if a.attempts[u.SKU]++; a.attempts[u.SKU] >= d.opts.MaxItemAttempts {
			delete(a.attempts, u.SKU)
			d.deadLetter(ctx, a, u, o.Code, fmt.Errorf("gave up after %d attempts: %w", d.opts.MaxItemAttempts, err))
			fin.add(a, ts[i])
			continue
		}
		a.q.putBack(ts[i], now)
		if o.Code != errcode.FailedPrecondition { // a stale write goes again at once
			retry, retryCode = err, o.Code
		}
	}
	a.mu.Lock()
	a.stats.Written += written
	if written > 0 {
		a.lastWriteAt = now
	}
	a.mu.Unlock()
	if retry != nil {
		return d.fail(a, retryCode, retry, now)
	}
	a.failures = 0
	return time.Time{}
}

// record notes a failure in the account's status and the log.
func (d *Dispatcher) record(a *account, code errcode.Code, err error, now time.Time) {
	e := &Error{Account: a.key, Code: code, Err: err}
	a.mu.Lock()
	a.setErrorLocked(code, e, now)
	a.mu.Unlock()
	d.log.Warn("dispatch: write failed", "account", a.key, "code", code.String(), "err", err)
}

// projections returns the projections of sku at the rule's locations: one keyed
// read each, which every backend answers directly (store.Projections may
// have to scan).
func (d *Dispatcher) projections(ctx context.Context, a *account, rule channel.Rule, sku string) ([]store.Projection, error) {
	ps := make([]store.Projection, 0, len(rule.Locations))
	for _, loc := range rule.Locations {
		p, err := d.st.Projection(ctx, store.Key{SKU: sku, Location: loc})
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}
