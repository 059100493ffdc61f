package shopifywriter_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/shopifywriter"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/store"
)

// writesOf lists the applied writes that carried item after t: when, and
// the quantity.
func (s *shop) writesOf(item int64, after time.Time) (ats []time.Time, qs []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.writes {
		if q, ok := w.items[item]; ok && w.at.After(after) {
			ats = append(ats, w.at)
			qs = append(qs, q)
		}
	}
	return ats, qs
}

// TestCoalescing: ten changes of one SKU within the window are one write,
// of the last value, one window after the last change.
func TestCoalescing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{})
		l := newLedger(t)
		stock(l, 10)
		r := start(t, l, []dispatch.Account{{Writer: newWriter(t, s, "shopify-eu", 10, nil), Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		time.Sleep(5 * time.Second) // let the budget refill

		began := time.Now()
		var last time.Time
		for range 10 {
			r.Src <- l.Move(skuName(3), "berlin", -1)
			last = time.Now()
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(2 * time.Second)
		ats, qs := s.writesOf(itemID(3), began)
		if len(ats) != 1 {
			t.Fatalf("%d writes %v, want 1", len(ats), qs)
		}
		if want := l.Want(rule, skuName(3)); qs[0] != want {
			t.Errorf("wrote %d, want the last value %d", qs[0], want)
		}
		if d := ats[0].Sub(last); d < 250*time.Millisecond || d > 260*time.Millisecond {
			t.Errorf("written %v after the last change, want the 250ms window", d)
		}
	})
}

// TestMaxDelay: a SKU that never stays quiet for the window is still
// written at least once per MaxDelay.
func TestMaxDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{})
		l := newLedger(t)
		stock(l, 10)
		r := start(t, l, []dispatch.Account{{Writer: newWriter(t, s, "shopify-eu", 10, nil), Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		time.Sleep(5 * time.Second)

		began := time.Now()
		for range 35 { // every 100ms for 3.5s
			r.Src <- l.Move(skuName(5), "hamburg", -1)
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(2 * time.Second)
		ats, qs := s.writesOf(itemID(5), began)
		t.Logf("writes at %v: %v", rel(began, ats), qs)
		if len(ats) < 3 {
			t.Fatalf("%d writes in 3.5s of changes, want one per second", len(ats))
		}
		if d := ats[0].Sub(began); d < time.Second || d > time.Second+10*time.Millisecond {
			t.Errorf("first write %v after the first change, want 1s (MaxDelay)", d)
		}
		for i := 1; i < len(ats)-1; i++ {
			if d := ats[i].Sub(ats[i-1]); d > time.Second+110*time.Millisecond {
				t.Errorf("writes %d and %d are %v apart", i-1, i, d)
			}
		}
		if want := l.Want(rule, skuName(5)); qs[len(qs)-1] != want {
			t.Errorf("last write %d, want %d", qs[len(qs)-1], want)
		}
	})
}

func rel(t0 time.Time, ts []time.Time) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.Sub(t0)
	}
	return out
}

// versionLog is a Writer that logs the version of every update the shop
// confirmed.
type versionLog struct {
	*shopifywriter.Writer
	mu  sync.Mutex
	log map[string][]uint64
}

func (v *versionLog) Write(ctx context.Context, p dispatch.Pacer, ups []dispatch.Update) ([]dispatch.Outcome, error) {
	outs, err := v.Writer.Write(ctx, p, ups)
	if err == nil {
		v.mu.Lock()
		for i, o := range outs {
			if o.Code == errcode.OK {
				v.log[ups[i].SKU] = append(v.log[ups[i].SKU], ups[i].Version)
			}
		}
		v.mu.Unlock()
	}
	return outs, err
}

