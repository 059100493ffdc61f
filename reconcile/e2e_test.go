package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/ingest"
	"github.com/stockgate/stockgate/ledger"
	"github.com/stockgate/stockgate/reconcile"
	"github.com/stockgate/stockgate/reconcile/reconciletest"
	"github.com/stockgate/stockgate/store"
)

// relay applies every inbound outbox message to the ledger and deletes
// it, as the relay and the ledger's consumer do; it returns how many.
func relay(t *testing.T, st *store.Store, l *ledger.Ledger) int {
	t.Helper()
	ctx := context.Background()
	msgs, err := st.Outbox(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	n := 0
	for _, m := range msgs {
		seqs = append(seqs, m.Seq)
		if m.Topic != ledger.TopicInbound {
			continue
		}
		ev, err := event.Parse(m.Body)
		if err != nil {
			t.Fatalf("outbox message %s: %v", m.EventID, err)
		}
		if _, err := l.Apply(ctx, ev, m.Body); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := st.DeleteOutbox(ctx, seqs); err != nil {
		t.Fatal(err)
	}
	return n
}

func qty(t *testing.T, st *store.Store, sku, loc string) store.Projection {
	t.Helper()
	p, err := st.Projection(context.Background(), store.Key{SKU: sku, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Square counts that differ from the ledger come back as stock.counted
// on_hand events with Square's quantities and calculated_at; through the
// ingest handler and the ledger they repair it, and a second run finds
// nothing to do.
func TestSquareEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, l := newLedger(t)
	for sku, q := range map[string]int64{"SKU-1": 10, "SKU-2": 5, "SKU-3": 8} {
		onHand(t, l, sku, "store", q, t0.Add(-48*time.Hour))
	}
	calculated := t0.Add(-time.Hour)
	m := newSquare(t, []reconciletest.Level{
		{SKU: "SKU-1", Location: "store", Quantity: 10}, // agrees
		{SKU: "SKU-2", Location: "store", Quantity: 3},  // two sales whose webhooks were lost
		{SKU: "SKU-3", Location: "store", Quantity: 12}, // a delivery counted in
	}, calculated)
	src, err := reconcile.NewSquareSource(m.client, m.items, m.locs, nil)
	if err != nil {
		t.Fatal(err)
	}

	// What Submit receives.
	rec := &recorder{}
	job, _ := reconcile.NewJob("square-main", src, st, rec.submit, nil)
	r, err := job.Run(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Read != 3 || r.Matched != 1 || r.Corrected != 2 {
		t.Fatalf("report %+v", r)
	}
	got := map[string]int64{}
	for _, ev := range rec.events() {
		mv := ev.Movement
		if ev.Type != event.StockCounted || mv.State != event.StateOnHand || mv.Reason != "reconciliation" ||
			mv.Connector != "square-main" || mv.Location != "store" || !mv.OccurredAt.Equal(calculated) {
			t.Errorf("event %s %+v", ev.Type, mv)
		}
		got[mv.SKU] = mv.Quantity
	}
	if len(got) != 2 || got["SKU-2"] != 3 || got["SKU-3"] != 12 {
		t.Errorf("submitted quantities %v, want SKU-2 3 and SKU-3 12", got)
	}

	// Through the ingest handler's outbox and the ledger.
	h := ingest.New(st, &ingest.Options{Now: func() time.Time { return t0 }})
	job, _ = reconcile.NewJob("square-main", src, st, reconcile.SubmitTo(h, nil), nil)
	if r, err = job.Run(ctx, time.Time{}); err != nil || r.Corrected != 2 {
		t.Fatalf("first run: %+v, %v", r, err)
	}
	if r, err = job.Run(ctx, time.Time{}); err != nil || r.Resubmitted != 2 || r.Corrected != 0 {
		t.Fatalf("run before the ledger caught up: %+v, %v; want the same corrections, deduplicated", r, err)
	}
	if n := relay(t, st, l); n != 2 {
		t.Fatalf("%d events reached the ledger, want 2", n)
	}
	if p := qty(t, st, "SKU-2", "store"); p.OnHand != 3 || !p.LastCountAt.Equal(calculated) {
		t.Errorf("SKU-2 = %+v, want on hand 3 counted at %v", p, calculated)
	}
	if p := qty(t, st, "SKU-3", "store"); p.OnHand != 12 {
		t.Errorf("SKU-3 on hand %d, want 12", p.OnHand)
	}
	if r, err = job.Run(ctx, time.Time{}); err != nil || r.Corrected != 0 || r.Resubmitted != 0 || r.Matched != 3 {
		t.Errorf("run after the ledger applied: %+v, %v; want nothing to correct", r, err)
	}
	hist, _ := st.History(ctx, store.Key{SKU: "SKU-2", Location: "store"}, 0, 10)
	if len(hist) != 2 || hist[1].Reason != "reconciliation" || hist[1].Connector != "square-main" {
		t.Errorf("SKU-2 history %+v, want the seed and one reconciliation entry", hist)
	}
}

// FBA summaries: the fulfillable quantity, at the marketplace's location.
func TestAmazonFBAEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, l := newLedger(t)
	onHand(t, l, "MUG-BLUE", "fba-us", 70, t0.Add(-48*time.Hour))
	m := newFBA(t, []reconciletest.Level{{SKU: "MUG-BLUE", Location: "us", Quantity: 66}, {SKU: "MUG-RED", Location: "us", Quantity: 0}}, t0)
	src, err := reconcile.NewAmazonFBASource(m.client, map[string]string{"MP-us": "fba-us"}, &reconcile.AmazonFBAOptions{Limiter: fastLimiter()})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	job, _ := reconcile.NewJob("amazon-na", src, st, rec.submit, nil)
	r, err := job.Run(ctx, time.Time{})
	if err != nil || r.Corrected != 1 || r.Matched != 1 {
		t.Fatalf("%+v, %v", r, err)
	}
	evs := rec.events()
	if mv := evs[0].Movement; mv.SKU != "MUG-BLUE" || mv.Location != "fba-us" || mv.Quantity != 66 || mv.State != event.StateOnHand || !mv.OccurredAt.Equal(t0) {
		t.Errorf("event %+v", mv)
	}
	rec.apply(t, l)
	if r, _ := job.Run(ctx, time.Time{}); r.Corrected != 0 {
		t.Errorf("second run corrected %d", r.Corrected)
	}
}

// Shopify levels are a channel's view: available observations that the
// ledger compares (drift alerts), never applies.
func TestShopifyEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, l := newLedger(t)
	onHand(t, l, "SKU-1", "web", 10, t0.Add(-48*time.Hour))
	onHand(t, l, "SKU-2", "web", 4, t0.Add(-48*time.Hour))
	m := newShopify(t, []reconciletest.Level{{SKU: "SKU-1", Location: "web", Quantity: 10}, {SKU: "SKU-2", Location: "web", Quantity: 6}})
	src, err := reconcile.NewShopifySource(m.client, m.items, m.locs, &reconcile.ShopifyOptions{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	job, _ := reconcile.NewJob("shopify-eu", src, st, rec.submit, nil)
	r, err := job.Run(ctx, time.Time{})
	if err != nil || r.Corrected != 1 || r.Matched != 1 {
		t.Fatalf("%+v, %v", r, err)
	}
	if mv := rec.events()[0].Movement; mv.SKU != "SKU-2" || mv.State != event.StateAvailable || mv.Quantity != 6 {
		t.Errorf("event %+v", mv)
	}
	rec.apply(t, l)
	if p := qty(t, st, "SKU-2", "web"); p.OnHand != 4 || p.Available != 4 {
		t.Errorf("SKU-2 = %+v: an available observation must not change quantities", p)
	}
	alerts, _ := st.Alerts(ctx, "", 10)
	if len(alerts) != 1 || alerts[0].Kind != store.AlertDrift || alerts[0].Key.SKU != "SKU-2" {
		t.Errorf("alerts %+v, want one drift alert for SKU-2", alerts)
	}
}
