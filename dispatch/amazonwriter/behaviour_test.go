package amazonwriter_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon"
	"github.com/stockgate/stockgate/connectors/amazon/listingsapi/listingsfake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/amazonwriter"
	"github.com/stockgate/stockgate/errcode"
)

// TestSmallChangesArePatches: a few changes go as one merge patch each,
// not as a feed, and leave the listing's other fields alone.
func TestSmallChangesArePatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(t, nil, 20)
		l := newLedger(t)
		stock(l, 20)
		w, log := loggedWriter(t, s, 20, nil)
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		converged(t, l, s, 20)
		before := s.Stats()
		r.Src <- l.Move(skuName(3), "berlin", -2)
		r.Src <- l.Move(skuName(4), "hamburg", -1)
		time.Sleep(2 * time.Second)
		r.Idle(t, time.Minute)
		converged(t, l, s, 20)
		after := s.Stats()
		if n := after.Calls[listingsfake.OpPatchListingsItem] - before.Calls[listingsfake.OpPatchListingsItem]; n != 2 {
			t.Errorf("%d patches for 2 changes", n)
		}
		if after.FeedsCreated != 0 || len(log.calls("/feeds/")) != 0 {
			t.Errorf("%d feeds for a catalogue of 20", after.FeedsCreated)
		}
		if e := s.Listing(sellerSKU(3)); len(e) != 1 || e[0]["fulfillment_channel_code"] != "DEFAULT" {
			t.Errorf("listing %v", e)
		}
	})
}

// TestRefusedItemIsDeadLettered: Amazon answers INVALID for a SKU it does
// not list, by patch and in a feed's report. It is dead-lettered once,
// the others are written, and it is tried again only when the ledger
// moves it.
func TestRefusedItemIsDeadLettered(t *testing.T) {
	for _, tc := range []struct {
		name  string
		skus  int
		feeds int64
	}{{"patch", 10, 0}, {"feed", 600, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := listingsfake.New(nil)
				for i := range tc.skus {
					if i != 4 {
						s.AddListings("LUGGAGE", sellerSKU(i))
					}
				}
				l := newLedger(t)
				stock(l, tc.skus)
				w := newWriter(t, s, tc.skus, nil)
				r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
				r.Idle(t, time.Minute)
				for i := range tc.skus {
					got, ok := s.Quantity(sellerSKU(i))
					if i == 4 {
						if ok {
							t.Errorf("unlisted SKU written: %d", got)
						}
						continue
					}
					if !ok || got != l.Want(rule, skuName(i)) {
						t.Errorf("%s: %d, want %d", skuName(i), got, l.Want(rule, skuName(i)))
					}
				}
				dls := deadLetters(t, l)
				if len(dls) != 1 || !strings.Contains(string(dls[0].Body), `"sku":"SKU-00004"`) || dls[0].EventType != dispatch.DeadLetterType {
					t.Fatalf("dead letters %+v", dls)
				}
				t.Logf("dead letter: %s", dls[0].Reason)
				if !strings.Contains(dls[0].Reason, "NOT_FOUND") {
					t.Errorf("the reason does not carry Amazon's issue: %s", dls[0].Reason)
				}
				if fs := s.Stats(); fs.FeedsCreated != tc.feeds {
					t.Errorf("%d feeds, want %d", fs.FeedsCreated, tc.feeds)
				}

				// A reconcile does not knock on the same door again.
				_ = r.Reconcile("")
				time.Sleep(time.Second)
				r.Idle(t, time.Minute)
				if n := len(deadLetters(t, l)); n != 1 {
					t.Errorf("%d dead letters after a reconcile", n)
				}
				// The ledger moves: try again, and dead-letter the new version.
				r.Src <- l.Move(skuName(4), "berlin", -1)
				time.Sleep(2 * time.Second)
				r.Idle(t, time.Minute)
				if n := len(deadLetters(t, l)); n != 2 {
					t.Errorf("%d dead letters after the SKU moved, want 2", n)
				}
				if st := r.Status()[0]; st.DeadLettered != 2 {
					t.Errorf("status %+v", st)
				}
			})
		})
	}
}

// TestThrottledPatchIsRetriedAfter: a patch answered 429 QuotaExceeded
// empties the account's budget; the Dispatcher sends it again no sooner
// than the bucket refills one call (1/5 s), and nothing is lost.
func TestThrottledPatchIsRetriedAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(t, nil, 10)
		l := newLedger(t)
		stock(l, 10)
		s.Throttle(1)
		w, log := loggedWriter(t, s, 10, nil)
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		converged(t, l, s, 10)
		patches := log.calls("/listings/")
		if len(patches) != 11 || patches[0].status != 429 {
			t.Fatalf("%d patches, first answered %d: want the throttled one and 10", len(patches), patches[0].status)
		}
		if gap := patches[1].at.Sub(patches[0].at); gap < 200*time.Millisecond {
			t.Errorf("retried %v after the 429, want ≥ 200ms", gap)
		}
		st := r.Status()[0]
		if st.Throttled != 1 || s.Stats().Throttled != 1 || w.Stats().PatchesThrottled != 1 {
			t.Errorf("status %+v, fake %+v", st, s.Stats())
		}
		if st.LastErrorCode != errcode.ResourceExhausted {
			t.Errorf("last error %v %q", st.LastErrorCode, st.LastError)
		}
	})
}