// TestPerSKUOrder: through retries, outages, stale compares and a
// backlog, a SKU's writes never go back: the versions confirmed grow, and
// since the ledger only sells, the quantities the shop applies only fall.
func TestPerSKUOrder(t *testing.T) {
	const skus = 300
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{})
		l := newLedger(t)
		stock(l, skus)
		w := &versionLog{Writer: newWriter(t, s, "shopify-eu", skus, nil), log: map[string][]uint64{}}
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, &dispatch.Options{
			Window: 20 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
			Backoff: dispatch.Backoff{Initial: 50 * time.Millisecond, Max: time.Second},
			Breaker: dispatch.BreakerSettings{Timeout: 2 * time.Second},
		})
		r.Idle(t, time.Minute)
		began := time.Now()
		rnd := rand.New(rand.NewPCG(7, 8))
		for i := 0; i < 20_000; i++ {
			r.Src <- l.Move(skuName(rnd.IntN(skus)), "berlin", -1)
			switch i {
			case 5_000, 12_000:
				s.SetDown(503, time.Now().Add(3*time.Second))
			case 8_000, 15_000:
				for j := range 20 { // someone edits the shop by hand
					s.SetLevel(itemID(j), shopLocation, 1_000)
				}
			}
			if i%10 == 9 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		r.Idle(t, 5*time.Minute)
		// The hand edits after the last write of a SKU are only undone by
		// the next change or reconcile.
		if err := r.Reconcile(""); err != nil {
			t.Fatal(err)
		}
		r.Idle(t, time.Minute)
		converged(t, l, s, skus)

		w.mu.Lock()
		defer w.mu.Unlock()
		for sku, vs := range w.log {
			if !slices.IsSorted(vs) {
				t.Errorf("%s: versions confirmed out of order: %v", sku, vs)
			}
		}
		st := s.Stats()
		t.Logf("%d requests, %d answered 503, %d with userErrors", st.Requests, st.Down, st.UserErrors)
		if st.Down == 0 || st.UserErrors == 0 {
			t.Error("the test injected no failure")
		}
		for i := range skus {
			_, qs := s.writesOf(itemID(i), began)
			for j := 1; j < len(qs); j++ {
				if qs[j] > qs[j-1] {
					t.Errorf("%s: the shop was set to %d after %d: %v", skuName(i), qs[j], qs[j-1], qs)
					break
				}
			}
		}
	})
}

// TestFairness: with one writer for two shops, a shop with 10,000 SKUs to
// write does not hold up the other's single update for more than one of
// its batches.
func TestFairness(t *testing.T) {
	const busySKUs = 10_000
	synctest.Test(t, func(t *testing.T) {
		busy := newShop(t, shopifyfake.Options{Plan: shopifyfake.Enterprise})
		quiet := newShop(t, shopifyfake.Options{Plan: shopifyfake.Enterprise})
		busy.latency, quiet.latency = 50*time.Millisecond, 50*time.Millisecond
		l := newLedger(t)
		stock(l, busySKUs)
		r := start(t, l, []dispatch.Account{
			{Writer: newWriter(t, busy, "busy", busySKUs, nil), Rule: rule},
			{Writer: newWriter(t, quiet, "quiet", 1, nil), Rule: rule},
		}, &dispatch.Options{Concurrency: 1})
		time.Sleep(525 * time.Millisecond) // in the middle of a busy batch
		if st := r.Status()[0]; st.QueueDepth < 5_000 {
			t.Fatalf("busy shop has only %d pending", st.QueueDepth)
		}
		at := time.Now()
		r.Src <- l.Move(skuName(0), "berlin", -3)
		time.Sleep(time.Second)
		ats, qs := quiet.writesOf(itemID(0), at)
		if len(ats) != 1 || qs[0] != l.Want(rule, skuName(0)) {
			t.Fatalf("quiet shop got %v, want one write of %d", qs, l.Want(rule, skuName(0)))
		}
		// The window, then at most the busy batch in flight, then its own
		// write (each call takes 50ms).
		took := ats[0].Sub(at)
		t.Logf("quiet update written %v after the change; busy shop still has %d pending", took, r.Status()[0].QueueDepth)
		if took > 250*time.Millisecond+2*50*time.Millisecond+5*time.Millisecond {
			t.Errorf("quiet update took %v", took)
		}
		if r.Status()[0].QueueDepth == 0 {
			t.Error("busy shop drained: no contention was tested")
		}
	})
}

// TestStaleCompareRereadsAndRetries: the shop was changed by someone else;
// the compare-and-set fails, the Writer re-reads the level and the update
// goes again from a fresh ledger read, with a new key.
func TestStaleCompareRereadsAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{})
		l := newLedger(t)
		stock(l, 10)
		w := newWriter(t, s, "shopify-eu", 10, nil)
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		if q, ok := w.Known(itemID(3)); !ok || q != l.Want(rule, skuName(3)) {
			t.Fatalf("writer believes %d (%v), want %d", q, ok, l.Want(rule, skuName(3)))
		}
		s.SetLevel(itemID(3), shopLocation, 77) // a hand edit
		before := s.Stats()
		r.Src <- l.Move(skuName(3), "berlin", -2)
		r.Src <- l.Move(skuName(4), "berlin", -2) // a sibling in the same call
		time.Sleep(2 * time.Second)
		r.Idle(t, time.Minute)
		converged(t, l, s, 10)
		after := s.Stats()
		if n := after.UserErrors - before.UserErrors; n != 1 {
			t.Errorf("%d calls answered with userErrors, want 1 (the stale one)", n)
		}
		if n := after.Requests - before.Requests; n != 3 {
			t.Errorf("%d requests, want 3: the stale write, the re-read, the retry", n)
		}
	})
}

