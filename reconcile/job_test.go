package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/reconcile"
	"github.com/stockgate/stockgate/reconcile/reconciletest"
	"github.com/stockgate/stockgate/store"
)

func obs(sku, loc string, qty int64, state string, asOf time.Time) reconcile.Observation {
	return reconcile.Observation{SKU: sku, Location: loc, Quantity: qty, State: state, AsOf: asOf,
		SourceID: "row/" + sku + "@" + loc + "/" + state}
}

func TestJobCorrectsOnlyDifferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, l := newLedger(t)
	onHand(t, l, "SKU-1", "berlin", 10, t0.Add(-48*time.Hour)) // agrees
	onHand(t, l, "SKU-2", "berlin", 10, t0.Add(-48*time.Hour)) // a webhook was missed: now 7
	onHand(t, l, "SKU-3", "berlin", 4, t0.Add(-48*time.Hour))  // available 4 - 1 committed = 3
	seed(t, l, event.OrderCommitted, event.Movement{SKU: "SKU-3", Location: "berlin", Quantity: 1, OrderID: "o1"})
	onHand(t, l, "SKU-6", "berlin", 4, t0.Add(-48*time.Hour))

	src := &reconciletest.MemSource{}
	src.Set(
		obs("SKU-1", "berlin", 10, event.StateOnHand, t0.Add(-time.Hour)),
		obs("SKU-2", "berlin", 7, event.StateOnHand, t0.Add(-time.Hour)),
		obs("SKU-3", "berlin", 3, event.StateAvailable, t0),  // agrees with Available
		obs("SKU-6", "berlin", 5, event.StateOnHand, t0),     // differs from OnHand 4
		obs("SKU-4", "hamburg", 2, event.StateAvailable, t0), // ledger has nothing: available 0
		obs("SKU-5", "berlin", 0, event.StateOnHand, t0),     // nothing and zero: agrees
	)
	rec := &recorder{}
	job, err := reconcile.NewJob("square-main", src, st, rec.submit, &reconcile.JobOptions{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	r, err := job.Run(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Read != 6 || r.Matched != 3 || r.Corrected != 3 || r.Skipped != 0 || r.Stale != 0 || r.Err != nil {
		t.Fatalf("report = %+v", r)
	}
	want := []reconcile.Correction{
		{SKU: "SKU-2", Location: "berlin", State: event.StateOnHand, LedgerQty: 10, SourceQty: 7},
		{SKU: "SKU-6", Location: "berlin", State: event.StateOnHand, LedgerQty: 4, SourceQty: 5},
		{SKU: "SKU-4", Location: "hamburg", State: event.StateAvailable, LedgerQty: 0, SourceQty: 2},
	}
	if len(r.Corrections) != len(want) {
		t.Fatalf("corrections = %+v", r.Corrections)
	}
	for i, c := range r.Corrections {
		w := want[i]
		if c.SKU != w.SKU || c.Location != w.Location || c.State != w.State || c.LedgerQty != w.LedgerQty || c.SourceQty != w.SourceQty || c.EventID == "" {
			t.Errorf("corrections[%d] = %+v, want %+v", i, c, w)
		}
	}
	if len(rec.results) != 1 {
		t.Fatalf("%d results submitted, want 1", len(rec.results))
	}
	res := rec.results[0]
	if !strings.HasPrefix(res.DedupKey, "reconcile:square-main:") || res.Topic != reconcile.Topic {
		t.Errorf("result dedup key %q topic %q", res.DedupKey, res.Topic)
	}
	for i, ev := range res.Events {
		m := ev.Movement
		if ev.Type != event.StockCounted || m.Reason != reconcile.Reason || m.Connector != "square-main" ||
			m.SKU != want[i].SKU || m.State != want[i].State || m.Quantity != want[i].SourceQty ||
			ev.ID() != r.Corrections[i].EventID || !m.OccurredAt.Equal(r.Corrections[i].AsOf) {
			t.Errorf("event %d = %s %+v", i, ev.Type, m)
		}
	}

	// The ledger applies them; a second run finds nothing to correct.
	rec.apply(t, l)
	if p, _ := st.Projection(ctx, store.Key{SKU: "SKU-2", Location: "berlin"}); p.OnHand != 7 {
		t.Fatalf("SKU-2 on hand after the correction = %d, want 7", p.OnHand)
	}
	alerts, _ := st.Alerts(ctx, "", 10)
	if len(alerts) != 1 || alerts[0].Kind != store.AlertDrift || alerts[0].Key.SKU != "SKU-4" {
		t.Errorf("alerts = %+v, want one drift alert for SKU-4", alerts)
	}
	r2, err := job.Run(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// SKU-4's available observation still differs (the ledger only
	// compares it): it is submitted again, with the same id while the
	// observation is unchanged.
	if r2.Corrected != 1 || r2.Corrections[0].SKU != "SKU-4" || r2.Corrections[0].EventID != r.Corrections[2].EventID {
		t.Errorf("second run = %+v, want only SKU-4's drift again, same event id", r2)
	}
}

func TestJobIsIdempotentBeforeTheLedgerCatchesUp(t *testing.T) {
	t.Parallel()
	st, l := newLedger(t)
	onHand(t, l, "SKU-1", "berlin", 10, t0.Add(-48*time.Hour))
	src := &reconciletest.MemSource{}
	src.Set(obs("SKU-1", "berlin", 8, event.StateOnHand, t0.Add(-time.Hour)))
	rec := &recorder{}
	job, _ := reconcile.NewJob("c", src, st, rec.submit, nil)
	r1, _ := job.Run(context.Background(), time.Time{})
	r2, _ := job.Run(context.Background(), time.Time{})
	if len(rec.results) != 2 || rec.results[0].DedupKey != rec.results[1].DedupKey ||
		rec.results[0].Events[0].ID() != rec.results[1].Events[0].ID() || r1.Corrections[0].EventID != r2.Corrections[0].EventID {
		t.Fatalf("two runs over the same data gave different keys or ids: %+v / %+v", rec.results[0], rec.results[1])
	}
	// Applying both changes the ledger once.
	rec.apply(t, l)
	hist, _ := st.History(context.Background(), store.Key{SKU: "SKU-1", Location: "berlin"}, 0, 10)
	if len(hist) != 2 {
		t.Errorf("history has %d entries, want the seed and one correction", len(hist))
	}
}

func TestJobStaleAndSkipped(t *testing.T) {
	t.Parallel()
	st, l := newLedger(t)
	onHand(t, l, "SKU-1", "berlin", 10, t0) // counted at t0
	src := &reconciletest.MemSource{}
	src.Set(
		obs("SKU-1", "berlin", 9, event.StateOnHand, t0.Add(-time.Minute)), // older than the last count
		reconcile.Observation{SourceID: "OBJ@LOC/IN_STOCK", Skip: "Square catalog object OBJ is not in the items map"},
		obs("SKU-2", "berlin", -1, event.StateOnHand, t0),
		obs("", "berlin", 1, event.StateOnHand, t0),
		obs("SKU-3", "berlin", 1, "reserved", t0),
		reconcile.Observation{SKU: "SKU-4", Location: "berlin", Quantity: 1, State: event.StateOnHand, SourceID: "no-time"},
		// Two rows for one key: the later wins.
		reconcile.Observation{SKU: "SKU-5", Location: "berlin", Quantity: 3, State: event.StateOnHand, AsOf: t0, SourceID: "new"},
		reconcile.Observation{SKU: "SKU-5", Location: "berlin", Quantity: 2, State: event.StateOnHand, AsOf: t0.Add(-time.Hour), SourceID: "old"},
	)
	rec := &recorder{}
	job, _ := reconcile.NewJob("c", src, st, rec.submit, nil)
	r, err := job.Run(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Stale != 1 || r.Skipped != 6 || r.Corrected != 1 || r.Corrections[0].SourceID != "new" {
		t.Fatalf("report = %+v", r)
	}
	reasons := map[string]string{}
	for _, s := range r.Skips {
		reasons[s.SourceID] = s.Reason
	}
	for id, want := range map[string]string{
		"OBJ@LOC/IN_STOCK":          "not in the items map",
		"row/SKU-2@berlin/on_hand":  "negative",
		"row/@berlin/on_hand":       "SKU is empty",
		"row/SKU-3@berlin/reserved": "state",
		"no-time":                   "as-of",
		"old":                       "superseded by new",
	} {
		if !strings.Contains(reasons[id], want) {
			t.Errorf("skip of %s: %q, want it to say %q", id, reasons[id], want)
		}
	}
}

func TestJobErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := newLedger(t)
	src := &reconciletest.MemSource{}
	src.Set(obs("SKU-1", "berlin", 3, event.StateOnHand, t0), obs("SKU-2", "berlin", 3, event.StateOnHand, t0),
		obs("SKU-3", "berlin", 3, event.StateOnHand, t0))

	boom := errors.New("outbox unavailable")
	rec := &recorder{err: boom}
	job, _ := reconcile.NewJob("c", src, st, rec.submit, nil)
	r, err := job.Run(ctx, time.Time{})
	if !errors.Is(err, boom) || !errors.Is(r.Err, boom) || r.Corrected != 0 || len(r.Corrections) != 3 || r.Finished.IsZero() {
		t.Errorf("submit failure: %+v, %v", r, err)
	}
	if !strings.Contains(err.Error(), "reconcile c: submit") {
		t.Errorf("error %q does not name the connector and step", err)
	}

	// Batches: a failure part way keeps what went before.
	var keys []string
	partial := func(_ context.Context, res *connectors.Result) error {
		keys = append(keys, res.DedupKey)
		if len(keys) == 2 {
			return boom
		}
		return nil
	}
	job, _ = reconcile.NewJob("c", src, st, partial, &reconcile.JobOptions{BatchSize: 2})
	r, err = job.Run(ctx, time.Time{})
	if !errors.Is(err, boom) || r.Corrected != 2 || len(keys) != 2 || keys[0] == keys[1] {
		t.Errorf("second batch failing: %+v, %v, keys %v", r, err, keys)
	}

	// A duplicate is not a failure.
	dup := func(context.Context, *connectors.Result) error { return reconcile.ErrDuplicate }
	job, _ = reconcile.NewJob("c", src, st, dup, nil)
	if r, err = job.Run(ctx, time.Time{}); err != nil || r.Resubmitted != 3 || r.Corrected != 0 {
		t.Errorf("duplicate: %+v, %v", r, err)
	}

	// A read failure and a ledger failure.
	src.SetErr(boom)
	job, _ = reconcile.NewJob("c", src, st, rec.submit, nil)
	if r, err = job.Run(ctx, time.Time{}); !errors.Is(err, boom) || !strings.Contains(err.Error(), "reconcile c: read") || r.Read != 0 {
		t.Errorf("read failure: %+v, %v", r, err)
	}
	src.SetErr(nil)
	job, _ = reconcile.NewJob("c", src, brokenLedger{boom}, rec.submit, nil)
	if _, err = job.Run(ctx, time.Time{}); !errors.Is(err, boom) || !strings.Contains(err.Error(), "SKU-1@berlin") {
		t.Errorf("ledger failure: %v", err)
	}
}

type brokenLedger struct{ err error }

func (b brokenLedger) Projection(context.Context, store.Key) (store.Projection, error) {
	return store.Projection{}, b.err
}

func TestNewJobReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := reconcile.NewJob("", nil, nil, nil, &reconcile.JobOptions{BatchSize: -1})
	for _, want := range []string{"connector", "source", "ledger", "submit", "BatchSize"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not name %s", err, want)
		}
	}
}

// SubmitTo stores through an Acceptor and maps a duplicate to ErrDuplicate.
func TestSubmitTo(t *testing.T) {
	t.Parallel()
	a := &acceptor{}
	submit := reconcile.SubmitTo(a, func() time.Time { return t0 })
	res := &connectors.Result{DedupKey: "k"}
	if err := submit(context.Background(), res); err != nil || a.at != t0 || a.got != res {
		t.Errorf("first: %v %+v", err, a)
	}
	a.dup = true
	if err := submit(context.Background(), res); !errors.Is(err, reconcile.ErrDuplicate) {
		t.Errorf("duplicate: %v", err)
	}
	a.err = errors.New("down")
	if err := submit(context.Background(), res); err == nil || errors.Is(err, reconcile.ErrDuplicate) {
		t.Errorf("failure: %v", err)
	}
}

type acceptor struct {
	got *connectors.Result
	at  time.Time
	dup bool
	err error
}

func (a *acceptor) Accept(_ context.Context, res *connectors.Result, at time.Time) (bool, error) {
	a.got, a.at = res, at
	return a.dup, a.err
}