// TestFeedQuotaFallsBackToPatches: Amazon refuses a feed for its rate
// (its createFeed bucket is smaller than documented here). The Writer
// stops sending feeds and writes the backlog as patches, at the patch
// rate, with nothing lost.
func TestFeedQuotaFallsBackToPatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(t, &listingsfake.Options{Plans: map[string]listingsfake.Plan{listingsfake.OpCreateFeed: {Rate: 0.0083, Burst: 1}}}, 600)
		l := newLedger(t)
		stock(l, 600)
		w := newWriter(t, s, 600, nil)
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		r.Idle(t, time.Minute) // the reconcile: one feed
		for i := range 600 {
			r.Src <- l.Move(skuName(i), "berlin", -1)
		}
		time.Sleep(2 * time.Second)
		r.Idle(t, 10*time.Minute)
		converged(t, l, s, 600)
		fs, ws := s.Stats(), w.Stats()
		t.Logf("fake %+v; writer %+v", fs, ws)
		if fs.ThrottledOps[listingsfake.OpCreateFeed] != 1 || fs.Throttled != 1 || ws.FeedThrottled != 1 {
			t.Errorf("want exactly one 429, on createFeed: %v", fs.ThrottledOps)
		}
		if fs.FeedsCreated != 1 || ws.PatchesAccepted != 600 {
			t.Errorf("%d feeds, %d patches: want the reconcile's feed, then 600 patches", fs.FeedsCreated, ws.PatchesAccepted)
		}
	})
}

// TestOrderAroundAPendingFeed: while a feed is pending, a change of a SKU
// it carries waits for the feed (its writes stay in ledger order), and
// SKUs it does not carry are written meanwhile.
func TestOrderAroundAPendingFeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(t, &listingsfake.Options{QueueTime: 30 * time.Second}, 601)
		l := newLedger(t)
		stock(l, 601)
		// MaxBatch 560: the reconcile's first 560 SKUs go as a feed, the
		// other 41 as patches.
		w, log := loggedWriter(t, s, 601, func(o *amazonwriter.Options) { o.MaxBatch = 560 })
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		inFeed := skuName(7) // SKUs are taken in order: SKU-00007 is in the feed
		time.Sleep(time.Second)
		r.Src <- l.Move(inFeed, "berlin", -3)
		time.Sleep(15 * time.Second)
		feeds := s.Feeds()
		if len(feeds) != 1 || feeds[0].Status != "IN_QUEUE" {
			t.Fatalf("feeds %+v", feeds)
		}
		if n := len(log.calls("/listings/")); n != 41 {
			t.Errorf("%d patches while the feed is pending, want the 41 SKUs it does not carry", n)
		}
		r.Idle(t, 5*time.Minute)
		converged(t, l, s, 601)
		done := s.Feeds()[0].Ended
		patches := log.calls("/listings/2021-08-01/items/" + listingsfake.DefaultSellerID + "/" + sellerSKU(7))
		if len(patches) != 1 || patches[0].at.Before(done) {
			t.Fatalf("patches of the changed SKU %+v; the feed was done at %v", patches, done)
		}
		t.Logf("feed done %v after start; the change was written %v after it", done.Sub(feeds[0].Created), patches[0].at.Sub(done))
	})
}

// TestEchoesRecorded: every quantity written, by feed or by patch, is
// recorded for the inbound side's echo suppression, under its SellerSKU.
func TestEchoesRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(t, nil, 600)
		l := newLedger(t)
		stock(l, 600)
		var echoes amazon.MemoryEchoes
		w := newWriter(t, s, 600, func(o *amazonwriter.Options) { o.Echoes = &echoes })
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		r.Idle(t, time.Minute) // by feed
		r.Src <- l.Move(skuName(9), "berlin", -4)
		time.Sleep(time.Second)
		r.Idle(t, time.Minute) // by patch
		if w.Stats().Feeds != 1 || w.Stats().PatchesAccepted != 1 {
			t.Fatalf("writer %+v", w.Stats())
		}
		for i := range 600 {
			q, at, ok := echoes.Pushed(sellerSKU(i))
			if !ok || q != l.Want(rule, skuName(i)) || at.IsZero() {
				t.Fatalf("%s: pushed %d at %v (%v), want %d", sellerSKU(i), q, at, ok, l.Want(rule, skuName(i)))
			}
		}
	})
}

// TestAuthFailurePauses: refused credentials pause the account, raise an
// alert, and stop the requests.
func TestAuthFailurePauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(t, &listingsfake.Options{Token: "Atza|another"}, 10)
		l := newLedger(t)
		stock(l, 10)
		w := newWriter(t, s, 10, nil)
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
	})
}

// TestStuckFeedIsCancelled: a feed that stays IN_QUEUE past FeedTimeout
// is cancelled, its updates go again as patches, and nothing of it is
// applied later.
func TestStuckFeedIsCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(t, &listingsfake.Options{QueueTime: 3 * time.Hour}, 300)
		l := newLedger(t)
		stock(l, 300)
		w := newWriter(t, s, 300, func(o *amazonwriter.Options) { o.FeedTimeout = time.Minute })
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		r.Idle(t, 10*time.Minute)
		converged(t, l, s, 300)
		feeds, ws := s.Feeds(), w.Stats()
		t.Logf("feeds %+v; writer %+v; status %+v", feeds, ws, r.Status()[0])
		if len(feeds) != 1 || feeds[0].Status != "CANCELLED" || ws.FeedsAbandoned != 1 || ws.PatchesAccepted != 300 {
			t.Fatalf("want the feed cancelled and 300 patches")
		}
		if st := r.Status()[0]; !strings.Contains(st.LastError, "cancelled") {
			t.Errorf("last error %q does not say what happened", st.LastError)
		}
		r.Stop()
		time.Sleep(4 * time.Hour) // past when the feed would have run
		converged(t, l, s, 300)
	})
}
