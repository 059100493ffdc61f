package squarewriter_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/square"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/squarewriter"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/event"
	ledgerpkg "github.com/stockgate/stockgate/ledger"
	"github.com/stockgate/stockgate/store"
)

func deadLetters(t *testing.T, l *ledger) []store.DeadLetter {
	t.Helper()
	dls, err := l.DeadLetters(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return dls
}

// TestRefusedChangeIsDeadLettered: Square refuses one change of a call
// (an item variation it does not know); that SKU is dead-lettered once,
// the others are written, and it is tried again only when the ledger
// moves it.
func TestRefusedChangeIsDeadLettered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMerchant(t, squarefake.Options{})
		var known []string
		for i := range 10 {
			if i != 4 {
				known = append(known, objectID(i))
			}
		}
		m.SetCatalog(known...)
		l := newLedger(t)
		stock(l, 10)
		r := start(t, l, []dispatch.Account{{Writer: newWriter(t, m, 10, nil), Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		for i := range 10 {
			got, ok := m.level(i)
			switch {
			case i == 4 && ok:
				t.Errorf("the unknown variation was written: %d", got)
			case i != 4 && got != l.Want(rule, skuName(i)):
				t.Errorf("%s: %d, want %d", skuName(i), got, l.Want(rule, skuName(i)))
			}
		}
		dls := deadLetters(t, l)
		if len(dls) != 1 || !strings.Contains(string(dls[0].Body), `"sku":"SKU-00004"`) || !strings.Contains(dls[0].Reason, "NOT_FOUND") {
			t.Fatalf("dead letters %+v", dls)
		}
		t.Logf("dead letter: %s %s", dls[0].Reason, dls[0].Body)

		// A reconcile does not knock on the same door again.
		refused := m.Stats().Refused
		_ = r.Reconcile("")
		time.Sleep(time.Second)
		r.Idle(t, time.Minute)
		if n := len(deadLetters(t, l)); n != 1 || m.Stats().Refused != refused {
			t.Errorf("after a reconcile: %d dead letters, %d refused calls (was %d)", n, m.Stats().Refused, refused)
		}

		// The ledger moves: try again, and dead-letter the new version.
		r.Src <- l.Move(skuName(4), "berlin", -1)
		time.Sleep(2 * time.Second)
		r.Idle(t, time.Minute)
		if n := len(deadLetters(t, l)); n != 2 {
			t.Errorf("%d dead letters after the SKU moved, want 2", n)
		}
		if st := r.Status()[0]; st.DeadLettered != 2 || st.LastErrorCode != errcode.InvalidArgument {
			t.Errorf("status %+v", st)
		}
	})
}

// TestReconcilePutsBackAHandEdit: someone sets a count by hand at Square.
// The Dispatcher's next reconcile pass writes every SKU again: the edited
// one is put back, and the unchanged ones change nothing at Square
// (ignore_unchanged_counts).
func TestReconcilePutsBackAHandEdit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMerchant(t, squarefake.Options{})
		l := newLedger(t)
		stock(l, 10)
		r := start(t, l, []dispatch.Account{{Writer: newWriter(t, m, 10, nil), Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		converged(t, l, m, 10)
		m.SetCount(squarefake.Count{CatalogObjectID: objectID(3), LocationID: squareLocation, Quantity: "77"})
		before := m.Stats()
		if err := r.Reconcile(""); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		r.Idle(t, time.Minute)
		converged(t, l, m, 10)
		after := m.Stats()
		if applied, ignored := after.Applied-before.Applied, after.Ignored-before.Ignored; applied != 1 || ignored != 9 {
			t.Errorf("reconcile applied %d counts and ignored %d, want 1 and 9", applied, ignored)
		}
	})
}

// TestThrottleAdapts: Square allows fewer calls than the Writer was told.
// Each 429 halves the Writer's rate; the throttles stay few and nothing is
// lost.
func TestThrottleAdapts(t *testing.T) {
	const skus = 1_000
	synctest.Test(t, func(t *testing.T) {
		m := newMerchant(t, squarefake.Options{RateLimit: 3, Burst: 3})
		l := newLedger(t)
		stock(l, skus)
		w := newWriter(t, m, skus, func(o *squarewriter.Options) { o.RequestsPerSecond = 20 })
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		l.FlashSale(r.Src, rand.New(rand.NewPCG(11, 12)), skuName, skus, 10_000, 1_000)
		atEnd := w.Rate()
		r.Idle(t, 5*time.Minute)
		fs, st := m.Stats(), r.Status()[0]
		t.Logf("%d requests, %d throttled; writer rate %.2f/s at the end of the sale, %.2f/s now; status %+v",
			fs.Requests, fs.Throttled, atEnd, w.Rate(), st)
		if fs.Throttled == 0 {
			t.Fatal("never throttled: the test did not exceed Square's rate")
		}
		if fs.Throttled > 10 {
			t.Errorf("%d requests throttled, want the rate to settle after a few", fs.Throttled)
		}
		if atEnd > 5 {
			t.Errorf("writer rate %.2f/s after the throttles, want it near Square's 3/s", atEnd)
		}
		converged(t, l, m, skus)
	})
}

// TestEchoesRoundTrip: what the Writer wrote comes back in Square's
// inventory.count.updated. With the Writer's echoes, the inbound connector
// makes it a confirmation, which the ledger records without applying it
// and without a drift alert; a sale at the till after the write is a
// count the ledger applies.
func TestEchoesRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMerchant(t, squarefake.Options{})
		l := newLedger(t)
		stock(l, 3)
		echoes := &square.MemoryEchoes{}
		r := start(t, l, []dispatch.Account{{Writer: newWriter(t, m, 3, func(o *squarewriter.Options) { o.Echoes = echoes }), Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		converged(t, l, m, 3)

		// The inbound side of the same account: the written location is
		// the "square" stockgate location.
		conn, err := square.New(square.Config{ID: "square-berlin", SignatureKeys: []string{"key"},
			Locations: map[string]string{squareLocation: "square"},
			Items:     map[string]string{objectID(1): skuName(1)}, Echoes: echoes})
		if err != nil {
			t.Fatal(err)
		}
		led := ledgerpkg.New(l.Store, nil)
		deliver := func() (*event.Event, ledgerpkg.Result) {
			t.Helper()
			body, ok := m.CountUpdatedEvent(objectID(1), squareLocation)
			if !ok {
				t.Fatal("Square holds no count of the SKU")
			}
			res, err := conn.Normalize(context.Background(), &connectors.Request{Body: body, ReceivedAt: time.Now()})
			if err != nil || len(res.Events) != 1 {
				t.Fatalf("Normalize: %v %+v", err, res)
			}
			ev := res.Events[0]
			raw, _ := ev.Marshal()
			out, err := led.Apply(context.Background(), ev, raw)
			if err != nil {
				t.Fatal(err)
			}
			return ev, out
		}
		written := l.Want(rule, skuName(1))
		ev, out := deliver()
		if m := ev.Movement; m.State != event.StateAvailable || m.Reason != event.ReasonEchoConfirmation || m.Quantity != written {
			t.Fatalf("the echo of %d normalized to %+v", written, m)
		}
		if c := out.Changes[0]; c.Entry.Outcome != store.OutcomeObserved || c.Alert != nil || c.Projection.OnHand != 0 {
			t.Fatalf("the echo reached the ledger as %+v, alert %+v", c.Entry, c.Alert)
		}

		m.SetCount(squarefake.Count{CatalogObjectID: objectID(1), LocationID: squareLocation, Quantity: "3"}) // sales at the till
		ev, out = deliver()
		if m := ev.Movement; m.State != event.StateOnHand || m.Quantity != 3 {
			t.Fatalf("a sale after the write normalized to %+v", m)
		}
		if c := out.Changes[0]; c.Entry.Outcome != store.OutcomeApplied || c.Projection.OnHand != 3 {
			t.Fatalf("the sale reached the ledger as %+v", c.Entry)
		}
	})
}

// TestAuthFailurePauses: a revoked token pauses the account, raises an
// alert, and stops the requests.
func TestAuthFailurePauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMerchant(t, squarefake.Options{})
		l := newLedger(t)
		stock(l, 10)
		w, err := squarewriter.New(squarewriter.Options{Account: "square-berlin", Client: m.client(t, "EAAArevoked"),
			LocationID: squareLocation, Items: items(10)})
		if err != nil {
			t.Fatal(err)
		}
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		time.Sleep(time.Second)
		for range 20 {
			r.Src <- l.Move(skuName(1), "berlin", -1)
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Minute)
		st := r.Status()[0]
		if !st.Paused || st.LastErrorCode != errcode.Unauthenticated {
			t.Fatalf("status %+v", st)
		}
		if n := m.Stats().Requests; n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
		if st.QueueDepth != 10 {
			t.Errorf("%d pending, want all 10 kept", st.QueueDepth)
		}
		alerts, err := l.Alerts(context.Background(), "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(alerts) != 1 || alerts[0].Kind != dispatch.AlertConnectorPaused {
			t.Fatalf("alerts %+v", alerts)
		}
	})
}