// TestSameContentIsANewWrite: the same quantity from the same old value,
// sent again after the level was set back by hand, must be applied, not
// answered from Shopify's idempotency memory.
func TestSameContentIsANewWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{})
		l := newLedger(t)
		stock(l, 1)
		r := start(t, l, []dispatch.Account{{Writer: newWriter(t, s, "shopify-eu", 1, nil), Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		want := l.Want(rule, skuName(0))
		for round := range 2 {
			s.SetLevel(itemID(0), shopLocation, 7)
			if err := r.Reconcile("shopify-eu"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			r.Idle(t, time.Minute)
			if got, _ := s.Level(itemID(0), shopLocation); got != want {
				t.Fatalf("round %d: shop shows %d, want %d (replays so far: %d)", round, got, want, s.Stats().Replays)
			}
		}
		if n := s.Stats().Replays; n != 0 {
			t.Errorf("%d replays", n)
		}
	})
}

// TestRefusedItemIsDeadLettered: Shopify refuses one item of a call; it is
// dead-lettered once, the others are written, and it is tried again only
// when the ledger moves it.
func TestRefusedItemIsDeadLettered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{RequireStocked: true})
		for i := range 10 {
			if i != 4 {
				s.SetLevel(itemID(i), shopLocation, 0)
			}
		}
		l := newLedger(t)
		stock(l, 10)
		r := start(t, l, []dispatch.Account{{Writer: newWriter(t, s, "shopify-eu", 10, nil), Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		for i := range 10 {
			got, ok := s.Level(itemID(i), shopLocation)
			if i == 4 {
				if ok {
					t.Errorf("unstocked item written: %d", got)
				}
				continue
			}
			if got != l.Want(rule, skuName(i)) {
				t.Errorf("%s: %d, want %d", skuName(i), got, l.Want(rule, skuName(i)))
			}
		}
		dls := deadLetters(t, l)
		if len(dls) != 1 || !strings.Contains(string(dls[0].Body), `"sku":"SKU-00004"`) || dls[0].EventType != dispatch.DeadLetterType {
			t.Fatalf("dead letters %+v", dls)
		}
		t.Logf("dead letter: %s %s", dls[0].Reason, dls[0].Body)

		// A reconcile does not knock on the same door again.
		before := s.Stats().Requests
		_ = r.Reconcile("")
		time.Sleep(time.Second)
		r.Idle(t, time.Minute)
		if n := len(deadLetters(t, l)); n != 1 {
			t.Errorf("%d dead letters after a reconcile", n)
		}
		if s.Stats().UserErrors != 1 {
			t.Errorf("%d refused calls, want 1", s.Stats().UserErrors)
		}
		t.Logf("reconcile: %d requests", s.Stats().Requests-before)

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

func deadLetters(t *testing.T, l *ledger) []store.DeadLetter {
	t.Helper()
	dls, err := l.DeadLetters(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return dls
}

// TestAuthFailurePauses: refused credentials pause the account, raise an
// alert, and stop the requests.
func TestAuthFailurePauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{})
		l := newLedger(t)
		stock(l, 10)
		w, err := shopifywriter.New(shopifywriter.Options{Account: "shopify-eu", Client: s.client(t, "shpat_revoked"),
			LocationID: shopLocation, Items: items(10)})
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
		if n := s.Stats().Requests; n != 1 {
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
		t.Logf("alert: %s", alerts[0].Message)
	})
}

// TestEchoesRecorded: every confirmed quantity is recorded for the inbound
// side's echo suppression.
func TestEchoesRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{})
		l := newLedger(t)
		stock(l, 10)
		var echoes shopify.MemoryEchoes
		r := start(t, l, []dispatch.Account{{Writer: newWriter(t, s, "shopify-eu", 10, &echoes), Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		for i := range 10 {
			q, at, ok := echoes.Pushed(itemID(i), shopLocation)
			if !ok || q != l.Want(rule, skuName(i)) || at.IsZero() {
				t.Errorf("%s: pushed %d at %v (%v), want %d", skuName(i), q, at, ok, l.Want(rule, skuName(i)))
			}
		}
	})
}

// TestExplain: the Dispatcher explains a channel quantity.
func TestExplain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{})
		l := newLedger(t)
		stock(l, 2)
		d, err := dispatch.New(l.Store, []dispatch.Account{{Writer: newWriter(t, s, "shopify-eu", 2, nil), Rule: rule}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		q, err := d.Explain(context.Background(), "shopify-eu", skuName(1))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(q)
		t.Logf("%s", b)
		if q.Value != l.Want(rule, skuName(1)) || !strings.Contains(q.Explanation.Rule, "berlin 41 + hamburg 11 = 52; buffer 1 units → 51 ⇒ 51") {
			t.Errorf("explanation %+v", q)
		}
		if _, err := d.Explain(context.Background(), "shopify-eu", "nope"); err == nil {
			t.Error("explained an unsynced SKU")
		}
	})
}
