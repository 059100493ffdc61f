package reconcile_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/ledger"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

var t0 = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)

// newLedger returns a memstore and a ledger over it.
func newLedger(t *testing.T) (*store.Store, *ledger.Ledger) {
	t.Helper()
	st := store.New(memstore.New(nil))
	t.Cleanup(func() { st.Close() })
	return st, ledger.New(st, &ledger.Options{Now: func() time.Time { return t0 }})
}

// seed applies a movement to the ledger, as a webhook would have.
func seed(t *testing.T, l *ledger.Ledger, typ event.Type, m event.Movement) {
	t.Helper()
	if m.Connector == "" {
		m.Connector = "seed"
	}
	if m.SourceEventID == "" {
		m.SourceEventID = m.SKU + "@" + m.Location + "/" + string(typ) + "/" + m.OccurredAt.String()
	}
	if m.OccurredAt.IsZero() {
		m.OccurredAt = t0.Add(-24 * time.Hour)
	}
	if m.Reason == "" {
		m.Reason = "test"
	}
	m.CorrelationID = "seed"
	ev, err := event.NewMovement(typ, "", m)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := ev.Marshal()
	if _, err := l.Apply(context.Background(), ev, raw); err != nil {
		t.Fatal(err)
	}
}

func onHand(t *testing.T, l *ledger.Ledger, sku, loc string, qty int64, at time.Time) {
	t.Helper()
	seed(t, l, event.StockCounted, event.Movement{SKU: sku, Location: loc, Quantity: qty, State: event.StateOnHand, OccurredAt: at})
}

// recorder is a Submit that keeps what it was given.
type recorder struct {
	mu      sync.Mutex
	results []*connectors.Result
	err     error
}

func (r *recorder) submit(_ context.Context, res *connectors.Result) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.results = append(r.results, res)
	return nil
}

func (r *recorder) events() []*event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*event.Event
	for _, res := range r.results {
		out = append(out, res.Events...)
	}
	return out
}

// apply applies every event submitted so far to the ledger, through the
// wire format, as the relay and the ledger's consumer would.
func (r *recorder) apply(t *testing.T, l *ledger.Ledger) {
	t.Helper()
	for _, ev := range r.events() {
		raw, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := event.Parse(raw)
		if err != nil {
			t.Fatalf("a submitted event does not parse: %v", err)
		}
		if _, err := l.Apply(context.Background(), parsed, raw); err != nil {
			t.Fatal(err)
		}
	}
}

// clock is a fake clock whose After fires when Advance passes the
// deadline.
type clock struct {
	mu      sync.Mutex
	t       time.Time
	waiters []waiter
	newWait chan struct{}
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t, newWait: make(chan struct{}, 64)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.t
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.t.Add(d), ch})
	select {
	case c.newWait <- struct{}{}:
	default:
	}
	return ch
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.t) {
			w.ch <- c.t
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}
