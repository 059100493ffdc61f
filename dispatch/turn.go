package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/store"
)

// turn writes one batch of account a: take the due SKUs, read their
// quantities from the ledger, pass the breaker, Write, and sort the
// outcomes. It returns the time before which a must not go again (zero:
// as soon as something is due).
func (d *Dispatcher) turn(ctx context.Context, a *account) time.Time {
	now := d.clock.Now()
	batch := a.q.take(now, a.w.MaxBatch())
	if len(batch) == 0 {
		return time.Time{}
	}
	defer a.q.done(batch)
	putBack := func(ts []taken) {
		at := d.clock.Now()
		for _, t := range ts {
			a.q.addDue(t.sku, t.first, at)
		}
	}

	done, err := a.br.allow()
	if err != nil { // open, or a half-open probe in flight
		putBack(batch)
		return now.Add(max(a.br.openFor(), 10*time.Millisecond))
	}

	// Read the latest quantities: whatever changed while the SKU waited is
	// in the ledger now, so the write carries the latest value.
	ups := make([]Update, 0, len(batch))
	firsts := make([]time.Time, 0, len(batch))
	for _, t := range batch {
		ps, err := d.projections(ctx, a, t.sku)
		if err != nil {
			done(errcode.Canceled) // not the marketplace's doing
			putBack(batch)
			return d.fail(a, classifyStore(ctx), fmt.Errorf("reading the ledger: %w", err), now)
		}
		q := a.rule.Compute(ps)
		v := q.Explanation.Version()
		if dv, ok := a.dead[t.sku]; ok && dv == v {
			continue // dead-lettered as it is; written again when the ledger moves
		}
		ups = append(ups, Update{SKU: t.sku, Quantity: q.Value, Version: v})
		firsts = append(firsts, t.first)
	}
	if len(ups) == 0 {
		done(errcode.Canceled)
		return time.Time{}
	}

	wctx, cancel := context.WithTimeout(ctx, d.opts.WriteTimeout)
	outs, werr := a.w.Write(wctx, &pacer{a: a, clock: d.clock}, ups)
	cancel()
	if werr == nil && len(outs) != len(ups) {
		werr = fmt.Errorf("driver returned %d outcomes for %d updates", len(outs), len(ups))
		done(errcode.Unknown)
		return d.callFailed(ctx, a, ups, firsts, errcode.Unknown, werr)
	}
	code := classify(ctx, a.w, werr)
	if ctx.Err() == nil && (code == errcode.Canceled || code == errcode.DeadlineExceeded) {
		code = errcode.Unavailable // WriteTimeout: the marketplace did not answer in time
	}
	done(code)
	if werr != nil {
		return d.callFailed(ctx, a, ups, firsts, code, werr)
	}
	return d.sortOutcomes(ctx, a, ups, firsts, outs)
}

// classifyStore is the code of a failed ledger read.
func classifyStore(ctx context.Context) errcode.Code {
	if ctx.Err() != nil {
		return errcode.Canceled
	}
	return errcode.Unavailable
}

// callFailed handles a Write that failed as a whole.
func (d *Dispatcher) callFailed(ctx context.Context, a *account, ups []Update, firsts []time.Time, code errcode.Code, err error) time.Time {
	now := d.clock.Now()
	requeue := func() {
		for i, u := range ups {
			a.q.addDue(u.SKU, firsts[i], now)
		}
	}
	switch code {
	case errcode.InvalidArgument:
		// The request as a whole was refused: every update in it is.
		for _, u := range ups {
			d.deadLetter(ctx, a, u, code, err)
		}
		d.record(a, code, err, now)
		return time.Time{}
	case errcode.Unauthenticated, errcode.NotFound:
		requeue()
		d.pause(ctx, a, code, err)
		return time.Time{}
	case errcode.Canceled, errcode.DeadlineExceeded:
		requeue()
		return time.Time{}
	case errcode.ResourceExhausted:
		requeue()
		d.record(a, code, err, now)
		return now.Add(max(a.w.RetryAfter(err), time.Millisecond))
	}
	requeue()
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
func (d *Dispatcher) sortOutcomes(ctx context.Context, a *account, ups []Update, firsts []time.Time, outs []Outcome) time.Time {
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
			continue
		case errcode.InvalidArgument:
			delete(a.attempts, u.SKU)
			d.deadLetter(ctx, a, u, o.Code, o.Err)
			continue
		case errcode.Aborted:
			// Not applied for another update's sake: not this SKU's fault.
			a.q.addDue(u.SKU, firsts[i], now)
			continue
		}
		err := o.Err
		if err == nil {
			err = errors.New(o.Code.String())
		}
		if a.attempts[u.SKU]++; a.attempts[u.SKU] >= d.opts.MaxItemAttempts {
			delete(a.attempts, u.SKU)
			d.deadLetter(ctx, a, u, o.Code, fmt.Errorf("gave up after %d attempts: %w", d.opts.MaxItemAttempts, err))
			continue
		}
		a.q.addDue(u.SKU, firsts[i], now)
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
func (d *Dispatcher) projections(ctx context.Context, a *account, sku string) ([]store.Projection, error) {
	ps := make([]store.Projection, 0, len(a.rule.Locations))
	for _, loc := range a.rule.Locations {
		p, err := d.st.Projection(ctx, store.Key{SKU: sku, Location: loc})
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}
