package ledger

import (
	"fmt"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// Change is the outcome of applying one event to one key.
type Change struct {
	// Entry is the ledger entry; Projection the state after it.
	Entry      store.Entry
	Projection store.Projection
	// Alert is set when the change must be looked at (oversold, drift).
	Alert *store.Alert
}

// Moved reports whether the change moved any quantity.
func (c Change) Moved() bool { return c.Entry.Delta != (store.Quantities{}) }

// MaxCountAhead is how far after the ledger's clock a count of on hand
// may be dated. A later one is kept as a dead letter instead of applied:
// a count dated next year would make every count until then stale.
const MaxCountAhead = 5 * time.Minute

// Step applies a stock-moving event to the projection of the key it names
// and returns the changes, one per key it touches (two for a transfer: the
// source first). before holds the current projections of those keys in the
// same order; safety the safety stock of each. Step is pure: it reads no
// clock but now.
func Step(ev *event.Event, before []store.Projection, safety []int64, now time.Time) ([]Change, error) {
	m := ev.Movement
	if m == nil {
		return nil, fmt.Errorf("ledger: %s is not a stock movement", ev.Type)
	}
	want := 1
	if ev.Type == event.StockTransferred {
		want = 2
	}
	if len(before) != want || len(safety) != want {
		return nil, fmt.Errorf("ledger: %s needs %d projections, got %d", ev.Type, want, len(before))
	}
	base := func(i int) store.Entry {
		return store.Entry{
			Key:           before[i].Key,
			Seq:           before[i].Seq + 1,
			EventID:       ev.ID(),
			EventType:     string(ev.Type),
			Connector:     m.Connector,
			SourceEventID: m.SourceEventID,
			CorrelationID: m.CorrelationID,
			Reason:        m.Reason,
			Outcome:       store.OutcomeApplied,
			OccurredAt:    m.OccurredAt,
			RecordedAt:    now,
		}
	}
	q := m.Quantity
	switch ev.Type {
	case event.StockReceived, event.StockReturned, event.StockAdjusted:
		return []Change{apply(base(0), before[0], safety[0], store.Quantities{OnHand: q}, ev)}, nil
	case event.OrderCommitted:
		return []Change{apply(base(0), before[0], safety[0], store.Quantities{Committed: q}, ev)}, nil
	case event.OrderCancelled:
		return []Change{apply(base(0), before[0], safety[0], store.Quantities{Committed: -q}, ev)}, nil
	case event.OrderFulfilled:
		return []Change{apply(base(0), before[0], safety[0], store.Quantities{OnHand: -q, Committed: -q}, ev)}, nil
	case event.StockTransferred:
		out := apply(base(0), before[0], safety[0], store.Quantities{OnHand: -q}, ev)
		in := apply(base(1), before[1], safety[1], store.Quantities{OnHand: q}, ev)
		return []Change{out, in}, nil
	case event.StockCounted:
		if m.State != event.StateAvailable && m.OccurredAt.After(now.Add(MaxCountAhead)) {
			// Applied, it would make every count until that date stale.
			// The reason names no clock reading: it is part of the dead
			// letter's mark, which a redelivery must find again.
			return nil, fmt.Errorf("ledger: count dated %s, more than %v after the ledger's clock: a wrong clock or date; count again",
				m.OccurredAt.Format(time.RFC3339), MaxCountAhead)
		}
		return []Change{count(base(0), before[0], safety[0], ev)}, nil
	}
	return nil, fmt.Errorf("ledger: no rule for %s", ev.Type)
}

// apply adds delta to p and flags a negative result.
func apply(e store.Entry, p store.Projection, safety int64, delta store.Quantities, ev *event.Event) Change {
	next := p
	next.OnHand += delta.OnHand
	next.Committed += delta.Committed
	next.SafetyStock = safety
	next.Available = next.OnHand - next.Committed - next.SafetyStock
	return finish(e, p, next, ev)
}

func finish(e store.Entry, p, next store.Projection, ev *event.Event) Change {
	next.Seq = e.Seq
	next.UpdatedAt = e.RecordedAt
	e.Delta = store.Quantities{
		OnHand:      next.OnHand - p.OnHand,
		Committed:   next.Committed - p.Committed,
		SafetyStock: next.SafetyStock - p.SafetyStock,
		Available:   next.Available - p.Available,
	}
	e.Result = next.Quantities
	c := Change{Entry: e, Projection: next}
	if overdrawn(next.Quantities, e.Delta) {
		c.Entry.Outcome = store.OutcomeOversold
		c.Entry.Note = fmt.Sprintf("on hand %d, committed %d, available %d after %s", next.OnHand, next.Committed, next.Available, ev.Type.Short())
		what := "oversold"
		if next.OnHand >= 0 && next.Available >= 0 {
			// Only committed is below zero: more released or shipped than
			// the ledger saw reserved. Legitimate for a moment when a
			// marketplace delivers an order's release or shipment before
			// the order (it evens out when the order arrives); lasting, it
			// means a release counted twice, and available is too high.
			what = "committed below zero (released or shipped before its order arrived, or released twice)"
		}
		c.Alert = &store.Alert{
			Kind:      store.AlertOversold,
			Key:       e.Key,
			EventID:   e.EventID,
			Message:   fmt.Sprintf("%s %s: %s", e.Key, what, c.Entry.Note),
			CreatedAt: e.RecordedAt,
		}
	}
	return c
}

// overdrawn reports whether a change by delta left a quantity of q below
// zero by lowering it: on hand or committed, or available by what the
// event moved (on hand less committed; not a change of safety stock). An
// event that leaves a negative quantity as it was or raises it (a
// receipt, a cancel, a shipment of what was committed) took nothing that
// was not there, and raises no alert of its own.
func overdrawn(q, delta store.Quantities) bool {
	return q.OnHand < 0 && delta.OnHand < 0 ||
		q.Committed < 0 && delta.Committed < 0 ||
		q.Available < 0 && delta.OnHand-delta.Committed < 0
}

// count applies a counted event: an on-hand count sets on hand unless it is
// stale; an available count is an observation.
func count(e store.Entry, p store.Projection, safety int64, ev *event.Event) Change {
	m := ev.Movement
	if m.State == event.StateAvailable {
		next := p
		next.SafetyStock = safety
		next.Available = next.OnHand - next.Committed - next.SafetyStock
		c := finish(e, p, next, ev)
		c.Entry.Outcome = store.OutcomeObserved
		if m.Reason == event.ReasonEchoConfirmation {
			// The channel reports what stockgate pushed to it (after the
			// channel's rule): a confirmation, not something to compare
			// with the location.
			c.Entry.Note = fmt.Sprintf("%s confirms the %d stockgate pushed", m.Connector, m.Quantity)
			return c
		}
		if m.Quantity == next.Available {
			c.Entry.Note = fmt.Sprintf("%s reports available %d: matches", m.Connector, m.Quantity)
			return c
		}
		c.Entry.Note = fmt.Sprintf("%s reports available %d, ledger has %d", m.Connector, m.Quantity, next.Available)
		c.Alert = &store.Alert{
			Kind:      store.AlertDrift,
			Key:       e.Key,
			EventID:   e.EventID,
			Message:   fmt.Sprintf("%s drift: %s", e.Key, c.Entry.Note),
			CreatedAt: e.RecordedAt,
		}
		return c
	}
	if !p.LastCountAt.IsZero() && m.OccurredAt.Before(p.LastCountAt) {
		next := p
		c := finish(e, p, next, ev)
		c.Entry.Outcome = store.OutcomeStale
		c.Entry.Note = fmt.Sprintf("count as of %s is older than the last count applied (%s)",
			m.OccurredAt.Format(time.RFC3339Nano), p.LastCountAt.Format(time.RFC3339Nano))
		c.Alert = nil
		return c
	}
	next := p
	next.OnHand = m.Quantity
	next.LastCountAt = m.OccurredAt
	next.SafetyStock = safety
	next.Available = next.OnHand - next.Committed - next.SafetyStock
	return finish(e, p, next, ev)
}
